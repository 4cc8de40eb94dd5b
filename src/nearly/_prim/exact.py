"""Exact arithmetic for the few elements whose verdict the float fast path cannot settle.

A verdict must never depend on rounding inside nearly. The fast path computes
``|a - e| <= atol + rtol * |e|`` in float64 together with a bound on its own rounding error;
an element whose two sides lie within that bound of each other is decided here, with
``fractions.Fraction`` on the values as stored.
"""

from __future__ import annotations

import numbers
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = ["as_fraction", "decimal_fraction", "exact_close_complex", "exact_close_real"]


def as_fraction(x: Any) -> Fraction:
    """The exact value of a stored real number (Python or NumPy scalar, any float format)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, (bool, np.bool_)):
        return Fraction(int(x))
    if isinstance(x, (int, np.integer)):
        return Fraction(int(x))
    if isinstance(x, np.floating) and x.dtype.itemsize > 8:
        num, den = x.as_integer_ratio()
        return Fraction(num, den)
    if isinstance(x, Decimal):
        return Fraction(x)
    # float, float16/32/64 and the ml_dtypes formats all convert to float exactly
    return Fraction(float(x))


def decimal_fraction(x: Any) -> Fraction:
    """A scalar tolerance read as the decimal it prints as: ``0.3`` means 3/10."""
    if isinstance(x, (Fraction, int, np.integer)):
        return Fraction(int(x)) if not isinstance(x, Fraction) else x
    if isinstance(x, Decimal):
        return Fraction(x)
    if isinstance(x, numbers.Real):
        return Fraction(str(x))
    raise TypeError(f"not a real number: {x!r}")


def exact_close_real(a: Any, e: Any, rtol: Fraction, atol: Fraction) -> bool:
    """``|a - e| <= atol + rtol * |e|`` in exact arithmetic (finite inputs)."""
    fa, fe = as_fraction(a), as_fraction(e)
    return abs(fa - fe) <= atol + rtol * abs(fe)


def exact_close_complex(a: Any, e: Any, rtol: Fraction, atol: Fraction) -> bool:
    """``|a - e| <= atol + rtol * |e|`` with complex moduli, decided without square roots.

    With D = |a - e|**2 and E = |e|**2 the rule is sqrt(D) <= atol + rtol*sqrt(E), i.e.
    D - atol**2 - rtol**2 * E <= 2*atol*rtol*sqrt(E); square both sides when the left is
    positive.
    """
    ar, ai = as_fraction(np.real(a)), as_fraction(np.imag(a))
    er, ei = as_fraction(np.real(e)), as_fraction(np.imag(e))
    d2 = (ar - er) ** 2 + (ai - ei) ** 2
    e2 = er**2 + ei**2
    lhs = d2 - atol**2 - rtol**2 * e2
    if lhs <= 0:
        return True
    return lhs * lhs <= 4 * atol**2 * rtol**2 * e2
