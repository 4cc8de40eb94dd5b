"""Tolerances: the :class:`Tolerance` type with each dtype's default (``tolerance``) and
tolerances derived from floating-point error analysis of reductions and products
(``bounds``). Public as :mod:`nearly.tol`.

May import: ``nearly._prim``, ``nearly.backends`` (to read a value's dtype and summation order).
"""

from nearly._tolerance.bounds import (
    dot,
    logsumexp,
    matmul,
    mean,
    norm,
    softmax,
    std,
    var,
)
from nearly._tolerance.bounds import sum_ as sum
from nearly._tolerance.tolerance import Tolerance, default, ulps

__all__ = [
    "Tolerance",
    "default",
    "dot",
    "logsumexp",
    "matmul",
    "mean",
    "norm",
    "softmax",
    "std",
    "sum",
    "ulps",
    "var",
]
