"""Derived tolerances against the real reductions of NumPy, PyTorch and TensorFlow.

The fast subset of ``benchmarks/validation_matrix.py``: each operation is computed by each
framework in float16, bfloat16 and float32, and compared with an accurate float64 reference
built from the same low-precision inputs, under ``nearly.tol.<op>(x, axis=..., dtype=...)``
with ``x`` in the framework's own array type (``order="auto"`` follows it).

* no false failures: every correct result passes, for n up to 1e5, both axes of 2-D data,
  well-conditioned (standard normal) and offset (uniform in [1000, 1001]) data;
* detection: injected bugs (a 1e-3 bias, dividing by n - 1, a dropped element, the wrong
  axis) of at least 1e-3 relative size fail in float32 at n = 100 and in float16 summed in
  float32 at every n; overflow to inf/NaN fails everywhere;
* the seed's case, and where the fixed defaults of other libraries go wrong.

A worst-case bound cannot flag a bug smaller than the rounding error it has to allow, so
detection is asserted only where that error is below the bug; ``test_bugs_within_the_bound_pass``
shows the other side (the full matrix measures how often that happens).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import nearly
from frameworks import convert, import_framework, numpy_dtype

Array = np.ndarray[Any, Any]

FRAMEWORKS = ("numpy", "torch", "tensorflow")
DTYPES = ("float16", "bfloat16", "float32")
OPS = ("sum", "mean", "var", "std", "dot", "matmul", "softmax", "logsumexp")
SIZES = (10, 100, 1_000, 10_000, 100_000)
MATMUL_K = (10, 1_000, 4_096)

pytestmark = [
    # torch._inductor imports torch.utils.mkldnn, which uses a deprecated torch.jit decorator
    pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"),
]


# ------------------------------------------------------------------------ implementations


def _np_softmax(x: Array, axis: int) -> Array:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _np_logsumexp(x: Array, axis: int) -> Array:
    m = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)), axis=axis)


def implementation(fw: str, op: str) -> Callable[..., Any]:
    """``op`` as ``fw`` computes it: f(x, axis) for reductions, f(a, b) for dot and matmul."""
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
        torch = import_framework("torch")
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
    tf = import_framework("tensorflow")
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


def host(fw: str, t: Any) -> Array:
    """A framework's result as a NumPy array of the same dtype."""
    if fw == "torch":
        torch = import_framework("torch")
        if t.dtype == torch.bfloat16:
            return t.float().numpy().astype(numpy_dtype("bfloat16"))
        return np.asarray(t.numpy())
    if fw == "tensorflow":
        return np.asarray(t.numpy())
    return np.asarray(t)


def reference(op: str, args: tuple[Array, ...], axis: int | None) -> Array:
    """Accurate float64 result of ``op`` on the (exactly converted) low-precision inputs."""
    if op == "dot":
        a, b = (v.astype(np.float64) for v in args)
        return np.asarray(math.fsum(a * b))  # the products are exact in float64
    if op == "matmul":
        a, b = (v.astype(np.float64) for v in args)
        return a @ b
    assert axis is not None
    x = np.ascontiguousarray(np.moveaxis(args[0].astype(np.float64), axis, -1))
    n = x.shape[-1]
    if op in ("sum", "mean"):
        return np.sum(x, axis=-1) / (1 if op == "sum" else n)
    if op in ("var", "std"):
        v = np.sum(np.square(x - np.sum(x, axis=-1, keepdims=True) / n), axis=-1) / n
        return v if op == "var" else np.sqrt(v)
    m = np.max(x, axis=-1, keepdims=True)
    e = np.exp(x - m)
    s = np.sum(e, axis=-1, keepdims=True)
    if op == "softmax":
        return np.moveaxis(e / s, -1, axis)
    return np.squeeze(m + np.log(s), axis=-1)


def derived(op: str, args_fw: tuple[Any, ...], axis: int | None, dtype: str) -> nearly.Tolerance:
    fn = getattr(nearly.tol, op)
    if op in ("dot", "matmul"):
        return fn(*args_fw, dtype=dtype)
    return fn(args_fw[0], axis=axis, dtype=dtype)


# ---------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    op: str
    fw: str
    dtype: str
    n: int
    shapes: tuple[tuple[int, ...], ...]
    axis: int | None
    data: str

    def __str__(self) -> str:
        return (
            f"{self.op} {self.dtype} {self.fw} shape {self.shapes} axis {self.axis} "
            f"n={self.n} {self.data}"
        )

    def inputs(self) -> tuple[Array, ...]:
        out = []
        for i, shape in enumerate(self.shapes):
            rng = np.random.default_rng([self.n, i, len(shape), shape[0]])
            if self.data == "normal":
                x = rng.standard_normal(shape)
            else:
                lo, width = offset_range(self.op, self.dtype, self.n)
                x = lo + width * rng.random(shape)
            out.append(x.astype(numpy_dtype(self.dtype)))
        return tuple(out)


def offset_range(op: str, dtype: str, n: int) -> tuple[float, float]:
    """[1000, 1001]; in float16 [c, 1.01c] with c ≤ 100 keeping the result below 65504."""
    if dtype != "float16":
        return 1000.0, 1.0
    c = 100.0
    if op == "sum":
        c = min(c, 30_000.0 / n)
    elif op in ("dot", "matmul"):
        c = min(c, math.sqrt(30_000.0 / n))
    return c, c / 100


def cases(
    op: str,
    fw: str,
    dtype: str,
    sizes: tuple[int, ...] = SIZES,
    matmul_sizes: tuple[int, ...] = MATMUL_K,
    square: bool = False,
) -> Iterator[Case]:
    """Reductions over (n, 4) along axis 0 and (4, n) along axis 1 (and (n, n) along both
    with ``square``), dot of two n-vectors, (8, k) @ (k, 8); normal and offset data."""
    for n in matmul_sizes if op == "matmul" else sizes:
        if op == "dot":
            layouts: list[tuple[tuple[tuple[int, ...], ...], int | None]] = [(((n,), (n,)), None)]
        elif op == "matmul":
            layouts = [(((8, n), (n, 8)), None)]
        else:
            layouts = [(((n, 4),), 0), (((4, n),), 1)]
            if square:
                layouts += [(((n, n),), 0), (((n, n),), 1)]
        for shapes, axis in layouts:
            for data in ("normal", "offset"):
                yield Case(op, fw, dtype, n, shapes, axis, data)


@dataclass
class Outcome:
    case: Case
    args: tuple[Array, ...]
    args_fw: tuple[Any, ...]
    result: Array
    reference: Array
    tol: nearly.Tolerance

    @property
    def overflowed(self) -> bool:
        """The implementation's own result is inf/NaN where the true value is finite."""
        return bool(np.all(np.isfinite(self.reference)) and not np.all(np.isfinite(self.result)))

    def ratio(self, values: Array) -> float:
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            err = np.abs(values.astype(np.float64) - self.reference)
            r = np.where(err == 0, 0.0, err / np.asarray(self.tol.atol))
        return float(np.max(np.where(np.isnan(r), np.inf, r)))

    def passes(self, values: Array) -> bool:
        return bool(nearly.compare(convert(self.case.fw, values), self.reference, tol=self.tol))


def run(case: Case) -> Outcome:
    args = case.inputs()
    args_fw = tuple(convert(case.fw, a) for a in args)
    impl = implementation(case.fw, case.op)
    with np.errstate(over="ignore", invalid="ignore"):
        out = impl(*args_fw) if case.axis is None else impl(args_fw[0], case.axis)
    return Outcome(
        case,
        args,
        args_fw,
        host(case.fw, out),
        reference(case.op, args, case.axis),
        derived(case.op, args_fw, case.axis, case.dtype),
    )


def bugs(o: Outcome) -> Iterator[tuple[str, Array]]:
    """The injected bugs' results, in the correct result's dtype."""
    c = o.case
    impl = implementation(c.fw, c.op)
    correct = o.result.astype(np.float64)

    def rounded(v: Array) -> Array:
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(v).astype(o.result.dtype)

    yield "bias 1e-3", rounded(correct * (1 + 1e-3))
    x = o.args[0]
    if c.op in ("mean", "var", "std"):
        n = x.shape[c.axis]
        yield "n-1", rounded(correct * (n / (n - 1)) ** (0.5 if c.op == "std" else 1))
    if c.op == "softmax":
        e = np.exp(x.astype(np.float64) - np.max(x.astype(np.float64), axis=c.axis, keepdims=True))
        rest = np.sum(np.delete(e, -1, axis=c.axis), axis=c.axis, keepdims=True)
        yield "dropped", rounded(e / rest)
    elif c.op == "dot":
        a, b = o.args
        yield "dropped", host(c.fw, impl(convert(c.fw, a[:-1]), convert(c.fw, b[:-1])))
    elif c.op == "matmul":
        a, b = o.args
        yield "dropped", host(c.fw, impl(convert(c.fw, a[:, :-1]), convert(c.fw, b[:-1])))
    else:
        yield "dropped", host(c.fw, impl(convert(c.fw, np.delete(x, -1, axis=c.axis)), c.axis))
    if c.axis is not None and x.shape[0] == x.shape[1]:
        yield "wrong axis", host(c.fw, impl(o.args_fw[0], 1 - c.axis))


def relative_size(o: Outcome, bad: Array) -> float:
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.abs(bad.astype(np.float64) - o.result.astype(np.float64))
    scale = float(np.max(np.abs(o.reference)))
    return float(np.max(np.where(np.isnan(d), np.inf, d))) / scale if scale else math.inf


# ------------------------------------------------------------------------ no false failures


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("op", OPS)
def test_correct_results_pass(op: str, fw: str, dtype: str) -> None:
    import_framework(fw)
    false_failures = []
    for case in cases(op, fw, dtype):
        o = run(case)
        ok = o.passes(o.result)
        if o.overflowed:  # e.g. TF's float16 mean of 1000 values near 100: inf
            assert not ok, f"{case}: an overflowed result passed"
        elif not ok:
            false_failures.append(f"{case}: {o.ratio(o.result):.3g}× the bound")
    assert not false_failures, "\n".join(false_failures)


def test_numpy_bfloat16_last_axis_sum_is_sequential() -> None:
    # NumPy's pairwise loop covers its own float types only: order="auto" must say recursive
    x = np.full((4, 1000), 1000.0).astype(numpy_dtype("bfloat16"))
    s = np.sum(x, axis=1)  # stalls at 262144: adding 1000 no longer changes it
    assert float(s[0]) == 262144.0
    t = nearly.tol.sum(x, axis=1, dtype="bfloat16")
    assert t.derivation.order == "recursive"
    nearly.assert_close(s, np.full(4, 1e6), tol=t)


# ------------------------------------------------------------------------------- detection


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("op", OPS)
def test_bugs_of_1e_3_are_caught_in_float32(op: str, fw: str) -> None:
    import_framework(fw)
    missed, counted = [], 0
    for case in cases(op, fw, "float32", (100,), (100,), square=True):
        o = run(case)
        assert o.passes(o.result), str(case)
        for name, bad in bugs(o):
            if relative_size(o, bad) < 1e-3 * (1 - 1e-3):
                continue  # smaller than rounding allows to see (a dropped element of a mean)
            counted += 1
            if o.passes(bad):
                missed.append(f"{case}: {name} ({o.ratio(bad):.3g}× the bound)")
    assert counted >= 4
    assert not missed, "\n".join(missed)


OVERFLOWS = [
    *((op, "float16") for op in ("mean", "var", "std")),
    *((op, dt) for op in ("softmax", "logsumexp") for dt in DTYPES),
]


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize(("op", "dtype"), OVERFLOWS)
def test_overflow_is_caught(op: str, dtype: str, fw: str) -> None:
    """float16 accumulation overflowing to inf (mean, var, std of 1000 values near 100),
    an unshifted exp overflowing (softmax, logsumexp of values near 1000)."""
    import_framework(fw)
    case = Case(op, fw, dtype, 1000, ((4, 1000),), 1, "offset")
    o = run(case)
    x = o.args[0]
    with np.errstate(over="ignore", invalid="ignore"):
        if op in ("mean", "var", "std"):
            total = np.add.accumulate(x, axis=1, dtype=np.float16)[:, -1:]
            bad = total / np.float16(1000)
            if op != "mean":
                bad = np.mean(np.square(x - bad), axis=1, dtype=np.float16, keepdims=True)
                bad = np.sqrt(bad) if op == "std" else bad
            bad = bad[:, 0]
        else:
            e = np.exp(x)
            s = np.sum(e, axis=1, keepdims=True)
            bad = e / s if op == "softmax" else np.log(s)[:, 0]
    bad = bad.astype(o.result.dtype)
    assert not np.all(np.isfinite(bad))
    assert not o.passes(bad)


@pytest.mark.parametrize("op", ["sum", "mean"])
def test_bugs_of_1e_3_are_caught_in_float16_accumulated_in_float32(op: str) -> None:
    """PyTorch sums float16 in float32: the bound is about one float16 rounding of the
    result, so on offset data (|result| = Σ|x|) a 1e-3 bias fails at every n."""
    for case in cases(op, "torch", "float16"):
        if case.data != "offset":
            continue
        o = run(case)
        assert o.passes(o.result), str(case)
        (name, bad), *_ = bugs(o)
        assert name == "bias 1e-3"
        assert not o.passes(bad), f"{case}: {o.ratio(bad):.3g}× the bound"


def test_bugs_within_the_bound_pass() -> None:
    """The other side of a worst-case bound: NumPy's float32 axis-0 mean of 1e6 values in
    [1000, 1001] may be off by 6% (recursive summation), so a 1e-3 bias passes."""
    x = (1000 + np.random.default_rng(0).random((1_000_000, 2))).astype(np.float32)
    ref = x.astype(np.float64).mean(0)
    tol = nearly.tol.mean(x, axis=0, dtype="float32")
    assert 0.05 < float(np.max(tol.atol)) / 1000.5 < 0.07
    nearly.assert_close(x.mean(0) * np.float32(1.001), ref, tol=tol)
    # the same bug is caught where the bound is tight: PyTorch's cascade sum
    torch = import_framework("torch")
    xt = torch.from_numpy(x)
    with pytest.raises(nearly.NotClose):
        nearly.assert_close(
            xt.mean(0) * 1.001, ref, tol=nearly.tol.mean(xt, axis=0, dtype="float32")
        )


# ---------------------------------------------------------------------------- the seed's case


@pytest.fixture(scope="module")
def seed() -> tuple[Array, Array]:
    x = (1000 + np.random.default_rng(0).random((1_000_000, 5))).astype(np.float32)
    return x, x.astype(np.float64).mean(0)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_seed_mean_passes_its_derived_bound(fw: str, seed: tuple[Array, Array]) -> None:
    x, ref = seed
    xf = convert(fw, x)
    mean32 = implementation(fw, "mean")(xf, 0)
    nearly.assert_close(mean32, ref, tol=nearly.tol.mean(xf, axis=0, dtype="float32", order="auto"))


@pytest.mark.parametrize("fw", ["numpy", "tensorflow"])
def test_seed_mean_fails_the_pairwise_bound_and_says_recursive(
    fw: str, seed: tuple[Array, Array]
) -> None:
    x, ref = seed
    xf = convert(fw, x)
    mean32 = implementation(fw, "mean")(xf, 0)
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_close(
            mean32, ref, tol=nearly.tol.mean(xf, axis=0, dtype="float32", order="pairwise")
        )
    text = str(info.value)
    assert "pairwise" in text
    assert "consistent with recursive" in text


def test_seed_mean_exceeds_the_probabilistic_bound(seed: tuple[Array, Array]) -> None:
    x, ref = seed
    tol = nearly.tol.mean(x, axis=0, dtype="float32", mode="probabilistic")
    ratio = np.abs(x.mean(0) - ref) / np.asarray(tol.atol)
    assert np.all((ratio > 10) & (ratio < 40)), ratio  # about 21: the rounding is biased
    assert not nearly.compare(x.mean(0), ref, tol=tol)


# ----------------------------------------------------------------- fixed defaults go wrong


def test_fixed_defaults_false_fail_where_the_derived_bound_passes(
    seed: tuple[Array, Array],
) -> None:
    torch = import_framework("torch")
    x, ref = seed
    mean32 = x.mean(0)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(
            torch.from_numpy(mean32), torch.from_numpy(ref), check_dtype=False
        )
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(mean32, ref, rtol=1.3e-6, atol=1e-5)
    assert not nearly.compare(mean32, ref)  # nearly's own float32 default: rtol=1.3e-6
    nearly.assert_close(mean32, ref, tol=nearly.tol.mean(x, axis=0, dtype="float32"))


def test_loose_fixed_defaults_miss_what_the_derived_bound_catches() -> None:
    torch = import_framework("torch")
    tf = import_framework("tensorflow")
    # bfloat16: torch.testing allows 1.6e-2; PyTorch sums bfloat16 in float32, so the result
    # is one bfloat16 rounding from the truth and a 1% bias is several of them
    x = torch.full((4, 1000), 1000.0, dtype=torch.bfloat16)
    ref = np.full(4, 1e6)
    bad = torch.sum(x, dim=1) * 1.01
    torch.testing.assert_close(bad, torch.from_numpy(ref), check_dtype=False)  # passes
    with pytest.raises(nearly.NotClose):
        nearly.assert_close(bad, ref, tol=nearly.tol.sum(x, axis=1, dtype="bfloat16"))
    # float16: tf.debugging.assert_near allows 10·eps ≈ 1e-2 relative and absolute
    x16 = torch.from_numpy((100 + np.random.default_rng(1).random((4, 1000))).astype(np.float16))
    ref16 = x16.double().mean(1).numpy()
    bad16 = torch.mean(x16, dim=1) * 1.005
    tf.debugging.assert_near(tf.constant(bad16.numpy()), ref16)  # passes
    with pytest.raises(nearly.NotClose):
        nearly.assert_close(bad16, ref16, tol=nearly.tol.mean(x16, axis=1, dtype="float16"))
