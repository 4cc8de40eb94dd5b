"""The PyTorch backend: tensors on any device, with requires_grad, non-contiguous, sparse
(compared by value), quantized (compared dequantized) and meta (shape and dtype only)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from nearly.backends import _monitor_ops
from nearly.backends._base import Leaf, type_name
from nearly.backends._host import ml_dtype

__all__ = ["MonitorOps", "device_verdict", "host_array", "localize", "to_leaf"]

# torch dtypes NumPy has no dtype for, read bit for bit as ml_dtypes formats
_VIEWS: dict[torch.dtype, tuple[torch.dtype, str]] = {
    torch.bfloat16: (torch.int16, "bfloat16"),
    torch.float8_e4m3fn: (torch.uint8, "float8_e4m3fn"),
    torch.float8_e4m3fnuz: (torch.uint8, "float8_e4m3fnuz"),
    torch.float8_e5m2: (torch.uint8, "float8_e5m2"),
    torch.float8_e5m2fnuz: (torch.uint8, "float8_e5m2fnuz"),
    torch.float8_e8m0fnu: (torch.uint8, "float8_e8m0fnu"),
}


def numpy_dtype(dtype: torch.dtype) -> np.dtype[Any]:
    if dtype in _VIEWS:
        return ml_dtype(_VIEWS[dtype][1])
    if dtype == torch.complex32:
        return np.dtype(np.complex64)
    return np.dtype(torch.empty((), dtype=dtype).numpy().dtype)


def host_array(t: torch.Tensor) -> np.ndarray[Any, Any]:
    """A NumPy view of a CPU tensor (no copy for strided tensors, whatever their strides)."""
    t = t.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    if t.is_quantized:
        t = t.dequantize()
    t = t.resolve_conj().resolve_neg()
    if t.device.type != "cpu":
        t = t.cpu()
    if t.dtype in _VIEWS:
        raw, name = _VIEWS[t.dtype]
        return t.view(raw).numpy().view(ml_dtype(name))
    if t.dtype == torch.complex32:
        return t.to(torch.complex64).numpy()
    return t.numpy()


def _compiling() -> bool:
    return bool(torch.compiler.is_compiling())


def to_leaf(obj: Any) -> Leaf | None:
    if not isinstance(obj, torch.Tensor):
        return None
    name = type_name(obj)
    device = str(obj.device)
    if obj.is_meta or is_native(obj):
        # no host copy: a zero-strided stand-in carries the shape and dtype
        stand_in = np.broadcast_to(np.zeros((), numpy_dtype(obj.dtype)), tuple(obj.shape))
        return Leaf(
            obj, "array", name, stand_in, device=device, meta=obj.is_meta, native=not obj.is_meta
        )
    return Leaf(obj, "array", name, host_array(obj), device=device)


# --------------------------------------------------------------------- on-device verdicts

#: CPU tensors are read as NumPy views (free); tensors elsewhere are checked where they live.
#: Tests set this to exercise the on-device path on the CPU.
NATIVE_ON_CPU = False

_DEVICE_CHUNK = 1 << 24


def is_native(obj: Any) -> bool:
    """Whether ``obj`` is compared on its own device rather than as a host view."""
    if not isinstance(obj, torch.Tensor) or obj.is_meta:
        return False
    return obj.device.type != "cpu" or NATIVE_ON_CPU


def _on(device: torch.device, x: Any) -> torch.Tensor:
    """``x`` as a tensor on ``device`` (a host array is copied there once)."""
    if isinstance(x, torch.Tensor):
        return x.detach().to(device)
    arr = np.asarray(x)
    if not arr.flags.writeable:  # torch refuses to wrap read-only memory
        arr = arr.copy()
    for tdtype, (raw, name) in _VIEWS.items():
        if arr.dtype == ml_dtype(name):
            bits = arr.view(np.uint8 if raw == torch.uint8 else np.int16)
            return torch.from_numpy(np.ascontiguousarray(bits)).view(tdtype).to(device)
    return torch.as_tensor(arr, device=device)


class _TorchOps:
    """The handful of array operations the shared on-device kernel needs."""

    def __init__(self, device: torch.device) -> None:
        self.f64 = device.type != "mps"  # MPS has no float64

    def flat_pair(self, x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
        dev = next(v.device for v in (x, y) if isinstance(v, torch.Tensor))
        a, e = torch.broadcast_tensors(_on(dev, x), _on(dev, y))  # type: ignore[no-untyped-call]
        return a.reshape(-1), e.reshape(-1)

    def work(self, x: torch.Tensor, complex_: bool) -> torch.Tensor:
        if complex_:
            return x.to(torch.complex128 if self.f64 else torch.complex64)
        return x.to(torch.float64 if self.f64 else torch.float32)

    def is_complex(self, x: torch.Tensor) -> bool:
        return bool(x.is_complex())

    def is_float(self, x: torch.Tensor) -> bool:
        return bool(x.is_floating_point() or x.is_complex())

    def itemsize(self, x: Any) -> int:
        return int(x.element_size())

    def same_dtype(self, x: torch.Tensor, y: torch.Tensor) -> bool:
        return x.dtype == y.dtype

    def count(self, mask: torch.Tensor) -> int:
        return int(mask.sum())

    def nonzero(self, mask: torch.Tensor) -> torch.Tensor:
        return torch.nonzero(mask).reshape(-1)

    def concat(self, parts: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.int64)

    def take(self, x: Any, index: Any) -> Any:
        return x[index]

    def maximum(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.maximum(x, y)

    def to_host(self, x: torch.Tensor) -> np.ndarray[Any, Any]:
        return host_array(x)


def device_verdict(actual: Any, expected: Any, rule: Any) -> Any:
    """The tolerance rule run on the tensors' device (see :mod:`nearly.backends._device`)."""
    from nearly.backends._device import device_verdict as kernel

    dev = next(x.device for x in (actual, expected) if isinstance(x, torch.Tensor))
    return kernel(_TorchOps(dev), actual, expected, rule)


# ----------------------------------------------------------------- for nearly.Monitor


# ----------------------------------------------------------------------------- localisation


class ForwardInputs:
    """The positional and keyword arguments of the model's latest forward call (references)."""

    __slots__ = ("args", "kwargs")

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.args, self.kwargs = args, kwargs


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


def localize(model: Any, batch: Any, event: Any) -> str:
    """Re-run ``batch`` through ``model`` with a forward hook on every submodule and name the
    first one whose output is non-finite while its inputs are finite (the producer), as
    opposed to those that only propagated it. Buffers (e.g. BatchNorm statistics) are restored
    afterwards; gradients are not computed."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"localize: model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(batch, ForwardInputs):
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


class MonitorOps(_monitor_ops.MonitorOps):
    name = "torch"
    localize = staticmethod(localize)

    def __init__(self) -> None:
        import torch

        self.torch = torch

    def _scalar(self, value: Any) -> Any:
        torch = self.torch
        if not isinstance(value, torch.Tensor):
            return torch.tensor(float(value), dtype=torch.float32)
        if value.dim() != 0:
            if value.numel() != 1:
                raise ValueError(
                    f"a recorded value must hold one element, got shape {tuple(value.shape)}"
                )
            value = value.reshape(())
        return value if value.dtype == torch.float32 else value.to(torch.float32)

    def pack(self, scalars: Sequence[Any], tensors: Sequence[Any]) -> Any:
        torch = self.torch
        # two kernels per step: one fused norm over every tensor, one stack
        with torch.no_grad():
            parts = [self._scalar(s) for s in scalars]
            present = [t for t in tensors if t is not None]
            if present:
                norms = iter(torch._foreach_norm(present, 2.0, dtype=torch.float32))
                zero = None
                for t in tensors:
                    if t is None:
                        if zero is None:
                            zero = torch.zeros((), dtype=torch.float32, device=present[0].device)
                        parts.append(zero)
                    else:
                        parts.append(next(norms))
            elif tensors:
                parts.extend(torch.zeros((), dtype=torch.float32) for _ in tensors)
            try:
                return torch.stack(parts)
            except RuntimeError:  # values on several devices: gather them where the first is
                device = parts[0].device
                return torch.stack([p.to(device) for p in parts])

    def fetch(self, vectors: Sequence[Any]) -> np.ndarray[Any, Any]:
        torch = self.torch
        return np.asarray(torch.stack(list(vectors)).cpu().numpy(), dtype=np.float32)

    def factor(self, vector: Any, bounds: Sequence[_monitor_ops.Bound]) -> Any:
        torch = self.torch
        with torch.no_grad():
            ok = torch.isfinite(vector).all()
            for _, is_norm, a, b, lo, hi in bounds:
                x = torch.linalg.vector_norm(vector[a:b]) if is_norm else vector[a]
                if hi < math.inf:
                    ok = ok & (x <= hi)
                if lo > -math.inf:
                    ok = ok & (x >= lo)
            return ok.to(torch.float32)

    def gate(self, grads: Sequence[Any], factor: Any) -> list[Any]:
        torch = self.torch
        keep = factor > 0
        return [None if g is None else torch.where(keep, g, torch.zeros_like(g)) for g in grads]
