"""The small-call fast path (engine.quick_pass) only ever settles certain passes: whatever it
says pass, the full engine says pass, and verdicts are the same with it on and off."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nearly
from nearly._core import engine
from nearly._prim.dtypes import lower_precision
from nearly._prim.rule import Rule

DTYPES = [
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "int8",
    "int32",
    "int64",
    "uint64",
    "bool",
]


@pytest.fixture
def full_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "QUICK", False)


@st.composite
def pairs(draw: st.DrawFn) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], Rule]:
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=6))
    da, de = (np.dtype(draw(st.sampled_from(DTYPES))) for _ in range(2))
    e = draw(hnp.arrays(de, shape))
    # actual: expected nudged a little, or anything
    if draw(st.booleans()):
        with np.errstate(all="ignore"):
            scale = draw(st.sampled_from([0.0, 1e-7, 1e-5, 1e-3, 0.5]))
            base = e if da.kind == "c" else np.real(e)
            a = base.astype(np.complex128 if da.kind == "c" else np.float64) * (1 + scale)
            a = (np.round(a) if da.kind in "iub" else a).astype(da)
    else:
        a = draw(hnp.arrays(da, shape))
    rtol = draw(
        st.sampled_from(
            [
                Fraction(0),
                Fraction(1, 10**5),
                Fraction(13, 10**7),
                Fraction(1, 10),
                Fraction(1, 3),
                Fraction(2),
            ]
        )
    )
    atol = draw(st.sampled_from([Fraction(0), Fraction(1, 10**8), Fraction(1), Fraction(10**300)]))
    low = lower_precision(da, de)
    rule = Rule(float(rtol), float(atol), rtol, atol, None, low, draw(st.booleans()))
    return a, e, rule


@given(pairs())
def test_a_quick_pass_is_a_pass_of_the_full_engine(case: Any) -> None:
    a, e, rule = case
    if engine.quick_pass(a, e, rule):
        saved, engine.QUICK = engine.QUICK, False
        try:
            assert engine.count_failures(a, e, rule, limit=1) == 0
        finally:
            engine.QUICK = saved


@given(pairs())
def test_verdicts_are_the_same_with_the_fast_path_off(case: Any) -> None:
    a, e, rule = case
    on = engine.count_failures(a, e, rule, limit=1) == 0
    saved, engine.QUICK = engine.QUICK, False
    try:
        assert (engine.count_failures(a, e, rule, limit=1) == 0) is on
    finally:
        engine.QUICK = saved


def test_boundary_elements_are_left_to_the_full_engine() -> None:
    e = np.array([10.0, 10.0])
    a = np.array([13.0, 13.000000000000002])  # at rtol=0.3 exactly, and just beyond
    rule = Rule(0.3, 0.0, Fraction(3, 10), Fraction(0), None, np.dtype("f8"))
    assert not engine.quick_pass(a, e, rule)
    assert engine.count_failures(a, e, rule) == 1
    assert nearly.compare(a[:1], e[:1], rtol=0.3).ok


def test_what_it_does_not_settle() -> None:
    rule = Rule(0.1, 0.0, Fraction(1, 10), Fraction(0), None, np.dtype("f8"))
    masked = np.ma.array([1.0, 2.0], mask=[True, False])
    assert not engine.quick_pass(masked, np.array([5.0, 2.0]), rule)  # masks are the caller's
    big = np.array([2**60, 1], np.int64)  # not exact in float64
    assert not engine.quick_pass(big.astype(np.float64), big, rule)
    assert engine.quick_pass(np.array([1.0, 2.0]), np.array([1, 2], np.int64), rule)
    both_int = np.array([1, 2])
    assert not engine.quick_pass(both_int, both_int, rule)  # integers have exact rules
    per_element = Rule(np.ones(2), 0.0, None, Fraction(0), None, np.dtype("f8"))
    assert not engine.quick_pass(np.ones(2), np.ones(2), per_element)


def test_the_fast_path_can_be_forced_off(full_engine: None) -> None:
    assert engine.QUICK is False
    assert nearly.compare(np.ones(3), np.ones(3) + 1e-12).ok
    assert not nearly.compare(np.ones(3), np.ones(3) + 1e-3).ok


@given(pairs())
def test_the_quick_note_measures_what_measure_does(case: Any) -> None:
    """'close but not identical': the same count, greatest difference and ULPs."""
    a, e, rule = case
    exact = Rule(0.0, 0.0, Fraction(0), Fraction(0), None, rule.ulp_dtype, rule.equal_nan)
    quick = engine.quick_unequal(a, e, exact)
    if quick is None:
        return
    full = engine.measure(a, e, exact)
    assert (quick.failed, quick.total) == (full.failed, full.total)
    for got, want in ((quick.worst_abs, full.worst_abs), (quick.worst_ulps, full.worst_ulps)):
        assert (got is None) == (want is None)
        if got is not None and want is not None:
            assert got.value == want.value


def test_a_lazy_note_measures_the_values_as_they_were_compared() -> None:
    a = np.array([1.0, 2.0, 3.0])
    e = a.copy()
    e[1] = np.nextafter(2.0, 3.0)
    c = nearly.compare({"x": a}, {"x": e})
    a[:] = 100.0  # changed after the call: the note still describes the compared values
    (note,) = c.notes
    assert note.code == "note.close_not_identical"
    assert note.path == "['x']"
    assert note.finding.params["count"] == 1
    assert note.finding.params["max_ulps"] == 1.0
    assert "close but not identical: 1 of 3" in str(c)
    assert not nearly.compare(np.ones(2), np.ones(2)).notes  # identical: nothing to note


@pytest.mark.parametrize(
    ("a", "e", "options"),
    [
        (0.1, 0.30000000000000004 - 0.2, {}),
        (1.0, 1.0 + 1e-7, {"rtol": 1e-7}),  # on the boundary: the full engine decides
        (float("nan"), float("nan"), {}),
        (float("nan"), float("nan"), {"equal_nan": False}),
        (float("inf"), float("inf"), {}),
        (float("inf"), 1e308, {}),
        (0.0, 1e-300, {"atol": 1e-300}),
        (1.0, 2.0, {"rtol": 0.5}),
        (1.0, 1.5, {}),
    ],
)
def test_two_python_floats_get_the_full_paths_comparison(
    a: float, e: float, options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = nearly.compare(a, e, **options)
    monkeypatch.setattr(engine, "QUICK", False)
    full = nearly.compare(a, e, **options)
    assert fast.ok is full.ok
    assert str(fast) == str(full)
    assert fast.to_dict() == full.to_dict()
