"""Error-free transformations and compensated sums in float64: a sum as an unevaluated
(hi, lo) pair whose error is about one rounding of the exact result, whatever the
cancellation (Knuth's TwoSum carried through a pairwise reduction)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["add_pair", "sum2", "two_sum", "value"]

Array = np.ndarray[Any, Any]
F64 = np.float64


def two_sum(a: Array, b: Array) -> tuple[Array, Array]:
    """``s = fl(a + b)`` and the exact rounding error ``a + b - s`` (Knuth's TwoSum)."""
    s = a + b
    bb = s - a
    err = s - bb
    np.subtract(a, err, out=err)
    np.subtract(b, bb, out=bb)
    err += bb
    return s, err


def sum2(x: Array) -> tuple[Array, Array]:
    """Column sums of ``x`` (m >= 1 rows) as unevaluated (hi, lo) pairs.

    Rows are added pairwise (first half + second half, repeated), each addition's rounding error
    recovered with TwoSum and carried along: the result is about as accurate as the exact sum
    rounded once, plus O(log2(m) * u**2 * sum|x|).
    """
    e: Array | None = None
    side_hi: Array | None = None
    side_lo: Array | None = None
    while x.shape[0] > 1:
        m = x.shape[0]
        h = m // 2
        if m % 2:  # the odd row out joins a side accumulator
            r_lo = np.zeros(x.shape[1]) if e is None else e[-1]
            if side_hi is None or side_lo is None:
                side_hi, side_lo = x[-1].copy(), np.array(r_lo, dtype=F64)
            else:
                side_hi, t = two_sum(side_hi, x[-1])
                side_lo = side_lo + t + r_lo
        s, err = two_sum(x[:h], x[h : 2 * h])
        if e is not None:
            err += e[:h]
            err += e[h : 2 * h]
        x, e = s, err
    hi = x[0].copy()  # never a view of the input, which callers reuse
    lo = np.zeros(x.shape[1]) if e is None else e[0]
    if side_hi is not None and side_lo is not None:
        hi, t = two_sum(hi, side_hi)
        lo = lo + side_lo + t
    return hi, lo


def add_pair(hi: Array, lo: Array, hi2: Array, lo2: Array) -> tuple[Array, Array]:
    """The (hi, lo) pair of the sum of two (hi, lo) pairs."""
    s, t = two_sum(hi, hi2)
    return s, lo + lo2 + t


def value(hi: Array, lo: Array) -> Array:
    """hi + lo, keeping hi where it is not finite (an overflowed sum stays ±inf)."""
    return np.where(np.isfinite(hi), hi + lo, hi)
