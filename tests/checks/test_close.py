"""assert_close / assert_equal and the report they raise."""

from __future__ import annotations

import numpy as np
import pytest

import nearly


def _notes(c: nearly.Comparison) -> list[tuple[str, str, str]]:
    return [(n.path, n.code, n.text) for n in c.notes]


def test_the_raised_report_is_the_report_explain_prints() -> None:
    x = np.linspace(0, 1, 50, dtype=np.float32)
    actual = {"near": np.nextafter(x, np.float32(2)), "far": x + 1, "kind": (1, 2)}
    expected = {"near": x, "far": x, "kind": [1, 2]}
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_close(actual, expected)
    report = nearly.explain(actual, expected)
    assert str(info.value) == report
    assert "close but not identical" in report  # the passing leaf's note is kept
    assert _notes(info.value.comparison) == _notes(nearly.compare(actual, expected))


def test_assert_equal_keeps_the_notes_of_equal_leaves() -> None:
    actual = {"a": np.ones(3, np.float32), "b": np.zeros(2)}
    expected = {"a": np.ones(3), "b": np.ones(2)}
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_equal(actual, expected)
    assert [n.code for n in info.value.comparison.notes] == ["note.dtypes"]
    assert "dtypes differ (float32 vs float64)" in str(info.value)
