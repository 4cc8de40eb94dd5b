"""What nearly needs to know about a dtype: its family, its float format, and ULP distances.

Everything here is framework-free and works on NumPy dtypes, including the low-precision
dtypes of ``ml_dtypes`` (bfloat16, float8_*, float6_*, float4_*) when that package is installed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "NARROW_FORMATS",
    "FloatFormat",
    "as_dtype",
    "dtype_label",
    "family",
    "float_format",
    "lower_precision",
    "ulp_distance",
    "work_dtype",
]

_LONGDOUBLE_IS_DOUBLE = np.finfo(np.longdouble).nmant == np.finfo(np.float64).nmant


def is_ml_dtype(dt: np.dtype[Any]) -> bool:
    """A dtype from the ml_dtypes package (bfloat16, float8_*, int4...)."""
    return getattr(dt.type, "__module__", "") == "ml_dtypes"


_is_ml_dtype = is_ml_dtype


@lru_cache(maxsize=256)
def family(dt: np.dtype[Any]) -> str:
    """One of bool, int, float, complex, datetime, timedelta, str, bytes, void, object."""
    if _is_ml_dtype(dt):
        ml = sys.modules["ml_dtypes"]
        try:
            ml.finfo(dt)
            return "float"
        except (ValueError, TypeError):
            ml.iinfo(dt)
            return "int"
    kind = dt.kind
    return {
        "b": "bool",
        "i": "int",
        "u": "int",
        "f": "float",
        "c": "complex",
        "M": "datetime",
        "m": "timedelta",
        "U": "str",
        "S": "bytes",
        "V": "void",
        "O": "object",
    }.get(kind, "object")


@lru_cache(maxsize=256)
def signedness(dt: np.dtype[Any]) -> str:
    """ "bool", "signed" or "unsigned" for integer dtypes (incl. ml_dtypes int4...)."""
    if dt.kind == "b":
        return "bool"
    if _is_ml_dtype(dt):
        return "unsigned" if int(sys.modules["ml_dtypes"].iinfo(dt).min) >= 0 else "signed"
    return "unsigned" if dt.kind == "u" else "signed"


def is_numeric(dt: np.dtype[Any]) -> bool:
    return family(dt) in ("bool", "int", "float", "complex")


@lru_cache(maxsize=256)
def dtype_label(dt: np.dtype[Any]) -> str:
    """The name users know a dtype by: float32, bfloat16, datetime64[s], <U5 -> str32."""
    return str(dt.name) if dt.kind not in "UV" or _is_ml_dtype(dt) else str(dt)


#: Formats NumPy has no dtype for, held on the host in a wider dtype, and the dtype whose
#: precision they have: ULPs and default tolerances are those of that dtype (torch's
#: complex32 is read as complex64, its parts being float16).
NARROW_FORMATS: dict[str, np.dtype[Any]] = {"complex32": np.dtype(np.float16)}


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format: ``p`` significand bits (with the implicit one), the
    exponent ``emin`` of the smallest normal number, and machine epsilon."""

    name: str
    p: int
    emin: int
    eps: float
    signed: bool


@lru_cache(maxsize=256)
def float_format(dt: np.dtype[Any]) -> FloatFormat:
    """The format of a float dtype, or of the components of a complex dtype."""
    if family(dt) == "complex":
        dt = np.dtype(dt.type(0).real.dtype)
    if _is_ml_dtype(dt):
        fi: Any = sys.modules["ml_dtypes"].finfo(dt)
        signed = float(fi.min) < 0
    else:
        fi = np.finfo(dt)
        signed = True
    return FloatFormat(dtype_label(dt), int(fi.nmant) + 1, int(fi.minexp), float(fi.eps), signed)


def _precision_key(dt: np.dtype[Any]) -> float:
    fam = family(dt)
    if fam in ("float", "complex"):
        return float_format(dt).eps
    return 0.0  # integers and bools are exact: the float side, if any, decides


def lower_precision(a: np.dtype[Any], e: np.dtype[Any]) -> np.dtype[Any]:
    """The dtype whose format decides ULP counts and default tolerances for a pair.

    The float side wins over an integer or bool side; between two floats the one with the
    larger epsilon (fewer significand bits) wins; for two integers, ``expected``'s dtype.
    """
    ka, ke = _precision_key(a), _precision_key(e)
    return a if ka > ke else e


def component(dt: np.dtype[Any]) -> np.dtype[Any]:
    """float32 for complex64 and so on; the dtype itself otherwise (in the machine's byte
    order either way: a big-endian longdouble has longdouble's default tolerance)."""
    if family(dt) == "complex":
        comp: np.dtype[Any] = np.dtype(dt.type(0).real.dtype)
        return comp
    return native(dt)


def native(dt: np.dtype[Any]) -> np.dtype[Any]:
    """``dt`` in the machine's byte order (a big-endian float64 is a float64 all the same)."""
    return dt if dt.isnative else dt.newbyteorder("=")


@lru_cache(maxsize=256)
def work_dtype(a: np.dtype[Any], e: np.dtype[Any]) -> np.dtype[Any]:
    """The dtype the fast path computes in: float64 or complex128, or their extended forms
    when an input is a longdouble. Every input value is representable in it, except 64-bit
    integers beyond 2**53, which the engine treats as inexact."""
    wide = not _LONGDOUBLE_IS_DOUBLE and any(
        component(d) == np.dtype(np.longdouble) for d in (a, e)
    )
    cplx = family(a) == "complex" or family(e) == "complex"
    if cplx:
        return np.dtype(np.clongdouble if wide else np.complex128)
    return np.dtype(np.longdouble if wide else np.float64)


def inexact_in_work(dt: np.dtype[Any], work: np.dtype[Any]) -> bool:
    """Whether converting values of ``dt`` to ``work`` may round (64-bit integers)."""
    if family(dt) != "int":
        return False
    bits = 8 * dt.itemsize
    return bits > float_format(work).p


# ---------------------------------------------------------------------------- ULP distance


def _rank_small(x: np.ndarray[Any, Any], fmt: FloatFormat) -> np.ndarray[Any, Any]:
    """Position of each (finite, already rounded) value on the format's number line, as float64.

    Exact for every format with at most 26 significand bits: the rank stays below 2**53.
    """
    ax = np.abs(x)
    mant, k = np.frexp(ax)  # ax = mant * 2**k, mant in [0.5, 1)
    e = k.astype(np.float64) - 1.0
    half = float(2 ** (fmt.p - 1))
    normal = half * (e - fmt.emin + 1.0) + (mant * 2.0 - 1.0) * half
    sub = ax * float(2.0 ** (fmt.p - 1 - fmt.emin))
    rank = np.where(ax < 2.0**fmt.emin, sub, normal)
    return np.asarray(np.where(np.signbit(x), -rank, rank))


def _ordered_bits64(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    i = np.ascontiguousarray(x, dtype=np.float64).view(np.int64)
    return np.where(i < 0, -(i & np.int64(0x7FFFFFFFFFFFFFFF)), i)


def _bits64_distance(a: np.ndarray[Any, Any], e: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Exact ULP distance between float64 values, as uint64 (it can exceed 2**63: the
    difference of the ordered integers is formed modulo 2**64, where it is exact)."""
    oa, oe = _ordered_bits64(a), _ordered_bits64(e)
    ua, ue = oa.astype(np.uint64), oe.astype(np.uint64)
    return np.asarray(np.where(oa >= oe, ua - ue, ue - ua))


@lru_cache(maxsize=64)
def _sign_magnitude_bits(dt: np.dtype[Any]) -> bool:
    """Whether ``dt`` is a signed binary format of at most 32 bits filling its storage, with
    the sign in the top bit: then consecutive magnitudes are consecutive bit patterns, and the
    ULP distance of finite values is a difference of integers (float16, float32, bfloat16,
    the 8-bit formats)."""
    if family(dt) != "float" or dt.itemsize > 4:
        return False
    fi: Any = sys.modules["ml_dtypes"].finfo(dt) if _is_ml_dtype(dt) else np.finfo(dt)
    return int(fi.bits) == 8 * dt.itemsize and float(fi.min) < 0


def _ordered_bits_small(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Each value's position on its format's number line (±0 both at 0), as int64; NaN and
    infinities get meaningless positions and are masked by the caller."""
    bits = np.ascontiguousarray(x).view(np.dtype(f"u{x.dtype.itemsize}"))
    sign = 1 << (8 * x.dtype.itemsize - 1)
    mag = (bits & (sign - 1)).astype(np.int64)
    return np.asarray(np.where(bits >= sign, -mag, mag))


def _rank_exact_py(value: Any, fmt: FloatFormat) -> int:
    num, den = np.longdouble(value).as_integer_ratio()
    sign = -1 if num < 0 else 1
    num = abs(num)
    if num == 0:
        return 0
    # e = floor(log2(num/den))
    e = num.bit_length() - den.bit_length()
    if (num << max(0, -e)) < (den << max(0, e)):
        e -= 1
    half = 1 << (fmt.p - 1)
    if e < fmt.emin:
        scaled = num << (fmt.p - 1 - fmt.emin)
        return sign * (scaled // den)
    # offset within the binade: (x / 2**e - 1) * half, exact for a value of the format
    shift = fmt.p - 1 - e
    off = (num << shift) // den if shift >= 0 else num // (den << -shift)
    return sign * (half * (e - fmt.emin + 1) + off - half)


def _to_format(x: np.ndarray[Any, Any], fmt_dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """Round ``x`` to ``fmt_dtype`` once (through float64, which holds every narrower
    value exactly; ml_dtypes formats do not cast to each other directly)."""
    if x.dtype == fmt_dtype:
        return x
    with np.errstate(invalid="ignore", over="ignore"):
        if fmt_dtype == np.dtype(np.longdouble) or x.dtype == np.dtype(np.longdouble):
            return x.astype(fmt_dtype)
        return x.astype(np.float64).astype(fmt_dtype)


def ulp_distance(
    a: np.ndarray[Any, Any], e: np.ndarray[Any, Any], fmt_dtype: np.dtype[Any]
) -> np.ndarray[Any, Any]:
    """ULPs between ``a`` and ``e`` counted in ``fmt_dtype`` (both rounded to it first).

    Returns float64 distances (``inf`` where exactly one side is infinite or the two are
    infinities of opposite sign; NaN inputs give NaN). Integer dtypes count whole units.
    For complex inputs the larger distance of the two parts is returned.
    """
    fmt_dtype = native(fmt_dtype)
    fam = family(fmt_dtype)
    if fam == "complex":
        comp = component(fmt_dtype)
        return np.asarray(
            np.fmax(
                ulp_distance(np.real(a), np.real(e), comp),
                ulp_distance(np.imag(a), np.imag(e), comp),
            )
        )
    if np.iscomplexobj(a) or np.iscomplexobj(e):
        return np.asarray(
            np.fmax(
                ulp_distance(np.real(a), np.real(e), fmt_dtype),
                ulp_distance(np.imag(a), np.imag(e), fmt_dtype),
            )
        )
    if fam in ("int", "bool"):
        with np.errstate(invalid="ignore", over="ignore"):
            return np.asarray(np.abs(a.astype(np.float64) - e.astype(np.float64)))
    ra = _to_format(np.asarray(a), fmt_dtype)
    re = _to_format(np.asarray(e), fmt_dtype)
    fmt = float_format(fmt_dtype)
    if fmt_dtype == np.dtype(np.float64) or (
        fmt_dtype == np.dtype(np.longdouble) and _LONGDOUBLE_IS_DOUBLE
    ):
        dist = _bits64_distance(ra, re).astype(np.float64)
    elif _sign_magnitude_bits(fmt_dtype):
        dist = np.abs(_ordered_bits_small(ra) - _ordered_bits_small(re)).astype(np.float64)
    elif fmt.p > 26:
        flat_a, flat_e = ra.reshape(-1), re.reshape(-1)
        out = np.empty(flat_a.shape, dtype=np.float64)
        for i in range(flat_a.size):
            if np.isfinite(flat_a[i]) and np.isfinite(flat_e[i]):
                out[i] = abs(_rank_exact_py(flat_a[i], fmt) - _rank_exact_py(flat_e[i], fmt))
            else:
                out[i] = 0.0
        dist = out.reshape(ra.shape)
    else:
        fa = ra.astype(np.float64)
        fe = re.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            dist = np.abs(_rank_small(fa, fmt) - _rank_small(fe, fmt))
    # finiteness in the format itself (a longdouble beyond float64's range is finite)
    wide = ra.dtype == np.dtype(np.longdouble) and not _LONGDOUBLE_IS_DOUBLE
    with np.errstate(invalid="ignore", over="ignore"):
        fa64 = ra if wide else ra.astype(np.float64)
        fe64 = re if wide else re.astype(np.float64)
    nonfinite = ~(np.isfinite(fa64) & np.isfinite(fe64))
    if np.any(nonfinite):
        # NaN only where an input was NaN: a finite value beyond the format's range (which
        # rounds to NaN in formats without infinities) is infinitely many ULPs away
        nan = _is_nan(a) | _is_nan(e)
        same = (fa64 == fe64) & ~nan
        dist = np.where(nonfinite, np.where(nan, np.nan, np.where(same, 0.0, np.inf)), dist)
    return np.asarray(dist, dtype=np.float64)


def _is_nan(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    x = np.asarray(x)
    if family(x.dtype) not in ("float", "complex"):
        return np.zeros(x.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.asarray(np.isnan(x.astype(np.float64) if is_ml_dtype(x.dtype) else x))


def ulp_distance_exact_ok(
    a: np.ndarray[Any, Any], e: np.ndarray[Any, Any], fmt_dtype: np.dtype[Any], k: int
) -> np.ndarray[Any, Any]:
    """Boolean mask: the ULP distance is at most ``k``, decided exactly (the float64
    distances above round once they pass 2**53; here float64 distances stay integers).
    Complex values pass when both parts do, each counted in the component format."""
    fmt_dtype = native(fmt_dtype)
    if family(fmt_dtype) == "complex" or np.iscomplexobj(a) or np.iscomplexobj(e):
        comp = component(fmt_dtype)
        real_ok = ulp_distance_exact_ok(np.real(a), np.real(e), comp, k)
        return np.asarray(real_ok & ulp_distance_exact_ok(np.imag(a), np.imag(e), comp, k))
    if family(fmt_dtype) in ("int", "bool") and all(
        family(np.asarray(x).dtype) in ("int", "bool") for x in (a, e)
    ):
        # whole units, as Python integers: 64-bit differences do not fit a float64
        diff = np.asarray(a).astype(object) - np.asarray(e).astype(object)
        return np.asarray(np.abs(diff) <= k, dtype=bool)
    dist = ulp_distance(a, e, fmt_dtype)
    ok = dist <= k
    is64 = fmt_dtype == np.dtype(np.float64) or (
        fmt_dtype == np.dtype(np.longdouble) and _LONGDOUBLE_IS_DOUBLE
    )
    if family(fmt_dtype) == "float" and is64:
        near = np.isfinite(dist) & (dist > 2.0**52)
        if np.any(near):
            exact = _bits64_distance(
                _to_format(np.asarray(a), np.dtype(np.float64)),
                _to_format(np.asarray(e), np.dtype(np.float64)),
            )
            ok = np.where(near, exact <= np.uint64(k), ok)
    return np.asarray(ok, dtype=bool)


def as_dtype(dtype: Any) -> np.dtype[Any]:
    if isinstance(dtype, np.dtype):
        return dtype
    if dtype is float:
        return np.dtype(np.float64)
    if dtype is int:
        return np.dtype(np.int64)
    if dtype is complex:
        return np.dtype(np.complex128)
    if dtype is bool:
        return np.dtype(np.bool_)
    if isinstance(dtype, str):
        try:
            return np.dtype(dtype)
        except TypeError:
            import sys

            ml = sys.modules.get("ml_dtypes")
            if ml is None:
                try:
                    import ml_dtypes as ml
                except ImportError:
                    ml = None
            if ml is not None and hasattr(ml, dtype):
                ml_dt: np.dtype[Any] = np.dtype(getattr(ml, dtype))
                return ml_dt
            raise TypeError(f"unknown dtype {dtype!r}") from None
    if hasattr(dtype, "dtype") and isinstance(dtype.dtype, np.dtype):
        found: np.dtype[Any] = dtype.dtype
        return found
    try:
        result: np.dtype[Any] = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"not a dtype: {dtype!r}") from None
    return result
