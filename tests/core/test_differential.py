"""Differential tests: nearly against a slow reference written from the contract alone.

The reference below decides every element with Python integers and ``fractions.Fraction``:
the closeness rule ``|a - e| <= atol + rtol * |e|`` on the values as stored (scalar rtol/atol
read as the decimal they print as, per-element tolerance arrays as stored), the ULP distance
in the lower-precision dtype, NaN/inf placement, and the statistics a Mismatch reports.
Hypothesis draws arrays of every numeric dtype (raw bit patterns, so subnormals, ±0.0, ±inf,
NaN with payloads and integer extremes all occur), random tolerances and random nesting, in
every framework, and nearly must agree with the reference exactly.

What a Mismatch reports, as read from its documentation and checked here:

* ``count``: the failing elements; ``index``: where the greatest absolute difference among
  the failing *finite* pairs is, or the first failing element (C order) when every failing
  pair involves NaN/inf.
* ``max_abs``: that greatest ``|a - e|`` as a float. The contract does not say how it is
  rounded; for real values it must be the exact difference rounded to nearest (overflowing to
  inf), and on a tie between rounded differences the first element in C order is the worst.
  Complex moduli are checked to a few units of rounding.
* ``max_rel``: the greatest ``|a - e| / |e|`` (inf where e == 0), to a few units of rounding.
* ``max_ulps``: the greatest ULP distance, exactly, where the ULP dtype is a float format.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import nearly
from frameworks import convert, ml_dtypes, needs_ml_dtypes

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

# bfloat16 and the float8 formats where ml_dtypes is installed
ML_FLOATS = ["bfloat16", "float8_e4m3fn", "float8_e5m2"] if ml_dtypes is not None else []
REAL_FLOATS = ["float16", "float32", "float64", *ML_FLOATS]
COMPLEX = ["complex64", "complex128"]
INTS = ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]
ALL = REAL_FLOATS + COMPLEX + INTS + ["longdouble"]
# dtypes each framework holds (TensorFlow has no float8 here, nobody but NumPy longdouble)
HELD = {
    "numpy": set(ALL),
    "torch": set(ALL) - {"longdouble"},
    "tensorflow": set(ALL) - {"longdouble", "float8_e4m3fn", "float8_e5m2"},
    "jax": set(ALL) - {"longdouble"},
}


def name_of(dt: np.dtype[Any]) -> str:
    return "longdouble" if dt == np.dtype(np.longdouble) else dt.name


def dtype_of(name: str) -> np.dtype[Any]:
    return np.dtype(getattr(ml_dtypes, name)) if hasattr(ml_dtypes, name) else np.dtype(name)


# ----------------------------------------------------------------------- the reference

NAN = "nan"


@dataclass(frozen=True)
class Fmt:
    """A binary float format: p significand bits (with the implicit one), emin."""

    p: int
    emin: int


def fmt_of(dt: np.dtype[Any]) -> Fmt | None:
    """The float format ULPs are counted in, or None for integers and bools."""
    if dt.kind == "c":
        dt = np.dtype(dt.type(0).real.dtype)
    if dt.kind in "biu":
        return None
    fi: Any = ml_dtypes.finfo(dt) if dt.type.__module__ == "ml_dtypes" else np.finfo(dt)
    return Fmt(int(fi.nmant) + 1, int(fi.minexp))


def eps_of(dt: np.dtype[Any]) -> float:
    fmt = fmt_of(dt)
    return 0.0 if fmt is None else 2.0 ** (1 - fmt.p)


def lower_precision(da: np.dtype[Any], de: np.dtype[Any]) -> np.dtype[Any]:
    """The contract: a float side wins over an integer side; of two floats, the one with
    fewer significand bits; of two integers (or a tie), expected's dtype."""
    return da if eps_of(da) > eps_of(de) else de


Real = Fraction | str  # a finite value, "nan", "inf" or "-inf"


def parts(x: Any) -> tuple[Real, Real]:
    """The exact real and imaginary parts of a stored scalar."""
    if isinstance(x, (np.complexfloating, complex)):
        return real(x.real), real(x.imag)
    return real(x), Fraction(0)


def real(x: Any) -> Real:
    if isinstance(x, (bool, np.bool_, int, np.integer)):
        return Fraction(int(x))
    if isinstance(x, np.floating) and x.dtype.itemsize > 8:
        if np.isnan(x):
            return NAN
        if np.isinf(x):
            return "inf" if x > 0 else "-inf"
        return Fraction(*x.as_integer_ratio())
    f = float(x)  # exact for every format of at most 64 bits
    if math.isnan(f):
        return NAN
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return Fraction(f)


def rank(q: Fraction, fmt: Fmt) -> int:
    """Position of a value of the format on its number line (0 for ±0): consecutive
    representable values have consecutive ranks."""
    x = abs(q)
    if x == 0:
        return 0
    e = x.numerator.bit_length() - x.denominator.bit_length()
    if Fraction(2) ** e > x:
        e -= 1
    half = 2 ** (fmt.p - 1)
    if e < fmt.emin:
        r = x / Fraction(2) ** (fmt.emin - fmt.p + 1)
    else:
        r = (e - fmt.emin + 1) * half + (x / Fraction(2) ** e - 1) * half
    assert r.denominator == 1, (q, fmt)  # the value is in the format
    return int(r) if q > 0 else -int(r)


def rounded(x: Any, dt: np.dtype[Any]) -> Any:
    """A real value rounded once to the format ``dt`` (NumPy's and ml_dtypes' casts)."""
    with np.errstate(all="ignore"):
        return np.array(x).astype(dt)[()]


def ulp_distance(a: Any, e: Any, dt: np.dtype[Any]) -> float:
    """ULPs between two finite values in ``dt`` (per part for complex, the larger); inf when
    rounding to ``dt`` overflows one of them."""
    fmt = fmt_of(dt)
    assert fmt is not None
    comp = np.dtype(dt.type(0).real.dtype) if dt.kind == "c" else dt
    worst = 0.0
    for part in (np.real, np.imag):
        ra, re = real(rounded(part(a), comp)), real(rounded(part(e), comp))
        if not (isinstance(ra, Fraction) and isinstance(re, Fraction)):
            if ra != re:
                return math.inf
            continue
        worst = max(worst, float(abs(rank(ra, fmt) - rank(re, fmt))))
    return worst


@dataclass(frozen=True)
class Tol:
    rtol: Any  # Fraction or an array of float64 (per element, as stored)
    atol: Any
    ulps: int | None


def tol_for(options: dict[str, Any], da: np.dtype[Any], de: np.dtype[Any]) -> Tol:
    """The contract: any of rtol/atol/ulps given sets the others to 0; none given takes the
    default row of the lower-precision dtype; scalars are read as the decimal they print as."""
    given_ = {k: options[k] for k in ("rtol", "atol", "ulps") if k in options}
    if not given_:
        t = nearly.tol.default(lower_precision(da, de))
        given_ = {"rtol": t.rtol, "atol": t.atol, "ulps": t.ulps}

    def read(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return v.astype(np.float64)
        return Fraction(repr(v)) if isinstance(v, float) else Fraction(v or 0)

    return Tol(read(given_.get("rtol", 0)), read(given_.get("atol", 0)), given_.get("ulps"))


def modulus_within(d2: Fraction, e2: Fraction, rtol: Fraction, atol: Fraction) -> bool:
    """sqrt(d2) <= atol + rtol * sqrt(e2), decided without square roots."""
    lhs = d2 - atol * atol - rtol * rtol * e2
    return lhs <= 0 or lhs * lhs <= 4 * atol * atol * rtol * rtol * e2


@dataclass
class Expected:
    """What the reference says about one pair of arrays."""

    count: int = 0
    index: tuple[int, ...] | None = None
    max_abs: float | None = None
    abs_exact: Fraction | None = None
    max_rel: float | None = None
    max_ulps: float | None = None


def reference(
    a: np.ndarray[Any, Any], e: np.ndarray[Any, Any], options: dict[str, Any]
) -> Expected:
    """Decide and measure two same-shaped numeric arrays, element by element."""
    t = tol_for(options, a.dtype, e.dtype)
    if isinstance(t.rtol, np.ndarray) or isinstance(t.atol, np.ndarray):
        t = Tol(
            *(
                np.broadcast_to(v, a.shape) if isinstance(v, np.ndarray) else v
                for v in (t.rtol, t.atol)
            ),
            t.ulps,
        )
    equal_nan = options.get("equal_nan", True)
    ulp_dt = lower_precision(a.dtype, e.dtype)
    measured_in_ulps = fmt_of(ulp_dt) is not None
    out = Expected()
    first_fail: tuple[int, ...] | None = None
    worst: tuple[float, tuple[int, ...], Fraction] | None = None
    for idx in np.ndindex(a.shape):
        x, y = a[idx], e[idx]
        px, py = parts(x), parts(y)
        nan_x, nan_y = NAN in px, NAN in py
        finite = all(isinstance(v, Fraction) for v in (*px, *py))
        if nan_x or nan_y:
            ok = nan_x and nan_y and equal_nan
        elif not finite:
            ok = px == py
        else:
            d2 = (px[0] - py[0]) ** 2 + (px[1] - py[1]) ** 2
            e2 = py[0] ** 2 + py[1] ** 2
            rtol = t.rtol if isinstance(t.rtol, Fraction) else Fraction(float(t.rtol[idx]))
            atol = t.atol if isinstance(t.atol, Fraction) else Fraction(float(t.atol[idx]))
            ok = modulus_within(d2, e2, rtol, atol)
            if not ok and t.ulps is not None and measured_in_ulps:
                ok = ulp_distance(x, y, ulp_dt) <= t.ulps
            elif not ok and t.ulps is not None:
                ok = abs(px[0] - py[0]) <= t.ulps  # integers count whole units
        if ok:
            continue
        out.count += 1
        first_fail = first_fail or idx
        if not finite:
            continue
        if px[1] == 0 and py[1] == 0:
            diff = abs(px[0] - py[0])
            rel = math.inf if py[0] == 0 else to_float(diff / abs(py[0]))
        else:
            diff_f = math.hypot(float(px[0] - py[0]), float(px[1] - py[1]))
            diff = Fraction(diff_f) if math.isfinite(diff_f) else Fraction(2**1100)
            mag = math.hypot(float(py[0]), float(py[1]))
            rel = math.inf if mag == 0 else diff_f / mag
        rounded = to_float(diff)
        if worst is None or rounded > worst[0]:
            worst = (rounded, idx, diff)
        out.max_rel = rel if out.max_rel is None else max(out.max_rel, rel)
        if measured_in_ulps:
            u = ulp_distance(x, y, ulp_dt)
            out.max_ulps = u if out.max_ulps is None else max(out.max_ulps, u)
    if worst is not None:
        out.max_abs, out.index, out.abs_exact = worst
    else:
        out.index = first_fail
    return out


def to_float(q: Fraction) -> float:
    try:
        return float(q)  # rounded to nearest
    except OverflowError:
        return math.inf


# ----------------------------------------------------------------------- strategies


def specials(dt: np.dtype[Any]) -> list[Any]:
    if dt.kind == "b":
        return [True, False]
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return [int(info.min), int(info.max), 0, 1]
    comp = np.dtype(dt.type(0).real.dtype) if dt.kind == "c" else dt
    fi: Any = ml_dtypes.finfo(comp) if comp.type.__module__ == "ml_dtypes" else np.finfo(comp)
    out: list[Any] = [0.0, -0.0, 1.0, float(fi.max), -float(fi.max), float(fi.tiny)]
    out.append(float(fi.smallest_subnormal))
    out += [math.inf, -math.inf, math.nan]
    if dt.kind == "c":
        out += [complex(math.nan, 1.0), complex(2.0, math.nan), complex(math.inf, 1.0)]
    return out


def from_bits(raw: bytes, dt: np.dtype[Any], n: int) -> np.ndarray[Any, Any]:
    if dt.kind == "b":
        return np.frombuffer(raw[:n], np.uint8) % 2 == 1
    return np.frombuffer(raw[: n * dt.itemsize], dt).copy()


@st.composite
def arrays_of(draw: st.DrawFn, dt: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    """Any bit patterns of ``dt`` (NaN payloads, subnormals, both zeros, extremes), with
    special values planted."""
    n = math.prod(shape)
    raw = draw(st.binary(min_size=n * dt.itemsize, max_size=n * dt.itemsize))
    arr = from_bits(raw, dt, n)
    if dt == np.dtype(np.longdouble):
        # random bytes may not be canonical 80-bit values: build them from float64 ones
        arr = from_bits(draw(st.binary(min_size=8 * n, max_size=8 * n)), np.dtype("f8"), n)
        with np.errstate(all="ignore"):
            arr = quieted(arr).astype(np.longdouble) * np.longdouble(1 + 2.0**-60)
    for _ in range(draw(st.integers(0, min(n, 3)))):
        with np.errstate(all="ignore"):
            arr[draw(st.integers(0, n - 1))] = draw(st.sampled_from(specials(dt)))
    return quieted(arr).reshape(shape)


def quieted(arr: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``arr`` with every signalling NaN made quiet (payload and sign kept). Signalling NaNs
    trip a known engine bug (see test_bad_input.py) and are left out here."""
    dt = arr.dtype
    comp = np.dtype(dt.type(0).real.dtype) if dt.kind == "c" else dt
    if dt.kind in "biu" or comp.itemsize > 8 or comp.name == "float8_e4m3fn":
        return arr
    fi: Any = ml_dtypes.finfo(comp) if comp.type.__module__ == "ml_dtypes" else np.finfo(comp)
    flat = arr.reshape(-1).view(comp) if dt.kind == "c" else arr.reshape(-1)
    bits = flat.view(f"u{comp.itemsize}")
    with np.errstate(all="ignore"):
        nan = np.isnan(flat.astype(np.float64)) if comp.itemsize < 4 else np.isnan(flat)
    bits[nan] |= np.array(1 << (int(fi.nmant) - 1), bits.dtype)
    return arr


def cast(v: Any, dt: np.dtype[Any]) -> Any:
    """One value converted to ``dt`` as NumPy casts it (NaN or overflow give whatever the
    cast gives: any value will do here)."""
    if dt.kind != "c" and isinstance(v, (complex, np.complexfloating)):
        v = v.real
    with np.errstate(all="ignore"):
        return np.array(v).astype(dt)[()]


def step(v: Any, dt: np.dtype[Any], n: int) -> Any:
    """``v`` moved ``n`` representable values of ``dt`` (through its bit pattern)."""
    if dt.kind in "biu" or dt.kind == "c" or dt.itemsize > 8:
        return v
    bits = np.array(v, dt).view(f"u{dt.itemsize}")
    with np.errstate(all="ignore"):
        moved = bits + np.array(n, bits.dtype) if n > 0 else bits - np.array(-n, bits.dtype)
    return moved.astype(bits.dtype).view(dt)[()]


@st.composite
def near(draw: st.DrawFn, x: np.ndarray[Any, Any], dt: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """An array of ``dt`` close to ``x``: each element kept, moved a few representable
    values, scaled by a small relative amount, replaced by a special value, or redrawn."""
    out = np.empty(x.shape, dt)
    flat_x, flat = x.reshape(-1), out.reshape(-1)
    for i in range(flat.size):
        how = draw(st.sampled_from(["same", "same", "step", "step", "scale", "special", "any"]))
        if how == "special":
            flat[i] = cast(draw(st.sampled_from(specials(dt))), dt)
        elif how == "any":
            flat[i] = draw(arrays_of(dt, ()))[()]
        else:
            v = cast(flat_x[i], dt)
            if how == "step" and dt.kind in "iu":
                info = np.iinfo(dt)
                v = min(max(int(v) + draw(st.integers(-3, 3)), int(info.min)), int(info.max))
            elif how == "step":
                v = step(v, dt, draw(st.sampled_from([-3, -2, -1, 1, 2, 3])))
            elif how == "scale" and dt.kind not in "biu":
                factor = 1 + draw(st.sampled_from([1e-8, -1e-7, 1e-6, 3e-3, -0.02, 0.3]))
                with np.errstate(all="ignore"):
                    v = cast(complex(v) * factor if dt.kind == "c" else float(v) * factor, dt)
            flat[i] = v
    return quieted(out)


decimal_tols = st.one_of(
    st.sampled_from([0.0, 1e-7, 1.3e-6, 1e-3, 0.1, 0.3, 1.0, 1e-300, 1e300]),
    st.integers(0, 6).map(lambda k: 10.0**-k * 3),
    st.decimals(0, 2, places=4, allow_nan=False, allow_infinity=False).map(float),
)


@st.composite
def tolerances(draw: st.DrawFn, shape: tuple[int, ...]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["default", "rtol", "atol", "both", "ulps", "mixed", "array"]))
    opts: dict[str, Any] = {}
    if kind in ("rtol", "both", "mixed"):
        opts["rtol"] = draw(decimal_tols)
    if kind in ("atol", "both", "mixed"):
        opts["atol"] = draw(decimal_tols)
    if kind in ("ulps", "mixed"):
        opts["ulps"] = draw(st.integers(0, 4))
    if kind == "array" and shape:
        # per-element tolerances, as stored, broadcast from the last axis or full shape
        tshape = draw(st.sampled_from([shape, shape[-1:]]))
        n = math.prod(tshape)
        values = draw(st.lists(decimal_tols, min_size=n, max_size=n))
        opts[draw(st.sampled_from(["rtol", "atol"]))] = np.array(values).reshape(tshape)
    if draw(st.booleans()):
        opts["equal_nan"] = draw(st.booleans())
    return opts


@st.composite
def pairs(draw: st.DrawFn, names: list[str] = ALL) -> tuple[Any, Any, dict[str, Any]]:
    """Two arrays (maybe of different dtypes) with a tolerance."""
    name_a = draw(st.sampled_from(names))
    name_e = name_a if draw(st.integers(0, 3)) else draw(st.sampled_from(names))
    da, de = dtype_of(name_a), dtype_of(name_e)
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    e = draw(arrays_of(de, shape))
    a = draw(near(e, da))
    return a, e, draw(tolerances(shape))


def with_mixed_ints_beyond_2_53(a: np.ndarray[Any, Any], e: np.ndarray[Any, Any]) -> bool:
    """A 64-bit integer beyond 2**53 against a narrower float with ulps: rounding it to that
    format through float64 would round twice, which the reference does not model."""
    for x, y in ((a, e), (e, a)):
        wide_int = x.dtype.kind in "iu" and x.dtype.itemsize == 8 and y.dtype.kind not in "biu"
        if wide_int and x.size and np.any(np.abs(x.astype(np.float64)) >= 2.0**53):
            return True
    return False


# ----------------------------------------------------------------------- the comparison


def assert_agrees(
    result: nearly.Comparison, path: str, a: Any, e: Any, want: Expected, options: dict[str, Any]
) -> None:
    found = [m for m in result.mismatches if m.path == path]
    event("fails" if want.count else "passes")
    if want.count == 0:
        assert found == [], str(result)
        return
    assert len(found) == 1, str(result)
    (m,) = found
    context = f"{a!r} vs {e!r} with {options}\n{result}"
    assert m.kind == "value", context
    assert m.count == want.count, context
    assert m.total == a.size, context
    complex_ = a.dtype.kind == "c" or e.dtype.kind == "c"
    if want.max_abs is None:
        assert m.max_abs is None, context
        assert m.index == want.index, context
        return
    assert m.max_abs is not None, context
    assert m.max_rel is not None, context
    if complex_:
        assert m.max_abs == pytest.approx(want.max_abs, rel=1e-14), context
        assert m.index is not None
    else:
        assert m.max_abs == want.max_abs, context
        assert m.index == want.index, context
    assert want.max_rel is not None
    if math.isinf(want.max_rel):
        assert math.isinf(m.max_rel), context
    else:
        assert m.max_rel == pytest.approx(want.max_rel, rel=1e-14), context
    if want.max_ulps is not None:
        assert m.max_ulps == want.max_ulps, context


def compare_leaf(a: Any, e: Any, options: dict[str, Any]) -> tuple[Expected, nearly.Comparison]:
    return reference(a, e, options), nearly.compare(a, e, **options)


# ----------------------------------------------------------------------------- tests


@SETTINGS
@given(pairs())
def test_numpy_arrays_agree_with_the_reference(case: tuple[Any, Any, dict[str, Any]]) -> None:
    a, e, options = case
    assume(not ("ulps" in options and with_mixed_ints_beyond_2_53(a, e)))
    want, result = compare_leaf(a, e, options)
    assert result.ok is (want.count == 0), f"{a!r} vs {e!r} {options}\n{result}"
    assert_agrees(result, "", a, e, want, options)
    with pytest.raises(nearly.NotClose) if want.count else contextlib.nullcontext():
        nearly.assert_close(a, e, **options)


@SETTINGS
@given(pairs(REAL_FLOATS + COMPLEX))
def test_float_formats_agree_with_the_reference_in_ulps(
    case: tuple[Any, Any, dict[str, Any]],
) -> None:
    a, e, options = case
    options = {"ulps": options.get("ulps", 1), "equal_nan": options.get("equal_nan", True)}
    want, result = compare_leaf(a, e, options)
    assert result.ok is (want.count == 0), f"{a!r} vs {e!r} {options}\n{result}"
    assert_agrees(result, "", a, e, want, options)


@SETTINGS
@given(pairs(INTS))
def test_integer_extremes_agree_with_the_reference(case: tuple[Any, Any, dict[str, Any]]) -> None:
    a, e, options = case
    want, result = compare_leaf(a, e, options)
    assert result.ok is (want.count == 0), f"{a!r} vs {e!r} {options}\n{result}"
    assert_agrees(result, "", a, e, want, options)


@SETTINGS
@given(pairs(), st.data())
def test_frameworks_agree_with_the_reference(
    case: tuple[Any, Any, dict[str, Any]], data: st.DataObject
) -> None:
    a, e, options = case
    assume(not ("ulps" in options and with_mixed_ints_beyond_2_53(a, e)))
    want = reference(a, e, options)
    fa = data.draw(st.sampled_from([f for f, held in HELD.items() if name_of(a.dtype) in held]))
    fe = data.draw(st.sampled_from([f for f, held in HELD.items() if name_of(e.dtype) in held]))
    ta, te = convert(fa, a, a.dtype.name), convert(fe, e, e.dtype.name)
    result = nearly.compare(ta, te, **options)
    assert result.ok is (want.count == 0), f"{fa} {a!r} vs {fe} {e!r} {options}\n{result}"
    assert_agrees(result, "", a, e, want, options)


def build(shape: Any, leaves: list[Any]) -> Any:
    """Nest ``leaves`` in the container layout ``shape`` (consumed left to right)."""
    kind, children = shape
    if kind == "leaf":
        return leaves.pop(0)
    items = [build(c, leaves) for c in children]
    if kind == "dict":
        return {f"k{i}": v for i, v in enumerate(items)}
    return tuple(items) if kind == "tuple" else items


def paths(shape: Any, prefix: str = "") -> list[str]:
    kind, children = shape
    if kind == "leaf":
        return [prefix]
    out: list[str] = []
    for i, c in enumerate(children):
        out += paths(c, prefix + (f"['k{i}']" if kind == "dict" else f"[{i}]"))
    return out


layouts = st.recursive(
    st.just(("leaf", ())),
    lambda kids: st.tuples(
        st.sampled_from(["list", "tuple", "dict"]), st.lists(kids, min_size=1, max_size=3)
    ),
    max_leaves=5,
)


@SETTINGS
@given(layouts, st.data())
def test_nested_structures_agree_leaf_by_leaf(layout: Any, data: st.DataObject) -> None:
    where = paths(layout)
    cases: list[tuple[Any, Any]] = []
    options = data.draw(
        tolerances(()).filter(lambda o: not any(isinstance(v, np.ndarray) for v in o.values()))
    )
    for _ in where:
        a, e, _opts = data.draw(pairs(REAL_FLOATS + INTS + COMPLEX))
        cases.append((a, e))
    if "ulps" in options:
        assume(not any(with_mixed_ints_beyond_2_53(a, e) for a, e in cases))
    actual = build(layout, [a for a, _ in cases])
    expected = build(layout, [e for _, e in cases])
    result = nearly.compare(actual, expected, **options)
    wants = [reference(a, e, options) for a, e in cases]
    failing = [p for p, w in zip(where, wants, strict=True) if w.count]
    assert [m.path for m in result.mismatches] == failing, str(result)
    for p, (a, e), w in zip(where, cases, wants, strict=True):
        assert_agrees(result, p, a, e, w, options)


# ---------------------------------------------------------- the reference checks itself


def test_reference_ulp_distance_counts_representable_values() -> None:
    one = np.float32(1)
    up = np.nextafter(one, np.float32(2))
    assert ulp_distance(one, up, np.dtype(np.float32)) == 1
    assert ulp_distance(np.float32(-0.0), np.float32(0.0), np.dtype(np.float32)) == 0
    tiny = np.float32(np.finfo(np.float32).smallest_subnormal)
    assert ulp_distance(-tiny, tiny, np.dtype(np.float32)) == 2
    # a float64 value is rounded to the lower-precision format first
    assert ulp_distance(np.float64(1.0 + 2.0**-30), one, np.dtype(np.float32)) == 0


@needs_ml_dtypes
def test_reference_ulp_distance_counts_bfloat16_values() -> None:
    bf = dtype_of("bfloat16")
    assert ulp_distance(np.array(1.0, bf)[()], np.array(1.0078125, bf)[()], bf) == 1


def test_reference_rule_reads_decimals() -> None:
    want = reference(np.array([13.0]), np.array([10.0]), {"rtol": 0.3})
    assert want.count == 0
    want = reference(np.array([13.0]), np.array([10.0]), {"rtol": np.array([0.3])})
    assert want.count == 1
    assert want.max_abs == 3.0
    assert want.index == (0,)


def test_reference_worst_index_prefers_the_first_of_equal_differences() -> None:
    want = reference(np.array([0.0, 5.0, 5.0, 1.0]), np.array([0.0, 0.0, 10.0, 0.0]), {"atol": 0})
    assert (want.count, want.index, want.max_abs) == (3, (1,), 5.0)


def test_worst_index_on_a_tie_is_the_first_in_c_order() -> None:
    a = np.array([[0.0, 5.0], [-5.0, 1.0]])
    e = np.zeros((2, 2))
    (m,) = nearly.compare(a, e, atol=0).mismatches
    assert m.index == (0, 1)
    (m,) = nearly.compare(a.T.copy(), e, atol=0).mismatches
    assert m.index == (0, 1)


# ---------------------------------------------------------------- edge cases, decided


def test_complex_against_real_in_ulps_counts_both_parts() -> None:
    assert not nearly.compare(1j, 0.0, ulps=0).ok
    assert nearly.compare(1j, 1j, ulps=0).ok
    tiny = np.array([7.29e-304j])
    (m,) = nearly.compare(tiny, np.array([0.0]), ulps=0).mismatches
    assert m.max_ulps == ulp_distance(tiny[0], np.float64(0), np.dtype(np.float64))


def test_a_value_beyond_the_ulp_format_is_infinitely_far() -> None:
    (m,) = nearly.compare(np.array([1e6]), np.array([1.0], np.float16), ulps=1).mismatches
    assert m.max_ulps == math.inf


@needs_ml_dtypes
def test_a_value_beyond_a_float8_format_is_infinitely_far() -> None:
    e4m3 = dtype_of("float8_e4m3fn")  # no infinities: 512 rounds to NaN there
    (m,) = nearly.compare(np.array(384, e4m3), np.array(512.0, np.float16), ulps=1).mismatches
    assert m.max_ulps == math.inf


def test_longdouble_beyond_float64_range() -> None:
    big = np.array([np.longdouble("1e400")])
    if not np.isfinite(big).all():
        pytest.skip("longdouble is float64 here")
    step = np.nextafter(big, np.longdouble(np.inf))
    (m,) = nearly.compare(step, big, ulps=0).mismatches
    assert m.max_ulps == 1
    assert nearly.compare(step, big, ulps=1).ok
    (m,) = nearly.compare(np.zeros(1, np.longdouble), big).mismatches
    assert m.max_ulps == ulp_distance(np.longdouble(0), big[0], big.dtype)


def test_float64_against_longdouble_beyond_float64_range_in_ulps() -> None:
    # ULPs are counted in the lower-precision format, each side rounded to it once: there,
    # 1e400 is infinite, and infinity is at infinite ULP distance from any finite value
    big = np.array([np.longdouble("1e400")])
    (m,) = nearly.compare(np.zeros(1), big).mismatches
    assert m.max_ulps == math.inf
    assert m.max_ulps == ulp_distance(np.float64(0), big[0], np.dtype(np.float64))
