"""The tolerance rule's records and its certainty band, shared by every place that runs the
rule: the NumPy engine, the device kernel and the TensorFlow graph path.

An element passes when ``|a - e| <= atol + rtol * |e|``. Run in floating point, the two sides
``d = fl(|a - e|)`` and ``t = fl(atol + rtol * |e|)`` carry rounding error; :func:`band` is a
bound on it. Where ``d - t > band`` the element fails for certain, where ``d - t <= -band`` it
passes for certain, and in between the verdict is handed to exact arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = ["DeviceVerdict", "Extreme", "Rule", "band", "unit_roundoff"]

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Rule:
    """A resolved tolerance for one pair of numeric arrays."""

    rtol: Any  # float, or float64 array broadcastable to the compared shape
    atol: Any
    rtol_exact: Fraction | None  # None when rtol is an array (read as stored)
    atol_exact: Fraction | None
    ulps: int | None
    ulp_dtype: np.dtype[Any]  # the lower-precision dtype: ULPs are counted in it
    equal_nan: bool = True

    @property
    def exact_only(self) -> bool:
        return self.rtol_exact == 0 and self.atol_exact == 0 and not self.ulps


@dataclass(frozen=True)
class Extreme:
    """The largest difference of one kind among failing elements."""

    value: float
    index: tuple[int, ...]
    allowed: float | None


@dataclass(frozen=True)
class DeviceVerdict:
    """What a backend that ran the rule on a device sends back: how many elements failed
    for certain, how many differ at all, and the few elements the host must decide (their
    flat indices and values, in the inputs' own formats)."""

    clear_fail: int
    unequal: int
    index: Array
    actual: Array
    expected: Array


def unit_roundoff(work: np.dtype[Any]) -> tuple[float, float]:
    """The unit roundoff ``u`` of a real work format and its smallest subnormal."""
    fi = np.finfo(work)
    return float(fi.eps) / 2, float(fi.smallest_subnormal)


def band(d: Any, t: Any, *, u: float, subnormal: float, maximum: Any, lossy: Any = None) -> Any:
    """The certainty band around ``d - t`` for arrays of any framework (``maximum`` is its
    elementwise maximum).

    ``8u * max(d, t)`` covers the roundings of the subtraction, absolute values, product and
    sum that formed ``d`` and ``t``, and ``4 * subnormal`` the absolute error of results in the
    subnormal range. When the inputs were rounded on their way into the work format, ``lossy``
    is ``|a| + |e|`` in that format and adds ``4u * lossy``.
    """
    b = 8.0 * u * maximum(d, t) + 4.0 * subnormal
    if lossy is not None:
        b = b + 4.0 * u * lossy
    return b
