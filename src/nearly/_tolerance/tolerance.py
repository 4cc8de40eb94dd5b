"""The :class:`Tolerance` type and the default tolerance of each dtype (the table is in
:mod:`nearly.tol`)."""

from __future__ import annotations

import math
import numbers
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from nearly._prim import dtypes as _dtypes
from nearly._prim.dtypes import as_dtype as _as_dtype
from nearly._prim.exact import decimal_fraction

__all__ = ["Tolerance", "ToleranceValue", "default", "ulps"]

ToleranceValue = float | int | Fraction | Decimal | np.ndarray[Any, Any]


def _check_scalar(name: str, value: Any) -> Fraction:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real | Decimal):
        raise TypeError(
            f"{name} must be a non-negative real number or an array of them, "
            f"got {type(value).__name__} {value!r}"
        )
    try:
        finite = math.isfinite(float(value))
    except OverflowError:  # an int or Fraction beyond float64
        shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:12]}..."
        raise ValueError(
            f"{name}={shown} is beyond float64's range (about 1.8e308), which the fast path "
            "computes in; state a smaller tolerance"
        ) from None
    if not finite:
        raise ValueError(f"{name} must be finite and non-negative, got {value!r}")
    exact = decimal_fraction(value)
    if exact < 0:
        raise ValueError(f"{name} must be non-negative, got {value!r}")
    return exact


def _check_array(name: str, value: Any) -> np.ndarray[Any, Any]:
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu" or arr.dtype.kind == "b":
        raise TypeError(f"{name} array must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.size and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name} must be finite and non-negative; element {tuple(int(i) for i in bad)} "
            f"is {arr[tuple(bad)]}"
        )
    if arr.size and np.any(arr < 0):
        bad = np.argwhere(arr < 0)[0]
        raise ValueError(
            f"{name} must be non-negative; element {tuple(int(i) for i in bad)} "
            f"is {arr[tuple(bad)]}"
        )
    arr.setflags(write=False)
    return arr


def _check_ulps(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"ulps must be a non-negative integer, got {value!r}")
    if isinstance(value, float | np.floating) and float(value).is_integer():
        value = int(value)
    if not isinstance(value, int | np.integer):
        raise TypeError(
            f"ulps must be a non-negative integer, got {type(value).__name__} {value!r}"
        )
    if value < 0:
        raise ValueError(f"ulps must be a non-negative integer, got {value!r}")
    return int(value)


class Tolerance:
    """An allowance for differences: ``rtol`` and ``atol`` (scalars or per-element arrays),
    and ``ulps``.

    Scalars are read as the decimal they print as (``rtol=0.3`` is exactly 3/10); arrays are
    read as stored and must broadcast to the compared shape. ``t1 + t2`` adds allowances.

    >>> Tolerance(rtol=1e-3) + Tolerance(atol=1e-6)
    Tolerance(rtol=0.001, atol=1e-06)
    """

    __slots__ = ("_atol", "_atol_exact", "_derivation", "_rtol", "_rtol_exact", "_source", "_ulps")

    def __init__(
        self,
        rtol: ToleranceValue = 0,
        atol: ToleranceValue = 0,
        ulps: int | None = None,
        *,
        source: str = "",
        derivation: Any = None,
    ) -> None:
        self._rtol, self._rtol_exact = self._read("rtol", rtol)
        self._atol, self._atol_exact = self._read("atol", atol)
        self._ulps = None if ulps is None else _check_ulps(ulps)
        self._source = source
        self._derivation = derivation

    @staticmethod
    def _read(name: str, value: Any) -> tuple[Any, Fraction | None]:
        if isinstance(value, np.ndarray) and value.ndim > 0:
            return _check_array(name, value), None
        if isinstance(value, list | tuple):
            return _check_array(name, value), None
        if isinstance(value, np.ndarray):
            value = value[()]
        exact = _check_scalar(name, value)
        return float(exact), exact

    @property
    def rtol(self) -> float | np.ndarray[Any, Any]:
        """Relative tolerance: a float, or a per-element float64 array."""
        return self._rtol  # type: ignore[no-any-return]

    @property
    def atol(self) -> float | np.ndarray[Any, Any]:
        """Absolute tolerance: a float, or a per-element float64 array."""
        return self._atol  # type: ignore[no-any-return]

    @property
    def source(self) -> str:
        """Where the tolerance came from, e.g. "float32 default"; shown in reports."""
        return self._source

    @property
    def derivation(self) -> Any:
        """For a tolerance derived from an error bound (``nearly.tol.sum`` ...): how it was
        derived (operation, summation order, formats), else None."""
        return self._derivation

    @property
    def ulps(self) -> int | None:
        """Units in the last place allowed (of the lower-precision dtype), or None."""
        return self._ulps

    @property
    def rtol_exact(self) -> Fraction | None:
        """The exact scalar rtol (None for a per-element array)."""
        return self._rtol_exact

    @property
    def atol_exact(self) -> Fraction | None:
        """The exact scalar atol (None for a per-element array)."""
        return self._atol_exact

    @property
    def is_exact(self) -> bool:
        """True when nothing but equality passes."""
        return self._rtol_exact == 0 and self._atol_exact == 0 and not self._ulps

    def __add__(self, other: object) -> Tolerance:
        if not isinstance(other, Tolerance):
            return NotImplemented

        def add(x: Any, xq: Fraction | None, y: Any, yq: Fraction | None) -> Any:
            if xq is not None and yq is not None:
                return xq + yq
            return np.asarray(x, dtype=np.float64) + np.asarray(y, dtype=np.float64)

        ulps_sum = (
            None
            if self._ulps is None and other._ulps is None
            else ((self._ulps or 0) + (other._ulps or 0))
        )
        sources = [t.source for t in (self, other) if t.source]
        return Tolerance(
            rtol=add(self._rtol, self._rtol_exact, other._rtol, other._rtol_exact),
            atol=add(self._atol, self._atol_exact, other._atol, other._atol_exact),
            ulps=ulps_sum,
            source=" + ".join(sources),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tolerance):
            return NotImplemented
        return (
            _same(self._rtol, self._rtol_exact, other._rtol, other._rtol_exact)
            and _same(self._atol, self._atol_exact, other._atol, other._atol_exact)
            and self._ulps == other._ulps
        )

    __hash__ = None  # type: ignore[assignment]

    def describe(self) -> str:
        """``rtol=1.3e-06, atol=1e-05`` (arrays shown by their range)."""
        parts = []
        for name, value in (("rtol", self._rtol), ("atol", self._atol)):
            if isinstance(value, np.ndarray):
                lo, hi = (float(value.min()), float(value.max())) if value.size else (0.0, 0.0)
                parts.append(f"{name}=per-element {_g(lo)}..{_g(hi)}")
            elif value != 0 or self._ulps is None:
                parts.append(f"{name}={_g(value)}")
        if self._ulps is not None:
            parts.append(f"ulps={self._ulps}")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"Tolerance({self.describe()})"

    def to_dict(self) -> dict[str, Any]:
        def val(x: Any) -> Any:
            if isinstance(x, np.ndarray):
                return {
                    "min": float(x.min()) if x.size else 0.0,
                    "max": float(x.max()) if x.size else 0.0,
                    "shape": list(x.shape),
                }
            return float(x)

        return {
            "rtol": val(self._rtol),
            "atol": val(self._atol),
            "ulps": self._ulps,
            "source": self._source,
        }


def _same(x: Any, xq: Fraction | None, y: Any, yq: Fraction | None) -> bool:
    if xq is not None and yq is not None:
        return xq == yq
    return bool(np.array_equal(np.asarray(x), np.asarray(y)))


def _g(x: float) -> str:
    return f"{x:.6g}" if x else "0"


_DEFAULTS: dict[str, tuple[str, str]] = {
    "bfloat16": ("1.6e-2", "1e-5"),
    "float16": ("1e-3", "1e-5"),
    "float32": ("1.3e-6", "1e-5"),
    "float64": ("1e-7", "1e-7"),
}


def default(dtype: Any) -> Tolerance:
    """The default tolerance for values of ``dtype`` (see the table in this module).

    >>> default("float32")
    Tolerance(rtol=1.3e-06, atol=1e-05)
    """
    return _default_for(_as_dtype(dtype))


@lru_cache(maxsize=128)
def _default_for(dt: np.dtype[Any]) -> Tolerance:
    fam = _dtypes.family(dt)
    label = _dtypes.dtype_label(dt)
    if fam not in ("float", "complex"):
        return Tolerance(0, 0, source=f"{label}: exact")
    comp = _dtypes.component(dt)
    name = _dtypes.dtype_label(comp)
    if name == "longdouble" or comp == np.dtype(np.longdouble):
        name = "float64"
    if name in _DEFAULTS:
        r, a = _DEFAULTS[name]
        return Tolerance(Fraction(r), Fraction(a), source=f"{label} default")
    fmt = _dtypes.float_format(comp)
    if fmt.p <= 8:  # float8 / float6 / float4 and other tiny formats: one unit in the last place
        return Tolerance(0, 0, ulps=1, source=f"{label} default")
    raise ValueError(f"no default tolerance for {label}: pass rtol/atol/ulps or tol=")


def ulps(k: int) -> Tolerance:
    """Allow ``k`` units in the last place of the lower-precision dtype, nothing else.

    >>> ulps(2)
    Tolerance(ulps=2)
    """
    return Tolerance(0, 0, ulps=k, source=f"{k} ULP")
