"""The PyTorch backend: tensors on any device, with requires_grad, non-contiguous, sparse
(compared by value), quantized (compared dequantized) and meta (shape and dtype only)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from nearly.backends import _monitor_ops
from nearly.backends._base import Attr, Leaf, Unreadable, sparse_leaf, type_name
from nearly.backends._host import ml_dtype

__all__ = [
    "MonitorOps",
    "compiling",
    "device_verdict",
    "expand",
    "host_array",
    "pytree_children",
    "replay",
    "run_eagerly",
    "to_leaf",
    "upcast",
]

# torch dtypes NumPy has no dtype for, read bit for bit as ml_dtypes formats
_VIEWS: dict[torch.dtype, tuple[torch.dtype, str]] = {
    torch.bfloat16: (torch.int16, "bfloat16"),
    torch.float8_e4m3fn: (torch.uint8, "float8_e4m3fn"),
    torch.float8_e4m3fnuz: (torch.uint8, "float8_e4m3fnuz"),
    torch.float8_e5m2: (torch.uint8, "float8_e5m2"),
    torch.float8_e5m2fnuz: (torch.uint8, "float8_e5m2fnuz"),
    torch.float8_e8m0fnu: (torch.uint8, "float8_e8m0fnu"),
}


# torch dtypes whose elements are packed below a byte, or kept in a byte with no defined
# meaning: read only as their bytes, on request
_SUB_BYTE = frozenset(
    getattr(torch, name)
    for name in (
        *(f"uint{i}" for i in range(1, 8)),
        *(f"int{i}" for i in range(1, 8)),
        "float4_e2m1fn_x2",
    )
    if hasattr(torch, name)
)


def numpy_dtype(dtype: torch.dtype) -> np.dtype[Any]:
    if dtype in _SUB_BYTE:
        raise Unreadable(
            f"torch.Tensor of dtype {dtype}",
            "torch gives its sub-byte elements no layout to read them by; compare the raw "
            "bytes with .view(torch.uint8), or the values after unpacking them",
        )
    if dtype in _VIEWS:
        return ml_dtype(_VIEWS[dtype][1])
    if dtype == torch.complex32:
        return np.dtype(np.complex64)
    return np.dtype(torch.empty((), dtype=dtype).numpy().dtype)


def host_array(t: torch.Tensor) -> np.ndarray[Any, Any]:
    """A NumPy view of a CPU tensor (no copy for strided tensors, whatever their strides)."""
    numpy_dtype(t.dtype)  # refuses what cannot be read
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


def expand(obj: Any) -> list[Any] | dict[Any, Any] | None:
    """A nested tensor is its components; a ParameterList/ParameterDict its parameters; a
    container registered with ``torch.utils._pytree``, its children."""
    if isinstance(obj, torch.Tensor):
        return list(obj.unbind()) if obj.is_nested else None
    if isinstance(obj, torch.nn.ParameterList):
        return list(obj)
    if isinstance(obj, torch.nn.ParameterDict):
        return dict(obj.items())
    return pytree_children(obj)


def pytree_children(obj: Any) -> dict[Any, Any] | None:
    """The children of a container registered with ``torch.utils._pytree`` (a class
    registered with ``register_pytree_node``) under their key paths, or None."""
    from torch.utils import _pytree

    if type(obj) not in _pytree.SUPPORTED_NODES:
        return None
    flat, _ = _pytree.tree_flatten_with_path(obj, is_leaf=lambda x: x is not obj)
    children: dict[Any, Any] = {}
    for path, child in flat:
        (entry,) = path
        if isinstance(entry, _pytree.GetAttrKey):
            children[Attr(entry.name)] = child
        elif isinstance(entry, _pytree.SequenceKey):
            children[entry.idx] = child
        elif isinstance(entry, _pytree.MappingKey):
            children[entry.key] = child
        else:  # a key kind of the node's own: its spelling
            children[str(entry)] = child
    return children


def _compiling() -> bool:
    return bool(torch.compiler.is_compiling())


def to_leaf(obj: Any) -> Leaf | None:
    if not isinstance(obj, torch.Tensor):
        return None
    name = type_name(obj)
    device = str(obj.device)
    if obj.layout != torch.strided and not obj.is_meta and not obj.is_quantized:
        coo = obj.detach()
        coo = (coo if coo.layout == torch.sparse_coo else coo.to_sparse_coo()).coalesce()  # type: ignore[no-untyped-call]
        if coo.dense_dim() == 0:  # (a hybrid tensor's dense blocks are read densified)
            indices = coo.indices().cpu().numpy()
            return sparse_leaf(obj, tuple(obj.shape), indices, host_array(coo.values()), device)
    narrow = "complex32" if obj.dtype == torch.complex32 else None
    if obj.is_meta or is_native(obj):
        # no host copy: a zero-strided stand-in carries the shape and dtype
        stand_in = np.broadcast_to(np.zeros((), numpy_dtype(obj.dtype)), tuple(obj.shape))
        return Leaf(
            obj,
            "array",
            name,
            stand_in,
            device=device,
            meta=obj.is_meta,
            native=not obj.is_meta,
            format=narrow,
        )
    return Leaf(obj, "array", name, host_array(obj), device=device, format=narrow)


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


def upcast(x: Any) -> Any:
    """A float or complex tensor cast up to float64/complex128 where it lives (exact)."""
    if isinstance(x, torch.Tensor) and x.is_floating_point():
        return x.detach().to(torch.float64)
    if isinstance(x, torch.Tensor) and x.is_complex():
        return x.detach().to(torch.complex128)
    return x


def compiling() -> bool:
    """Whether ``torch.compile`` (Dynamo) is tracing now."""
    return bool(torch.compiler.is_compiling())


def run_eagerly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` as Dynamo runs it: a graph break, eagerly, with real tensors (under
    ``fullgraph=True`` Dynamo refuses at compile time, loudly, rather than skip the check)."""
    disabled: Callable[..., Any] = torch.compiler.disable(fn)  # type: ignore[no-untyped-call]
    return disabled


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


def _nonfinite(tensors: list[torch.Tensor]) -> _monitor_ops.NonFinite | None:
    """The non-finite elements of ``tensors``, counted where they live (None: all finite)."""
    count = total = 0
    first: tuple[tuple[int, ...], Any] | None = None
    for t in tensors:
        total += t.numel()
        n = _bad(t)
        if n and first is None:
            x = t.detach()
            index = tuple(int(i) for i in (~torch.isfinite(x)).nonzero()[0])
            value = float(x[index].real) if x.is_complex() else float(x[index])
            first = index, _monitor_ops.word_of(value)
        count += n
    return None if first is None else _monitor_ops.NonFinite(count, total, *first)


def replay(model: Any, batch: Any) -> _monitor_ops.Replay:
    """Re-run ``batch`` through ``model`` with a forward hook on every submodule, recording
    each module's call (see :class:`~nearly.backends._monitor_ops.Replay`). Buffers (e.g.
    BatchNorm statistics) are restored afterwards; gradients are not computed."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"localize: model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(batch, ForwardInputs):
        args, kwargs, targets = batch.args, batch.kwargs, None
    elif isinstance(batch, tuple | list) and len(batch) == 2:
        args, kwargs, targets = (batch[0],), {}, batch[1]
    else:
        args, kwargs, targets = (batch,), {}, None
    inputs = _nonfinite(_tensors(args) + _tensors(kwargs))
    bad_targets = _nonfinite(_tensors(targets))
    bad_weights = tuple(n for n, p in model.named_parameters() if _bad(p))
    if bad_weights:
        return _monitor_ops.Replay("module", inputs, bad_targets, bad_weights)

    calls: list[_monitor_ops.LayerCall] = []
    names = {m: n for n, m in model.named_modules()}

    def hook(module: torch.nn.Module, a: Any, kw: Any, out: Any) -> None:
        outs = _tensors(out)
        own = tuple(n for n, p in module.named_parameters(recurse=False) if _bad(p))
        calls.append(
            _monitor_ops.LayerCall(
                names.get(module, "?"),
                type(module).__name__,
                all(_bad(t) == 0 for t in _tensors(a) + _tensors(kw)),
                sum(_bad(t) for t in outs),
                sum(t.numel() for t in outs),
                own,
            )
        )

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
    bad_grads = tuple(n for n, p in model.named_parameters() if p.grad is not None and _bad(p.grad))
    return _monitor_ops.Replay(
        "module", inputs, bad_targets, (), tuple(calls), bad_gradients=bad_grads
    )


class MonitorOps(_monitor_ops.MonitorOps):
    name = "torch"
    replay = staticmethod(replay)

    def tensor_name(self, tensor: Any) -> str | None:
        return None  # a tensor's name is the name of the parameter it is (parameter_names)

    def parameter_names(self, model: Any) -> dict[int, str]:
        if not isinstance(model, torch.nn.Module):
            return {}
        return {id(p): n for n, p in model.named_parameters()}

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
