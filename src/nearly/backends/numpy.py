"""The NumPy backend: NumPy arrays and scalars (every dtype, incl. ml_dtypes), masked arrays,
Python numbers, str/bytes, None, sequences read as arrays, array-likes, plain objects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nearly._prim import dtypes as _dtypes
from nearly.backends._base import Labels, Leaf, type_name

__all__ = ["to_leaf", "upcast"]

_PY_DTYPES = {bool: np.bool_, int: np.int64, float: np.float64, complex: np.complex128}


def upcast(x: Any) -> Any:
    """A NumPy float or complex array (or scalar) cast up to float64/complex128, exactly;
    anything else as it is."""
    if isinstance(x, np.ndarray | np.generic):
        family = _dtypes.family(x.dtype)
        if family == "float":
            return x.astype(np.float64)
        if family == "complex":
            return x.astype(np.complex128)
    return x


def to_leaf(obj: Any) -> Leaf:
    name = type_name(obj)
    if obj is None:
        return Leaf(obj, "none", name)
    if isinstance(obj, (str, bytes)):
        return Leaf(obj, "text", name)
    if isinstance(obj, Labels):
        return Leaf(obj.values, "array", type_name(obj.values), obj.values, labels=True)
    if isinstance(obj, np.ma.MaskedArray):
        data = np.ma.getdata(obj)
        return Leaf(obj, "array", name, data, mask=np.ma.getmaskarray(obj))
    if isinstance(obj, np.ndarray):
        # a subclass (np.matrix, a units array) is compared as its base array; the core asks
        # a foreign subclass first whether it accepts the comparison at all
        values = obj if type(obj) is np.ndarray else obj.view(np.ndarray)
        return Leaf(obj, "array", name, values)
    if isinstance(obj, np.generic):
        return Leaf(obj, "array", name, np.asarray(obj))
    t = type(obj)
    if t in _PY_DTYPES or isinstance(obj, (bool, int, float, complex)):
        base = next(b for b in (bool, int, float, complex) if isinstance(obj, b))
        if base is int and not (-(2**63) <= obj < 2**63):
            return Leaf(obj, "array", name, np.array(obj, dtype=object), python_scalar=True)
        return Leaf(obj, "array", name, np.asarray(obj, dtype=_PY_DTYPES[base]), python_scalar=True)
    if isinstance(obj, Sequence):
        try:
            arr = np.asarray(obj)
        except (ValueError, TypeError, RuntimeError, OverflowError, RecursionError):
            return Leaf(obj, "object", name)
        if arr.dtype == object:
            return Leaf(obj, "object", name)
        return Leaf(obj, "array", name, arr, from_sequence=True)
    if hasattr(obj, "__array__") or hasattr(obj, "__array_interface__"):
        try:
            arr = np.asarray(obj)
        except Exception:  # a foreign array that refuses conversion: fall back to ==
            return Leaf(obj, "object", name)
        return Leaf(obj, "array", name, arr)
    return Leaf(obj, "object", name)
