"""assert_in_range, assert_standardized, assert_sums_to: measured value, bound and its source."""

from __future__ import annotations

import numpy as np
import pytest

import nearly

F32 = np.float32
rng = np.random.default_rng(11)


# ------------------------------------------------------------------------ assert_in_range


def test_clipped_float32_passes_its_own_bounds() -> None:
    x = rng.normal(size=1000).astype(F32) * 10
    y = np.clip(1 / (1 + np.exp(-x)), F32(0.01), F32(0.99)).astype(F32)
    assert not float(y.min()) >= 0.01  # the seed's trap: float32(0.01) < 0.01
    nearly.assert_in_range(y, 0.01, 0.99)


def test_out_of_range_names_leaf_count_extremes_and_dtype_bounds() -> None:
    y = np.array([0.0, 0.5, 1.5], F32)
    with pytest.raises(nearly.OutOfRange) as info:
        nearly.assert_in_range({"probs": [y]}, 0.1, 1.0)
    (m,) = info.value.comparison.mismatches
    assert m.path == "['probs'][0]"
    assert m.count == 2
    assert m.index == (0,)
    text = str(info.value)
    assert "smallest 0" in text
    assert "largest 1.5" in text
    assert "0.1 is 0.1000000015 as float32" in text


def test_nan_is_never_in_range_and_one_sided_bounds() -> None:
    with pytest.raises(nearly.OutOfRange, match="1 NaN"):
        nearly.assert_in_range(np.array([0.5, np.nan]), 0.0, 1.0)
    nearly.assert_in_range(np.array([5.0, 1e30]), 0.0, None)
    with pytest.raises(nearly.OutOfRange):
        nearly.assert_in_range(np.array([-1.0]), 0.0, None)


def test_in_range_misuse() -> None:
    with pytest.raises(ValueError, match="above"):
        nearly.assert_in_range(np.ones(2), 1.0, 0.0)
    with pytest.raises(TypeError, match="lo must be a number"):
        nearly.assert_in_range(np.ones(2), "0", 1.0)  # type: ignore[arg-type]


# -------------------------------------------------------------------- assert_standardized


def _accurate_standardize(x: np.ndarray) -> np.ndarray:
    m = x.astype(np.float64).mean(0)
    s = x.astype(np.float64).std(0)
    return ((x - m.astype(x.dtype)) / s.astype(x.dtype)).astype(x.dtype)


@pytest.mark.parametrize("n", [10, 1000, 100_000, 1_000_000])
@pytest.mark.parametrize("offset", [0.0, 1000.0])
def test_accurately_standardized_data_passes_at_every_n(n: int, offset: float) -> None:
    x = (offset + rng.random((n, 3))).astype(F32)
    nearly.assert_standardized(_accurate_standardize(x), stats="float64")


def _standardize_in(framework: str, x: np.ndarray) -> np.ndarray:
    """x standardized with the framework's own float32 mean and std."""
    if framework == "numpy":
        return (x - x.mean(0)) / x.std(0)
    if framework == "torch":
        torch = pytest.importorskip("torch")
        t = torch.from_numpy(x)
        return ((t - t.mean(0)) / t.std(0, correction=0)).numpy()
    tf = pytest.importorskip("tensorflow")
    t = tf.constant(x)
    return ((t - tf.reduce_mean(t, 0)) / tf.math.reduce_std(t, 0)).numpy()


@pytest.mark.parametrize("n", [100, 10_000, 1_000_000])
@pytest.mark.parametrize("framework", ["numpy", "torch", "tensorflow"])
def test_float32_statistics_of_the_usual_tools_pass_at_every_n(framework: str, n: int) -> None:
    """The seed's example 2 (uniform in [-10, 10), float32 statistics) and standard normal
    data: passes small, passes large."""
    x = np.random.default_rng(n).uniform(-10, 10, (n, 5)).astype(F32)
    nearly.assert_standardized(_standardize_in(framework, x))
    normal = np.random.default_rng(n + 1).standard_normal((n, 5)).astype(F32)
    nearly.assert_standardized(_standardize_in(framework, normal))


def test_keras_normalization_adapt_passes() -> None:
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(3).uniform(-10, 10, (100_000, 5)).astype(F32)
    layer = keras.layers.Normalization(axis=-1)
    layer.adapt(x)
    nearly.assert_standardized(np.asarray(layer(x)))


def test_a_small_shift_and_variance_instead_of_std_fail_at_two_hundred_thousand() -> None:
    x = np.random.default_rng(5).uniform(-10, 10, (200_000, 5)).astype(F32)
    with pytest.raises(nearly.NotStandardized, match="centre is off"):
        nearly.assert_standardized((x - x.mean(0)) / x.std(0) + F32(0.05))
    with pytest.raises(nearly.NotStandardized, match="scale is off"):
        nearly.assert_standardized((x - x.mean(0)) / x.var(0))


def test_stats_states_how_the_statistics_were_computed() -> None:
    x = np.random.default_rng(6).uniform(-10, 10, (200_000, 2)).astype(F32)
    z = _accurate_standardize(x) + F32(1e-3)  # within the any-order float32 bound only
    nearly.assert_standardized(z)
    with pytest.raises(nearly.NotStandardized, match="stats='pairwise'"):
        nearly.assert_standardized(z, stats="pairwise")
    with pytest.raises(nearly.NotStandardized, match="stats='float64'"):
        nearly.assert_standardized(z, stats="float64")
    with pytest.raises(ValueError, match="stats must be one of 'dtype', 'pairwise', 'float64'"):
        nearly.assert_standardized(z, stats="float32")


def test_a_bound_that_guarantees_nothing_says_so() -> None:
    z = np.zeros((20_000_000, 1), np.float16)  # n·u >> 1 for float16
    with pytest.raises(nearly.NotStandardized, match="guarantees no correct digit"):
        nearly.assert_standardized(z + np.float16(100))


def test_seed_float32_standardization_fails_and_blames_the_statistics() -> None:
    x = (1000 + np.random.default_rng(0).random((1_000_000, 5))).astype(F32)
    z = (x - x.mean(0)) / x.std(0)  # float32 statistics along a long axis
    with pytest.raises(nearly.NotStandardized) as info:
        nearly.assert_standardized(z)
    text = str(info.value)
    assert "mean -1" in text
    assert "computed inaccurately" in text
    assert info.value.comparison.mismatches[0].count == 5


def test_shift_and_wrong_scale_are_told_apart() -> None:
    x = rng.normal(size=(5000, 2))
    z = (x - x.mean(0)) / x.std(0)
    with pytest.raises(nearly.NotStandardized, match="centre is off"):
        nearly.assert_standardized(z + 0.01)
    x2 = rng.normal(scale=3.0, size=(5000, 2))
    with pytest.raises(nearly.NotStandardized, match="scale is off"):
        nearly.assert_standardized((x2 - x2.mean(0)) / x2.var(0))


def test_kappa_states_the_conditioning() -> None:
    x = (1000 + rng.random((10_000, 2))).astype(F32)
    z = _accurate_standardize(x)
    nearly.assert_standardized(z, stats="float64", kappa=4000)
    with pytest.raises(nearly.NotStandardized, match="up to 1"):
        nearly.assert_standardized(z + F32(1e-4), stats="float64", kappa=1)
    small = _accurate_standardize(x[:100]) + F32(1e-4)
    nearly.assert_standardized(small, kappa=4000)  # float32 statistics of offset data, stated
    with pytest.raises(nearly.NotStandardized, match="whose raw \\|mean\\| is up to its std"):
        nearly.assert_standardized(small)


# ------------------------------------------------------------------------- assert_sums_to


@pytest.mark.parametrize("dtype", [np.float16, F32, np.float64])
@pytest.mark.parametrize("n", [3, 100, 10_000])
def test_softmax_rows_sum_to_one(dtype: type, n: int) -> None:
    x = rng.normal(size=(8, n)).astype(dtype)
    e = np.exp(x - x.max(-1, keepdims=True))
    nearly.assert_sums_to((e / e.sum(-1, keepdims=True)).astype(dtype))


def test_biased_rows_fail_with_the_bound_and_its_source() -> None:
    x = rng.random((4, 50)).astype(F32)
    p = x / x.sum(-1, keepdims=True)
    with pytest.raises(nearly.BadSums) as info:
        nearly.assert_sums_to(p * F32(1.001))
    text = str(info.value)
    assert "4 of 4 sum(s)" in text
    assert "n=50" in text
    assert "allowed" in text


def test_sums_to_other_totals_axes_and_tolerances() -> None:
    x = np.full((3, 4), 0.5)
    nearly.assert_sums_to(x, total=2.0, axis=1)
    nearly.assert_sums_to(x, total=1.5, axis=0)
    with pytest.raises(nearly.BadSums):
        nearly.assert_sums_to(x, total=2.1, axis=1)
    nearly.assert_sums_to(x, total=2.1, axis=1, tol=nearly.Tolerance(atol=0.2))
    with pytest.raises(TypeError, match="Tolerance"):
        nearly.assert_sums_to(x, tol=0.1)


# --------------------------------------------------------------------- derived tolerances


def test_derived_tolerances_describe_themselves_and_compose() -> None:
    x = rng.normal(size=(1000, 3)).astype(F32)
    t = nearly.tol.sum(x, axis=0, order="recursive")
    assert t.derivation is not None
    assert t.derivation.k == 999
    assert "sum bound: recursive" in t.source
    assert np.shape(t.atol) == (3,)
    both = t + t
    assert np.allclose(both.atol, 2 * np.asarray(t.atol))
    assert "sum bound" in both.source


def test_orders_rank_as_their_k() -> None:
    x = rng.random(100_000).astype(F32)
    bounds = {
        o: float(nearly.tol.sum(x, order=o).atol)
        for o in ("recursive", "pairwise", "blocked", "kahan")
    }
    assert bounds["kahan"] < bounds["pairwise"] < bounds["blocked"] < bounds["recursive"]
    worst = float(nearly.tol.sum(x, order="recursive").atol)
    prob = float(nearly.tol.sum(x, order="recursive", mode="probabilistic").atol)
    assert prob < worst


def test_auto_order_follows_numpy_axes() -> None:
    x = rng.random((1000, 8)).astype(F32)
    assert nearly.tol.sum(x, axis=0).derivation.order == "recursive"
    assert nearly.tol.sum(x, axis=1).derivation.order == "pairwise"
    assert nearly.tol.sum(x, axis=0, backend="torch").derivation.order == "pairwise"


def test_matmul_bound_is_per_element() -> None:
    a = rng.normal(size=(4, 64)).astype(F32)
    b = rng.normal(size=(64, 3)).astype(F32)
    t = nearly.tol.matmul(a, b)
    assert np.shape(t.atol) == (4, 3)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    nearly.assert_close(a @ b, exact, tol=t)
    with pytest.raises(nearly.NotClose, match="beyond the bound of every summation order"):
        nearly.assert_close((a @ b) * F32(1.001), exact, tol=t)
    tf32 = nearly.tol.matmul(a, b, dtype="tf32")
    assert np.all(np.asarray(tf32.atol) > np.asarray(t.atol))


def test_derived_tolerance_misuse() -> None:
    x = np.ones((3, 4))
    with pytest.raises(ValueError, match="order must be one of"):
        nearly.tol.sum(x, order="random")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="axis 5 is out of range"):
        nearly.tol.mean(x, axis=5)
    with pytest.raises(ValueError, match="undefined"):
        nearly.tol.var(np.ones(1), ddof=1)
    with pytest.raises(ValueError, match="one length"):
        nearly.tol.dot(np.ones(3), np.ones(4))


def test_in_range_inside_tf_function_checks_when_the_graph_runs() -> None:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf = pytest.importorskip("tensorflow")

    @tf.function
    def squash(x: object) -> object:
        y = tf.clip_by_value(tf.sigmoid(x), 0.01, 0.99)
        nearly.assert_in_range({"p": y}, 0.01, 0.99)  # float32 bounds, as in the seed
        nearly.assert_in_range(x, -1.0, 1.0)
        return y

    squash(tf.constant([0.5, -0.5, 100.0 / 101.0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="1 of 2 values outside"):
        squash(tf.constant([5.0, -0.5]))


def test_sums_are_formed_accurately_whatever_the_cancellation() -> None:
    # a plain float64 sum of this row is 0: 1e16 + 1 rounds back to 1e16
    x = np.array([[1e16, 1.0, -1e16], [0.25, 0.5, 0.25]])
    nearly.assert_sums_to(x, 1.0, tol=nearly.Tolerance(atol=1e-3))
    with pytest.raises(nearly.BadSums) as info:
        nearly.assert_sums_to(x, 2.0, tol=nearly.Tolerance(atol=1e-3))
    (m,) = info.value.comparison.mismatches
    assert m.count == 2
    assert m.diagnoses[0].params["worst"] == 1.0
    # along the outer axis, and over everything, too
    nearly.assert_sums_to(np.ascontiguousarray(x.T), 1.0, axis=0, tol=nearly.Tolerance(atol=1e-3))
    nearly.assert_sums_to(x[:1], 1.0, axis=None, tol=nearly.Tolerance(atol=1e-3))
