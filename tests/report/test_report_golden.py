"""Golden tests: whole explanation texts for the main cases, so any change to a report is
seen and reviewed. Regenerate a text only after reading the new one."""

from __future__ import annotations

import numpy as np
import pytest

import nearly

F32 = np.float32
ONE_UP = np.nextafter(F32(1), F32(2))  # 1 + 1 ULP of float32

GOLDEN = {
    "seed_assert_equal_raises": (
        "Not equal: 1 mismatch (1 leaf compared).\n"
        "\n"
        "[0]: values differ at 1 of 4 elements (25%)\n"
        "  actual:    numpy.ndarray float32 shape (4,)\n"
        "  expected:  numpy.ndarray int64 shape (4,)\n"
        "  tolerance: rtol=0, atol=0 (exact)\n"
        "  greatest absolute difference: 1.19209e-07 at [1] (0 allowed there)\n"
        "  greatest relative difference: 1.19209e-07 at [1] (0 allowed there)\n"
        "  greatest ULP difference:      1 at [1] (ULPs of float32)\n"
        "  index: actual vs expected\n"
        "    [1]: 1.0000001 vs 1\n"
        "  diagnosis: rounding-level: every failing element is within 1 ULP of float32; compare with a tolerance (ulps=1, or one derived from the computation with nearly.tol)\n"
        "  note: dtypes differ (float32 vs int64); not checked (check_dtype=True requires them equal)"
    ),
    "seed_close_passes_with_notes": (
        "Close: 1 leaf compared, no differences beyond the tolerance.\n"
        "\n"
        "Notes (differences that do not fail):\n"
        "  [0]: dtypes differ (float32 vs int64); not checked (check_dtype=True requires equal dtypes)\n"
        "  [0]: close but not identical: 1 of 4 element(s) differ, by at most 1.19209e-07 (1 ULP) — within the tolerance"
    ),
    "dtype_only": (
        "Not close: 1 mismatch (1 leaf compared).\n"
        "\n"
        "['labels']: dtypes differ: float32 vs int64\n"
        "  actual:    numpy.ndarray float32 shape (3,)\n"
        "  expected:  numpy.ndarray int64 shape (3,)\n"
        "  diagnosis: only the dtype differs (float32 vs int64); the values are equal"
    ),
    "nested_structure_and_values": (
        "Not close: 3 mismatches (3 leaves compared).\n"
        "\n"
        "['enc'][0]: values differ at 1 of 6 elements (16.7%)\n"
        "  actual:    numpy.ndarray float64 shape (2, 3)\n"
        "  expected:  numpy.ndarray float64 shape (2, 3)\n"
        "  tolerance: rtol=1e-07, atol=1e-07 (float64 default)\n"
        "  greatest absolute difference: 0.1 at [1, 2] (6.1e-07 allowed there)\n"
        "  greatest relative difference: 0.0196078 at [1, 2] (1.19608e-07 allowed there)\n"
        "  greatest ULP difference:      112589990684262 at [1, 2] (ULPs of float64)\n"
        "  index: actual vs expected\n"
        "    [1, 2]: 5.0 vs 5.1\n"
        "  diagnosis: 1 element(s) differ by more than rounding in one operation (up to 1.1259e+14 ULP); the worst is 163934× the allowed difference: a real difference, or error accumulated over a long computation\n"
        "\n"
        "['enc'][1]: keys differ: missing in actual: 'c'\n"
        "\n"
        "['step']: values differ\n"
        "  actual:    int int64 shape ()\n"
        "  expected:  int int64 shape ()\n"
        "  tolerance: rtol=0, atol=0 (int64: exact)\n"
        "  greatest absolute difference: 1 (0 allowed)\n"
        "  greatest relative difference: 0.25 (0 allowed)\n"
        "  actual 3 vs expected 4\n"
        "  diagnosis: 1 integer element(s) differ; integers and bools compare exactly unless rtol/atol is given"
    ),
    "shape_squeeze": (
        "Not close: 1 mismatch (1 leaf compared).\n"
        "\n"
        "(top level): shapes differ: (3, 1) vs (3,)\n"
        "  actual:    numpy.ndarray float64 shape (3, 1)\n"
        "  expected:  numpy.ndarray float64 shape (3,)\n"
        "  diagnosis: shapes differ only by axes of length 1: they match after squeeze, and then the values match"
    ),
    "python_scalar_vs_1_element": (
        "Not close: 1 mismatch (1 leaf compared).\n"
        "\n"
        "[0]: shapes differ: () vs (1,)\n"
        "  actual:    float float64 shape ()\n"
        "  expected:  numpy.ndarray float64 shape (1,)\n"
        "  diagnosis: actual is a Python scalar (0-d) and the other has shape (1,): compare with .item() or reshape, and then the values match"
    ),
    "nan_only_in_actual": (
        "Not close: 1 mismatch (1 leaf compared).\n"
        "\n"
        "(top level): values differ at 1 of 3 elements (33.3%)\n"
        "  actual:    numpy.ndarray float64 shape (3,)\n"
        "  expected:  numpy.ndarray float64 shape (3,)\n"
        "  tolerance: rtol=1e-07, atol=1e-07 (float64 default)\n"
        "  NaN only in actual: 1\n"
        "  index: actual vs expected\n"
        "    [1]: nan vs 2.0\n"
        "  diagnosis: NaN only in actual at 1 element(s); every finite element is close"
    ),
    "transposed": (
        "Not close: 1 mismatch (1 leaf compared).\n"
        "\n"
        "(top level): values differ at 6 of 9 elements (66.7%)\n"
        "  actual:    numpy.ndarray float64 shape (3, 3)\n"
        "  expected:  numpy.ndarray float64 shape (3, 3)\n"
        "  tolerance: rtol=1e-07, atol=1e-07 (float64 default)\n"
        "  greatest absolute difference: 4 at [0, 2] (7e-07 allowed there)\n"
        "  greatest relative difference: 2 at [1, 0] (2e-07 allowed there)\n"
        "  greatest ULP difference:      6.7554e+15 at [0, 1] (ULPs of float64)\n"
        "  index: actual vs expected (first failing elements)\n"
        "    [0, 1]: 1.0 vs 3.0\n"
        "    [0, 2]: 2.0 vs 6.0\n"
        "    [1, 0]: 3.0 vs 1.0\n"
        "    [1, 2]: 5.0 vs 7.0\n"
        "    [2, 0]: 6.0 vs 2.0\n"
        "  diagnosis: looks transposed: actual with its last two axes swapped matches expected"
    ),
    "length_mismatch": (
        "Not close: 1 mismatch (2 leaves compared).\n"
        "\n"
        "(top level): lengths differ: actual has 3, expected 2 (extra item in actual at [2])"
    ),
}


def _seed() -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    predictions = np.array([0, ONE_UP, 1, 0], dtype=F32)  # a model's float32 output
    labels = np.array([0, 1, 1, 0])  # int64 labels
    return (predictions,), (labels,)


def _seed_assert_equal_raises() -> str:
    actual, expected = _seed()
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_equal(actual, expected)
    return str(info.value)


CASES = {
    "seed_assert_equal_raises": _seed_assert_equal_raises,
    "seed_close_passes_with_notes": lambda: nearly.explain(*_seed()),
    "dtype_only": lambda: nearly.explain(
        {"labels": np.array([0.0, 2.0, 1.0], dtype=F32)},
        {"labels": np.array([0, 2, 1])},
        check_dtype=True,
    ),
    "nested_structure_and_values": lambda: nearly.explain(
        {"enc": [np.arange(6.0).reshape(2, 3), {"b": 1.0}], "step": 3},
        {"enc": [np.array([[0.0, 1, 2], [3, 4, 5.1]]), {"b": 1.0, "c": 2.0}], "step": 4},
    ),
    "shape_squeeze": lambda: nearly.explain(np.ones((3, 1)), np.ones(3)),
    "python_scalar_vs_1_element": lambda: nearly.explain([2.5], [np.array([2.5])]),
    "nan_only_in_actual": lambda: nearly.explain(
        np.array([1.0, np.nan, 3.0]), np.array([1.0, 2.0, 3.0])
    ),
    "transposed": lambda: nearly.explain(
        np.arange(9.0).reshape(3, 3), np.arange(9.0).reshape(3, 3).T.copy()
    ),
    "length_mismatch": lambda: nearly.explain([1, 2, 3], [1, 2]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_report_text(name: str) -> None:
    assert CASES[name]() == GOLDEN[name]


def test_every_golden_text_has_a_case() -> None:
    assert set(GOLDEN) == set(CASES)
