"""Accuracy of the column means and standard deviations of the seed issue's data.

Run: python benchmarks/stats_accuracy.py

The data: float32, shape (n, 5), uniform in [1000, 1001], seeded. For each n, the largest
relative error over the 5 columns of the axis-0 mean and (population) std, computed by

* NumPy in float32 (``x.mean(axis=0)``, ``x.std(axis=0)``: rows added one at a time),
* ``nearly.stats.summarize(x, axis=0)``,

against a float64 reference: ``math.fsum`` for the mean, two passes with ``math.fsum`` for the
std. For the largest n, the time and peak extra memory (tracemalloc; NumPy reports its
allocations to it) of ``summarize``, next to NumPy's float32 and float64 results.
"""

from __future__ import annotations

import math
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

from nearly.stats import summarize

SIZES = (1_000, 100_000, 1_000_000, 10_000_000)
COLUMNS = 5


def seed_data(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(1000.0, 1001.0, size=(n, COLUMNS)).astype(np.float32)


def reference(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean (math.fsum) and population std (two passes with math.fsum)."""
    means, stds = [], []
    for j in range(x.shape[1]):
        col = x[:, j].astype(np.float64)
        mean = math.fsum(col) / len(col)
        means.append(mean)
        stds.append(math.sqrt(math.fsum((col - mean) ** 2) / len(col)))
    return np.array(means), np.array(stds)


def rel(got: object, ref: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(got, np.float64) - ref) / np.abs(ref)))


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Best wall time of three runs, and the peak traced memory of one more (MB)."""
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return best, peak / 2**20


def main() -> None:
    print("seed data: float32 (n, 5) uniform in [1000, 1001]; axis=0; max relative error over")
    print("the 5 columns against a float64 math.fsum reference (true std is about 0.2887)")
    print()
    header = f"{'n':>12}  {'numpy f32 mean':>14}  {'nearly mean':>11}"
    header += f"  {'numpy f32 std':>13}  {'nearly std':>10}"
    print(header)
    x = np.empty((0, COLUMNS), np.float32)
    for n in SIZES:
        x = seed_data(n)
        mean, std = reference(x)
        s = summarize(x, axis=0)
        print(
            f"{n:>12,}  {rel(x.mean(axis=0), mean):>14.2e}  {rel(s.mean, mean):>11.2e}"
            f"  {rel(x.std(axis=0), std):>13.2e}  {rel(s.std, std):>10.2e}"
        )
    n = SIZES[-1]
    print()
    print(f"n = {n:,} ({x.nbytes / 2**20:.0f} MB of float32 input): time and peak extra memory")
    cases: list[tuple[str, Callable[[], object]]] = [
        ("nearly.stats.summarize(x, axis=0)", lambda: summarize(x, axis=0)),
        ("nearly.stats.summarize(x)", lambda: summarize(x)),
        ("numpy x.mean(0), x.std(0) (float32)", lambda: (x.mean(axis=0), x.std(axis=0))),
        (
            "numpy float64 x.mean(0), x.std(0)",
            lambda: (x.mean(axis=0, dtype=np.float64), x.std(axis=0, dtype=np.float64)),
        ),
    ]
    print(f"{'':<38} {'seconds':>8} {'peak MB':>8}")
    for name, fn in cases:
        dt, mb = timed(fn)
        print(f"{name:<38} {dt:>8.3f} {mb:>8.1f}")


if __name__ == "__main__":
    main()
