"""Validation matrix for nearly's derived tolerances (``nearly.tol.sum`` and friends).

Run: python benchmarks/validation_matrix.py [--quick] [--out FILE.json]
     python benchmarks/validation_matrix.py --report FILE.json   (the tables of a saved run)

For every operation (sum, mean, var, std, dot, matmul, softmax, logsumexp), size, dtype
(float16, bfloat16, float32), implementation (NumPy, PyTorch, TensorFlow), layout and data
set, the script computes the implementation's result in the low-precision dtype and an
accurate float64 reference from the same low-precision input values, then asks four checkers
whether the two are close:

* ``derived``: ``nearly.compare(result, reference, tol=nearly.tol.<op>(x, axis=..., dtype=...))``
  with x in the implementation's own array type (``order="auto"`` follows it);
* ``numpy``: ``numpy.testing.assert_allclose`` with its defaults (rtol=1e-7, atol=0);
* ``torch``: ``torch.testing.assert_close`` with its defaults for the result's dtype;
* ``tf``: ``tf.debugging.assert_near`` with its defaults (rtol = atol = 10·eps of the
  result's dtype; the reference is converted to that dtype). It cannot build its default
  tolerance for bfloat16 (``numpy.finfo`` rejects the type), so those cells are n/a.

A correct result that a checker rejects is a false failure. Each correct result is then
broken on purpose and every checker should reject it:

=========== ==============================================================================
bias        result × (1 + 1e-3), rounded back to the result's dtype
n-1         divided by n − 1 instead of n (mean, var, std)
dropped     computed without the last element of the reduced axis (softmax: the
            normaliser misses it)
wrong-axis  reduced along the other axis of a square (n, n) input (n ≤ 1000)
overflow    float16 accumulation that overflows to inf (mean, var, std: data in
            [100, 101], n ≥ 1000) or an unshifted exp that overflows (softmax, logsumexp on
            the offset data); sum, dot and matmul have none: on data where a float16
            accumulator overflows the correct float16 result overflows too
=========== ==============================================================================

A bug that leaves the low-precision result unchanged (a 1e-3 bias is below half an ULP of
bfloat16) is not counted. A bug whose deviation from the reference is within the derived
bound cannot be caught by any check that accepts every correct implementation; the JSON
keeps each bug's size (``bug_rel``: max |bug − correct| / max |reference|) and its error
relative to the bound (``ratio``). A "correct" result that is itself inf/NaN where the
reference is finite (TensorFlow's float16 mean of 1000 values near 100 overflows) is counted
apart, as ``correct-overflowed``: every checker should reject it.

NumPy has no bfloat16 arithmetic of its own: ml_dtypes' ufunc loops add one element at a
time (NumPy's pairwise summation covers its built-in float types only) and ``np.matmul``
returns float32; the NumPy × bfloat16 cells measure that.

Data: ``normal`` (standard normal) and ``offset`` (uniform in [1000, 1001]; for float16
[100, 101], scaled down for sum, dot and matmul so the result stays below 65504 while keeping
the same offset-to-width ratio). References: the inputs are exact in float64, products of two
of them too; sums are float64 pairwise sums (error below 1e-14·Σ|x|), dot products math.fsum
(correctly rounded), variances two-pass in float64.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import ml_dtypes
import numpy as np

import nearly

Array = np.ndarray[Any, Any]

FRAMEWORKS = ("numpy", "torch", "tensorflow")
DTYPES = ("float16", "bfloat16", "float32")
DATA = ("normal", "offset")
OPS = ("sum", "mean", "var", "std", "dot", "matmul", "softmax", "logsumexp")
CHECKERS = ("derived", "numpy", "torch", "tf")

FULL_SIZES = {
    "sum": (10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000),
    "mean": (10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000),
    "var": (10, 100, 1_000, 10_000, 100_000, 1_000_000),
    "std": (10, 100, 1_000, 10_000, 100_000, 1_000_000),
    "dot": (10, 100, 1_000, 10_000, 100_000, 1_000_000),
    "matmul": (10, 100, 1_000, 4_096),
    "softmax": (10, 100, 1_000, 10_000, 100_000, 1_000_000),
    "logsumexp": (10, 100, 1_000, 10_000, 100_000, 1_000_000),
}
QUICK_SIZES = dict.fromkeys(OPS, (100, 1000))
SQUARE_MAX = 1_000  # square (n, n) layouts, for the wrong-axis bug, up to this n
QUICK_SQUARE_MAX = 100
MATMUL_OUTER = 16  # (16, k) @ (k, 16)
BIAS = 1e-3

NP_DTYPES: dict[str, Any] = {
    "float16": np.float16,
    "bfloat16": ml_dtypes.bfloat16,
    "float32": np.float32,
}


# ------------------------------------------------------------------------- frameworks


class Frameworks:
    """The installed frameworks and conversions between their arrays and NumPy's."""

    def __init__(self, wanted: tuple[str, ...]) -> None:
        self.torch: Any = None
        self.tf: Any = None
        with contextlib.suppress(ImportError):
            import torch

            self.torch = torch
        with contextlib.suppress(ImportError):
            import tensorflow as tf

            self.tf = tf
        # the fixed-default checkers use torch and tf even when they are not benchmarked
        modules = {"numpy": np, "torch": self.torch, "tensorflow": self.tf}
        self.names = [name for name in wanted if modules.get(name) is not None]

    def to(self, fw: str, a: Array) -> Any:
        """``a`` (NumPy, any float dtype) as an array of ``fw`` with the same dtype and values."""
        a = np.asarray(a)
        if fw == "numpy":
            return a
        if fw == "torch":
            if a.dtype == ml_dtypes.bfloat16:
                return self.torch.from_numpy(a.astype(np.float32)).to(self.torch.bfloat16)
            return self.torch.from_numpy(np.array(a, copy=True))  # keeps 0-d shapes
        return self.tf.constant(a)

    def host(self, fw: str, t: Any) -> Array:
        """A framework result as a NumPy array of the same dtype."""
        if fw == "numpy":
            return np.asarray(t)
        if fw == "torch":
            if t.dtype == self.torch.bfloat16:
                return t.float().numpy().astype(ml_dtypes.bfloat16)
            return np.asarray(t.numpy())
        return np.asarray(t.numpy())


def _np_softmax(x: Array, axis: int) -> Array:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _np_logsumexp(x: Array, axis: int) -> Array:
    m = np.max(x, axis=axis, keepdims=True)
    s = np.sum(np.exp(x - m), axis=axis, keepdims=True)
    return np.squeeze(m + np.log(s), axis=axis)


def implementation(fws: Frameworks, fw: str, op: str) -> Callable[..., Any]:
    """``op`` as the framework computes it: f(x, axis) for reductions, f(a, b) for products."""
    if fw == "numpy":
        return {
            "sum": lambda x, ax: np.sum(x, axis=ax),
            "mean": lambda x, ax: np.mean(x, axis=ax),
            "var": lambda x, ax: np.var(x, axis=ax),
            "std": lambda x, ax: np.std(x, axis=ax),
            "softmax": _np_softmax,
            "logsumexp": _np_logsumexp,
            "dot": np.dot,
            "matmul": np.matmul,
        }[op]
    if fw == "torch":
        torch = fws.torch
        return {
            "sum": lambda x, ax: torch.sum(x, dim=ax),
            "mean": lambda x, ax: torch.mean(x, dim=ax),
            "var": lambda x, ax: torch.var(x, dim=ax, unbiased=False),
            "std": lambda x, ax: torch.std(x, dim=ax, unbiased=False),
            "softmax": lambda x, ax: torch.softmax(x, dim=ax),
            "logsumexp": lambda x, ax: torch.logsumexp(x, dim=ax),
            "dot": torch.dot,
            "matmul": torch.matmul,
        }[op]
    tf = fws.tf
    return {
        "sum": lambda x, ax: tf.reduce_sum(x, axis=ax),
        "mean": lambda x, ax: tf.reduce_mean(x, axis=ax),
        "var": lambda x, ax: tf.math.reduce_variance(x, axis=ax),
        "std": lambda x, ax: tf.math.reduce_std(x, axis=ax),
        "softmax": lambda x, ax: tf.nn.softmax(x, axis=ax),
        "logsumexp": lambda x, ax: tf.reduce_logsumexp(x, axis=ax),
        "dot": lambda a, b: tf.tensordot(a, b, 1),
        "matmul": tf.matmul,
    }[op]


def derived_tolerance(op: str, args: tuple[Any, ...], axis: int | None, dtype: str) -> Any:
    """The derived tolerance for ``op`` on the framework arrays ``args``."""
    fn = getattr(nearly.tol, op)
    if op in ("dot", "matmul"):
        return fn(*args, dtype=dtype)
    return fn(args[0], axis=axis, dtype=dtype)


# -------------------------------------------------------------------------- references


def _last(x64: Array, axis: int) -> Array:
    return np.ascontiguousarray(np.moveaxis(x64, axis, -1))


def reference(op: str, args: tuple[Array, ...], axis: int | None) -> Array:
    """An accurate float64 result from the (exactly converted) low-precision inputs."""
    if op == "dot":
        a, b = (v.astype(np.float64) for v in args)
        return np.asarray(math.fsum(a * b))  # products are exact in float64
    if op == "matmul":
        a, b = (v.astype(np.float64) for v in args)
        return a @ b
    assert axis is not None
    x = _last(args[0].astype(np.float64), axis)
    n = x.shape[-1]
    if op == "sum":
        return np.sum(x, axis=-1)
    if op == "mean":
        return np.sum(x, axis=-1) / n
    if op in ("var", "std"):
        mu = np.sum(x, axis=-1, keepdims=True) / n
        v = np.sum(np.square(x - mu), axis=-1) / n
        return v if op == "var" else np.sqrt(v)
    m = np.max(x, axis=-1, keepdims=True)
    e = np.exp(x - m)
    s = np.sum(e, axis=-1, keepdims=True)
    if op == "softmax":
        return np.moveaxis(e / s, -1, axis)
    return np.squeeze(m + np.log(s), axis=-1)


# -------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Layout:
    name: str  # e.g. "(n,4) axis 0"
    shapes: tuple[tuple[int, ...], ...]  # one per operand
    axis: int | None


def layouts(op: str, n: int, square_max: int = SQUARE_MAX) -> list[Layout]:
    if op == "dot":
        return [Layout("(n,)·(n,)", ((n,), (n,)), None)]
    if op == "matmul":
        m = MATMUL_OUTER
        return [Layout(f"({m},k)@(k,{m})", ((m, n), (n, m)), None)]
    out = [Layout("(n,4) axis 0", ((n, 4),), 0), Layout("(4,n) axis 1", ((4, n),), 1)]
    if n <= square_max:
        out += [Layout("(n,n) axis 0", ((n, n),), 0), Layout("(n,n) axis 1", ((n, n),), 1)]
    return out


def offset_range(op: str, dtype: str, n: int) -> tuple[float, float]:
    """(low, width) of the offset data: [1000, 1001], or for float16 [c, 1.01c] with c ≤ 100
    small enough that the result stays in float16's range."""
    if dtype != "float16":
        return 1000.0, 1.0
    c = 100.0
    if op == "sum":
        c = min(c, 30_000.0 / n)
    elif op in ("dot", "matmul"):
        c = min(c, math.sqrt(30_000.0 / n))
    return c, c / 100


class DataCache:
    """Seeded standard-normal and uniform [0, 1) float64 draws, one per shape and operand."""

    def __init__(self) -> None:
        self._store: dict[tuple[str, int, tuple[int, ...]], Array] = {}

    def get(self, kind: str, index: int, shape: tuple[int, ...]) -> Array:
        key = (kind, index, shape)
        if key not in self._store:
            seed = [int(s) for s in shape] + [index, 0 if kind == "normal" else 1]
            rng = np.random.default_rng(seed)
            self._store[key] = rng.standard_normal(shape) if kind == "normal" else rng.random(shape)
        return self._store[key]

    def clear(self) -> None:
        self._store.clear()


def make_inputs(
    cache: DataCache, op: str, layout: Layout, data: str, dtype: str, n: int
) -> tuple[Array, ...]:
    out = []
    for i, shape in enumerate(layout.shapes):
        if data == "normal":
            x = cache.get("normal", i, shape)
        else:
            lo, width = offset_range(op, dtype, n)
            x = lo + width * cache.get("uniform", i, shape)
        out.append(x.astype(NP_DTYPES[dtype]))
    return tuple(out)


# ---------------------------------------------------------------------------------- bugs


def _drop_last(x: Array, axis: int) -> Array:
    return np.take(x, np.arange(x.shape[axis] - 1), axis=axis)


def _round_like(v: Array, like: Array) -> Array:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(v).astype(like.dtype)


def bugs(
    fws: Frameworks,
    fw: str,
    op: str,
    layout: Layout,
    data: str,
    dtype: str,
    args_np: tuple[Array, ...],
    correct: Array,
) -> Iterator[tuple[str, Array]]:
    """Each injected bug's result, as a NumPy array in the correct result's dtype."""
    impl = implementation(fws, fw, op)
    ax = layout.axis
    c64 = correct.astype(np.float64)
    yield "bias", _round_like(c64 * (1 + BIAS), correct)
    if op in ("mean", "var", "std"):
        n = args_np[0].shape[ax]
        factor = n / (n - 1) if op != "std" else math.sqrt(n / (n - 1))
        yield "n-1", _round_like(c64 * factor, correct)
    # one element dropped
    if op == "softmax":
        x64 = args_np[0].astype(np.float64)
        e = np.exp(x64 - np.max(x64, axis=ax, keepdims=True))
        partial = np.sum(_drop_last(e, ax), axis=ax, keepdims=True)
        yield "dropped", _round_like(e / partial, correct)
    elif op in ("dot", "matmul"):
        a, b = args_np
        a2 = a[:-1] if op == "dot" else a[:, :-1]
        yield "dropped", fws.host(fw, impl(fws.to(fw, a2), fws.to(fw, b[:-1])))
    else:
        x2 = _drop_last(args_np[0], ax)
        yield "dropped", fws.host(fw, impl(fws.to(fw, x2), ax))
    # wrong axis: only where the other axis gives the same shape
    x = args_np[0]
    if op not in ("dot", "matmul") and x.ndim == 2 and x.shape[0] == x.shape[1]:
        yield "wrong-axis", fws.host(fw, impl(fws.to(fw, x), 1 - ax))
    # overflow
    if dtype == "float16" and op in ("mean", "var", "std") and data == "offset":
        with np.errstate(over="ignore", invalid="ignore"):
            running = np.add.accumulate(x, axis=ax, dtype=np.float16)
            mean16 = np.take(running, [-1], axis=ax) / np.float16(x.shape[ax])
            if op == "mean":
                bad = np.squeeze(mean16, axis=ax)
            else:
                dev = (x - mean16).astype(np.float16)
                v = np.sum(dev * dev, axis=ax, dtype=np.float16) / np.float16(x.shape[ax])
                bad = v if op == "var" else np.sqrt(v)
        if not np.all(np.isfinite(bad)):
            yield "overflow", _round_like(bad, correct)
    if op in ("softmax", "logsumexp") and data == "offset":
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(x)  # in the low dtype: no shift by the maximum
            s = np.sum(e, axis=ax, keepdims=True)
            bad = e / s if op == "softmax" else np.squeeze(np.log(s), axis=ax)
        if not np.all(np.isfinite(bad)):
            yield "overflow", _round_like(bad, correct)


# ------------------------------------------------------------------------------ checkers


@dataclass
class Verdicts:
    derived: bool
    ratio: float  # max |result − reference| / derived atol
    numpy: bool
    torch: bool | None
    tf: bool | None  # None: the checker cannot run on this dtype


def _worst_ratio(actual: Array, ref: Array, atol: Any) -> float:
    a = np.asarray(actual).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        err = np.abs(a - ref)
        bound = np.broadcast_to(np.asarray(atol, dtype=np.float64), err.shape)
        r = np.where(err == 0, 0.0, err / bound)
    r = np.where(np.isnan(r), np.inf, r)
    return float(np.max(r)) if r.size else 0.0


def run_checkers(
    fws: Frameworks, actual_np: Array, actual_fw: Any, ref: Array, ref_torch: Any, tol: Any
) -> Verdicts:
    derived = bool(nearly.compare(actual_fw, ref, tol=tol))
    ratio = _worst_ratio(actual_np, ref, tol.atol)
    try:
        np.testing.assert_allclose(actual_np.astype(np.float64), ref, verbose=False)
        np_ok = True
    except AssertionError:
        np_ok = False
    torch_ok: bool | None = None
    if fws.torch is not None:
        try:
            fws.torch.testing.assert_close(fws.to("torch", actual_np), ref_torch, check_dtype=False)
            torch_ok = True
        except AssertionError:
            torch_ok = False
    tf_ok: bool | None = None
    if fws.tf is not None and actual_np.dtype != ml_dtypes.bfloat16:
        try:
            with np.errstate(over="ignore"):
                fws.tf.debugging.assert_near(fws.to("tensorflow", actual_np), ref)
            tf_ok = True
        except fws.tf.errors.InvalidArgumentError:
            tf_ok = False
    return Verdicts(derived, ratio, np_ok, torch_ok, tf_ok)


# --------------------------------------------------------------------------------- runner


@dataclass
class Record:
    op: str
    framework: str
    dtype: str
    layout: str
    axis: int | None
    shape: list[list[int]]
    n: int
    data: str
    variant: str  # "correct" or the bug's name
    derived: bool
    ratio: float
    numpy: bool
    torch: bool | None
    tf: bool | None
    error: float  # max |result − reference|
    bound: float  # the derived atol where the ratio is worst
    bug_rel: float | None = None  # max |bug − correct| / max |reference|
    result_dtype: str = ""


def _error_and_bound(actual: Array, ref: Array, atol: Any) -> tuple[float, float]:
    a = np.asarray(actual).astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        err = np.abs(a - ref)
        err = np.where(np.isnan(err), np.inf, err)
        bound = np.broadcast_to(np.asarray(atol, dtype=np.float64), err.shape)
        r = np.where(err == 0, 0.0, err / bound)
    r = np.where(np.isnan(r), np.inf, r)
    if not err.size:
        return 0.0, 0.0
    i = np.unravel_index(int(np.argmax(r)), r.shape) if r.ndim else ()
    return float(np.max(err)), float(bound[i])


def run_case(
    fws: Frameworks,
    op: str,
    n: int,
    layout: Layout,
    data: str,
    dtype: str,
    args_np: tuple[Array, ...],
    ref: Array,
    records: list[Record],
) -> None:
    ref_torch = fws.torch.from_numpy(np.asarray(ref)) if fws.torch is not None else None
    for fw in fws.names:
        impl = implementation(fws, fw, op)
        args_fw = tuple(fws.to(fw, a) for a in args_np)
        with np.errstate(over="ignore", invalid="ignore"):
            out = impl(*args_fw) if layout.axis is None else impl(args_fw[0], layout.axis)
        correct = fws.host(fw, out)
        tol = derived_tolerance(op, args_fw, layout.axis, dtype)
        case = (op, fw, dtype, layout, n, data)
        overflowed = bool(np.all(np.isfinite(ref)) and not np.all(np.isfinite(correct)))
        variant = "correct-overflowed" if overflowed else "correct"
        _record(fws, records, case, variant, correct, out, ref, ref_torch, tol, None)
        scale = float(np.max(np.abs(ref))) if np.size(ref) else 0.0
        for name, bad in bugs(fws, fw, op, layout, data, dtype, args_np, correct):
            if np.array_equal(bad, correct, equal_nan=True):
                continue  # the bug does not change the low-precision result
            with np.errstate(invalid="ignore", over="ignore"):
                diff = np.abs(bad.astype(np.float64) - correct.astype(np.float64))
            diff = np.where(np.isnan(diff), np.inf, diff)
            rel = float(np.max(diff)) / scale if scale else math.inf
            _record(fws, records, case, name, bad, fws.to(fw, bad), ref, ref_torch, tol, rel)


def _record(
    fws: Frameworks,
    records: list[Record],
    case: tuple[str, str, str, Layout, int, str],
    variant: str,
    result: Array,
    result_fw: Any,
    ref: Array,
    ref_torch: Any,
    tol: Any,
    bug_rel: float | None,
) -> None:
    op, fw, dtype, layout, n, data = case
    if np.shape(result) != np.shape(ref) or tuple(result_fw.shape) != np.shape(ref):
        raise AssertionError(f"{case} {variant}: result shape differs from the reference's")
    v = run_checkers(fws, result, result_fw, ref, ref_torch, tol)
    err, bound = _error_and_bound(result, ref, tol.atol)
    records.append(
        Record(
            op,
            fw,
            dtype,
            layout.name,
            layout.axis,
            [list(s) for s in layout.shapes],
            n,
            data,
            variant,
            v.derived,
            v.ratio,
            v.numpy,
            v.torch,
            v.tf,
            err,
            bound,
            bug_rel,
            str(result.dtype),
        )
    )


def plan(quick: bool) -> list[tuple[int, str, Layout]]:
    sizes = QUICK_SIZES if quick else FULL_SIZES
    items = []
    for op in OPS:
        for n in sizes[op]:
            items.extend(
                (n, op, lay) for lay in layouts(op, n, QUICK_SQUARE_MAX if quick else SQUARE_MAX)
            )
    # grouped by size and shape, so one cached draw serves every op on that shape
    items.sort(key=lambda t: (t[0], t[2].shapes, OPS.index(t[1])))
    return items


def run(quick: bool, frameworks: tuple[str, ...], progress: bool = True) -> dict[str, Any]:
    fws = Frameworks(frameworks)
    records: list[Record] = []
    timing: dict[str, float] = {}
    cache = DataCache()
    t_start = time.perf_counter()
    last_n = None
    for n, op, lay in plan(quick):
        if n != last_n:
            cache.clear()
            last_n = n
            if progress:
                print(f"n={n:<9,} ({time.perf_counter() - t_start:6.1f} s)", file=sys.stderr)
        t0 = time.perf_counter()
        for data in DATA:
            for dtype in DTYPES:
                args = make_inputs(cache, op, lay, data, dtype, n)
                ref = reference(op, args, lay.axis)
                run_case(fws, op, n, lay, data, dtype, args, ref, records)
        timing[op] = timing.get(op, 0.0) + time.perf_counter() - t0
    total = time.perf_counter() - t_start
    return {
        "records": records,
        "timing": timing,
        "seconds": total,
        "frameworks": fws.names,
    }


# -------------------------------------------------------------------------------- summary


def _is_bug(r: Record) -> bool:
    return not r.variant.startswith("correct")


def summarize(records: list[Record]) -> list[dict[str, Any]]:
    """Counts per op × dtype: correct results, false failures, injected bugs and misses per
    checker (``na_*``: records the checker cannot run on), and results that overflowed."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        row = rows.setdefault(
            (r.op, r.dtype),
            {
                "op": r.op,
                "dtype": r.dtype,
                "cases": 0,
                "bugs": 0,
                "overflowed": 0,
                **{f"{k}_{c}": 0 for k in ("ff", "miss", "na_ff", "na_miss") for c in CHECKERS},
            },
        )
        if r.variant == "correct-overflowed":
            row["overflowed"] += 1
            continue
        bug = _is_bug(r)
        row["bugs" if bug else "cases"] += 1
        if not bug:
            row.setdefault("ratios", []).append(r.ratio)
        for c in CHECKERS:
            ok = getattr(r, c)
            if ok is None:
                row[f"na_{'miss' if bug else 'ff'}_{c}"] += 1
            elif bug and ok:
                row[f"miss_{c}"] += 1
            elif not bug and not ok:
                row[f"ff_{c}"] += 1
    for row in rows.values():
        ratios = np.asarray(row.pop("ratios", [0.0]))
        row["max_ratio"] = float(np.max(ratios))
        row["median_ratio"] = float(np.median(ratios))
    return [rows[k] for k in sorted(rows, key=lambda k: (OPS.index(k[0]), DTYPES.index(k[1])))]


def _cell(count: int, total: int, na: int) -> str:
    if total and na == total:
        return "n/a"
    return f"{count}/{total - na}"


def table(records: list[Record]) -> str:
    """A Markdown table: false failures and missed bugs per checker, per op × dtype."""
    lines = [
        "| op | dtype | correct results | false failures: derived / numpy / torch / tf "
        "| injected bugs | missed: derived / numpy / torch / tf "
        "| error / derived bound: median, max |",
        "|---|---|---:|---|---:|---|---|",
    ]
    rows = summarize(records)
    total: dict[str, Any] = {}
    for row in rows:
        for k, v in row.items():
            if isinstance(v, int):
                total[k] = total.get(k, 0) + v
    total["max_ratio"] = max(row["max_ratio"] for row in rows)
    total["median_ratio"] = float(
        np.median([r.ratio for r in records if r.variant == "correct"] or [0.0])
    )
    for row in [*rows, {**total, "op": "**all**", "dtype": ""}]:
        ff = " / ".join(_cell(row[f"ff_{c}"], row["cases"], row[f"na_ff_{c}"]) for c in CHECKERS)
        miss = " / ".join(
            _cell(row[f"miss_{c}"], row["bugs"], row[f"na_miss_{c}"]) for c in CHECKERS
        )
        ratios = f"{row['median_ratio']:.2g}, {row['max_ratio']:.3g}"
        lines.append(
            f"| {row['op']} | {row['dtype']} | {row['cases']} | {ff} | {row['bugs']} | {miss} "
            f"| {ratios} |"
        )
    return "\n".join(lines)


def describe(r: Record) -> str:
    bug = f" bug={r.variant} (rel {r.bug_rel:.3g})" if _is_bug(r) else ""
    return (
        f"{r.op} {r.dtype} {r.framework} {r.layout} n={r.n} data={r.data}{bug}: "
        f"error {r.error:.6g}, bound {r.bound:.6g}, ratio {r.ratio:.4g}"
    )


def detection_table(records: list[Record], threshold: float = 1e-3) -> str:
    """A Markdown table: the share of injected bugs of at least ``threshold`` relative size
    that each checker catches, per dtype and n."""
    big = [r for r in records if _is_bug(r) and r.bug_rel is not None and r.bug_rel >= threshold]
    sizes = sorted({r.n for r in big})
    lines = [
        f"| dtype | checker | {' | '.join(f'n={n:.0e}'.replace('e+0', 'e') for n in sizes)} |",
        "|---|---|" + "---:|" * len(sizes),
    ]
    for dtype in DTYPES:
        for c in CHECKERS:
            cells = []
            for n in sizes:
                group = [getattr(r, c) for r in big if r.dtype == dtype and r.n == n]
                group = [ok for ok in group if ok is not None]
                caught = sum(not ok for ok in group)
                cells.append(f"{100 * caught / len(group):.0f}%" if group else "n/a")
            lines.append(f"| {dtype} | {c} | {' | '.join(cells)} |")
    return "\n".join(lines)


def report(result: dict[str, Any]) -> None:
    records: list[Record] = result["records"]
    print(table(records))
    print("\ninjected bugs of at least 1e-3 relative size caught:\n")
    print(detection_table(records))
    correct = [r for r in records if r.variant == "correct"]
    overflowed = [r for r in records if r.variant == "correct-overflowed"]
    injected = [r for r in records if _is_bug(r)]
    print(
        f"\n{len(correct)} correct results, {len(injected)} injected bugs, "
        f"{result['seconds']:.1f} s ({', '.join(result['frameworks'])}, "
        f"{result['versions']['cpus']} CPUs)"
    )
    groups = (
        ("implementation results that overflowed (inf/NaN, finite reference)", overflowed),
        ("derived-bound false failures", [r for r in correct if not r.derived]),
        ("bugs the derived bound misses", [r for r in injected if r.derived]),
    )
    for title, group in groups:
        print(f"{title}: {len(group)}")
        for r in group[:40]:
            print("  " + describe(r))
        if len(group) > 40:
            print(f"  ... and {len(group) - 40} more (see the JSON)")


FLOAT_FIELDS = ("ratio", "error", "bound", "bug_rel")


def load(path: str) -> dict[str, Any]:
    """A result written with ``--out``, records rebuilt."""
    with open(path) as f:
        payload = json.load(f)
    fields = Record.__dataclass_fields__
    records = []
    for d in payload["records"]:
        # non-finite floats are stored as the strings "inf" / "nan"
        values = {k: float(v) if k in FLOAT_FIELDS and v is not None else v for k, v in d.items()}
        records.append(Record(**{k: v for k, v in values.items() if k in fields}))
    return {**payload, "records": records}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small subset (n = 100, 1000)")
    parser.add_argument("--out", metavar="FILE.json", help="write every record as JSON")
    parser.add_argument(
        "--frameworks",
        default=",".join(FRAMEWORKS),
        help="comma-separated subset of numpy,torch,tensorflow",
    )
    parser.add_argument(
        "--report", metavar="FILE.json", help="print the tables of an earlier --out; run nothing"
    )
    args = parser.parse_args(argv)
    if args.report:
        report(load(args.report))
        return 0
    warnings.filterwarnings("ignore", category=RuntimeWarning, message="overflow encountered")
    result = run(args.quick, tuple(args.frameworks.split(",")))
    result["versions"] = _versions()
    report(result)
    if args.out:
        records: list[Record] = result["records"]
        payload = {
            "seconds": result["seconds"],
            "timing": result["timing"],
            "frameworks": result["frameworks"],
            "quick": args.quick,
            "versions": result["versions"],
            "summary": summarize(records),
            "records": [_jsonable(r.__dict__) for r in records],
        }
        with open(args.out, "w") as f:
            json.dump(payload, f, indent=None, separators=(",", ":"), allow_nan=False)
            f.write("\n")
        print(f"wrote {args.out}")
    return 0


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, float) and not math.isfinite(v):
            v = str(v)
        out[k] = v
    return out


def _versions() -> dict[str, str]:
    out = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "nearly": nearly.__version__,
        "cpus": str(os.cpu_count()),
    }
    for mod in ("torch", "tensorflow", "ml_dtypes"):
        m = sys.modules.get(mod)
        if m is not None:
            out[mod] = getattr(m, "__version__", "?")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
