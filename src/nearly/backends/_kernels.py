"""What each library's reduction kernels do, as the numbers the error bounds need: the order of
a sum along an axis, the ``k`` of its bound (no element passes through more than ``k``
additions) and the accumulator of low-precision inputs.

The facts are read from the libraries' sources (cited at each function); no library is
imported, so a bound for a library's computation can be derived from NumPy data alone.
A library with no entry here gets the order-free bound (``"any"``, ``k = n − 1``), which
holds for every order.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from nearly._prim import dtypes as _dtypes

__all__ = ["accumulates_in_float32", "library_of", "summation"]

Array = np.ndarray[Any, Any]

# top-level package of a value's type -> the library whose kernels computed it
_LIBRARY = {"jaxlib": "jax", "builtins": "numpy", "keras": "tensorflow"}


def library_of(x: Any) -> str:
    """The library a value belongs to ("numpy" for Python numbers and lists)."""
    root = type(x).__module__.partition(".")[0]
    return _LIBRARY.get(root, root)


def _numpy_pairwise_k(n: int) -> int:
    # numpy/_core/src/umath/loops_utils.h.src: 8 accumulators of <= 16 elements joined by a
    # depth-3 tree, blocks of 128 split in half
    if n < 8:
        return max(n - 1, 0)
    if n <= 128:
        return n // 8 + 9
    return 26 + math.ceil(math.log2(n / 128))


def _torch_cascade_k(n: int, lanes: int = 8) -> int:
    # aten/src/ATen/native/cpu/SumKernel.cpp: 4 levels of size L, ILP 4
    if n <= 1:
        return 0
    levels = math.floor(max(0, math.ceil(math.log2(max(n / (4 * lanes), 1)))) / 4)
    size: int = 2 ** max(4, levels)
    return min(n - 1, 8 * size + lanes + 10)


def _tf_tree_k(n: int) -> int:
    # Eigen TensorReduction.h: tree reduction with leaves of 1024 x packet, 4 accumulators,
    # threaded shards added in sequence
    threads = os.cpu_count() or 1
    return min(n - 1, 262 + max(0, math.ceil(math.log2(max(n / 8192, 1)))) + threads)


def summation(library: str, x: Array, axes: tuple[int, ...], n: int) -> tuple[str, int]:
    """(order, k) of ``library``'s sum of ``x`` over ``axes`` (``n`` terms per result), on
    the CPU."""
    inner = axes == (x.ndim - 1,) or axes == tuple(range(x.ndim))
    if library == "numpy":
        # NumPy's pairwise loop exists for its own float types only; ml_dtypes formats
        # (bfloat16, float8) are added one element at a time
        if inner and x.flags.c_contiguous and not _dtypes.is_ml_dtype(x.dtype):
            return "pairwise", _numpy_pairwise_k(n)
        return "recursive", max(n - 1, 0)
    if library == "torch":
        return "pairwise", _torch_cascade_k(n)
    if library == "tensorflow":
        if inner:
            return "pairwise", _tf_tree_k(n)
        return "recursive", max(n - 1, 0)
    return "any", max(n - 1, 0)


def accumulates_in_float32(library: str) -> bool:
    """Whether ``library`` sums and multiplies inputs of less than float32's precision
    (float16, bfloat16) in a float32 accumulator (PyTorch's CPU kernels do; the others
    accumulate in the input format)."""
    return library == "torch"
