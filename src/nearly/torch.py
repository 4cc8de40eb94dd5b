"""PyTorch integration of the training monitor: ``nearly.torch.watch(model, optimizer)``.

Import it explicitly (``import nearly.torch``); ``import nearly`` never imports PyTorch. Inside
this module ``import torch`` is the PyTorch package: imports are absolute, so the module's own
name does not shadow it.

::

    monitor = nearly.torch.watch(model, optimizer, nearly.Spike(on="loss"), check_every=100)
    with monitor:
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            monitor.step(loss=loss, batch=x)   # the gradients are taken from the model
            optimizer.step()

Recording stays on the device: one fused ``torch._foreach_norm`` over the gradients (and, with
``weights=True``, the weights) and one ``torch.stack`` per step; nothing calls ``.item()``
between reads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from nearly._monitor import DEFAULT_CHECK_EVERY, Action, Event, Monitor, Policy

__all__ = ["WatchedMonitor", "localize", "watch"]


class _Inputs:
    """The positional and keyword arguments of the model's latest forward call (references)."""

    __slots__ = ("args", "kwargs")

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.args, self.kwargs = args, kwargs


class WatchedMonitor(Monitor):
    """A :class:`nearly.Monitor` bound to one module (and optionally its optimizer).

    :meth:`step` takes the gradients (and with ``weights=True`` the weights) from the module's
    parameters. The batch for the localisation re-run is what ``step(batch=...)`` is given, or
    with ``capture_inputs=True`` the module's latest forward inputs (a forward pre-hook keeps
    references, no copies; the hook moves every forward call off PyTorch's hook-free fast
    path). With a ``"skip"`` action and an optimizer, an optimizer step pre-hook zeroes the
    gradients of a flagged step on the device before the update (no sync). :meth:`remove`
    (also run by :meth:`close`) takes the hooks off.

    ``weights=True`` records the global weight norm (and each tensor's) every step: one more
    pass over the weights per step, which costs a few percent on a small model, and lets the
    message name the first layer whose weights were non-finite when a step went bad.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer | None,
        *policies: Policy,
        weights: bool = False,
        capture_inputs: bool = False,
        **options: Any,
    ) -> None:
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"watch: model must be a torch.nn.Module, got {type(model).__name__}")
        if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"watch: optimizer must be a torch.optim.Optimizer or None, "
                f"got {type(optimizer).__name__}"
            )
        for flag, label in ((weights, "weights"), (capture_inputs, "capture_inputs")):
            if not isinstance(flag, bool):
                raise TypeError(f"watch: {label} must be a bool, got {type(flag).__name__}")
        super().__init__(*policies, **options)
        self.module = model
        self.optimizer = optimizer
        self.track_weights = weights
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self._params = [p for _, p in named]
        self._grad_names = [n for n, _ in named]
        self._inputs: _Inputs | None = None
        self._handles: list[Any] = []
        if capture_inputs:
            self._handles.append(
                model.register_forward_pre_hook(self._keep_inputs, with_kwargs=True)
            )
        skipping = self.nonfinite == "skip" or any(p.action == "skip" for p in self.policies)
        if optimizer is not None and skipping:
            self._handles.append(optimizer.register_step_pre_hook(self._gate_hook))

    def _keep_inputs(
        self, module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        self._inputs = _Inputs(args, kwargs)

    def _gate_hook(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self._last_vector is None:
            return
        keep = self.step_factor > 0
        with torch.no_grad():
            for p in self._params:
                if p.grad is not None:
                    p.grad.copy_(torch.where(keep, p.grad, torch.zeros_like(p.grad)))

    def step(
        self,
        loss: Any = None,
        *,
        grads: Iterable[Any] | None = None,
        weights: Iterable[Any] | None = None,
        grad_norm: Any = None,
        batch: Any = None,
        model: Any = None,
        **values: Any,
    ) -> None:
        """Record one step; by default the gradients, weights and batch come from the watched
        module (call it after ``loss.backward()`` and before ``optimizer.step()``)."""
        __tracebackhide__ = True
        if grads is None and grad_norm is None:
            grads = [p.grad for p in self._params]  # a missing gradient counts 0
        if weights is None and self.track_weights:
            weights = self._params
        super().step(
            loss,
            grads=grads,
            weights=weights,
            grad_norm=grad_norm,
            batch=self._inputs if batch is None else batch,
            model=self.module if model is None else model,
            **values,
        )

    def remove(self) -> None:
        """Take the hooks off the module and the optimizer."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def close(self) -> None:
        __tracebackhide__ = True
        self.remove()
        super().close()


def watch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *policies: Policy,
    check_every: int = DEFAULT_CHECK_EVERY,
    nonfinite: Action = "raise",
    keep_batches: int = 1,
    weights: bool = False,
    capture_inputs: bool = False,
    name: str = "nearly.torch.watch",
) -> WatchedMonitor:
    """Watch a module's training numerics (see :class:`WatchedMonitor` and
    :class:`nearly.Monitor` for the options). Returns the monitor; call its :meth:`step` once
    per training step with the loss.

    Raises:
        TypeError: if ``model`` is not a ``torch.nn.Module`` or ``optimizer`` not an optimizer.
    """
    return WatchedMonitor(
        model,
        optimizer,
        *policies,
        weights=weights,
        capture_inputs=capture_inputs,
        check_every=check_every,
        nonfinite=nonfinite,
        keep_batches=keep_batches,
        name=name,
    )


# ----------------------------------------------------------------------------- localisation


def _tensors(obj: Any) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in _tensors(v)]
    if isinstance(obj, list | tuple):
        return [t for v in obj for t in _tensors(v)]
    return []


def _bad(t: torch.Tensor) -> int:
    if not (t.is_floating_point() or t.is_complex()):
        return 0
    return int((~torch.isfinite(t.detach())).sum())


def _first_bad(t: torch.Tensor) -> str:
    mask = ~torch.isfinite(t.detach())
    idx = tuple(int(i) for i in mask.nonzero()[0])
    value = float(t.detach()[idx].real) if t.is_complex() else float(t.detach()[idx])
    where = ", ".join(map(str, idx))
    return f"{'nan' if math.isnan(value) else ('inf' if value > 0 else '-inf')} at [{where}]"


def _describe_bad(label: str, tensors: list[torch.Tensor]) -> str | None:
    for i, t in enumerate(tensors):
        n = _bad(t)
        if n:
            name = label if len(tensors) == 1 else f"{label}[{i}]"
            return f"{name}: {n} of {t.numel()} elements non-finite ({_first_bad(t)})"
    return None


def localize(model: Any, batch: Any, event: Event) -> str:
    """Re-run ``batch`` through ``model`` with a forward hook on every submodule and name the
    first one whose output is non-finite while its inputs are finite (the producer), as
    opposed to those that only propagated it. Buffers (e.g. BatchNorm statistics) are restored
    afterwards; gradients are not computed."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"localize: model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(batch, _Inputs):
        args, kwargs, targets = batch.args, batch.kwargs, None
    elif isinstance(batch, tuple | list) and len(batch) == 2:
        args, kwargs, targets = (batch[0],), {}, batch[1]
    else:
        args, kwargs, targets = (batch,), {}, None
    head = f"where it started (re-ran the batch of step {event.step} module by module):"
    notes: list[str] = []
    bad_input = _describe_bad("input", _tensors(args) + _tensors(kwargs))
    if bad_input:
        notes.append(f"the input batch already holds non-finite values: {bad_input}")
    bad_params = [n for n, p in model.named_parameters() if _bad(p)]
    if bad_params:
        shown = ", ".join(bad_params[:5]) + (" ..." if len(bad_params) > 5 else "")
        notes.append(
            f"not re-run: the weights have become non-finite since that step ({shown}), so "
            "the batch cannot be replayed as it ran; zero the gradients of a bad step "
            "(monitor.gate, or a 'skip' action with watch(model, optimizer)) or use "
            "check_every=1 to keep the weights finite until the read"
        )
        return head + "\n  " + "\n  ".join(notes)

    records: list[tuple[str, torch.nn.Module, bool, int, int]] = []
    names = {m: n for n, m in model.named_modules()}

    def hook(module: torch.nn.Module, a: Any, kw: Any, out: Any) -> None:
        ins = _tensors(a) + _tensors(kw)
        outs = _tensors(out)
        inputs_ok = all(_bad(t) == 0 for t in ins)
        nbad = sum(_bad(t) for t in outs)
        total = sum(t.numel() for t in outs)
        records.append((names.get(module, "?"), module, inputs_ok, nbad, total))

    handles = [m.register_forward_hook(hook, with_kwargs=True) for m in model.modules()]
    saved = {n: b.detach().clone() for n, b in model.named_buffers()}
    try:
        with torch.no_grad():
            model(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()
        with torch.no_grad():
            for n, b in model.named_buffers():
                if n in saved:
                    b.copy_(saved[n])

    first_out = next((r for r in records if r[3]), None)
    producer = next((r for r in records if r[3] and r[2]), None)
    if producer is not None:
        name, module, _, nbad, total = producer
        own_bad = [n for n, p in module.named_parameters(recurse=False) if _bad(p)]
        why = f"; its own parameters are non-finite: {', '.join(own_bad)}" if own_bad else ""
        label = name or "(the model itself)"
        notes.insert(
            0,
            f"module {label!r} ({type(module).__name__}) produced the first non-finite output "
            f"from finite inputs: {nbad} of {total} output elements{why}",
        )
    elif first_out is not None:
        name, module, _, nbad, total = first_out
        notes.append(
            f"first module with a non-finite output: {name or '(the model itself)'!r} "
            f"({type(module).__name__}), which propagated it from its inputs"
        )
    else:
        notes.append(
            "every module's output is finite on this batch: the non-finite value arises after "
            "the forward pass (the loss or the backward pass)"
        )
        bad_target = _describe_bad("targets", _tensors(targets))
        if bad_target:
            notes.append(f"the targets hold non-finite values: {bad_target}")
        bad_grads = [n for n, p in model.named_parameters() if p.grad is not None and _bad(p.grad)]
        if bad_grads:
            notes.append(f"parameters with non-finite gradients: {', '.join(bad_grads[:5])}")
    return head + "\n  " + "\n  ".join(notes)
