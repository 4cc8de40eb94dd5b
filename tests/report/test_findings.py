"""Findings are codes and data; the text is one rendering of them.

Every mismatch, diagnosis and note of a broad set of failing comparisons is re-rendered from
its ``to_dict()`` form alone (after a JSON round trip) and must give the report's sentence;
every code has wording and is documented in docs/findings.md with its parameters."""

from __future__ import annotations

import collections
import dataclasses
import doctest
import json
import re
from pathlib import Path

import numpy as np
import pytest

import nearly
from nearly._report import messages

DOC = Path(__file__).resolve().parents[2] / "docs" / "findings.md"
SRC = Path(nearly.__file__).resolve().parent

NT = collections.namedtuple("NT", "a b")
NT2 = collections.namedtuple("NT2", "a c")


@dataclasses.dataclass
class DC:
    x: int


RNG = np.random.default_rng(0)
X = RNG.standard_normal(500).astype(np.float32)
M = RNG.standard_normal((4, 4))

CASES = {
    "lengths": ([1, 2, 3], [1, 2], {}),
    "keys": ({"a": 1, "b": 2}, {"a": 1, "c": 3}, {}),
    "fields": (NT(1, 2), NT2(1, 2), {}),
    "dataclass": (DC(1), DC(2), {}),
    "tuple_list_strict": ((1, 2), [1, 2], {"strict_types": True}),
    "tuple_list": ((1, 2), [1.0, 3.0], {}),
    "list_array_strict": ([1.0, 2.0], np.array([1.0, 2.0]), {"strict_types": True}),
    "types": ({"a": 1}, [1], {}),
    "text": ("abc", "abd", {}),
    "bytes_str": (b"a", "a", {}),
    "shape_incompatible": (np.ones(3), np.ones(4), {}),
    "shape_swapped": (np.ones((2, 3)), np.zeros((3, 2)), {}),
    "shape_transposed": (np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(2, 3).T, {}),
    "squeeze": (np.ones((3, 1)), np.ones(3), {}),
    "reshape": (np.arange(6.0), np.arange(6.0).reshape(2, 3), {}),
    "broadcast": (np.ones((3, 1)), np.ones((1, 4)), {}),
    "broadcast_passes": (np.ones((3, 1)), np.ones((1, 4)), {"check_shape": False}),
    "no_broadcast": (np.ones(3), np.ones(5), {"check_shape": False}),
    "python_scalar": (1.0, np.ones(1), {}),
    "dtype_only": (np.ones(3, np.float32), np.ones(3), {"check_dtype": True}),
    "dtype_note": (np.ones(3, np.float32), np.ones(3), {}),
    "dtype_and_values": (np.ones(3, np.float32), np.full(3, 2.0), {"check_dtype": True}),
    "rounding": (X, np.nextafter(X, np.float32(10)), {"rtol": 0, "atol": 0}),
    "close_not_identical": (X, np.nextafter(X, np.float32(10)), {}),
    "sign": (X, -X, {}),
    "transposed": (M, M.T, {}),
    "offset": (X, X + 0.5, {}),
    "complex_offset": (np.array([1 + 1j, 2, 3]), np.array([2 + 2j, 3 + 1j, 4 + 1j]), {}),
    "scale": (X, X * 3, {}),
    "reordered": (np.arange(10.0), np.arange(10.0)[::-1].copy(), {}),
    "integers": (np.arange(5), np.arange(5) + 1, {}),
    "nan_one_side": (np.array([1.0, np.nan]), np.array([1.0, 2.0]), {}),
    "nan_some": (np.array([np.nan, 1.0, 2.0]), np.array([1.0, 5.0, 2.0]), {}),
    "inf_no_equal_nan": (
        np.array([np.inf, np.nan]),
        np.array([-np.inf, np.nan]),
        {"equal_nan": False},
    ),
    "masks": (np.ma.array([1.0, 2.0], mask=[1, 0]), np.ma.array([1.0, 3.0], mask=[0, 0]), {}),
    "dates": (np.array(["2020-01-01"], "M8[D]"), np.array(["2020-01-02"], "M8[D]"), {}),
    "incomparable": (np.array(["a"]), np.array([1.0]), {}),
    "struct": (np.zeros(2, [("a", "f8"), ("b", "i4")]), np.ones(2, [("a", "f8"), ("c", "i4")]), {}),
    "list_as_array": ([1.0, 2.0], np.array([1.0, 3.0]), {}),
    "objects": (object(), object(), {}),
    "beyond_rounding": (X, X + RNG.standard_normal(500).astype(np.float32), {}),
}


class Refuses(np.ndarray):  # type: ignore[type-arg]
    """An array subclass that refuses arithmetic (as units arrays do across units)."""

    def __array_ufunc__(self, *args: object, **kwargs: object) -> None:
        raise ValueError("no arithmetic here")


CASES["refused"] = (np.ones(2).view(Refuses), np.ones(2).view(Refuses), {})

try:
    import pandas as pd
except ImportError:
    pd = None
try:
    import torch
except ImportError:
    torch = None
if torch is not None:
    CASES["meta"] = (torch.ones(2, device="meta"), torch.ones(2), {})
try:
    import tensorflow as tf
except ImportError:
    tf = None
if tf is not None:
    CASES["utf8"] = (tf.constant(["a", "é"]), ["a", "e"], {})
if pd is not None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [1, 2]})
    CASES["labels"] = (frame, frame.set_axis([5, 6]), {})
    CASES["column_order"] = (frame, frame[["b", "a"]], {})


def _sum_cases() -> dict[str, nearly.Comparison]:
    a = RNG.standard_normal(10_000).astype(np.float32)
    exact = np.float32(a.astype(np.float64).sum())
    z = RNG.standard_normal((1000, 3))
    z = (z - z.mean(0)) / z.std(0)
    out = {}
    for name, call in {
        "bound_exceeded": lambda: nearly.assert_close(
            np.float32(exact + 100.0), exact, tol=nearly.tol.sum(a)
        ),
        "bound_other_order": lambda: nearly.assert_close(
            np.float32(exact + 0.01), exact, tol=nearly.tol.sum(a, order="pairwise")
        ),
        "finite": lambda: nearly.assert_finite({"a": np.array([1.0, np.nan, np.inf, -np.inf])}),
        "in_range": lambda: nearly.assert_in_range(
            np.array([0.0, 2.0, np.nan], np.float32), 0.01, 1
        ),
        "sums": lambda: nearly.assert_sums_to(np.array([[0.5, 0.6], [0.5, 0.5]]), 1.0, axis=1),
        "sums_given": lambda: nearly.assert_sums_to(
            np.array([[0.5, 0.6]]), 1.0, tol=nearly.Tolerance(atol=1e-3)
        ),
        "std_centre": lambda: nearly.assert_standardized(z + 1),
        "std_scale": lambda: nearly.assert_standardized(z * 2),
        "std_inaccurate": lambda: nearly.assert_standardized(z * 0.1 + 3),
        "std_mismatch": lambda: nearly.assert_standardized(np.c_[z[:, :1] * 2, z[:, 1:] + 1]),
    }.items():
        with pytest.raises(AssertionError) as info:
            call()
        out[name] = info.value.comparison  # type: ignore[attr-defined]
    return out


def _comparisons() -> dict[str, nearly.Comparison]:
    found = {name: nearly.compare(a, e, **kw) for name, (a, e, kw) in CASES.items()}
    return {**found, **_sum_cases()}


COMPARISONS = _comparisons()


@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_the_text_renders_from_the_dict_alone(name: str) -> None:
    c = COMPARISONS[name]
    d = json.loads(json.dumps(c.to_dict()))
    assert d["mismatches"] or d["notes"], "every case finds something"
    for m in d["mismatches"]:
        assert messages.render(m["code"], m["params"]) == m["detail"]
        assert [messages.render(h["code"], h["params"]) for h in m["diagnoses"]] == m["hints"]
    for n in d["notes"]:
        assert messages.render(n["code"], n["params"]) == n["text"]
    # and the report prints those sentences
    text = str(c)
    for m in d["mismatches"]:
        assert m["detail"] in text
        assert all(h in text for h in m["hints"])


def test_the_cases_reach_most_codes() -> None:
    seen = set()
    for c in COMPARISONS.values():
        for m in c.mismatches:
            seen |= {m.code, *(h.code for h in m.diagnoses)}
        seen |= {n.code for n in c.notes}
    # device codes need two devices (tests/backends has them), label codes pandas; every code
    # has wording (below)
    missing = messages.CODES - seen
    allowed = {"type.device", "note.devices", "hint.option"}
    if pd is None:
        allowed |= {"structure.labels", "note.key_order"}
    if torch is None:
        allowed |= {"note.meta"}
    if tf is None:
        allowed |= {"note.utf8"}
    assert missing <= allowed, missing


def test_records_keep_their_rendered_fields() -> None:
    m = COMPARISONS["offset"].mismatches[0]
    assert m.code == "value.differ"
    assert m.detail == "values differ"
    assert m.diagnoses[0].code == "hint.offset"
    assert m.diagnoses[0].params["offset"] == pytest.approx(-0.5)
    assert m.diagnosis == m.hints[0] == "constant offset: actual = expected + -0.5"
    note = COMPARISONS["dtype_note"].notes[0]
    assert note.code == "note.dtypes"
    assert note.finding.params == {
        "actual": "float32",
        "expected": "float64",
    }


def test_an_unknown_code_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"'hint\.nope'"):
        messages.render("hint.nope", {})


def test_every_code_is_used_in_the_source() -> None:
    text = "\n".join(p.read_text() for p in SRC.rglob("*.py") if p.name != "messages.py")
    unused = {c for c in messages.CODES if f'"{c}"' not in text}
    assert not unused, f"wording with no producer: {sorted(unused)}"


def test_docs_list_every_code_with_its_parameters() -> None:
    rows = re.findall(r"^\| `([a-z0-9_.]+)` \|([^|]*)\|", DOC.read_text(), re.M)
    documented = {
        code: tuple(p.strip() for p in params.split(",") if p.strip()) for code, params in rows
    }
    assert documented.keys() == messages.CODES
    for code, params in documented.items():
        assert params == messages.parameters(code), code


def test_docs_example_runs() -> None:
    parser = doctest.DocTestParser()
    test = parser.get_doctest(DOC.read_text(), {"nearly": nearly, "np": np}, str(DOC), str(DOC), 0)
    result = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE).run(test)
    assert result.failed == 0
    assert result.attempted >= 4
