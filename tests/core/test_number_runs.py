"""Runs of Python numbers (the items of two lists, the values of two dicts) are decided in
bulk; the outcome is exactly that of taking their pairs one by one (the fast path off)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nearly
from nearly._core import engine
from nearly._core.compare import run
from nearly._core.options import make_options

SPECIAL = [0.0, -0.0, math.nan, math.inf, -math.inf, 1e-300, 5e-324, 1e308]
NUDGES = [0.0, 0.0, 0.0, 1e-16, 1e-9, 1e-7, 1e-5, 1e-3, 1.0]


def _nudged(x: Any, how: float, flip: bool) -> Any:
    if isinstance(x, int):
        return x + (1 if flip else 0)
    if flip:
        return -x
    return x * (1 + how)


@st.composite
def runs(draw: st.DrawFn) -> tuple[Any, Any]:
    kind = draw(st.sampled_from(["float", "int", "complex", "bigint"]))
    n = draw(st.integers(0, 40))
    if kind == "float":
        items: list[Any] = draw(
            st.lists(st.one_of(st.floats(), st.sampled_from(SPECIAL)), min_size=n, max_size=n)
        )
    elif kind == "int":
        items = draw(st.lists(st.integers(-(2**63), 2**63 - 2), min_size=n, max_size=n))
    elif kind == "bigint":
        items = draw(st.lists(st.integers(-(2**70), 2**70), min_size=n, max_size=n))
    else:
        items = [
            complex(x, y)
            for x, y in draw(st.lists(st.tuples(st.floats(), st.floats()), min_size=n, max_size=n))
        ]
    other = [_nudged(x, draw(st.sampled_from(NUDGES)), draw(st.integers(0, 9)) == 0) for x in items]
    if draw(st.booleans()):
        return items, other
    return {f"k{i}": x for i, x in enumerate(items)}, {f"k{i}": x for i, x in enumerate(other)}


OPTIONS = [{}, {"rtol": 1e-7}, {"rtol": 1e-5, "atol": 1e-8}, {"atol": 0.5}, {"equal_nan": False}]


def _joint(a: Any, e: Any, **options: Any) -> Any:
    """What a passing check decides with (no notes): its failing leaves' records."""
    c = run(a, e, make_options("assert_close", describe_passing=False, **options))
    return [m.to_dict() for m in c.mismatches], c.leaves


def _outcome(check: Callable[..., Any], a: Any, e: Any, options: dict[str, Any]) -> Any:
    if check is _joint:
        return _joint(a, e, **options)
    if check is nearly.compare:
        c = nearly.compare(a, e, **options)
        return c.to_dict(), str(c), [n.path for n in c.notes]
    try:
        check(a, e, **options)
    except nearly.CheckFailed as err:
        return str(err)
    return None


@settings(max_examples=200, deadline=None)
@given(runs(), st.sampled_from(OPTIONS), st.sampled_from(["compare", "close", "equal", "joint"]))
def test_a_run_is_decided_as_its_pairs_are(
    case: tuple[Any, Any], options: dict[str, Any], which: str
) -> None:
    a, e = case
    check = {"compare": nearly.compare, "close": nearly.assert_close, "joint": _joint}.get(which)
    if check is None:
        check = nearly.assert_equal
        options = {k: v for k, v in options.items() if k == "equal_nan"}
    nested_a, nested_e = {"run": a, "after": 1.0}, {"run": e, "after": 1.0}
    fast = _outcome(check, nested_a, nested_e, options)
    saved, engine.QUICK = engine.QUICK, False
    try:
        full = _outcome(check, nested_a, nested_e, options)
    finally:
        engine.QUICK = saved
    assert fast == full


def test_failing_items_are_reported_at_their_own_paths() -> None:
    e = [float(i) for i in range(1000)]
    a = list(e)
    a[3], a[997] = 3.5, math.nan
    c = nearly.compare(a, e)
    assert [m.path for m in c.mismatches] == ["[3]", "[997]"]
    assert c.leaves == 1000
    with pytest.raises(nearly.NotClose, match=r"\[997\]"):
        nearly.assert_close(a, e)
    keys = [str(i) for i in range(1000)]
    d = nearly.compare(dict(zip(keys, a, strict=True)), dict(zip(keys, e, strict=True)))
    assert [m.path for m in d.mismatches] == ["['3']", "['997']"]


def test_close_items_are_noted_one_by_one_when_read() -> None:
    e = [1.0, 2.0, 3.0, 4.0]
    a = [1.0, math.nextafter(2.0, 3.0), 3.0, 4.0 * (1 + 1e-12)]
    c = nearly.compare(a, e)
    assert c.ok
    assert [(n.path, n.finding.params["count"]) for n in c.notes] == [("[1]", 1), ("[3]", 1)]
    assert c.notes[0].finding.params["max_ulps"] == 1.0


def test_a_run_keeps_the_dict_order_of_expected() -> None:
    a = {"b": 2.0, "a": 1.0, "c": 9.0}
    e = {"a": 1.5, "b": 2.5, "c": 3.0}
    assert [m.path for m in nearly.compare(a, e).mismatches] == ["['a']", "['b']", "['c']"]


def test_mixed_items_are_not_a_run_and_still_compare() -> None:
    # float and int items, bools, a nested list: each pair on its own, as before
    assert nearly.compare([1.0, 2, True, [3.0]], [1.0, 2, True, [3.0]]).ok
    assert [m.path for m in nearly.compare([1.0, 2, 3.0], [1.0, 2, 4.0]).mismatches] == ["[2]"]
    big = [2**80, 1]
    assert [m.path for m in nearly.compare(big, [2**80 + 1, 1]).mismatches] == ["[0]"]
