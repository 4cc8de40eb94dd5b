"""Structures of many leaves: Python numbers, checkpoints that differ everywhere, ragged rows.

Run: python benchmarks/leaves.py [--repeats R] [--scale S]

Each case is timed alone, the median of ``--repeats`` calls (default 3) after one warm-up
call, in one process. ``--scale`` (default 1) divides every size, for a quick look.

* a list of 1e6 Python floats against the same values nudged by 1e-17 (a pass), through
  ``nearly.assert_close`` and ``nearly.compare``; the same as NumPy arrays through
  ``numpy.testing.assert_allclose``, for scale;
* a dict of 1e5 Python float values (a pass), the same three ways (numpy.testing on
  ``np.array(list(d.values()))``);
* 1e5 failing Python float leaves (a dict whose every value is off by 1%): ``compare`` and
  its report, ``str(result)``, and ``assert_close`` (which raises with that report);
* a checkpoint of 1e5 float32 arrays of 16 elements that all differ (every weight off by
  0.25): ``compare`` and its report, and ``assert_close``;
* a ``tf.RaggedTensor`` of 200,000 rows (1 to 10 float32 values each) against an equal one,
  through ``assert_close`` (skipped without TensorFlow).

Prints a Markdown table: case, tool, median seconds, and per leaf where that means something.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import nearly


def _median_s(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def _raises(check: Callable[..., Any], *args: Any) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(AssertionError):
            check(*args)

    return run


def _report(a: Any, e: Any) -> Callable[[], None]:
    def run() -> None:
        str(nearly.compare(a, e))

    return run


def cases(scale: int) -> list[tuple[str, str, Callable[[], Any], int]]:
    """(case, tool, call, leaves)."""
    rng = np.random.default_rng(0)
    out: list[tuple[str, str, Callable[[], Any], int]] = []
    n = 1_000_000 // scale
    floats = rng.standard_normal(n).tolist()
    near = [x + 1e-17 for x in floats]
    fa, fe = np.array(floats), np.array(near)
    name = f"list of {n:,} Python floats"
    out.append((name, "numpy.testing (as arrays)", lambda: np.testing.assert_allclose(fa, fe), n))
    out.append((name, "nearly.assert_close", lambda: nearly.assert_close(floats, near), n))
    out.append((name, "nearly.compare", lambda: nearly.compare(floats, near), n))

    n = 100_000 // scale
    d = {f"metric/{i}": float(x) for i, x in enumerate(floats[:n])}
    d2 = {k: v + 1e-17 for k, v in d.items()}
    da, de = np.array(list(d.values())), np.array(list(d2.values()))
    name = f"dict of {n:,} Python floats"
    out.append((name, "numpy.testing (as arrays)", lambda: np.testing.assert_allclose(da, de), n))
    out.append((name, "nearly.assert_close", lambda: nearly.assert_close(d, d2), n))
    out.append((name, "nearly.compare", lambda: nearly.compare(d, d2), n))

    off = {k: v * 1.01 + 1.0 for k, v in d.items()}
    name = f"{n:,} failing Python float leaves"
    out.append((name, "nearly.compare", lambda: nearly.compare(off, d), n))
    out.append((name, "nearly.compare + str()", _report(off, d), n))
    out.append((name, "nearly.assert_close", _raises(nearly.assert_close, off, d), n))

    e = {f"layer{i}.weight": rng.standard_normal(16).astype(np.float32) for i in range(n)}
    a = {k: v + np.float32(0.25) for k, v in e.items()}
    name = f"{n:,} float32 (16,) leaves, all differing"
    out.append((name, "nearly.compare", lambda: nearly.compare(a, e), n))
    out.append((name, "nearly.compare + str()", _report(a, e), n))
    out.append((name, "nearly.assert_close", _raises(nearly.assert_close, a, e), n))

    try:
        import tensorflow as tf
    except ImportError:
        print("TensorFlow not installed: the RaggedTensor case is skipped", file=sys.stderr)
        return out
    rows = 200_000 // scale
    lengths = rng.integers(1, 11, rows)
    values = rng.standard_normal(int(lengths.sum())).astype(np.float32)
    ragged = tf.RaggedTensor.from_row_lengths(values, lengths)
    same = tf.RaggedTensor.from_row_lengths(values.copy(), lengths)
    name = f"tf.RaggedTensor of {rows:,} rows"
    out.append((name, "nearly.assert_close", lambda: nearly.assert_close(ragged, same), rows))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args(argv)
    print("| case | tool | median | per leaf |")
    print("|---|---|---|---|")
    for name, tool, call, leaves in cases(args.scale):
        print(f"timing {name}: {tool} ...", file=sys.stderr, flush=True)
        s = _median_s(call, args.repeats)
        print(f"| {name} | {tool} | {s:.3f} s | {s / leaves * 1e6:.1f} µs |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
