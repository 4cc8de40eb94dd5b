"""The engine's memory stays flat: no full-size temporary, whatever the input size.

Not a timed test: tracemalloc counts every NumPy allocation, so the peak extra memory of a
comparison is measured exactly and compared with a fixed multiple of the chunk size.
"""

from __future__ import annotations

import contextlib
import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

import nearly
from frameworks import convert
from nearly._core.engine import CHUNK

N = 10_000_000  # 40 MB per float32 input
LIMIT = 64 * CHUNK * 8  # a few dozen chunk-sized float64 temporaries: 32 MB, under 1 input


def _peak(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    with contextlib.suppress(AssertionError):  # failing cases raise by design
        fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


@pytest.fixture(scope="module")
def arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    a = rng.random(N, dtype=np.float32)
    close = np.nextafter(a, np.float32(2))
    wrong = close.copy()
    wrong[::1000] += 1  # 0.1% of the elements off
    return a, close, wrong


def test_passing_comparison_allocates_no_full_size_temporary(
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    a, close, _ = arrays
    assert _peak(lambda: nearly.assert_close(a, close)) < LIMIT


def test_failing_comparison_with_explanation_stays_flat(
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    a, _, wrong = arrays
    assert _peak(lambda: nearly.assert_close(a, wrong)) < LIMIT


def test_strided_and_mixed_dtype_inputs_stay_flat(
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    a, close, _ = arrays
    b = close.reshape(1000, -1)[:, ::2]  # non-contiguous view
    c = a.reshape(1000, -1)[:, ::2].astype(np.float64)
    assert _peak(lambda: nearly.compare(b, c)) < LIMIT


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_framework_host_tensors_are_read_in_place(
    framework: str, arrays: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    """CPU tensors are read through views of their buffers: no copy of either input."""
    a, close, _ = arrays
    ta, tc = convert(framework, a), convert(framework, close)
    assert _peak(lambda: nearly.assert_close(ta, tc)) < LIMIT
