"""pandas: labels are structure, columns are compared in their own dtypes."""

from __future__ import annotations

from typing import Any

import pytest

import nearly

pd = pytest.importorskip("pandas")


def _frame() -> Any:
    return pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1, 2, 3], "c": ["x", "y", "z"]})


def _agree(a: Any, e: Any, **options: Any) -> nearly.Comparison:
    """compare() and assert_close() give one verdict."""
    c = nearly.compare(a, e, **options)
    if c.ok:
        nearly.assert_close(a, e, **options)
    else:
        with pytest.raises(nearly.NotClose):
            nearly.assert_close(a, e, **options)
    return c


def test_identical_frames_pass_and_each_column_has_its_dtypes_tolerance() -> None:
    df = _frame()
    assert _agree(df, df.copy()).ok
    near = df.copy()
    near["a"] += 1e-12  # a float column in a mixed-dtype frame: float64's default tolerance
    assert _agree(df, near).ok
    off = df.copy()
    off["b"] = [1, 2, 4]  # integers compare exactly
    (m,) = _agree(df, off).mismatches
    assert m.path == "['b']"
    assert m.kind == "value"
    assert m.index == (2,)


def test_a_reindexed_series_fails_as_a_structure_difference_naming_the_labels() -> None:
    s = pd.Series([1.0, 2.0], index=["x", "y"])
    (m,) = _agree(s, pd.Series([1.0, 2.0], index=["x", "z"])).mismatches
    assert m.path == ".index"
    assert m.kind == "structure"
    assert m.code == "structure.labels"
    assert m.reason.params == {"count": 1, "total": 2}
    assert "[1]: 'y' vs 'z'" in str(nearly.compare(s, pd.Series([1.0, 2.0], index=["x", "z"])))


def test_labels_compare_exactly_whatever_the_tolerance() -> None:
    s = pd.Series([1.0, 2.0], index=[0.1, 0.2])
    shifted = pd.Series([1.0, 2.0], index=[0.1, 0.2 + 1e-12])
    (m,) = _agree(s, shifted, rtol=0.5).mismatches
    assert m.path == ".index"


def test_a_shifted_datetime_index_fails() -> None:
    d = pd.DataFrame({"v": [1.0, 2.0]}, index=pd.date_range("2020-01-01", periods=2))
    (m,) = _agree(d, d.shift(1, freq="D")).mismatches
    assert m.path == ".index"
    assert m.count == 2


def test_reordered_columns_match_by_label_with_a_note() -> None:
    df = _frame()
    c = _agree(df, df[["c", "a", "b"]])
    assert c.ok
    (note,) = c.notes
    assert note.code == "note.key_order"
    assert note.finding.params == {
        "actual": ["'a'", "'b'", "'c'"],
        "expected": ["'c'", "'a'", "'b'"],
    }


def test_missing_and_extra_columns_are_named() -> None:
    df = _frame()
    (m,) = _agree(df, df.drop(columns="b").assign(d=1)).mismatches
    assert m.code == "structure.keys"
    assert m.reason.params == {"what": "keys", "missing": ["'d'"], "extra": ["'b'"]}


def test_missing_values_equal_each_other_under_equal_nan() -> None:
    t = pd.Series(pd.to_datetime(["2020-01-01", None]).tz_localize("UTC"))
    assert _agree(t, t.copy()).ok
    n = pd.Series([1, None, 3], dtype="Int64")
    assert _agree(n, n.copy()).ok
    (m,) = _agree(n, pd.Series([1, 2, 3], dtype="Int64")).mismatches
    assert m.path == ".values"
    assert m.mask_differs == 1


def test_timezones_compare_the_same_instants() -> None:
    utc = pd.Series(pd.to_datetime(["2020-01-01 12:00"]).tz_localize("UTC"))
    assert _agree(utc, utc.dt.tz_convert("Europe/Paris")).ok
    (m,) = _agree(utc, utc + pd.Timedelta(seconds=1)).mismatches
    assert m.path == ".values"


def test_frames_inside_structures_and_against_other_types() -> None:
    df = _frame()
    (m,) = _agree({"df": df}, {"df": df.assign(a=[1.0, 2.0, 4.0])}).mismatches
    assert m.path == "['df']['a']"
    c = _agree(df, {".index": None})
    assert not c.ok
    assert any(n.code == "note.container_types" for n in c.notes)


def test_an_index_on_its_own_is_labels() -> None:
    (m,) = _agree(pd.Index([1, 2, 3]), pd.Index([1, 2, 4])).mismatches
    assert m.kind == "structure"
    assert _agree(pd.RangeIndex(3), pd.Index([0, 1, 2])).ok  # the index type is no difference


def test_repeated_column_labels_are_refused_by_name() -> None:
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(ValueError, match="repeated column labels \\('a'\\)"):
        nearly.compare(df, df)
