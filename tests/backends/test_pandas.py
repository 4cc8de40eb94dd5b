"""pandas: labels are structure, columns are compared in their own dtypes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nearly
from agree import agree

pd = pytest.importorskip("pandas")


def _frame() -> Any:
    return pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1, 2, 3], "c": ["x", "y", "z"]})


def test_identical_frames_pass_and_each_column_has_its_dtypes_tolerance() -> None:
    df = _frame()
    assert agree(df, df.copy()).ok
    near = df.copy()
    near["a"] += 1e-12  # a float column in a mixed-dtype frame: float64's default tolerance
    assert agree(df, near).ok
    off = df.copy()
    off["b"] = [1, 2, 4]  # integers compare exactly
    (m,) = agree(df, off).mismatches
    assert m.path == "['b']"
    assert m.kind == "value"
    assert m.index == (2,)


def test_a_reindexed_series_fails_as_a_structure_difference_naming_the_labels() -> None:
    s = pd.Series([1.0, 2.0], index=["x", "y"])
    (m,) = agree(s, pd.Series([1.0, 2.0], index=["x", "z"])).mismatches
    assert m.path == ".index"
    assert m.kind == "structure"
    assert m.code == "structure.labels"
    assert m.reason.params == {"count": 1, "total": 2}
    assert "[1]: 'y' vs 'z'" in str(nearly.compare(s, pd.Series([1.0, 2.0], index=["x", "z"])))


def test_labels_compare_exactly_whatever_the_tolerance() -> None:
    s = pd.Series([1.0, 2.0], index=[0.1, 0.2])
    shifted = pd.Series([1.0, 2.0], index=[0.1, 0.2 + 1e-12])
    (m,) = agree(s, shifted, rtol=0.5).mismatches
    assert m.path == ".index"


def test_a_shifted_datetime_index_fails() -> None:
    d = pd.DataFrame({"v": [1.0, 2.0]}, index=pd.date_range("2020-01-01", periods=2))
    (m,) = agree(d, d.shift(1, freq="D")).mismatches
    assert m.path == ".index"
    assert m.count == 2


def test_reordered_columns_match_by_label_with_a_note() -> None:
    df = _frame()
    c = agree(df, df[["c", "a", "b"]])
    assert c.ok
    (note,) = c.notes
    assert note.code == "note.key_order"
    assert note.finding.params == {
        "actual": ["'a'", "'b'", "'c'"],
        "expected": ["'c'", "'a'", "'b'"],
    }


def test_missing_and_extra_columns_are_named() -> None:
    df = _frame()
    (m,) = agree(df, df.drop(columns="b").assign(d=1)).mismatches
    assert m.code == "structure.keys"
    assert m.reason.params == {"what": "keys", "missing": ["'d'"], "extra": ["'b'"]}


def test_missing_values_equal_each_other_under_equal_nan() -> None:
    t = pd.Series(pd.to_datetime(["2020-01-01", None]).tz_localize("UTC"))
    assert agree(t, t.copy()).ok
    n = pd.Series([1, None, 3], dtype="Int64")
    assert agree(n, n.copy()).ok
    (m,) = agree(n, pd.Series([1, 2, 3], dtype="Int64")).mismatches
    assert m.path == ".values"
    assert m.mask_differs == 1


def test_timezones_compare_the_same_instants() -> None:
    utc = pd.Series(pd.to_datetime(["2020-01-01 12:00"]).tz_localize("UTC"))
    assert agree(utc, utc.dt.tz_convert("Europe/Paris")).ok
    (m,) = agree(utc, utc + pd.Timedelta(seconds=1)).mismatches
    assert m.path == ".values"


def test_frames_inside_structures_and_against_other_types() -> None:
    df = _frame()
    (m,) = agree({"df": df}, {"df": df.assign(a=[1.0, 2.0, 4.0])}).mismatches
    assert m.path == "['df']['a']"
    c = agree(df, {".index": None})
    assert not c.ok
    assert any(n.code == "note.container_types" for n in c.notes)


def test_an_index_on_its_own_is_labels() -> None:
    (m,) = agree(pd.Index([1, 2, 3]), pd.Index([1, 2, 4])).mismatches
    assert m.kind == "structure"
    assert agree(pd.RangeIndex(3), pd.Index([0, 1, 2])).ok  # the index type is no difference


def test_repeated_column_labels_are_refused_by_name() -> None:
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(ValueError, match="repeated column labels \\('a'\\)"):
        nearly.compare(df, df)


def test_pandas_scalars() -> None:
    assert agree(pd.NA, pd.NA).ok
    (m,) = agree({"x": pd.NA}, {"x": 1}).mismatches
    assert m.path == "['x']"
    assert agree(pd.NaT, pd.NaT).ok
    t = pd.Timestamp("2020-01-01 12:00", tz="UTC")
    assert agree(t, t.tz_convert("Asia/Tokyo")).ok  # the same instant
    assert not agree(t, t + pd.Timedelta(1, "ns")).ok
    assert agree(pd.Timedelta(1, "s"), np.timedelta64(1000, "ms")).ok


def test_names_of_series_and_axes_are_labels() -> None:
    s = pd.Series([1.0, 2.0], name="loss")
    assert agree(s, s.copy()).ok
    (m,) = agree(s, s.rename("acc")).mismatches
    assert (m.path, m.kind) == (".name", "structure")
    (m,) = agree(s, s.rename(None)).mismatches
    assert m.code == "structure.keys"
    df = _frame()
    named = df.rename_axis("row").rename_axis("col", axis="columns")
    assert agree(named, named.copy()).ok
    (m,) = agree(named, df.rename_axis("row")).mismatches
    assert m.code == "structure.keys"
    (m,) = agree(named, named.rename_axis("line")).mismatches
    assert m.path == ".index_names"


def test_missing_elements_print_as_masked_not_as_their_fill_value() -> None:
    n = pd.Series([1, None, 3], dtype="Int64")
    c = agree(n, pd.Series([1, 0, 3], dtype="Int64"))
    assert "[1]: masked vs 0" in str(c)
    assert not c.notes  # both nullable: no difference of type to note
