"""Many failing leaves of one float dtype are measured and diagnosed together (a few engine
runs over all of them); every record is exactly the one the full path makes for each leaf
on its own (the fast path off)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nearly
from nearly._core import engine
from nearly._core.compare import run
from nearly._core.options import make_options

SHAPES = [(), (1,), (7,), (3, 3), (2, 4, 4), (5, 2)]
CHANGES = ["same", "ulp", "noise", "sign", "offset", "scale", "reorder", "nan", "inf", "transpose"]


def _changed(e: np.ndarray[Any, Any], how: str, rng: np.random.Generator) -> Any:
    with np.errstate(all="ignore"):
        if how == "same":
            return e.copy()
        if how == "ulp":
            return np.nextafter(e, np.inf).astype(e.dtype)
        if how == "noise":
            return (e * (1 + rng.normal(0, 1e-2, e.shape))).astype(e.dtype)
        if how == "sign":
            return -e
        if how == "offset":
            return (e + 0.5).astype(e.dtype)
        if how == "scale":
            return (e * 3).astype(e.dtype)
        if how == "reorder":
            return rng.permutation(e.reshape(-1)).reshape(e.shape).astype(e.dtype)
        if how == "transpose" and e.ndim >= 2:
            return np.swapaxes(e, -1, -2).copy()
        a = e.copy()
        if a.size:
            a.reshape(-1)[rng.integers(a.size)] = np.nan if how == "nan" else np.inf
        return a


@st.composite
def checkpoints(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    dtype = draw(st.sampled_from(["float16", "float32", "float64"]))
    n = draw(st.integers(1, 12))
    a: dict[str, Any] = {}
    e: dict[str, Any] = {}
    for i in range(n):
        shape = draw(st.sampled_from(SHAPES))
        values = rng.normal(0, draw(st.sampled_from([1e-3, 1.0, 1e4])), shape).astype(dtype)
        how = draw(st.sampled_from(CHANGES))
        a[f"w{i}"], e[f"w{i}"] = _changed(values, how, rng), values
        if draw(st.integers(0, 5)) == 0:  # a Python float among the arrays
            x = float(rng.normal())
            a[f"f{i}"], e[f"f{i}"] = x * (1 + draw(st.sampled_from([0.0, 1e-9, 0.1]))), x
    return a, e


OPTIONS = [{}, {"rtol": 1e-3}, {"atol": 1e-2, "rtol": 0.0}, {"ulps": 2}, {"equal_nan": False}]


def _outcomes(a: Any, e: Any, options: dict[str, Any]) -> Any:
    c = nearly.compare(a, e, **options)
    joint = run(a, e, make_options("assert_close", describe_passing=False, **options))
    try:
        nearly.assert_close(a, e, **options)
        message = None
    except nearly.NotClose as err:
        message = str(err)
    return c.to_dict(), str(c), [m.to_dict() for m in joint.mismatches], message


@settings(max_examples=150, deadline=None)
@given(checkpoints(), st.sampled_from(OPTIONS))
def test_records_are_those_of_each_leaf_on_its_own(case: Any, options: dict[str, Any]) -> None:
    a, e = case
    together = _outcomes(a, e, options)
    saved, engine.QUICK = engine.QUICK, False
    try:
        alone = _outcomes(a, e, options)
    finally:
        engine.QUICK = saved
    assert together == alone


def test_a_checkpoint_that_differs_everywhere_is_explained_leaf_by_leaf() -> None:
    rng = np.random.default_rng(0)
    e = {f"layer{i}.weight": rng.normal(size=(4, 4)).astype(np.float32) for i in range(500)}
    a = {k: v + np.float32(0.25) for k, v in e.items()}
    a["layer7.weight"] = -e["layer7.weight"]
    a["layer9.weight"] = e["layer9.weight"].T.copy()
    c = nearly.compare(a, e)
    assert len(c.mismatches) == 500
    assert c.leaves == 500
    by_path = {m.path: m for m in c.mismatches}
    assert by_path["['layer0.weight']"].diagnoses[0].code == "hint.offset"
    assert by_path["['layer7.weight']"].diagnoses[0].code == "hint.sign_flipped"
    assert by_path["['layer9.weight']"].diagnoses[0].code == "hint.transposed"
    assert [m.path for m in c.mismatches] == [f"['{k}']" for k in e]


def test_a_failing_check_stops_at_its_first_failing_leaf_then_reports_them_all() -> None:
    e = {f"x{i}": np.full(3, float(i)) for i in range(100)}
    a = {k: v + (1.0 if k in ("x3", "x50") else 0.0) for k, v in e.items()}
    joint = run(a, e, make_options("assert_close", in_graph=True, stop_at_failure=True))
    assert not joint.ok
    assert len(joint.mismatches) == 1
    with pytest.raises(nearly.NotClose) as err:
        nearly.assert_close(a, e)
    assert "2 mismatches" in str(err.value)
    assert "['x3']" in str(err.value)
    assert "['x50']" in str(err.value)


def test_nan_only_leaves_keep_their_first_element_as_the_worst() -> None:
    e = {"a": np.array([1.0, 2.0]), "b": np.array([1.0, math.inf])}
    a = {"a": np.array([np.nan, np.nan]), "b": np.array([1.0, -math.inf])}
    saved, engine.QUICK = engine.QUICK, False
    try:
        alone = nearly.compare(a, e).to_dict()
    finally:
        engine.QUICK = saved
    assert nearly.compare(a, e).to_dict() == alone
