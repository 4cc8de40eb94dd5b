"""The PyTorch backend: tensors on any device, with requires_grad, non-contiguous, sparse
(compared by value), quantized (compared dequantized) and meta (shape and dtype only)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nearly._tree import type_name
from nearly.backends import Leaf
from nearly.backends._host import ml_dtype

__all__ = ["to_leaf"]

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
    if obj.is_meta:
        empty = np.broadcast_to(np.zeros((), numpy_dtype(obj.dtype)), tuple(obj.shape))
        return Leaf(obj, "array", name, empty, device=device, meta=True)
    return Leaf(obj, "array", name, host_array(obj), device=device)
