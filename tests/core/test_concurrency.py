"""Comparisons from many threads at once give exactly the results they give one at a time.

The inputs are large enough (200,000 elements) to run through several chunks of the engine,
passing and failing cases are mixed, and NumPy and PyTorch values share the pool."""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

import nearly
from nearly._core.engine import CHUNK

N = 200_000
assert N > 3 * CHUNK  # several chunks per array

Case = tuple[str, Callable[[], Any]]


def numpy_cases() -> list[Case]:
    rng = np.random.default_rng(7)
    x = rng.normal(size=N).astype(np.float32)
    close = np.nextafter(x, np.float32(np.inf))
    wrong = close.copy()
    wrong[::997] += 1  # a few hundred elements, in every chunk
    wrong[N // 2] = np.nan
    ints = rng.integers(-(2**62), 2**62, size=N, dtype=np.int64)
    ints_off = ints.copy()
    ints_off[-5:] += 3
    z = (rng.normal(size=N) + 1j * rng.normal(size=N)).astype(np.complex128)
    masked = np.ma.array(x, mask=rng.random(N) < 0.1)
    tree_a = {"w": x.reshape(400, 500), "b": [ints, z], "s": "text"}
    tree_e = {"w": wrong.reshape(400, 500).T.copy().T, "b": [ints_off, z * (1 + 1e-9)], "s": "text"}
    return [
        ("passing float32", lambda: nearly.compare(x, close)),
        ("failing float32", lambda: nearly.compare(x, wrong)),
        ("failing ulps", lambda: nearly.compare(x, wrong, ulps=1)),
        ("rtol float64 vs float32", lambda: nearly.compare(x.astype(np.float64), close, rtol=1e-7)),
        ("failing int64", lambda: nearly.compare(ints, ints_off)),
        ("complex", lambda: nearly.compare(z, z * (1 + 1e-6), rtol=1e-7)),
        ("masked", lambda: nearly.compare(masked, np.ma.array(wrong, mask=masked.mask))),
        ("nested", lambda: nearly.compare(tree_a, tree_e)),
        ("explain", lambda: nearly.explain(tree_a, tree_e, atol=1e-3)),
        ("assert_close", lambda: _raised(nearly.assert_close, x, wrong)),
        ("assert_equal", lambda: _raised(nearly.assert_equal, ints, ints_off)),
        ("assert_finite", lambda: _raised(nearly.assert_finite, {"w": wrong})),
    ]


def torch_cases() -> list[Case]:
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(3)
    t = torch.randn(N, generator=g)
    off = t.clone()
    off[::1009] += 0.5
    half = t.to(torch.bfloat16)
    return [
        ("torch passing", lambda: nearly.compare(t, t.clone())),
        ("torch failing", lambda: nearly.compare(t, off)),
        ("torch vs numpy", lambda: nearly.compare(t, off.numpy().astype(np.float64))),
        ("torch bfloat16", lambda: nearly.compare(half, t, rtol=1e-3)),
        ("torch assert_close", lambda: _raised(nearly.assert_close, {"t": t}, {"t": off})),
    ]


def _raised(check: Callable[..., None], *args: Any) -> Any:
    """What a check says: None when it passes, else its Comparison and message."""
    try:
        check(*args)
    except nearly.CheckFailed as err:
        return type(err).__name__, str(err), err.comparison.to_dict()
    return None


def outcome(value: Any) -> Any:
    """A comparable form of what a case returned."""
    if isinstance(value, nearly.Comparison):
        return value.ok, value.to_dict(), str(value)
    return value


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return numpy_cases() + torch_cases()


def test_threads_give_the_serial_results(cases: list[Case]) -> None:
    serial = {name: outcome(run()) for name, run in cases}
    # both verdicts are present, so agreement is not trivially about passing
    assert {v[0] for v in serial.values() if isinstance(v, tuple) and isinstance(v[0], bool)} == {
        True,
        False,
    }
    jobs = [(name, run) for name, run in cases for _ in range(4)]
    random.Random(0).shuffle(jobs)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: (job[0], outcome(job[1]())), jobs))
    assert len(results) == len(jobs)
    for name, got in results:
        assert got == serial[name], name


def test_one_comparison_in_many_threads() -> None:
    rng = np.random.default_rng(11)
    a = rng.normal(size=N)
    e = a.copy()
    e[rng.choice(N, 50, replace=False)] += 1e-3
    want = nearly.compare(a, e).to_dict()
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda _: nearly.compare(a, e).to_dict(), range(16)))
    assert all(g == want for g in got)
    assert want["mismatches"][0]["count"] == 50
