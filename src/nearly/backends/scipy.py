"""The SciPy backend: sparse matrices and arrays of every format, compared by value without
densifying (stored elements only; explicit zeros equal implicit ones). Other SciPy values
are read by the NumPy backend."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse

from nearly.backends._base import Leaf, sparse_leaf

__all__ = ["to_leaf"]


def to_leaf(obj: Any) -> Leaf | None:
    if not scipy.sparse.issparse(obj):
        return None
    coo = obj.tocoo()
    coords = np.stack([np.asarray(c, np.int64) for c in coo.coords]) if coo.nnz else None
    shape = tuple(int(n) for n in obj.shape)
    if coords is None:
        coords = np.zeros((len(shape), 0), np.int64)
    return sparse_leaf(obj, shape, coords, np.asarray(coo.data))
