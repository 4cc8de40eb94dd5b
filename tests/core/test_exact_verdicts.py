"""Verdicts are exact: decided as in real arithmetic, never flipped by rounding inside nearly.

Scalar rtol/atol are read as the decimal they print as; values and per-element tolerance arrays
are read as stored.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import nearly
from frameworks import ml_dtypes


def exact(x: Any) -> Fraction:
    """The exact value of a stored number."""
    if isinstance(x, (int, np.integer)):
        return Fraction(int(x))
    return Fraction(float(x))


def decimal_at_least(x: Fraction) -> float:
    """The smallest float whose printed decimal is at least ``x``: the tightest scalar
    tolerance that admits a difference of exactly ``x``."""
    f = float(x)
    while Fraction(repr(f)) < x:
        f = math.nextafter(f, math.inf)
    while Fraction(repr(math.nextafter(f, -math.inf))) >= x:
        f = math.nextafter(f, -math.inf)
    return f


def below(x: float) -> float:
    return math.nextafter(x, -math.inf)


def above(x: float) -> float:
    return math.nextafter(x, math.inf)


# --------------------------------------------------------------------- decimals as written


def test_rtol_is_read_as_the_decimal_it_prints_as() -> None:
    # 0.3 is stored as 0.29999999999999998889...; on paper 13 vs 10 is within 30 %
    assert Fraction(0.3) * 10 < 3
    nearly.assert_close(13, 10, rtol=0.3)
    nearly.assert_close(13.0, 10.0, rtol=0.3)
    nearly.assert_close(np.array([13.0, -13.0]), np.array([10.0, -10.0]), rtol=0.3)
    nearly.assert_close(np.array([13], np.int32), np.array([10], np.int8), rtol=0.3)
    nearly.assert_close(7, 10, rtol=0.3)


def test_just_beyond_the_decimal_rtol_fails() -> None:
    a = 13.000000000000002
    assert a == above(13.0)
    assert not nearly.compare(a, 10, rtol=0.3).ok
    assert not nearly.compare(np.array([a]), np.array([10.0]), rtol=0.3).ok
    with pytest.raises(nearly.NotClose):
        nearly.assert_close(a, 10, rtol=0.3)
    assert not nearly.compare(below(7.0), 10, rtol=0.3).ok


def test_rtol_as_fraction_and_decimal() -> None:
    assert nearly.compare(13, 10, rtol=Fraction(3, 10)).ok
    assert nearly.compare(13, 10, rtol=Decimal("0.3")).ok
    assert not nearly.compare(13, 10, rtol=Fraction(3, 10) - Fraction(1, 10**30)).ok
    assert not nearly.compare(13, 10, rtol=Decimal("0.2999999999999999999999999")).ok


def test_point_one_plus_point_two_at_the_exact_boundary() -> None:
    a, e = 0.1 + 0.2, 0.3
    diff = exact(a) - exact(e)
    assert diff > 0
    atol = float(diff)
    assert Fraction(atol) == diff  # the difference is representable
    assert Fraction(repr(atol)) >= diff  # and its printed decimal is not below it
    assert nearly.compare(a, e, atol=atol).ok
    assert nearly.compare(np.array([a]), np.array([e]), atol=atol).ok
    assert nearly.compare(a, e, atol=diff).ok  # as a Fraction, exactly the difference
    smaller = math.nextafter(atol, 0.0)
    assert Fraction(repr(smaller)) < diff
    assert not nearly.compare(a, e, atol=smaller).ok
    assert not nearly.compare(np.array([a]), np.array([e]), atol=smaller).ok
    assert not nearly.compare(a, e, atol=diff - Fraction(1, 10**40)).ok
    # swapped, the same boundary holds (the rule uses |a - e|)
    assert nearly.compare(e, a, atol=atol).ok
    assert not nearly.compare(e, a, atol=smaller).ok


def test_rtol_boundary_with_stored_values() -> None:
    # |a - e| == rtol * |e| exactly, with rtol a short decimal
    e = 0.75
    a = 0.75 + 0.75 * 0.5
    assert exact(a) - exact(e) == Fraction(1, 2) * exact(e)
    assert nearly.compare(a, e, rtol=0.5).ok
    assert not nearly.compare(a, e, rtol=below(0.5)).ok
    assert nearly.compare(-a, -e, rtol=0.5).ok


def test_atol_plus_rtol_boundary() -> None:
    # |a - e| = 3, atol + rtol * |e| = 1 + 0.2 * 10 = 3
    assert nearly.compare(13, 10, atol=1, rtol=0.2).ok
    assert nearly.compare(13.0, 10.0, atol=1.0, rtol=0.2).ok
    assert not nearly.compare(13.0, 10.0, atol=below(1.0), rtol=0.2).ok
    assert not nearly.compare(13.0, 10.0, atol=1.0, rtol=0.19999999999999998).ok


# ---------------------------------------------------------------------------------- float32


def test_float32_one_ulp_at_the_boundary() -> None:
    one = np.float32(1.0)
    up = np.nextafter(one, np.float32(2))
    diff = exact(up) - exact(one)
    assert diff == Fraction(1, 2**23)
    atol = float(diff)
    a, e = np.array([up, one]), np.array([one, one])
    a, e = a.astype(np.float32), e.astype(np.float32)
    assert nearly.compare(a, e, atol=atol).ok
    assert not nearly.compare(a, e, atol=below(atol)).ok
    assert nearly.compare(a, e, ulps=1).ok
    assert not nearly.compare(a, e, ulps=0).ok


def test_float32_rtol_boundary() -> None:
    a = np.array([13.0, 7.0], np.float32)
    e = np.array([10.0, 10.0], np.float32)
    assert nearly.compare(a, e, rtol=0.3).ok
    a2 = np.array([np.nextafter(np.float32(13), np.float32(14)), 7.0], np.float32)
    (m,) = nearly.compare(a2, e, rtol=0.3).mismatches
    assert m.count == 1
    assert m.index == (0,)


def test_float32_vs_float64_compares_stored_values() -> None:
    a = np.float32(0.1)
    e = 0.1
    diff = abs(exact(a) - exact(e))
    assert diff > 0
    atol = decimal_at_least(diff)
    # the printed decimal of the float nearest the difference is below it: too tight
    assert Fraction(repr(float(diff))) < diff
    assert not nearly.compare(a, e, atol=float(diff)).ok
    assert nearly.compare(a, e, atol=diff).ok
    assert nearly.compare(a, e, atol=atol).ok
    assert nearly.compare(np.array([a]), np.array([e]), atol=atol).ok
    assert not nearly.compare(a, e, atol=below(atol)).ok
    assert not nearly.compare(np.array([a]), np.array([e]), atol=below(atol)).ok
    with pytest.raises(nearly.NotClose):
        nearly.assert_equal(a, e)


def test_float16_and_bfloat16_boundaries() -> None:
    formats: list[tuple[Any, float]] = [(np.float16, 2.0**-10)]
    if ml_dtypes is not None:  # bfloat16 where it is installed
        formats.append((ml_dtypes.bfloat16, 2.0**-7))
    for dtype, step in formats:
        a = np.array([1.0 + step], dtype)
        e = np.array([1.0], dtype)
        assert nearly.compare(a, e, atol=step).ok
        assert not nearly.compare(a, e, atol=below(step)).ok
        assert nearly.compare(a, e, rtol=step).ok
        assert not nearly.compare(a, e, rtol=below(step)).ok


# --------------------------------------------------------------------------- big integers


def test_int64_beyond_2_53_vs_float64() -> None:
    big = np.array([2**53 + 1], np.int64)
    f = np.array([2.0**53])
    assert float(big[0]) == f[0]  # what a float64 conversion would wrongly conclude
    with pytest.raises(nearly.NotClose):
        nearly.assert_equal(big, f)
    with pytest.raises(nearly.NotClose):
        nearly.assert_equal(f, big)
    assert nearly.compare(big, f, atol=1).ok
    (m,) = nearly.compare(big, f, atol=0).mismatches
    assert m.kind == "value"
    assert m.count == 1
    assert m.max_abs == 1.0
    assert not nearly.compare(big, f, atol=0.5).ok
    assert not nearly.compare(2**53 + 1, 2.0**53, atol=0).ok


def test_int64_max_vs_float64_two_to_the_63() -> None:
    top = np.array([2**63 - 1], np.int64)
    f = np.array([2.0**63])
    assert nearly.compare(top, f, atol=1).ok
    assert not nearly.compare(top, f, atol=0.5).ok
    (m,) = nearly.compare(top, f, atol=0).mismatches
    assert m.max_abs == 1.0
    with pytest.raises(nearly.NotClose):
        nearly.assert_equal(top, f)


def test_int64_neighbours_near_the_top() -> None:
    a = np.array([2**63 - 1, -(2**63)], np.int64)
    e = np.array([2**63 - 2, -(2**63) + 1], np.int64)
    (m,) = nearly.compare(a, e).mismatches
    assert m.count == 2
    assert nearly.compare(a, e, atol=1).ok
    assert not nearly.compare(a, e, atol=0.9).ok


def test_uint64_max_vs_minus_one() -> None:
    a = np.array([2**64 - 1], np.uint64)
    e = np.array([-1], np.int64)
    assert a.astype(np.int64)[0] == e[0]  # a wrapping cast would call them equal
    with pytest.raises(nearly.NotClose):
        nearly.assert_equal(a, e)
    (m,) = nearly.compare(a, e).mismatches
    assert m.max_abs == pytest.approx(2.0**64)
    assert nearly.compare(a, e, atol=2**64).ok
    assert not nearly.compare(a, e, atol=2**64 - 1).ok
    assert not nearly.compare(-1, 2**64 - 1, atol=2**64 - 1).ok


def test_uint64_neighbours() -> None:
    a = np.array([2**64 - 1], np.uint64)
    e = np.array([2**64 - 2], np.uint64)
    assert not nearly.compare(a, e).ok
    assert nearly.compare(a, e, atol=1).ok
    # float64 cannot tell them apart
    assert not nearly.compare(a, np.array([2.0**64]), atol=0).ok
    assert nearly.compare(a, np.array([2.0**64]), atol=1).ok


def test_complex_vs_int64_beyond_2_53() -> None:
    # the imaginary part must count, and no ComplexWarning may escape
    a = np.array([2.0**60 + 2.0**60 * 1j, 1.0])
    e = np.array([2**60, 1], np.int64)
    (m,) = nearly.compare(a, e).mismatches
    assert m.count == 1
    assert m.index == (0,)
    assert m.max_abs == 2.0**60
    assert nearly.compare(a, e, atol=2**60).ok
    assert not nearly.compare(a, e, atol=2**60 - 1).ok


# ------------------------------------------------------------------------------------ complex


def test_complex_modulus_boundary() -> None:
    nearly.assert_close(3 + 4j, 0j, atol=5)
    nearly.assert_close(np.array([3 + 4j]), np.array([0j]), atol=5)
    nearly.assert_close(np.complex64(3 + 4j), np.complex64(0), atol=5)
    assert not nearly.compare(3 + 4j, 0j, atol=4.999999).ok
    assert not nearly.compare(np.array([3 + 4j]), np.array([0j]), atol=below(5.0)).ok


def test_complex_rtol_boundary() -> None:
    a, e = np.array([6 + 8j]), np.array([3 + 4j])  # |a - e| = |e| = 5
    assert nearly.compare(a, e, rtol=1).ok
    assert not nearly.compare(a, e, rtol=0.999999).ok
    # |a - e| = 5 = 1 + 0.8 * 5
    assert nearly.compare(a, e, atol=1, rtol=0.8).ok
    assert not nearly.compare(a, e, atol=1, rtol=below(0.8)).ok


def test_complex_modulus_irrational_boundary() -> None:
    # |1 + 1j| = sqrt(2): the float nearest above passes, the one below fails
    a, e = 1 + 1j, 0j
    hi = math.sqrt(2)
    lo = below(hi)
    assert Fraction(repr(hi)) ** 2 > 2 > Fraction(repr(lo)) ** 2
    assert nearly.compare(a, e, atol=hi).ok
    assert not nearly.compare(a, e, atol=lo).ok
    assert nearly.compare(np.array([a] * 3), np.array([e] * 3), atol=hi).ok
    assert not nearly.compare(np.array([a] * 3), np.array([e] * 3), atol=lo).ok


# ----------------------------------------------------------------------------------- overflow


def test_difference_beyond_float64_does_not_overflow() -> None:
    big = 1e308
    assert nearly.compare(big, -big, rtol=2).ok
    assert nearly.compare(np.array([big, -big]), np.array([-big, big]), rtol=2).ok
    assert not nearly.compare(big, -big, rtol=1.999999).ok
    top = float(np.finfo(np.float64).max)
    assert nearly.compare(top, -top, rtol=2).ok
    assert not nearly.compare(top, -top, rtol=below(2.0)).ok
    # the largest float prints as a decimal just below its stored value
    assert Fraction(repr(top)) < Fraction(top)
    assert nearly.compare(top, -top, atol=Fraction(top), rtol=1).ok
    assert not nearly.compare(top, -top, atol=top, rtol=1).ok
    (m,) = nearly.compare(top, -top).mismatches
    assert m.kind == "value"
    assert m.max_abs is not None
    assert m.max_abs > top  # reported as inf, not NaN or a negative number


def test_float32_extremes_do_not_overflow() -> None:
    top = np.float32(np.finfo(np.float32).max)
    a = np.array([top], np.float32)
    e = np.array([-top], np.float32)
    assert nearly.compare(a, e, rtol=2).ok
    assert not nearly.compare(a, e, rtol=1.999).ok


# ------------------------------------------------------------------ per-element tolerances


def test_per_element_tolerance_is_read_as_stored() -> None:
    a, e = np.array([13.0]), np.array([10.0])
    # a scalar 0.3 means 3/10; the stored float 0.3 times 10 is just below 3
    assert nearly.compare(a, e, rtol=0.3).ok
    assert not nearly.compare(a, e, tol=nearly.Tolerance(rtol=np.array([0.3]))).ok
    assert not nearly.compare(a, e, rtol=np.array([0.3])).ok
    assert nearly.compare(a, e, rtol=np.array([above(0.3)])).ok


def test_per_element_atol_boundary() -> None:
    a = np.array([0.1 + 0.2, 1.0, 5.0])
    e = np.array([0.3, 1.5, 3.0])
    d0 = float(exact(a[0]) - exact(e[0]))
    atol = np.array([d0, 0.5, 2.0])
    assert nearly.compare(a, e, atol=atol).ok
    assert nearly.compare(a, e, tol=nearly.Tolerance(atol=atol)).ok
    tighter = atol.copy()
    tighter[0] = below(d0)
    tighter[2] = below(2.0)
    (m,) = nearly.compare(a, e, atol=tighter).mismatches
    assert m.count == 2
    assert m.index == (2,)


def test_per_element_tolerance_broadcasts() -> None:
    a = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    e = np.array([[1.1, 2.0, 3.9], [1.0, 2.5, 3.0]])
    atol = np.array([0.1 + 1e-9, 0.5, 0.9 + 1e-9])  # one per column
    assert nearly.compare(a, e, atol=atol).ok
    (m,) = nearly.compare(a, e, atol=atol * 0.99).mismatches
    assert m.count == 3


# ---------------------------------------------------------------------------- the property


def exact_rule(a: Any, e: Any, rtol: Fraction, atol: Fraction) -> bool:
    return abs(exact(a) - exact(e)) <= atol + rtol * abs(exact(e))


finite64 = st.floats(allow_nan=False, allow_infinity=False)
finite32 = st.floats(allow_nan=False, allow_infinity=False, width=32)
decimal_tol = st.one_of(
    st.just(0.0),
    st.decimals(min_value=0, max_value=10, places=3, allow_nan=False, allow_infinity=False),
    st.decimals(
        min_value=Decimal("1e-12"),
        max_value=Decimal("1e-1"),
        allow_nan=False,
        allow_infinity=False,
        places=14,
    ),
    st.integers(0, 9).map(lambda k: 10.0**-k),
    st.sampled_from([1e-300, 1e-7, 1.3e-6, 0.3, 0.1, 0.7, 1e300]),
).map(float)


@st.composite
def float64_cases(draw: st.DrawFn) -> tuple[float, float, float, float]:
    rtol = draw(decimal_tol)
    atol = draw(decimal_tol)
    e = draw(finite64)
    if draw(st.booleans()):
        a = draw(finite64)
    else:
        # just around the boundary: e + sign * (atol + rtol*|e|), nudged a few floats
        bound = Fraction(repr(atol)) + Fraction(repr(rtol)) * abs(exact(e))
        target = exact(e) + (bound if draw(st.booleans()) else -bound)
        try:
            a = float(target)
        except OverflowError:
            a = e
        if not math.isfinite(a):
            a = e
        for _ in range(draw(st.integers(-3, 3)) % 7):
            a = math.nextafter(a, math.inf if draw(st.booleans()) else -math.inf)
        assume(math.isfinite(a))
    return a, e, rtol, atol


@settings(max_examples=400, deadline=None)
@given(float64_cases())
def test_verdict_matches_exact_arithmetic_float64(case: tuple[float, float, float, float]) -> None:
    a, e, rtol, atol = case
    want = exact_rule(a, e, Fraction(str(rtol)), Fraction(str(atol)))
    assert nearly.compare(a, e, rtol=rtol, atol=atol).ok is want
    assert nearly.compare(np.array([a, e]), np.array([e, e]), rtol=rtol, atol=atol).ok is want


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(finite32, finite32), min_size=1, max_size=20), decimal_tol, decimal_tol)
def test_verdict_matches_exact_arithmetic_float32_arrays(
    pairs: list[tuple[float, float]], rtol: float, atol: float
) -> None:
    a = np.array([p[0] for p in pairs], np.float32)
    e = np.array([p[1] for p in pairs], np.float32)
    r, t = Fraction(str(rtol)), Fraction(str(atol))
    failing = sum(not exact_rule(x, y, r, t) for x, y in zip(a, e, strict=True))
    result = nearly.compare(a, e, rtol=rtol, atol=atol)
    assert result.ok is (failing == 0)
    assert sum(m.count for m in result.mismatches) == failing


@st.composite
def float32_boundary_cases(draw: st.DrawFn) -> tuple[np.float32, np.float32, float, float]:
    rtol = draw(decimal_tol)
    atol = draw(decimal_tol)
    e = np.float32(draw(finite32))
    bound = Fraction(repr(atol)) + Fraction(repr(rtol)) * abs(exact(e))
    with np.errstate(over="ignore"):
        a = np.float32(float(exact(e) + bound)) if bound < 2**128 else e
        for _ in range(draw(st.integers(0, 3))):
            a = np.nextafter(a, np.float32(np.inf if draw(st.booleans()) else -np.inf))
    assume(np.isfinite(a))
    return a, e, rtol, atol


@settings(max_examples=300, deadline=None)
@given(float32_boundary_cases())
def test_verdict_matches_exact_arithmetic_float32_boundary(
    case: tuple[np.float32, np.float32, float, float],
) -> None:
    a, e, rtol, atol = case
    want = exact_rule(a, e, Fraction(str(rtol)), Fraction(str(atol)))
    got = nearly.compare(np.array([a]), np.array([e]), rtol=rtol, atol=atol).ok
    assert got is want


@settings(max_examples=200, deadline=None)
@given(
    st.lists(finite64, min_size=1, max_size=10),
    st.lists(st.integers(-4, 4), min_size=10, max_size=10),
)
def test_default_float64_verdict_is_exact(values: list[float], nudges: list[int]) -> None:
    rtol, atol = Fraction("1e-7"), Fraction("1e-7")
    e = np.array(values)
    a = e.copy()
    for i, x in enumerate(values):
        bound = atol + rtol * abs(exact(x))
        try:
            b = float(exact(x) + bound)
        except OverflowError:
            continue
        for _ in range(abs(nudges[i])):
            b = math.nextafter(b, math.inf if nudges[i] > 0 else -math.inf)
        if math.isfinite(b):
            a[i] = b
    failing = sum(not exact_rule(x, y, rtol, atol) for x, y in zip(a, e, strict=True))
    result = nearly.compare(a, e)
    assert result.ok is (failing == 0)
    assert sum(m.count for m in result.mismatches) == failing


PAIRS = [
    (np.float32, np.float64),
    (np.float64, np.float32),
    (np.float16, np.float32),
    (np.float16, np.float16),
]
if ml_dtypes is not None:
    PAIRS += [(ml_dtypes.bfloat16, ml_dtypes.bfloat16), (ml_dtypes.bfloat16, np.float32)]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(PAIRS),
    st.lists(
        st.tuples(st.floats(-6e4, 6e4), st.integers(-3, 3), st.booleans()), min_size=1, max_size=12
    ),
    decimal_tol,
    decimal_tol,
)
def test_verdict_matches_exact_arithmetic_mixed_and_low_precision(
    pair: tuple[Any, Any],
    cells: list[tuple[float, int, bool]],
    rtol: float,
    atol: float,
) -> None:
    """Pairs the engine converts to float64 (mixed dtypes, float16, bfloat16) take a cheap
    test with shrunken tolerances first: near the boundary it must still agree with exact
    arithmetic on the stored values."""
    da, de = (np.dtype(d) for d in pair)
    with np.errstate(over="ignore"):
        e = np.array([c[0] for c in cells], np.float64).astype(de)
    r, t = Fraction(repr(rtol)), Fraction(repr(atol))
    a = np.empty(e.shape, da)
    with np.errstate(over="ignore", invalid="ignore"):
        for i, (_, nudge, above) in enumerate(cells):
            bound = t + r * abs(exact(e[i]))
            target = exact(e[i]) + (bound if above else -bound)
            v = np.array(float(target) if abs(target) < 2**1000 else 0.0).astype(da)
            for _ in range(abs(nudge)):
                up = np.inf if nudge > 0 else -np.inf
                v = np.nextafter(v.astype(np.float64), up).astype(da)
            a[i] = v
    assume(np.isfinite(a.astype(np.float64)).all())
    failing = sum(not exact_rule(x, y, r, t) for x, y in zip(a, e, strict=True))
    result = nearly.compare(a, e, rtol=rtol, atol=atol)
    assert result.ok is (failing == 0)
    assert sum(m.count for m in result.mismatches) == failing


def test_differences_of_big_ints_against_complex_are_measured_exactly() -> None:
    # 2**61 + 256 is a tie in float64 (spacing 512 there): measured in float64 the
    # difference from complex64(2**61) would read 0; the stored values differ by 256
    big = np.array(2**61 + 256)
    (m,) = nearly.compare(np.array(2.0**61, np.complex64), big, rtol=0).mismatches
    assert m.max_abs == 256.0
    (m,) = nearly.compare(np.array([2.0**61 + 1j]), np.array([2**61 + 256]), rtol=0).mismatches
    assert m.max_abs == pytest.approx(math.hypot(256, 1), rel=1e-15)


def test_numbers_held_as_python_objects_get_the_default_tolerance() -> None:
    # as for arrays: a float involved gives its format's default row, integers stay exact
    assert nearly.compare(10**100, 1e100).ok
    assert nearly.compare(Fraction(1, 3), 1 / 3).ok
    assert nearly.compare(np.array([Fraction(1, 3), 2.0], dtype=object), [1 / 3, 2.0]).ok
    assert not nearly.compare(2**70, 2**70 + 1).ok
    assert not nearly.compare(Fraction(1, 3), Fraction(1, 3) + Fraction(1, 10**12)).ok
    assert not nearly.compare(10**100, 1.0001e100).ok
    with pytest.raises(nearly.NotClose):
        nearly.assert_close(10**100, 1.0001e100)


def test_a_huge_int_against_an_infinity_is_a_verdict() -> None:
    assert not nearly.compare(10**400, math.inf).ok
    assert not nearly.compare([10**400], [math.inf]).ok
    assert nearly.compare(math.inf, math.inf).ok


def test_a_tolerance_beyond_float64_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match=r"rtol=100000000000\.\.\. is beyond float64's range"):
        nearly.compare(1.0, 1.0, rtol=10**400)


def test_dates_and_durations_compare_exactly_across_every_unit_pair() -> None:
    # the cast to nanoseconds wraps 2**55 s around to a value equal to 0 ns
    assert not nearly.compare(np.array([2**55], "M8[s]"), np.array([0], "M8[ns]")).ok
    # units NumPy cannot bring together ([D] and [as]: its common divisor overflows)
    assert nearly.compare(np.array([0], "M8[D]"), np.array([0], "M8[as]")).ok
    assert not nearly.compare(np.array([1], "M8[D]"), np.array([0], "M8[as]")).ok
    assert nearly.compare(np.array([0], "M8[Y]"), np.array([0], "M8[fs]")).ok
    assert not nearly.compare(np.array([1], "M8[Y]"), np.array([0], "M8[fs]")).ok
    assert nearly.compare(np.array(["2021-03"], "M8[M]"), np.array(["2021-03-01"], "M8[s]")).ok
    # NaT equals NaT across units under equal_nan, never otherwise
    nat_d, nat_ns = (
        np.array(["NaT", "2020-01-01"], "M8[D]"),
        np.array(["NaT", "2020-01-01"], "M8[ns]"),
    )
    assert nearly.compare(nat_d, nat_ns).ok
    assert not nearly.compare(nat_d, nat_ns, equal_nan=False).ok
    with pytest.raises(nearly.NotClose):
        nearly.assert_close(np.array([2**55], "M8[s]"), np.array([0], "M8[ns]"))


def test_months_against_days_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match=r"timedelta64\[M\] with timedelta64\[D\] at \['t'\]"):
        nearly.compare({"t": np.array([1], "m8[M]")}, {"t": np.array([30], "m8[D]")})
