"""The on-device path (used for GPU tensors) gives the host path's verdicts, exactly.

CI has no GPU, so these tests force PyTorch, JAX and TensorFlow CPU tensors through the
on-device kernel, compare every outcome with the host engine's, and check that a passing
comparison brings nothing but counts back to the host.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import nearly
from nearly._core.compare import rule_for
from nearly._core.options import make_options

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
torch = pytest.importorskip("torch")
jnp = pytest.importorskip("jax.numpy")
tf = pytest.importorskip("tensorflow")
torch_backend = pytest.importorskip("nearly.backends.torch")
jax_backend = pytest.importorskip("nearly.backends.jax")
tf_backend = pytest.importorskip("nearly.backends.tensorflow")


def _torch(x: np.ndarray) -> Any:
    return torch.from_numpy(np.array(x))


def _jax(x: np.ndarray) -> Any:
    return jnp.asarray(x)


def _tf(x: np.ndarray) -> Any:
    return tf.constant(x)


CONVERTERS: dict[str, tuple[Callable[[np.ndarray], Any], Any]] = {
    "torch": (_torch, torch_backend),
    "jax": (_jax, jax_backend),
    "tensorflow": (_tf, tf_backend),
}


@pytest.fixture(params=sorted(CONVERTERS))
def device(request: pytest.FixtureRequest) -> Iterator[Callable[[np.ndarray], Any]]:
    convert, backend = CONVERTERS[request.param]
    backend.NATIVE_ON_CPU = True
    try:
        yield convert
    finally:
        backend.NATIVE_ON_CPU = False


rng = np.random.default_rng(7)
BASE = rng.standard_normal(5000).astype(np.float32)
F64 = np.float64

CASES: list[tuple[str, np.ndarray, np.ndarray, dict[str, Any]]] = [
    ("identical", BASE, BASE.copy(), {}),
    ("one ulp apart", BASE, np.nextafter(BASE, np.float32(np.inf)), {}),
    ("one ulp, exact", BASE, np.nextafter(BASE, np.float32(np.inf)), {"rtol": 0}),
    ("one ulp, ulps=1", BASE, np.nextafter(BASE, np.float32(np.inf)), {"ulps": 1}),
    ("a few real differences", BASE, np.where(np.arange(5000) % 997 == 0, BASE + 1, BASE), {}),
    ("boundary rtol", np.array([13.0, 7.0, 13.000001], F64), np.full(3, 10.0), {"rtol": 0.3}),
    ("boundary atol", np.array([0.5, -0.5, 0.5000001], F64), np.zeros(3), {"atol": 0.5}),
    ("nan placement", np.array([1.0, np.nan, np.nan]), np.array([1.0, np.nan, 2.0]), {}),
    ("nan unequal", np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), {"equal_nan": False}),
    ("infinities", np.array([np.inf, -np.inf, np.inf]), np.array([np.inf, np.inf, 1.0]), {}),
    ("int64 extremes", np.array([2**62, -(2**62)], np.int64), np.array([2**62 + 1, -(2**62)]), {}),
    ("int64 atol", np.array([2**62, 5], np.int64), np.array([2**62 + 1, 7]), {"atol": 1}),
    ("int8 wrap", np.array([-128], np.int8), np.array([127], np.int8), {}),
    ("bool", np.array([True, False]), np.array([True, True]), {}),
    ("complex", np.array([3 + 4j, 1j]), np.array([0j, 1j]), {"atol": 5}),
    ("float16", np.array([1.0, 2.0], np.float16), np.array([1.0, 2.002], np.float16), {}),
    ("mixed dtypes", BASE[:10], BASE[:10].astype(F64), {}),
]


def _backend(convert: Callable[[np.ndarray], Any]) -> Any:
    return next(backend for c, backend in CONVERTERS.values() if c is convert)


def _outcome(c: nearly.Comparison) -> list[tuple[Any, ...]]:
    return [(m.path, m.kind, m.count, m.total, m.index, m.max_abs) for m in c.mismatches]


@pytest.mark.parametrize(("name", "a", "e", "opts"), CASES, ids=[c[0] for c in CASES])
def test_device_verdicts_equal_host_verdicts(
    device: Callable[[np.ndarray], Any], name: str, a: np.ndarray, e: np.ndarray, opts: Any
) -> None:
    da, de = device(a), device(e)
    # JAX without x64 stores float64/int64 inputs as 32-bit: compare like with like
    ha, he = np.asarray(da), np.asarray(de)
    host = nearly.compare(ha, he, **opts)
    on_device = nearly.compare(da, de, **opts)
    assert on_device.ok == host.ok, f"{name}: {on_device}"
    assert _outcome(on_device) == _outcome(host)
    mixed = nearly.compare(da, he, **opts)  # a device tensor against a host array
    assert _outcome(mixed) == _outcome(host)


def test_passing_check_brings_back_only_counts(device: Callable[[np.ndarray], Any]) -> None:
    a = device(BASE)
    close = device(np.nextafter(BASE, np.float32(np.inf)))
    f32 = np.dtype(np.float32)
    rule = rule_for(f32, f32, BASE.shape, make_options("t"), "")
    verdict = _backend(device).device_verdict(a, close, rule)
    assert verdict.clear_fail == 0
    assert verdict.unequal == BASE.size
    assert verdict.index.size == 0  # no element needed the host
    assert verdict.actual.size == 0


def test_boundary_elements_are_the_only_ones_sent_to_the_host(
    device: Callable[[np.ndarray], Any],
) -> None:
    a = np.array([13.0, 1.0, 2.0, 13.0])
    e = np.array([10.0, 1.0, 2.5, 10.0])
    f64 = np.dtype(np.float64)
    rule = rule_for(f64, f64, a.shape, make_options("t", rtol=0.3), "")
    verdict = _backend(device).device_verdict(device(a), device(e), rule)
    assert verdict.clear_fail == 0  # 2.0 vs 2.5 passes with rtol 0.3 (0.5 <= 0.75)
    assert sorted(verdict.index.tolist()) == [0, 3]  # exactly on the boundary
    assert nearly.compare(device(a), device(e), rtol=0.3).ok


def test_value_checks_read_a_device_tensors_values_not_its_stand_in(
    device: Callable[[np.ndarray], Any],
) -> None:
    """assert_finite, assert_in_range and the statistical checks see the tensor's values
    (its host stand-in holds zeros)."""
    bad = device(np.array([1.0, np.nan, 3.0], np.float32))
    with pytest.raises(nearly.NotFinite, match="1 of 3"):
        nearly.assert_finite({"x": bad})
    with pytest.raises(nearly.OutOfRange):
        nearly.assert_in_range(device(np.array([0.5, 2.0])), 0.0, 1.0)
    with pytest.raises(nearly.NotStandardized):
        nearly.assert_standardized(device(np.full((100, 2), 3.0)))
    nearly.assert_finite(device(np.ones(4)))
