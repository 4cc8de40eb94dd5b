"""Peak extra memory of a passing and a failing comparison of two large float32 arrays.

Run: python benchmarks/memory.py [n]   (default n = 20_000_000)

NumPy reports its allocations to tracemalloc, so the peak traced while the comparison runs
is the extra memory the comparison needed beyond its inputs.
"""

from __future__ import annotations

import contextlib
import sys
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

import nearly


def peak_mb(fn: Callable[[], object]) -> tuple[float, float]:
    tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    with contextlib.suppress(AssertionError):  # the failing case raises by design
        fn()
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, dt


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000_000
    rng = np.random.default_rng(0)
    a = rng.random(n, dtype=np.float32)
    b = a.copy()
    b[::1000] = np.nextafter(b[::1000], np.float32(2))  # close, not identical
    c = b.copy()
    c[n // 2] += 1  # one real difference
    inputs = 2 * a.nbytes / 2**20
    print(f"two float32 arrays of {n:,} elements ({inputs:.0f} MB of input)")
    print(f"{'comparison':<44} {'peak extra MB':>14} {'seconds':>8}")
    cases: list[tuple[str, Callable[[], object]]] = [
        ("nearly.assert_close, passing", lambda: nearly.assert_close(a, b)),
        ("nearly.assert_close, failing + explanation", lambda: nearly.assert_close(a, c)),
        (
            "numpy.testing.assert_allclose, passing",
            lambda: np.testing.assert_allclose(a, b, rtol=1.3e-6, atol=1e-5),
        ),
    ]
    for name, fn in cases:
        mb, dt = peak_mb(fn)
        print(f"{name:<44} {mb:>14.1f} {dt:>8.2f}")


if __name__ == "__main__":
    main()
