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

from collections.abc import Iterable
from typing import Any

try:
    import torch
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("nearly.torch needs PyTorch: pip install 'nearly[torch]'") from exc

from nearly._monitor.localize import localize
from nearly._monitor.monitor import DEFAULT_CHECK_EVERY, Action, Monitor, Policy
from nearly.backends.torch import ForwardInputs as _Inputs

__all__ = ["WatchedMonitor", "localize", "watch"]


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
        self.bind(grad_names=[n for n, _ in named])
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
        if self.last_vector is None:
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

    @property
    def hooks(self) -> int:
        """How many hooks this monitor holds on the module and the optimizer (0 after
        :meth:`remove` or :meth:`close`)."""
        return len(self._handles)

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
