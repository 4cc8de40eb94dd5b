"""nearly.stats: accurate, mergeable statistics of arrays and streams of batches.

The accuracy tests use the data of the seed issue: float32 values uniform in [1000, 1001],
shape (1e6, 5). NumPy's float32 mean along axis 0 of it is off by about 9.5 (rows are added
one at a time in float32); ``summarize`` must match a ``math.fsum`` reference to 1e-12.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from frameworks import convert
from nearly import stats
from nearly.stats import Summary, summarize

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FLOAT_FIELDS = ("sum", "mean", "var", "var_sample", "std", "std_sample", "sum_abs")
COUNT_FIELDS = ("count", "nan_count", "posinf_count", "neginf_count")


@pytest.fixture(scope="module")
def seed_x() -> np.ndarray:
    """The seed issue's data: float32, (1e6, 5), uniform in [1000, 1001]."""
    rng = np.random.default_rng(0)
    return rng.uniform(1000.0, 1001.0, size=(1_000_000, 5)).astype(np.float32)


@pytest.fixture(scope="module")
def seed_ref(seed_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean (math.fsum) and population std (two passes, math.fsum) in float64."""
    cols = [seed_x[:, j].astype(np.float64) for j in range(seed_x.shape[1])]
    mean = np.array([math.fsum(c) / len(c) for c in cols])
    std = np.array(
        [math.sqrt(math.fsum((c - m) ** 2) / len(c)) for c, m in zip(cols, mean, strict=False)]
    )
    return mean, std


def rel_err(got: Any, ref: Any) -> float:
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    return float(np.max(np.abs(got - ref) / np.abs(ref)))


def assert_summaries_close(got: Summary, ref: Summary, rel: float = 1e-12) -> None:
    """Same counts, min and max; the other statistics within ``rel`` (NaN where NaN)."""
    assert got.axis == ref.axis
    assert got.shape == ref.shape
    for name in (*COUNT_FIELDS, "min", "max"):
        np.testing.assert_array_equal(getattr(got, name), getattr(ref, name), err_msg=name)
    for name in FLOAT_FIELDS:
        g, r = np.asarray(getattr(got, name)), np.asarray(getattr(ref, name))
        np.testing.assert_array_equal(np.isnan(g), np.isnan(r), err_msg=name)
        ok = ~np.isnan(r)
        np.testing.assert_allclose(g[ok], r[ok], rtol=rel, atol=0, err_msg=name)


# ------------------------------------------------------------------------------- accuracy


def test_mean_of_seed_data_matches_fsum_while_numpy_float32_is_off(
    seed_x: np.ndarray, seed_ref: tuple[np.ndarray, np.ndarray]
) -> None:
    mean, _ = seed_ref
    s = summarize(seed_x, axis=0)
    assert isinstance(s.mean, np.ndarray)
    assert s.mean.shape == (5,)
    assert s.mean.dtype == np.float64
    assert rel_err(s.mean, mean) <= 1e-12
    # the problem being solved: NumPy's float32 mean along axis 0 is off by about 9.5
    naive = seed_x.mean(axis=0).astype(np.float64)
    assert np.all(np.abs(naive - mean) > 1.0)
    np.testing.assert_array_equal(s.count, 1_000_000)
    assert s.shape == (5,)
    assert s.axis == (0,)


def test_std_of_seed_data_matches_two_pass_reference_while_numpy_float32_is_off(
    seed_x: np.ndarray, seed_ref: tuple[np.ndarray, np.ndarray]
) -> None:
    _, std = seed_ref
    s = summarize(seed_x, axis=0)
    assert np.allclose(std, math.sqrt(1 / 12), rtol=1e-2)  # uniform on [0, 1): 0.2887
    assert rel_err(s.std, std) <= 1e-9
    n = 1_000_000
    assert rel_err(s.var, std**2) <= 1e-9
    assert rel_err(s.var_sample, std**2 * n / (n - 1)) <= 1e-9
    assert rel_err(s.std_sample, std * math.sqrt(n / (n - 1))) <= 1e-9
    naive = seed_x.std(axis=0).astype(np.float64)
    assert np.all(np.abs(naive - std) > 1.0)


def test_all_values_of_seed_data(seed_x: np.ndarray) -> None:
    flat = seed_x.reshape(-1).astype(np.float64)
    exact = math.fsum(flat)
    s = summarize(seed_x)
    assert isinstance(s.mean, float)
    assert isinstance(s.count, int)
    assert s.count == flat.size
    assert s.shape == ()
    assert s.axis is None
    assert abs(s.sum - exact) <= 1e-15 * exact
    assert abs(s.mean - exact / flat.size) <= 1e-12 * s.mean
    assert s.sum_abs == s.sum
    assert s.min == float(seed_x.min())
    assert s.max == float(seed_x.max())


def _exact_var(values: np.ndarray) -> Fraction:
    xs = [Fraction(v) for v in values.tolist()]
    mean = sum(xs, Fraction(0)) / len(xs)
    return sum(((v - mean) ** 2 for v in xs), Fraction(0)) / len(xs)


@pytest.mark.parametrize("chunk", [stats.CHUNK, 64])
def test_ill_conditioned_variance(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats, "CHUNK", chunk)
    x = 1e8 + np.random.default_rng(3).standard_normal(10_000)
    exact = _exact_var(x)
    n = len(x)
    textbook = (np.sum(x * x) - np.sum(x) ** 2 / n) / n  # cancels catastrophically
    assert abs(Fraction(float(textbook)) - exact) / exact > 0.5
    s = summarize(x)
    assert abs(Fraction(s.var) - exact) / exact <= 1e-6
    assert abs(Fraction(s.var) - exact) / exact <= 1e-12  # in fact: a few roundings
    col = summarize(np.stack([x, x[::-1]], axis=1), axis=0)
    assert rel_err(col.var, [float(exact)] * 2) <= 1e-12


def test_64_bit_integers_are_summed_exactly() -> None:
    values = [2**62 + 1, 2**62 + 3, -(2**63), 2**53 + 1, 7]
    s = summarize(np.array(values, np.int64))
    assert s.sum == float(sum(values))
    assert Fraction(s.sum) + Fraction(s._sum_lo) == sum(values)
    exact = _exact_var(np.array(values, dtype=object))
    assert abs(Fraction(s.var) - exact) / exact <= 1e-15
    big = summarize(np.array([2**64 - 1] * 3, np.uint64))
    assert big.std == 0.0
    assert Fraction(big.sum) + Fraction(big._sum_lo) == 3 * (2**64 - 1)


# ----------------------------------------------------------------------------------- merge


def _batches(x: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    return np.split(x, cuts)


CUTS = [1, 7, 1000, 1001, 25_000, 60_000, 60_003, 130_000, 199_999]  # 10 batches


def test_merge_equals_concatenation_in_any_order(seed_x: np.ndarray) -> None:
    x = seed_x[:200_000].copy()
    x[5, 1] = np.nan
    x[150_000, 2] = -np.inf
    whole = summarize(x, axis=0)
    parts = [summarize(b, axis=0) for b in _batches(x, CUTS)]
    assert len(parts) == 10

    left = parts[0]
    for p in parts[1:]:
        left = left.merge(p)
    right = parts[-1]
    for p in reversed(parts[:-1]):
        right = p.merge(right)
    rng = np.random.default_rng(5)
    pool = list(parts)
    while len(pool) > 1:  # random pairs, merged in random order
        i, j = sorted(rng.choice(len(pool), 2, replace=False))
        b, a = pool.pop(j), pool.pop(i)
        pool.append(a.merge(b) if rng.random() < 0.5 else b.merge(a))
    for merged in (left, right, pool[0]):
        assert_summaries_close(merged, whole, rel=1e-12)
    assert whole.nan_count.tolist() == [0, 1, 0, 0, 0]
    assert whole.neginf_count.tolist() == [0, 0, 1, 0, 0]


def test_merge_of_scalar_summaries_and_empty_ones() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(10_001) * 1e3 + 5e6
    parts = [summarize(b) for b in np.array_split(x, 13)]
    empty = summarize(np.array([], np.float32))
    merged = empty
    for p in parts:
        merged = merged.merge(p).merge(empty)
    assert_summaries_close(merged, summarize(x), rel=1e-12)
    assert isinstance(merged.mean, float)


def test_merge_refuses_mismatched_summaries() -> None:
    a = summarize(np.ones((3, 4)), axis=0)
    with pytest.raises(ValueError, match="same axis"):
        a.merge(summarize(np.ones((3, 5)), axis=0))
    with pytest.raises(ValueError, match="same axis"):
        a.merge(summarize(np.ones((3, 4))))
    with pytest.raises(TypeError, match="Summary"):
        a.merge(np.ones(4))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- streaming


def test_stream_from_a_generator(seed_x: np.ndarray) -> None:
    x = seed_x[:200_000]

    def gen() -> Iterator[np.ndarray]:
        yield from _batches(x, CUTS)

    assert_summaries_close(summarize(gen(), axis=0), summarize(x, axis=0))
    assert_summaries_close(summarize(gen()), summarize(x))
    assert_summaries_close(summarize(iter(_batches(x, CUTS)), axis=(0,)), summarize(x, axis=0))


def test_stream_of_feature_label_tuples() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1000, 3)).astype(np.float32)
    y = rng.integers(0, 10, 1000)

    def gen() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for i in range(0, 1000, 128):
            yield x[i : i + 128], y[i : i + 128]

    assert_summaries_close(summarize(gen(), axis=0), summarize(x, axis=0))
    assert_summaries_close(summarize(gen(), axis=0, select=lambda b: b[1]), summarize(y, axis=0))
    dicts = ({"x": x[i : i + 100]} for i in range(0, 1000, 100))
    assert_summaries_close(summarize(dicts, axis=0, select=lambda b: b["x"]), summarize(x, axis=0))


def test_stream_from_tf_data_dataset() -> None:
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((3000, 4)) * 10 + 1e4).astype(np.float32)
    y = rng.integers(0, 2, 3000)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(256)
    assert_summaries_close(summarize(ds, axis=0), summarize(x, axis=0))
    only_x = tf.data.Dataset.from_tensor_slices(x).batch(500)
    assert_summaries_close(summarize(only_x, axis=0), summarize(x, axis=0))


def test_stream_from_torch_dataloader() -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset

    rng = np.random.default_rng(6)
    x = (rng.standard_normal((3000, 4)) * 10 + 1e4).astype(np.float32)
    y = rng.integers(0, 2, 3000)
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=256)
    assert_summaries_close(summarize(loader, axis=0), summarize(x, axis=0))
    labels = summarize(loader, axis=None, select=lambda b: b[1])
    assert_summaries_close(labels, summarize(y))


def test_stream_misuse() -> None:
    def gen(*shapes: tuple[int, ...]) -> Iterator[np.ndarray]:
        for shape in shapes:
            yield np.zeros(shape, np.float32)

    with pytest.raises(ValueError, match=r"batch 2 has shape \(4, 6\)"):
        summarize(gen((4, 5), (3, 5), (4, 6)), axis=0)
    assert summarize(gen((4, 5), (3, 5), (4, 6))).count == 59  # axis=None: any shapes
    with pytest.raises(ValueError, match="batch axis 0"):
        summarize(gen((4, 5)), axis=1)
    with pytest.raises(ValueError, match="no batches"):
        summarize(gen(), axis=0)
    empty = summarize(gen())
    assert empty.count == 0
    assert math.isnan(empty.mean)
    with pytest.raises(ValueError, match="0-d"):
        summarize(iter([np.float32(1)]), axis=0)
    with pytest.raises(TypeError, match="select="):
        summarize(iter([{"x": np.zeros(3)}]), axis=0)
    with pytest.raises(TypeError, match="batch 1"):
        summarize(iter([np.zeros(3), np.array(["a", "b"])]))
    with pytest.raises(TypeError, match="streams"):
        summarize(np.zeros(3), select=lambda b: b)


# ------------------------------------------------------------------------------ dtypes


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float8_e4m3fn", "float32"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_low_precision_floats_are_summarized_exactly_as_their_float64_values(
    name: str, axis: int | None
) -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    dtype = np.dtype(getattr(ml_dtypes, name, None) or name)
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((3001, 7)) * 4 + 30).astype(dtype)
    x[::97, 3] = np.nan
    if name != "float8_e4m3fn":  # it has no infinities
        x[5, ::2] = np.inf
        x[6, 1] = -np.inf
    got = summarize(x, axis=axis)
    assert got == summarize(x.astype(np.float64), axis=axis)
    assert np.sum(got.nan_count) == np.isnan(x.astype(np.float64)).sum() >= 31


@pytest.mark.parametrize(
    "dtype", ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int4"]
)
def test_small_integers_are_summarized_as_their_float64_values(dtype: str) -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    dt = np.dtype(getattr(ml_dtypes, dtype, None) or dtype)
    rng = np.random.default_rng(9)
    x = rng.integers(-7 if "int" in dtype and "u" not in dtype else 0, 8, (500, 3)).astype(dt)
    for axis in (None, 0, 1):
        assert summarize(x, axis=axis) == summarize(x.astype(np.float64), axis=axis)


def test_complex_and_non_numeric_inputs_raise_type_error() -> None:
    with pytest.raises(TypeError, match="complex"):
        summarize(np.ones(3, np.complex64))
    for bad in ("abc", b"abc", np.array(["a", "b"]), ["a", "b"], {"x": 1}, object()):
        with pytest.raises(TypeError, match="summarize"):
            summarize(bad)
    with pytest.raises(TypeError, match="datetime64"):
        summarize(np.array(["2024-01-01"], "datetime64[D]"))
    with pytest.raises(TypeError, match="list"):
        summarize([[1, 2], [3]])  # ragged: not an array, and lists are never streamed


# ------------------------------------------------------------------------------ frameworks


@pytest.mark.parametrize("framework", ["torch", "tensorflow", "jax"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16", "int32"])
def test_framework_tensors_give_the_numpy_summary(framework: str, dtype: str) -> None:
    rng = np.random.default_rng(10)
    values = rng.standard_normal((400, 6)) * 100 + 1000
    if dtype != "int32":
        values[3, 2] = np.nan
    ref = convert("numpy", values, dtype)
    tensor = convert(framework, values, dtype)
    for axis in (None, 0, (1,)):
        assert summarize(tensor, axis=axis) == summarize(ref, axis=axis)


@pytest.mark.parametrize("framework", ["torch", "tensorflow", "jax"])
def test_device_tensors_are_read_in_slabs(framework: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tensors off the CPU are copied to the host in slabs along axis 0 (forced on the CPU)."""
    backend = pytest.importorskip(f"nearly.backends.{framework}")
    monkeypatch.setattr(backend, "NATIVE_ON_CPU", True)
    monkeypatch.setattr(stats, "HOST_CHUNK", 1000)
    rng = np.random.default_rng(11)
    values = (rng.standard_normal((5000, 3)) + 1e4).astype(np.float32)
    tensor = convert(framework, values)
    from nearly.backends import to_leaf

    assert to_leaf(tensor).native
    for axis in (None, 0, 1):
        assert_summaries_close(summarize(tensor, axis=axis), summarize(values, axis=axis))


def test_symbolic_tf_tensor_raises_type_error() -> None:
    tf = pytest.importorskip("tensorflow")

    @tf.function
    def f(t: Any) -> Any:
        summarize(t)
        return t

    with pytest.raises(TypeError, match="symbolic"):
        f(tf.constant([1.0, 2.0]))


def test_traced_jax_value_raises_type_error() -> None:
    jax = pytest.importorskip("jax")

    with pytest.raises(TypeError, match="traced"):
        jax.jit(lambda t: summarize(t).mean)(np.ones(3, np.float32))


# ----------------------------------------------------------------------- axes and shapes


SHAPES_AXES = [
    ((7, 9, 11), None),
    ((7, 9, 11), 0),
    ((7, 9, 11), 1),
    ((7, 9, 11), -1),
    ((7, 9, 11), (0, 2)),
    ((7, 9, 11), (1, 2)),
    ((7, 9, 11), (0, 1, 2)),
    ((7, 9, 11), ()),
    ((300,), 0),
    ((), None),
]


@pytest.mark.parametrize(("shape", "axis"), SHAPES_AXES)
@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 17])
@pytest.mark.parametrize("layout", ["C", "transposed"])
def test_any_axes_any_chunking_any_layout(
    shape: tuple[int, ...], axis: Any, chunk: int, layout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stats, "CHUNK", chunk)
    rng = np.random.default_rng(12)
    x = rng.standard_normal(shape) * 3 + 10
    if layout == "transposed" and x.ndim:
        x = np.ascontiguousarray(x.T).T  # same values, reversed strides
    if x.ndim:
        x[(0,) * x.ndim] = np.nan
    s = summarize(x, axis=axis)
    red = axis if axis != () else None
    if axis == ():  # nothing reduced: each element is its own summary
        fin = np.isfinite(x)
        np.testing.assert_array_equal(s.count, fin.astype(np.int64))
        np.testing.assert_array_equal(s.mean, np.where(fin, x, np.nan))
        return
    fin = np.isfinite(x)
    masked = np.where(fin, x, 0.0)
    count = fin.sum(axis=red)
    mean = masked.sum(axis=red) / count
    dev = np.where(fin, x - (np.expand_dims(mean, red) if red is not None else mean), 0.0)
    var = (dev**2).sum(axis=red) / count
    assert np.shape(s.mean) == np.shape(mean)
    np.testing.assert_array_equal(s.count, count)
    np.testing.assert_allclose(s.mean, mean, rtol=1e-14)
    np.testing.assert_allclose(s.var, var, rtol=1e-13)
    np.testing.assert_allclose(s.sum_abs, np.abs(masked).sum(axis=red), rtol=1e-14)
    np.testing.assert_array_equal(s.min, np.where(fin, x, np.inf).min(axis=red))
    np.testing.assert_array_equal(s.max, np.where(fin, x, -np.inf).max(axis=red))
    np.testing.assert_array_equal(s.nan_count, (~fin).sum(axis=red))


def test_axis_misuse() -> None:
    x = np.ones((2, 3))
    with pytest.raises(np.exceptions.AxisError, match="out of range"):
        summarize(x, axis=2)
    with pytest.raises(ValueError, match="out of range"):
        summarize(x, axis=(0, -3))
    with pytest.raises(ValueError, match="axis=None"):
        summarize(3.0, axis=0)
    with pytest.raises(ValueError, match="repeats"):
        summarize(x, axis=(0, -2))
    with pytest.raises(TypeError, match="axis must be"):
        summarize(x, axis=1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="axis must be"):
        summarize(x, axis=True)


def test_lists_and_scalars_are_data() -> None:
    assert summarize([1, 2, 3, 4]).mean == 2.5
    s = summarize([[1.0, 2.0], [3.0, 5.0]], axis=0)
    assert s.mean.tolist() == [2.0, 3.5]
    t = summarize((np.array([1.0, 2.0]), np.array([3.0, 5.0])), axis=1)
    assert t.sum.tolist() == [3.0, 8.0]
    one = summarize(5)
    assert (one.count, one.mean, one.var, one.std) == (1, 5.0, 0.0, 0.0)
    assert math.isnan(one.var_sample)
    assert math.isnan(one.std_sample)


# --------------------------------------------------------------------- NaN, inf, empties


def test_nan_and_inf_are_counted_and_left_out() -> None:
    x = np.array(
        [[1.0, np.nan, 3.0], [np.inf, np.nan, -3.0], [-np.inf, np.nan, 9.0], [4.0, 2.0, np.inf]]
    )
    s = summarize(x, axis=0)
    assert s.count.tolist() == [2, 1, 3]
    assert s.nan_count.tolist() == [0, 3, 0]
    assert s.posinf_count.tolist() == [1, 0, 1]
    assert s.neginf_count.tolist() == [1, 0, 0]
    assert s.excluded.tolist() == [2, 3, 1]
    assert s.mean.tolist() == [2.5, 2.0, 3.0]  # means of the finite values
    assert s.sum.tolist() == [5.0, 2.0, 9.0]
    assert s.sum_abs.tolist() == [5.0, 2.0, 15.0]
    assert s.min.tolist() == [1.0, 2.0, -3.0]
    assert s.max.tolist() == [4.0, 2.0, 9.0]
    assert s.var.tolist() == [2.25, 0.0, 24.0]
    assert s.var_sample.tolist()[::2] == [4.5, 36.0]
    assert np.isnan(s.std_sample[1])
    total = summarize(x)
    assert (total.count, total.nan_count, total.posinf_count, total.neginf_count) == (6, 3, 2, 1)
    assert total.excluded == 6


def test_masked_elements_are_ignored() -> None:
    x = np.ma.masked_array([[1.0, 2.0], [np.nan, 100.0], [3.0, 4.0]], mask=[[0, 0], [1, 1], [0, 0]])
    s = summarize(x, axis=0)
    assert s.count.tolist() == [2, 2]
    assert s.nan_count.tolist() == [0, 0]
    assert s.mean.tolist() == [2.0, 3.0]


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_empty_input_gives_count_zero_and_nan_without_warnings(axis: int | None) -> None:
    s = summarize(np.zeros((0, 3), np.float32), axis=axis)  # filterwarnings=error: none raised
    expected_shape = {None: (), 0: (3,), 1: (0,)}[axis]
    assert s.shape == expected_shape
    assert np.all(np.asarray(s.count) == 0)
    assert np.all(np.asarray(s.sum) == 0.0)
    for name in ("mean", "var", "var_sample", "std", "std_sample", "min", "max"):
        assert np.all(np.isnan(getattr(s, name))), name


def test_all_nan_column() -> None:
    x = np.array([[np.nan, 1.0], [np.nan, 2.0]], np.float32)
    s = summarize(x, axis=0)
    assert s.count.tolist() == [0, 2]
    assert np.isnan(s.mean[0])
    assert np.isnan(s.min[0])
    assert s.sum[0] == 0.0


# --------------------------------------------------------------------- result object


def test_summary_is_a_frozen_dataclass_with_json_dict_and_readable_text() -> None:
    s = summarize(np.array([[1.0, np.nan], [3.0, np.inf]]), axis=0)
    with pytest.raises(AttributeError):
        s.mean = 0.0  # type: ignore[misc]
    d = s.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text)["mean"] == [2.0, "nan"]
    assert d["posinf_count"] == [0, 1]
    assert d["axis"] == [0]
    assert d["shape"] == [2]
    assert d["excluded"] == [0, 2]
    scalar = summarize(np.arange(4.0)).to_dict()
    json.dumps(scalar, allow_nan=False)
    assert scalar["mean"] == 1.5
    assert scalar["axis"] is None
    assert summarize(np.array([])).to_dict()["mean"] == "nan"

    r = repr(s)
    assert r.startswith("Summary(axis=(0,), shape=(2,), count=[2, 0], mean=[ 2., nan]")
    assert "posinf_count=[0, 1]" in r
    assert repr(summarize([1.0, 3.0])).startswith("Summary(count=2, mean=2.0, std=1.0,")
    text = str(s)
    assert text.splitlines()[0] == "Summary over axis 0, result shape (2,)"
    assert "+inf" in text
    assert "left out" in text


def test_summary_equality_and_hash() -> None:
    a = summarize(np.array([1.0, np.nan]))
    assert a == summarize(np.array([1.0, np.nan]))
    assert a != summarize(np.array([1.0, 2.0]))
    assert a != "a summary"
    with pytest.raises(TypeError):
        hash(a)


# ------------------------------------------------------------------- memory and imports


def test_memory_stays_bounded() -> None:
    x = np.random.default_rng(13).random((2_000_000, 4), dtype=np.float32)  # 32 MB
    for axis in (None, 0):
        tracemalloc.start()
        try:
            summarize(x, axis=axis)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 12 * 2**20, (axis, peak)  # a float64 copy would be 64 MB


def test_importing_stats_imports_no_framework() -> None:
    code = (
        "import sys, nearly.stats; "
        "print([m for m in ('torch', 'tensorflow', 'jax') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_stats_module_is_reachable_from_the_package() -> None:
    import nearly

    assert nearly.stats is stats
    assert set(stats.__all__) >= {"Summary", "summarize"}
