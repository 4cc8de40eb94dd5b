"""The built-in audit suite: common tensor computations on every installed framework.

Each case computes one operation the way users write it in their framework, on data drawn
the same way for every framework (same seed, same values), with the derived bound of
``nearly.tol`` where one exists:

* sum, mean and std along axis 0 of an (n, 5) array (a strided reduction) and along axis 1
  of a (5, n) array (the contiguous axis), on centred data in [-1, 1) and on offset data in
  [1000, 1001) (the values of the seed report: float32 means off by ~9.5 at n = 1e6);
* standardization ``z = (x − mean) / std`` of offset (n, 5) data, returning ``[mean(z),
  std(z)]`` (the check users write: mean ≈ 0, std ≈ 1);
* matmul (8, n) @ (n, 8); softmax and log-sum-exp over n logits; an MSE loss over n values;
* a Keras ``Dense`` forward pass with n input features (TensorFlow only).

Frameworks are imported only when the suite runs on them.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nearly._audit.measure import AuditReport, Case, Progress, run_cases

__all__ = [
    "DEFAULT_DTYPES",
    "DEFAULT_SIZES",
    "FRAMEWORKS",
    "QUICK_SIZES",
    "available_frameworks",
    "run_suite",
    "suite_cases",
]

Array = np.ndarray[Any, Any]
FRAMEWORKS = ("numpy", "torch", "tensorflow", "jax")
DEFAULT_SIZES = (100, 1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (100, 1_000, 10_000, 100_000)
DEFAULT_DTYPES = ("float32", "bfloat16")
PRODUCT_MAX_N = 100_000  # matmul and Dense: n is the inner dimension of 16·n-element inputs
# Formats with 8 or 11 significand bits lose every digit of a long sum well before 1e5 terms
# (γ_{n-1} >= 1 from n = 257 in bfloat16): larger sizes only repeat that, at a high cost.
LOW_PRECISION_MAX_N = {"bfloat16": 100_000, "float16": 100_000}


def available_frameworks() -> list[str]:
    """numpy, and each of torch, tensorflow, jax that is installed (not imported here)."""
    return ["numpy"] + [
        name for name in FRAMEWORKS[1:] if importlib.util.find_spec(name) is not None
    ]


# ----------------------------------------------------------------------------------- data


def _centred(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    return np.asarray(rng.random(shape, dtype=np.float32) * 2 - 1)


def _offset(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    return np.asarray(1000 + rng.random(shape, dtype=np.float32))


def _normal(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0) -> Array:
    return np.asarray(rng.standard_normal(shape, dtype=np.float32) * np.float32(scale))


class _Framework:
    """How one framework holds data and computes the suite's operations."""

    name = "numpy"

    def array(self, a: Array, dtype: np.dtype[Any]) -> Any:
        return a.astype(dtype)

    def sum(self, x: Any, axis: int) -> Any:
        return x.sum(axis=axis)

    def mean(self, x: Any, axis: int) -> Any:
        return x.mean(axis=axis)

    def std(self, x: Any, axis: int) -> Any:
        return x.std(axis=axis)

    def stack(self, xs: list[Any]) -> Any:
        return np.stack(xs)

    def matmul(self, a: Any, b: Any) -> Any:
        return a @ b

    def softmax(self, x: Any) -> Any:
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def logsumexp(self, x: Any) -> Any:
        a = x.max(axis=-1, keepdims=True)
        return (a + np.log(np.exp(x - a).sum(axis=-1, keepdims=True)))[..., 0]

    def mse(self, p: Any, y: Any) -> Any:
        return np.mean((p - y) ** 2)

    def compiled(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` as users of the framework run it (JAX: under ``jax.jit``)."""
        return fn


class _Torch(_Framework):
    name = "torch"

    def __init__(self) -> None:
        import torch

        self.t: Any = torch

    def array(self, a: Array, dtype: np.dtype[Any]) -> Any:
        # a copy: the drawn arrays are shared by every framework's case
        return self.t.from_numpy(a.copy()).to(getattr(self.t, dtype.name))

    def std(self, x: Any, axis: int) -> Any:
        return x.std(dim=axis, correction=0)

    def sum(self, x: Any, axis: int) -> Any:
        return x.sum(dim=axis)

    def mean(self, x: Any, axis: int) -> Any:
        return x.mean(dim=axis)

    def stack(self, xs: list[Any]) -> Any:
        return self.t.stack(xs)

    def softmax(self, x: Any) -> Any:
        return self.t.softmax(x, dim=-1)

    def logsumexp(self, x: Any) -> Any:
        return self.t.logsumexp(x, dim=-1)

    def mse(self, p: Any, y: Any) -> Any:
        return self.t.nn.functional.mse_loss(p, y)


class _TensorFlow(_Framework):
    name = "tensorflow"

    def __init__(self) -> None:
        import os

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf

        self.tf: Any = tf

    def array(self, a: Array, dtype: np.dtype[Any]) -> Any:
        return self.tf.cast(self.tf.constant(a), self.tf.as_dtype(dtype.name))

    def sum(self, x: Any, axis: int) -> Any:
        return self.tf.reduce_sum(x, axis=axis)

    def mean(self, x: Any, axis: int) -> Any:
        return self.tf.reduce_mean(x, axis=axis)

    def std(self, x: Any, axis: int) -> Any:
        return self.tf.math.reduce_std(x, axis=axis)

    def stack(self, xs: list[Any]) -> Any:
        return self.tf.stack(xs)

    def matmul(self, a: Any, b: Any) -> Any:
        return self.tf.linalg.matmul(a, b)

    def softmax(self, x: Any) -> Any:
        return self.tf.nn.softmax(x, axis=-1)

    def logsumexp(self, x: Any) -> Any:
        return self.tf.reduce_logsumexp(x, axis=-1)

    def mse(self, p: Any, y: Any) -> Any:
        return self.tf.reduce_mean(self.tf.math.squared_difference(p, y))

    def dense(self, x: Any, w: Any, b: Any) -> Any:
        import keras

        layer = keras.layers.Dense(int(w.shape[1]), dtype=x.dtype.name)
        layer.build(tuple(x.shape))
        layer.set_weights([np.asarray(w), np.asarray(b)])
        return layer(x)


class _Jax(_Framework):
    name = "jax"

    def __init__(self) -> None:
        import jax
        import jax.numpy as jnp

        self.jax: Any = jax
        self.jnp: Any = jnp

    def array(self, a: Array, dtype: np.dtype[Any]) -> Any:
        # rounded on the host (round to nearest even, as XLA does): no kernel per shape
        return self.jax.device_put(a.astype(dtype))

    def sum(self, x: Any, axis: int) -> Any:
        return self.jnp.sum(x, axis=axis)

    def mean(self, x: Any, axis: int) -> Any:
        return self.jnp.mean(x, axis=axis)

    def std(self, x: Any, axis: int) -> Any:
        return self.jnp.std(x, axis=axis)

    def stack(self, xs: list[Any]) -> Any:
        return self.jnp.stack(xs)

    def matmul(self, a: Any, b: Any) -> Any:
        return self.jnp.matmul(a, b)

    def softmax(self, x: Any) -> Any:
        return self.jax.nn.softmax(x, axis=-1)

    def logsumexp(self, x: Any) -> Any:
        return self.jax.nn.logsumexp(x, axis=-1)

    def mse(self, p: Any, y: Any) -> Any:
        return self.jnp.mean((p - y) ** 2)

    def compiled(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        jitted: Callable[..., Any] = self.jax.jit(fn)
        return jitted


_MAKERS: dict[str, Callable[[], _Framework]] = {
    "numpy": _Framework,
    "torch": _Torch,
    "tensorflow": _TensorFlow,
    "jax": _Jax,
}


# ---------------------------------------------------------------------------------- cases

# The same group runs on every framework one after another with the same seeds: the drawn
# float32 arrays of the latest sizes and seeds are kept so each is drawn once.
_DRAWN: OrderedDict[tuple[Any, ...], tuple[Array, ...]] = OrderedDict()
_DRAWN_MAX = 16


def _inputs(
    fw: _Framework, kind: str, draw: Callable[[np.random.Generator, int], tuple[Array, ...]]
) -> Callable[[int, np.dtype[Any], np.random.Generator], tuple[Any, ...]]:
    def make(n: int, dtype: np.dtype[Any], rng: np.random.Generator) -> tuple[Any, ...]:
        seq: Any = rng.bit_generator.seed_seq
        key = (kind, n, repr(seq.entropy), tuple(seq.spawn_key))
        arrays = _DRAWN.get(key)
        if arrays is None:
            arrays = draw(rng, n)
            _DRAWN[key] = arrays
            while len(_DRAWN) > _DRAWN_MAX:
                _DRAWN.popitem(last=False)
        else:
            _DRAWN.move_to_end(key)
        return tuple(fw.array(a, dtype) for a in arrays)

    return make


def _mse_bound(p: Any, y: Any) -> Any:
    """mean((p − y)²): each squared difference carries up to 3u relative error (the
    subtraction, the square's doubling of it, the square's own rounding), then the mean of
    non-negative terms adds the mean's bound for the framework's order."""
    from nearly import _tolerance as tol
    from nearly._audit.measure import _to_host
    from nearly._tolerance.bounds import _unit
    from nearly.backends._kernels import library_of

    a, b = _to_host(p), _to_host(y)
    d2 = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    u = _unit(a.dtype)
    return tol.mean(d2.astype(a.dtype), backend=library_of(p)) + tol.Tolerance(
        atol=3 * u * float(np.mean(d2))
    )


def _dense_bound(x: Any, w: Any, b: Any) -> Any:
    """x @ W + b is the product of [x, 1] and [W; b]: γ_{k+1}·|x||W| + |b| per element."""
    from nearly import _tolerance as tol
    from nearly._audit.measure import _to_host

    xa, wa, ba = (_to_host(v) for v in (x, w, b))
    ones = np.ones((xa.shape[0], 1), dtype=xa.dtype)
    return tol.matmul(np.concatenate([xa, ones], axis=1), np.concatenate([wa, ba[None, :]]))


def _reduction_cases(fw: _Framework) -> list[Case]:
    from nearly import _tolerance as tol

    cases = []
    bounds: dict[str, Callable[..., Any]] = {"sum": tol.sum, "mean": tol.mean, "std": tol.std}
    for op in ("sum", "mean", "std"):
        for axis in (0, 1):
            for data, draw in (("centred", _centred), ("offset", _offset)):
                shape: Callable[[int], tuple[int, int]] = (
                    (lambda n: (n, 5)) if axis == 0 else (lambda n: (5, n))
                )
                where = "(n, 5), axis 0" if axis == 0 else "(5, n), axis 1"
                group = f"{op} {where}, {data}"

                def fn(x: Any, _op: str = op, _axis: int = axis) -> Any:
                    return getattr(fw, _op)(x, _axis)

                def bound(x: Any, _op: str = op, _axis: int = axis) -> Any:
                    return bounds[_op](x, axis=_axis)

                def draw_(
                    rng: np.random.Generator,
                    n: int,
                    _d: Callable[..., Array] = draw,
                    _s: Callable[[int], tuple[int, int]] = shape,
                ) -> tuple[Array, ...]:
                    return (_d(rng, _s(n)),)

                cases.append(
                    Case(
                        f"{fw.name}: {group}",
                        fw.compiled(fn),
                        _inputs(fw, group, draw_),
                        bound,
                        group=group,
                        label=fw.name,
                    )
                )
    return cases


def _other_cases(fw: _Framework) -> list[Case]:
    from nearly import _tolerance as tol

    def standardize(x: Any) -> Any:
        z = (x - fw.mean(x, 0)) / fw.std(x, 0)
        return fw.stack([fw.mean(z, 0), fw.std(z, 0)])

    cases = [
        Case(
            f"{fw.name}: standardize (n, 5) offset -> [mean, std]",
            fw.compiled(standardize),
            _inputs(fw, "offset (n, 5)", lambda rng, n: (_offset(rng, (n, 5)),)),
            None,
            group="standardize (n, 5) offset -> [mean, std]",
            label=fw.name,
        ),
        Case(
            f"{fw.name}: matmul (8, n) @ (n, 8)",
            fw.compiled(fw.matmul),
            _inputs(fw, "matmul", lambda rng, n: (_normal(rng, (8, n)), _normal(rng, (n, 8)))),
            lambda a, b: tol.matmul(a, b),
            group="matmul (8, n) @ (n, 8)",
            label=fw.name,
            max_n=PRODUCT_MAX_N,
        ),
        Case(
            f"{fw.name}: softmax over n",
            fw.compiled(fw.softmax),
            _inputs(fw, "logits", lambda rng, n: (_normal(rng, (2, n), 3.0),)),
            lambda x: tol.softmax(x, axis=-1),
            group="softmax (2, n) over n",
            label=fw.name,
        ),
        Case(
            f"{fw.name}: logsumexp over n",
            fw.compiled(fw.logsumexp),
            _inputs(fw, "logits", lambda rng, n: (_normal(rng, (2, n), 3.0),)),
            lambda x: tol.logsumexp(x, axis=-1),
            group="logsumexp (2, n) over n",
            label=fw.name,
        ),
        Case(
            f"{fw.name}: MSE loss over n",
            fw.compiled(fw.mse),
            _inputs(fw, "mse", lambda rng, n: (_normal(rng, (n,)), _normal(rng, (n,)))),
            _mse_bound,
            group="MSE loss over n",
            label=fw.name,
        ),
    ]
    if isinstance(fw, _TensorFlow) and importlib.util.find_spec("keras") is not None:
        cases.append(
            Case(
                "tensorflow: keras Dense (16, n) -> 8",
                fw.dense,
                _inputs(
                    fw,
                    "dense",
                    lambda rng, n: (
                        _normal(rng, (16, n)),
                        _normal(rng, (n, 8), float(1 / np.sqrt(n))),
                        _normal(rng, (8,)),
                    ),
                ),
                _dense_bound,
                group="keras Dense (16, n) -> 8",
                label="tensorflow",
                max_n=PRODUCT_MAX_N,
            )
        )
    return cases


def suite_cases(frameworks: Sequence[str] | None = None, only: str | None = None) -> list[Case]:
    """The suite's cases for ``frameworks`` (default: every installed one), optionally only
    those whose name contains ``only`` (case-insensitive)."""
    names = available_frameworks() if frameworks is None else list(frameworks)
    unknown = [f for f in names if f not in FRAMEWORKS]
    if unknown:
        raise ValueError(f"unknown framework(s) {unknown}; choose from {', '.join(FRAMEWORKS)}")
    by_group: dict[str, list[Case]] = {}
    for name in names:
        if name != "numpy" and importlib.util.find_spec(name) is None:
            raise ValueError(f"{name} is not installed")
        fw = _MAKERS[name]()
        for case in _reduction_cases(fw) + _other_cases(fw):
            by_group.setdefault(case.group, []).append(case)
    # group by group, each on every framework: the drawn data is shared while it is cached
    cases = [case for group in by_group.values() for case in group]
    if only:
        cases = [c for c in cases if only.lower() in c.name.lower()]
        if not cases:
            raise ValueError(f"no suite case matches {only!r}")
    return cases


def run_suite(
    *,
    frameworks: Sequence[str] | None = None,
    sizes: Any = DEFAULT_SIZES,
    dtypes: Any = DEFAULT_DTYPES,
    seeds: Any = 3,
    only: str | None = None,
    progress: Progress | None = None,
    command: str = "",
) -> AuditReport:
    """Run the built-in suite. A case a framework cannot run at some dtype (an operation
    without a bfloat16 kernel) is listed in ``AuditReport.skipped``."""
    dts = [d.strip() for d in dtypes.split(",") if d.strip()] if isinstance(dtypes, str) else dtypes
    skipped: list[tuple[str, str, str]] = []
    if importlib.util.find_spec("ml_dtypes") is None and "bfloat16" in map(str, dts):
        # NumPy has bfloat16 only through ml_dtypes (installed with every framework extra)
        dts = [d for d in dts if str(d) != "bfloat16"]
        skipped.append(("every case", "bfloat16", "needs the ml_dtypes package"))
    try:
        report = run_cases(
            suite_cases(frameworks, only),
            sizes=sizes,
            dtypes=dts,
            seeds=seeds,
            progress=progress,
            skip_unsupported=True,
            command=command,
            max_n=LOW_PRECISION_MAX_N,
        )
    finally:
        _DRAWN.clear()  # the drawn arrays are tens of MB
    if skipped:
        report = dataclasses.replace(report, skipped=(*skipped, *report.skipped))
    return report
