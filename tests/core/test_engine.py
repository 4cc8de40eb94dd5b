"""The chunked engine and the diagnoses.

Large inputs are processed in chunks; whatever the layout (contiguous, strided, transposed,
Fortran order) and wherever the failures fall, the verdict, the counts and the worst element
must be those of a plain element-wise evaluation. Diagnoses are checked by their key words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nearly

N = 300_000  # several engine chunks
Array = np.ndarray[Any, Any]


def reference(a: Array, e: Array, rtol: float, atol: float) -> tuple[int, tuple[int, ...]]:
    """Failing count and the index of the greatest absolute difference, element by element
    (finite, well-separated values: the float evaluation is exact enough)."""
    d = np.abs(a.astype(np.float64) - e.astype(np.float64))
    fail = ~(d <= atol + rtol * np.abs(e.astype(np.float64)))
    worst = np.unravel_index(int(np.argmax(np.where(fail, d, -1.0))), a.shape)
    return int(fail.sum()), tuple(int(i) for i in worst)


def only(result: nearly.Comparison) -> nearly.Mismatch:
    assert len(result.mismatches) == 1, str(result)
    return result.mismatches[0]


# ------------------------------------------------------------------------ spanning chunks


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_failures_in_different_chunks(dtype: Any) -> None:
    rng = np.random.default_rng(1)
    e = rng.uniform(-10, 10, N).astype(dtype)
    a = e.copy()
    planted = {5: 0.5, 70_001: 2.0, 140_000: -3.0, 200_123: 1.0, N - 1: 0.25}
    for i, delta in planted.items():
        a[i] += dtype(delta)
    m = only(nearly.compare(a, e))
    assert m.kind == "value"
    assert m.count == len(planted)
    assert m.total == N
    assert m.index == (140_000,)
    assert m.max_abs == pytest.approx(3.0, rel=1e-5)
    # the same elements compared as a small array give the same findings
    idx = np.array(sorted(planted))
    small = only(nearly.compare(a[idx], e[idx]))
    assert small.count == m.count
    assert idx[small.index[0]] == m.index[0]
    assert small.max_abs == m.max_abs
    assert small.max_rel == m.max_rel
    assert small.max_ulps == m.max_ulps


def test_passing_large_array() -> None:
    e = np.linspace(-1, 1, N)
    a = e + 1e-9 * np.sign(e)
    assert nearly.compare(a, e).ok
    assert nearly.compare(a.astype(np.float32), e.astype(np.float32)).ok
    assert not nearly.compare(a, e, atol=0).ok
    assert only(nearly.compare(a, e, atol=0)).count == int(np.count_nonzero(a != e))


def test_nan_and_inf_placement_across_chunks() -> None:
    e = np.ones(N)
    a = e.copy()
    a[[3, 65_536, 131_071]] = np.nan
    e[[131_071, 250_000]] = np.nan
    a[299_000] = np.inf
    m = only(nearly.compare(a, e))
    # [131_071] is NaN on both sides: equal; the rest differ
    assert m.count == 4
    assert nearly.compare(a, a.copy()).ok
    assert only(nearly.compare(a, a.copy(), equal_nan=False)).count == 3


def test_masks_across_chunks() -> None:
    e = np.arange(N, dtype=np.float64)
    a = e.copy()
    a[[10, 100_000, 299_999]] += 5.0
    mask = np.zeros(N, bool)
    mask[[10, 299_999]] = True
    m = only(nearly.compare(np.ma.array(a, mask=mask), np.ma.array(e, mask=mask)))
    assert m.count == 1
    assert m.index == (100_000,)
    other = mask.copy()
    other[150_000] = True
    assert only(nearly.compare(np.ma.array(a, mask=other), np.ma.array(e, mask=mask))).count == 2


@pytest.mark.parametrize(
    "dtype", [np.int8, np.uint8, np.int64, np.uint64], ids=lambda d: np.dtype(d).name
)
def test_integer_extremes_across_chunks(dtype: Any) -> None:
    info = np.iinfo(dtype)
    e = np.full(N, info.min, dtype)
    a = e.copy()
    a[[1, 100_000, 299_998]] = info.max
    m = only(nearly.compare(a, e))
    assert m.count == 3
    assert m.max_abs == pytest.approx(float(int(info.max) - int(info.min)))
    assert m.index == (1,)


def test_complex_across_chunks() -> None:
    rng = np.random.default_rng(2)
    e = (rng.normal(size=N) + 1j * rng.normal(size=N)).astype(np.complex64)
    a = e.copy()
    a[[7, 190_000]] += np.complex64(3 + 4j)
    m = only(nearly.compare(a, e))
    assert m.count == 2
    assert m.max_abs == pytest.approx(5.0, rel=1e-5)


def test_ulps_across_chunks() -> None:
    e = np.linspace(1, 2, N, dtype=np.float32)
    a = np.nextafter(e, np.float32(3))
    a[[0, 123_456]] = np.nextafter(a[[0, 123_456]], np.float32(3))
    assert nearly.compare(a, e, ulps=2).ok
    m = only(nearly.compare(a, e, ulps=1))
    assert m.count == 2
    assert m.max_ulps == 2


def test_per_element_tolerance_across_chunks() -> None:
    e = np.zeros(N)
    a = np.full(N, 0.4)
    atol = np.full(N, 0.5)
    atol[[9, 99_999, 299_999]] = 0.25
    atol[299_998] = 0.4  # exactly on the boundary: passes
    m = only(nearly.compare(a, e, atol=atol))
    assert m.count == 3
    assert m.index == (9,)


# --------------------------------------------------------------------------- memory layouts


def _layouts() -> list[tuple[str, Callable[[Array], Array]]]:
    return [
        ("strided", lambda x: x.reshape(1200, 1000)[:, ::2]),
        ("transposed", lambda x: x.reshape(600, 2000).T),
        ("fortran", lambda x: np.asfortranarray(x.reshape(600, 2000))[:, :1000]),
        ("reversed", lambda x: x.reshape(-1)[::-1]),
        ("long-rows", lambda x: x.reshape(3, 400_000)[:, ::2]),
        ("3d-swapped", lambda x: x.reshape(40, 100, 300).swapaxes(0, 2)[:, ::2]),
    ]


@pytest.mark.parametrize(("name", "view"), _layouts(), ids=[n for n, _ in _layouts()])
@pytest.mark.parametrize("other", ["same-layout", "contiguous"])
def test_non_contiguous_views(name: str, view: Callable[[Array], Array], other: str) -> None:
    rng = np.random.default_rng(3)
    base_e = rng.uniform(1, 2, 1_200_000)
    base_a = base_e.copy()
    spots = rng.choice(base_a.size, 40, replace=False)
    base_a[spots] += rng.uniform(0.01, 1.0, spots.size)
    a = view(base_a)
    e = view(base_e)
    assert a.size >= 200_000
    assert not a.flags.c_contiguous
    if other == "contiguous":
        e = np.ascontiguousarray(e)
    want_count, want_index = reference(a, e, 1e-7, 1e-7)
    assert want_count > 0
    m = only(nearly.compare(a, e))
    assert m.count == want_count
    assert m.total == a.size
    assert m.index == want_index
    d = np.abs(a - e)
    assert m.max_abs == d[want_index]
    # the same comparison on C-contiguous copies agrees
    c = only(nearly.compare(np.ascontiguousarray(a), np.ascontiguousarray(e)))
    assert (c.count, c.index, c.max_abs, c.max_rel) == (m.count, m.index, m.max_abs, m.max_rel)


@pytest.mark.parametrize(("name", "view"), _layouts(), ids=[n for n, _ in _layouts()])
def test_non_contiguous_views_pass(name: str, view: Callable[[Array], Array]) -> None:
    base = np.random.default_rng(4).normal(size=1_200_000)
    a = view(base)
    assert nearly.compare(a, view(base.copy())).ok
    assert nearly.compare(a, np.ascontiguousarray(a)).ok
    nearly.assert_equal(a, np.ascontiguousarray(a))


def test_broadcast_view_is_read_correctly() -> None:
    row = np.arange(1000, dtype=np.float64)
    a = np.broadcast_to(row, (300, 1000))  # zero strides
    e = np.tile(row, (300, 1))
    assert nearly.compare(a, e).ok
    e[299, 999] += 1
    m = only(nearly.compare(a, e))
    assert m.count == 1
    assert m.index == (299, 999)


# --------------------------------------------------------------------------------- diagnoses


def diagnosis(a: Any, e: Any, **options: Any) -> str:
    m = only(nearly.compare(a, e, **options))
    assert m.hints, str(m)
    text = str(nearly.compare(a, e, **options))
    assert f"diagnosis: {m.hints[0]}" in text
    return m.hints[0]


SIZES = [(6, 6), (600, 600)]  # small and spanning several chunks


@pytest.mark.parametrize("shape", SIZES, ids=["small", "large"])
def test_diagnosis_constant_offset(shape: tuple[int, int]) -> None:
    e = np.random.default_rng(5).normal(size=shape)
    hint = diagnosis(e + 0.5, e)
    assert "offset" in hint
    assert "0.5" in hint


@pytest.mark.parametrize("shape", SIZES, ids=["small", "large"])
def test_diagnosis_constant_scale(shape: tuple[int, int]) -> None:
    e = np.random.default_rng(6).uniform(1, 2, size=shape)
    hint = diagnosis(e * 3.0, e)
    assert "scale" in hint
    assert "3" in hint


@pytest.mark.parametrize("shape", SIZES, ids=["small", "large"])
def test_diagnosis_sign_flipped(shape: tuple[int, int]) -> None:
    e = np.random.default_rng(7).uniform(1, 2, size=shape)
    assert "sign" in diagnosis(-e, e)


@pytest.mark.parametrize("shape", SIZES, ids=["small", "large"])
def test_diagnosis_transposed(shape: tuple[int, int]) -> None:
    e = np.random.default_rng(8).normal(size=shape)
    assert "transposed" in diagnosis(e.T, e)
    assert "transposed" in diagnosis(np.ascontiguousarray(e.T), e)


def test_diagnosis_transposed_shape() -> None:
    e = np.random.default_rng(9).normal(size=(3, 5))
    m = only(nearly.compare(e.T, e))
    assert m.kind == "shape"
    assert "transposed" in m.hints[0]


@pytest.mark.parametrize("n", [50, 200_000], ids=["small", "large"])
def test_diagnosis_same_values_in_another_order(n: int) -> None:
    rng = np.random.default_rng(10)
    e = rng.normal(size=n)
    a = rng.permutation(e)
    assert "order" in diagnosis(a, e)


@pytest.mark.parametrize("n", [10, N], ids=["small", "large"])
def test_diagnosis_nan_only_in_actual(n: int) -> None:
    e = np.linspace(0, 1, n)
    a = e.copy()
    a[[1, n - 2]] = np.nan
    hint = diagnosis(a, e)
    assert "NaN only in actual" in hint
    assert "2" in hint


def test_diagnosis_nan_only_in_expected() -> None:
    e = np.linspace(0, 1, 10)
    a = e.copy()
    e[4] = np.nan
    assert "NaN only in expected" in diagnosis(a, e)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("n", [16, N], ids=["small", "large"])
def test_diagnosis_rounding_level(dtype: Any, n: int) -> None:
    e = np.linspace(1, 2, n).astype(dtype)
    a = np.nextafter(e, dtype(3))
    hint = diagnosis(a, e, atol=0)
    assert "rounding-level" in hint
    assert "1 ULP" in hint
    assert np.dtype(dtype).name in hint


def test_diagnosis_rounding_level_counts_the_worst_ulps() -> None:
    e = np.linspace(1, 2, 16, dtype=np.float32)
    a = np.nextafter(np.nextafter(np.nextafter(e, np.float32(3)), np.float32(3)), np.float32(3))
    hint = diagnosis(a, e, atol=0)
    assert "rounding-level" in hint
    assert "3 ULP" in hint


@pytest.mark.parametrize(
    ("sa", "se"), [((3, 1), (3,)), ((1, 4), (4,)), ((2, 1, 3), (2, 3)), ((5,), (1, 5, 1))]
)
def test_diagnosis_shape_matches_after_squeeze(sa: tuple[int, ...], se: tuple[int, ...]) -> None:
    values = np.arange(float(np.prod(se)))
    m = only(nearly.compare(values.reshape(sa), values.reshape(se)))
    assert m.kind == "shape"
    assert "squeeze" in m.hints[0]
    assert "match" in m.hints[0]


def test_diagnosis_python_scalar_vs_one_element_array() -> None:
    m = only(nearly.compare(2.0, np.array([2.0])))
    assert m.kind == "shape"
    assert "scalar" in m.hints[0]


@pytest.mark.parametrize(
    ("a", "e"),
    [
        (np.ones(3, np.float32), np.ones(3)),
        (np.arange(4, dtype=np.int32), np.arange(4, dtype=np.int64)),
        (np.array([0.1], np.float64), np.array([0.1], np.float32)),
    ],
    ids=["f32-f64", "i32-i64", "close-values"],
)
def test_diagnosis_dtype_only(a: Array, e: Array) -> None:
    m = only(nearly.compare(a, e, check_dtype=True))
    assert m.kind == "dtype"
    hint = m.hints[0]
    assert "only the dtype" in hint
    assert a.dtype.name in hint
    assert e.dtype.name in hint


def test_unstructured_difference_gets_no_specific_diagnosis() -> None:
    rng = np.random.default_rng(11)
    e = rng.normal(size=(20, 20))
    a = e + rng.normal(scale=0.5, size=e.shape)
    hint = diagnosis(a, e)
    for word in ("offset", "scale", "sign", "transposed", "order", "rounding-level"):
        assert word not in hint, hint


def test_diagnoses_report_every_failing_leaf() -> None:
    e = np.random.default_rng(12).uniform(1, 2, size=(5, 5))
    result = nearly.compare({"off": e + 1.0, "neg": -e, "T": e.T}, {"off": e, "neg": e, "T": e})
    hints = {m.path: m.hints[0] for m in result.mismatches}
    assert "offset" in hints["['off']"]
    assert "sign" in hints["['neg']"]
    assert "transposed" in hints["['T']"]


# ------------------------------------------------------------------ many small leaves


def _small_leaves(n: int, seed: int) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
    """n small leaves of mixed dtypes and shapes, some identical, some close, some failing,
    with a structure difference and a non-array leaf among them."""
    rng = np.random.default_rng(seed)
    expected: dict[str, Any] = {}
    actual: dict[str, Any] = {}
    failing: set[str] = set()
    dtypes = [np.float64, np.float32, np.float16, np.int32]
    for i in range(n):
        key = f"k{i:05d}"
        dt = dtypes[i % len(dtypes)]
        e = (rng.standard_normal(int(rng.integers(0, 6))) * 10).astype(dt)
        a = e.copy()
        kind = rng.integers(0, 10)
        if kind < 4 and e.size and e.dtype.kind == "f":  # close: one ULP away
            a = np.nextafter(e, dt(np.inf))
        elif kind == 4 and e.size:  # failing
            a[int(rng.integers(0, e.size))] += dt(3)
            failing.add(key)
        elif kind == 5 and e.size and e.dtype.kind == "f":  # NaN in the same place passes
            a[0] = e[0] = np.nan
        expected[key] = e
        actual[key] = a
    expected["k00003"] = [1, 2]
    actual["k00003"] = [1, 2, 3]  # a structure difference in the middle
    failing.add("k00003")
    return actual, expected, failing


@pytest.mark.parametrize("flush", [None, 7], ids=["one-batch", "many-batches"])
def test_many_small_leaves_report_what_one_by_one_reports(
    flush: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nearly._core import compare as _compare

    if flush is not None:
        monkeypatch.setattr(_compare._SmallLeaves, "FLUSH", flush)
    actual, expected, failing = _small_leaves(400, seed=3)
    result = nearly.compare(actual, expected, rtol=1e-3)
    assert {m.path.strip("[]'") for m in result.mismatches} == failing
    # each leaf on its own gives the same findings, in walk order
    one_by_one = [
        m
        for key in sorted(actual)
        for m in nearly.compare({key: actual[key]}, {key: expected[key]}, rtol=1e-3).mismatches
    ]
    assert [m.to_dict() for m in result.mismatches] == [m.to_dict() for m in one_by_one]
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_close(actual, expected, rtol=1e-3)
    # assert_close decides the small leaves jointly: the same findings again
    assert [m.to_dict() for m in info.value.comparison.mismatches] == [
        m.to_dict() for m in result.mismatches
    ]
    assert info.value.comparison.leaves == result.leaves == len(actual) + 1


def test_many_small_leaves_exact_and_nan_rules() -> None:
    e = {f"k{i}": np.array([np.nan, float(i)]) for i in range(50)}
    a = {k: v.copy() for k, v in e.items()}
    assert nearly.compare(a, e).ok
    assert len(nearly.compare(a, e, equal_nan=False).mismatches) == 50
    a["k7"][1] = np.nextafter(a["k7"][1], np.inf)
    assert nearly.compare(a, e).ok
    (m,) = nearly.compare(a, e, ulps=0, atol=0, rtol=0).mismatches
    assert m.path == "['k7']"
    with pytest.raises(nearly.NotClose):
        nearly.assert_equal(a, e)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "complex64"])
def test_identical_chunks_by_bits_keep_nan_and_signed_zero_rules(dtype: str) -> None:
    """Identical chunks are found by comparing bit patterns: equal bits pass only where NaN
    equals NaN, and equal values with other bits (+0.0 and -0.0) still pass."""
    if dtype == "bfloat16":
        dt = np.dtype(pytest.importorskip("ml_dtypes").bfloat16)
    else:
        dt = np.dtype(dtype)
    e = np.linspace(-3, 3, N).astype(dt)
    e[::1000] = np.nan
    a = e.copy()
    assert nearly.compare(a, e).ok
    m = only(nearly.compare(a, e, equal_nan=False))
    assert m.count == len(range(0, N, 1000))
    zero = np.zeros(N, dt)
    assert nearly.compare(-zero, zero, ulps=0, rtol=0, atol=0).ok


def test_many_small_leaves_with_empty_ones_among_them() -> None:
    e = {"a": np.array([1.0, 2.0]), "b": np.zeros(0), "c": np.ones(3), "d": np.zeros((0, 2))}
    a = {**e, "a": np.array([1.0, 3.0])}
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_close(a, e)
    assert [m.path for m in info.value.comparison.mismatches] == ["['a']"]
    (m,) = nearly.compare(a, {**e, "b": np.zeros(1)}).mismatches[1:]
    assert (m.path, m.kind) == ("['b']", "shape")


@pytest.mark.parametrize("n", [8, N], ids=["small", "large"])
def test_exact_rule_counts_only_real_differences_next_to_nan_pairs(n: int) -> None:
    """Under the exact rule NaN pairs (any payloads) are equal with equal_nan and unequal
    without it, also in chunks that differ elsewhere."""
    e = np.linspace(-1, 1, n)
    e[::4] = np.nan
    a = e.copy()
    a[1::4] = np.nextafter(a[1::4], 2)  # a real difference in every chunk
    quiet = np.array([0x7FF8000000000001], np.uint64).view(np.float64)[0]
    a[4::8] = quiet  # NaN with another payload: other bits, still NaN
    differing = len(range(1, n, 4))
    (m,) = nearly.compare(a, e, atol=0, rtol=0).mismatches
    assert m.count == differing
    (m,) = nearly.compare(a, e, atol=0, rtol=0, equal_nan=False).mismatches
    assert m.count == differing + len(range(0, n, 4))
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_equal(a, e)
    assert info.value.comparison.mismatches[0].count == differing
