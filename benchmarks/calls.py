"""A replay of the calls test suites make: many small comparisons, timed per call.

Run: python benchmarks/calls.py [--calls N] [--seed S] [--out FILE.json]

The call mix is modelled on the assertions of large scientific and ML test suites:

* sizes: half the calls on a single number (a Python float or a 0-d array), 40% on 2-100
  elements, 9% on 101-2,000, 1% on 2,001-10,000;
* dtypes: float64 mostly, float32 often, some complex128; about 3% of the calls compare a
  float or complex result with int64 expected values (``expected = np.arange(...)``,
  ``expected = 0`` with ``atol=0``);
* tolerances: none (each tool's default), ``rtol=1e-7``, ``rtol=1e-5, atol=1e-8``,
  ``atol=0``;
* about 0.1% of the calls fail (one element off by far more than the tolerance).

Each call is made with the same inputs and options through ``numpy.testing.assert_allclose``,
``torch.testing.assert_close`` (on tensors sharing the arrays' memory; with ``rtol``/``atol``
where the call gives them, the pair it requires, else its defaults; skipped when torch is not
installed), ``nearly.assert_close`` and ``nearly.compare`` (its result only, the notes not
read). Verdicts of the tools are recorded and compared: numpy's and nearly's must agree on
every call (the mix is built so that they do; a disagreement is printed).

Then single cases, each timed alone (median of repeated calls): passing float64 arrays of 1 to
10,000 elements one ULP apart (default tolerances; numpy.testing with rtol=1e-7), a pair of
Python floats, complex128 (1000,) against int64 zeros with ``atol=0``, float64 (1e7, 1)
against a scalar through ``compare`` (``check_shape=False``), a list of 1e5 Python floats and
a dict of 1e4 scalar leaves.

Method: the calls are built first; then for each tool all calls run once to warm up, and
then ``--repeats`` times (default 5) in the same order; each call is timed on its own with
``time.perf_counter_ns``. Reported: the total time of a pass over all calls (median over
repeats) and the median time per call, overall and by size class.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import nearly

TOLERANCES: list[dict[str, float]] = [{}, {"rtol": 1e-7}, {"rtol": 1e-5, "atol": 1e-8}]


def _size(rng: np.random.Generator) -> int:
    r = rng.random()
    if r < 0.5:
        return 1
    if r < 0.9:
        return int(rng.integers(2, 101))
    if r < 0.99:
        return int(rng.integers(101, 2001))
    return int(rng.integers(2001, 10001))


def build(calls: int, seed: int) -> list[dict[str, Any]]:
    """The call mix: each call's inputs, options, size class and whether it should pass."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(calls):
        n = _size(rng)
        kind = rng.random()
        options = dict(TOLERANCES[int(rng.integers(len(TOLERANCES)))])
        if kind < 0.03:  # float or complex against int64 expected values
            expected: Any = np.arange(n, dtype=np.int64)
            dtype = np.complex128 if rng.random() < 0.3 else np.float64
            actual: Any = expected.astype(dtype)
            if rng.random() < 0.5:
                expected, actual = np.zeros(n, np.int64), np.zeros(n, dtype)
                options = {"atol": 0}
        else:
            dtype = [np.float64, np.float64, np.float32, np.complex128][int(rng.integers(4))]
            expected = rng.standard_normal(n).astype(dtype)
            if dtype == np.complex128:
                expected = expected + 1j * rng.standard_normal(n)
            # equal, or one ULP apart where every tool's tolerance allows that (float64 under
            # any tolerance of the mix; float32 under rtol=1e-5), so all tools pass
            actual = expected.copy()
            loose = dtype == np.float64 or options.get("rtol", 0) >= 1e-5
            if dtype != np.complex128 and loose and rng.random() < 0.5:
                actual = np.nextafter(expected, dtype(np.inf))
            if n == 1 and rng.random() < 0.6:  # a single number as Python scalars
                actual, expected = actual.reshape(()).item(), expected.reshape(()).item()
        passes = True
        if rng.random() < 0.001:  # a failing call
            actual = np.array(actual, copy=True) if not np.isscalar(actual) else actual + 1.0
            if isinstance(actual, np.ndarray):
                actual.reshape(-1)[0] += 1
            passes = False
        cls = "1" if n == 1 else "2-100" if n <= 100 else "101-2000" if n <= 2000 else ">2000"
        out.append(
            {"a": actual, "e": expected, "options": options, "cls": cls, "pass": passes, "i": i}
        )
    return out


def _numpy(call: dict[str, Any]) -> bool:
    try:
        np.testing.assert_allclose(call["a"], call["e"], **call["options"])
    except AssertionError:
        return False
    return True


def _nearly_assert(call: dict[str, Any]) -> bool:
    try:
        nearly.assert_close(call["a"], call["e"], **call["options"])
    except AssertionError:
        return False
    return True


def _nearly_compare(call: dict[str, Any]) -> bool:
    return nearly.compare(call["a"], call["e"], **call["options"]).ok


def _torch_tool() -> Callable[[dict[str, Any]], bool] | None:
    try:
        import torch
    except ImportError:
        return None

    def as_tensor(x: Any) -> Any:
        return torch.from_numpy(x) if isinstance(x, np.ndarray) else x

    def run(call: dict[str, Any]) -> bool:
        opts = call["options"]
        kw = {}
        if opts:  # torch wants both or neither
            kw = {"rtol": opts.get("rtol", 0.0), "atol": opts.get("atol", 0.0)}
        try:
            torch.testing.assert_close(
                as_tensor(call["a"]), as_tensor(call["e"]), check_dtype=False, **kw
            )
        except AssertionError:
            return False
        return True

    return run


def time_tool(
    tool: Callable[[dict[str, Any]], bool], calls: list[dict[str, Any]], repeats: int
) -> dict[str, Any]:
    for call in calls:  # warm-up, and the verdicts
        call.setdefault("verdicts", []).append(tool(call))
    per_call = [[0] * len(calls) for _ in range(repeats)]
    clock = time.perf_counter_ns
    for r in range(repeats):
        row = per_call[r]
        for k, call in enumerate(calls):
            t0 = clock()
            tool(call)
            row[k] = clock() - t0
    medians = [statistics.median(col) for col in zip(*per_call, strict=True)]
    totals = [sum(row) for row in per_call]
    by_class: dict[str, list[float]] = {}
    for call, m in zip(calls, medians, strict=True):
        by_class.setdefault(call["cls"], []).append(m)
    return {
        "total_s": statistics.median(totals) / 1e9,
        "per_call_median_us": statistics.median(medians) / 1e3,
        "by_class_median_us": {k: statistics.median(v) / 1e3 for k, v in by_class.items()},
    }


def _fmt(us: float) -> str:
    return (
        f"{us:.1f} µs" if us < 1000 else f"{us / 1000:.1f} ms" if us < 1e6 else f"{us / 1e6:.2f} s"
    )


def _median_us(fn: Callable[[], Any], budget_s: float = 0.3) -> float:
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    number = max(1, min(10_000, int(budget_s / once)))
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - t0) / number)
    return statistics.median(runs) * 1e6


def _quiet(check: Callable[..., Any], *args: Any, **kw: Any) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(AssertionError):
            check(*args, **kw)

    return run


def cases() -> list[tuple[str, float, float, float]]:
    """(case, numpy.testing, nearly.assert_close, nearly.compare) in µs per call."""
    rng = np.random.default_rng(1)
    out = []
    for n in (1, 10, 1000, 10_000):
        e = rng.standard_normal(n)
        a = np.nextafter(e, np.inf)
        out.append(
            (
                f"float64 ({n:,}), 1 ULP apart",
                _median_us(_quiet(np.testing.assert_allclose, a, e, rtol=1e-7)),
                _median_us(_quiet(nearly.assert_close, a, e)),
                _median_us(lambda a=a, e=e: nearly.compare(a, e)),
            )
        )
    out.append(
        (
            "two Python floats",
            _median_us(_quiet(np.testing.assert_allclose, 0.1, 0.1)),
            _median_us(_quiet(nearly.assert_close, 0.1, 0.30000000000000004 - 0.2)),
            _median_us(lambda: nearly.compare(0.1, 0.30000000000000004 - 0.2)),
        )
    )
    z, c = np.zeros(1000, np.int64), np.zeros(1000, np.complex128)
    out.append(
        (
            "complex128 (1000,) vs int64 zeros, atol=0",
            _median_us(_quiet(np.testing.assert_allclose, c, z, atol=0)),
            _median_us(_quiet(nearly.assert_close, c, z, atol=0)),
            _median_us(lambda: nearly.compare(c, z, atol=0)),
        )
    )
    col = np.full((10_000_000, 1), 410.0)
    col[::7] = np.nextafter(410.0, 500.0)
    out.append(
        (
            "float64 (1e7, 1) vs a scalar",
            _median_us(_quiet(np.testing.assert_allclose, col, 410.0), 1.0),
            _median_us(_quiet(nearly.assert_close, col, 410.0, check_shape=False), 1.0),
            _median_us(lambda: nearly.compare(col, 410.0, check_shape=False), 1.0),
        )
    )
    floats = rng.standard_normal(100_000).tolist()
    near = [x + 1e-17 for x in floats]
    out.append(
        (
            "list of 1e5 Python floats",
            _median_us(_quiet(np.testing.assert_allclose, floats, near), 1.0),
            _median_us(_quiet(nearly.assert_close, floats, near), 1.0),
            _median_us(lambda: nearly.compare(floats, near), 1.0),
        )
    )
    leaves = {f"k{i}": float(i) for i in range(10_000)}
    same = dict(leaves)

    def numpy_loop() -> None:
        for k, v in leaves.items():
            np.testing.assert_allclose(v, same[k])

    out.append(
        (
            "dict of 1e4 float leaves",
            _median_us(numpy_loop, 1.0),
            _median_us(_quiet(nearly.assert_close, leaves, same), 1.0),
            _median_us(lambda: nearly.compare(leaves, same), 1.0),
        )
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    calls = build(args.calls, args.seed)
    tools: dict[str, Callable[[dict[str, Any]], bool]] = {"numpy.testing": _numpy}
    torch_tool = _torch_tool()
    if torch_tool is not None:
        tools["torch.testing"] = torch_tool
    tools["nearly.assert_close"] = _nearly_assert
    tools["nearly.compare"] = _nearly_compare
    results = {}
    for name, tool in tools.items():
        print(f"timing {name} ...", file=sys.stderr, flush=True)
        results[name] = time_tool(tool, calls, args.repeats)
    names = list(tools)
    disagree = [
        c["i"]
        for c in calls
        if c["verdicts"][0] != c["verdicts"][names.index("nearly.assert_close")]
        or c["verdicts"][names.index("nearly.compare")]
        != c["verdicts"][names.index("nearly.assert_close")]
    ]
    failing = sum(not c["pass"] for c in calls)
    base = results["numpy.testing"]
    classes = ["1", "2-100", "101-2000", ">2000"]
    counts = {k: sum(c["cls"] == k for c in calls) for k in classes}
    print(
        f"{len(calls):,} calls (seed {args.seed}), {failing} failing; median of "
        f"{args.repeats} passes; numpy/nearly verdict disagreements: {len(disagree)}\n"
    )
    head = (
        "| tool | total | ×numpy | median per call | "
        + " | ".join(f"n={k} ({counts[k]:,})" for k in classes)
        + " |"
    )
    print(head)
    print("|" + "---|" * (4 + len(classes)))
    for name, r in results.items():
        cells = " | ".join(f"{r['by_class_median_us'].get(k, math.nan):.1f} µs" for k in classes)
        print(
            f"| {name} | {r['total_s']:.2f} s | {r['total_s'] / base['total_s']:.2f} | "
            f"{r['per_call_median_us']:.1f} µs | {cells} |"
        )
    if disagree:
        print(f"\ndisagreeing calls: {disagree[:20]}")
    print("\n| case | numpy.testing | nearly.assert_close | nearly.compare |")
    print("|---|---|---|---|")
    single = cases()
    for name, t_np, t_ac, t_c in single:
        print(
            f"| {name} | {_fmt(t_np)} | {_fmt(t_ac)} ({t_ac / t_np:.2f}×) | "
            f"{_fmt(t_c)} ({t_c / t_np:.2f}×) |"
        )
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(
                {
                    "calls": len(calls),
                    "seed": args.seed,
                    "results": results,
                    "disagreements": disagree,
                },
                fh,
                indent=2,
            )
    return 1 if disagree else 0


if __name__ == "__main__":
    raise SystemExit(main())
