"""How the report text is laid out: a cap on detailed leaves, sensible wording at zero."""

from __future__ import annotations

import numpy as np

import nearly
from nearly._report.text import DETAILED


def test_reports_detail_the_first_leaves_and_summarise_the_rest_one_line_each() -> None:
    n = 2_000
    actual = {f"k{i:05}": np.full(10, float(i)) for i in range(n)}
    expected = {k: v + 1 for k, v in actual.items()}
    c = nearly.compare(actual, expected)
    assert len(c.mismatches) == n  # every mismatch is kept; only the text is capped
    lines = str(c).splitlines()
    assert len(lines) < 2 * n  # ten lines a leaf before the cap
    assert sum(line.startswith("['k") for line in lines) == DETAILED
    assert f"{n - DETAILED} more mismatches, one line each:" in lines
    assert lines[-1] == f"  ['k{n - 1:05}']: values differ at 10 of 10 elements"


def test_relative_difference_against_zero_is_worded_as_such() -> None:
    text = nearly.explain(np.array([1.0, 2.0]), np.array([0.0, 2.0]))
    assert "greatest relative difference: inf at [0] (expected is 0 there)" in text
    assert "inf allowed" not in text
