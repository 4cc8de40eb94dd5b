"""Tolerances derived from floating-point error analysis.

Every function returns a :class:`~nearly.tol.Tolerance` whose ``atol`` is a rigorous (or, in
``mode="probabilistic"``, a high-probability) bound on the rounding error of one operation,
per output element. They are exposed as ``nearly.tol.sum``, ``.mean``, ``.var``, ``.std``,
``.dot``, ``.matmul``, ``.softmax``, ``.logsumexp`` and ``.norm``.

Notation (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., 2002): ``u`` is
the unit roundoff of a format (2**-p), ``γ_k = k·u / (1 − k·u)`` (Lemma 3.1). A summation in
which no element passes through more than ``k`` additions has error at most
``γ_k · Σ|x_i|`` (§4.2); ``k`` depends on the order of the additions:

========== ====================================== =====================================
order      k (n terms)                            source
========== ====================================== =====================================
recursive  n − 1                                  Higham §4.2
any        n − 1 (holds for every order)          Higham §4.2
pairwise   ⌈log2 n⌉                               Higham §4.2
blocked    b + ⌈n/b⌉ − 2 (block size b)           Blanchard, Higham & Mary, SISC 2020
kahan      bound (2u + n·u²)·Σ|x_i|               Higham §4.3
========== ====================================== =====================================

``order="auto"`` picks what the library that computed the value does along that axis
(NumPy: pairwise with 8 accumulators and blocks of 128 along the contiguous axis, one row at
a time along any other; PyTorch CPU: a cascade sum; TensorFlow CPU: one row at a time along
an outer axis, a tree along the inner one; JAX/XLA: unknown, so ``any``).

``mode="probabilistic"`` replaces ``γ_k`` by Higham & Mary's (SISC 2019) ``γ̃_k(λ) =
exp(λ·√k·u + k·u²/(1−u)) − 1``, with λ chosen so that the bound fails with probability at
most ``failure_probability`` over all rounding errors of the operation. It assumes the
rounding errors are independent with mean zero. That is false when rounding is biased: adding
same-sign values of similar size (the seed's data, values in [1000, 1001]) makes every
rounding lean the same way, and NumPy's float32 axis-0 mean there exceeds the probabilistic
bound 21× while being exactly what recursive summation gives. Use it only for zero-mean,
unstructured data.

Mixed precision: ``dtype`` is the format the inputs are held in while computing,
``acc_dtype`` the accumulator's (float16/bfloat16 inputs summed in float32: PyTorch's CPU
kernels do this). Inputs converted from a wider dtype add ``u_dtype`` each; the final cast of
the result adds ``u_out·|result|``. ``dtype="tf32"`` (matmul) models inputs rounded to 10-bit
mantissas with float32 accumulation.

Comparing two low-precision results, add both bounds: ``tol.sum(x, ...) + tol.sum(x, ...)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from nearly._prim import compensated as _compensated
from nearly._prim import dtypes as _dtypes
from nearly._prim.dtypes import as_dtype as _as_dtype
from nearly._tolerance.tolerance import Tolerance
from nearly.backends import _kernels

__all__ = [
    "Derivation",
    "dot",
    "logsumexp",
    "matmul",
    "mean",
    "norm",
    "softmax",
    "std",
    "sum_",
    "var",
]

Order = Literal["auto", "any", "recursive", "pairwise", "blocked", "kahan"]
Mode = Literal["worst", "probabilistic"]
ORDERS = ("any", "recursive", "pairwise", "blocked", "kahan")
Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Derivation:
    """How a derived tolerance was obtained, for reports: the operation, the order and k,
    the formats, the mode, and the same bound under the other summation orders (so a failure
    can say which accumulation order it is consistent with)."""

    op: str
    order: str
    k: int
    dtype: str
    acc_dtype: str
    mode: str
    backend: str | None
    alternatives: dict[str, Any] = field(default_factory=dict)
    vacuous: bool = False  # k·u >= 1: the order guarantees no accuracy at this size

    def describe(self) -> str:
        acc = "" if self.acc_dtype == self.dtype else f", accumulated in {self.acc_dtype}"
        mode = "" if self.mode == "worst" else f", {self.mode}"
        who = f" ({self.backend})" if self.backend else ""
        text = f"{self.op} bound: {self.order}{who} order, k={self.k}, {self.dtype}{acc}{mode}"
        if self.vacuous:
            text += (
                "; k·u >= 1, so this order guarantees no accuracy at this size and the bound "
                "is as large as the values themselves"
            )
        return text


# ----------------------------------------------------------------------------- inputs


def _host(x: Any, what: str = "derived tolerances") -> Array:
    from nearly.backends import host_values, to_leaf

    leaf = to_leaf(x)
    if leaf.kind == "symbolic":
        raise TypeError(
            f"{what} need values, and a graph tensor inside tf.function has none yet: "
            "run this on eager tensors (outside tf.function)"
        )
    if leaf.array is None or not _dtypes.is_numeric(leaf.array.dtype):
        raise TypeError(f"{what} need numbers, got {leaf.type_name}")
    return host_values(leaf, what)


def _unit(dtype: Any) -> float:
    """Unit roundoff u = 2**-p of a format (``"tf32"`` has p = 11)."""
    if isinstance(dtype, str) and dtype.lower() == "tf32":
        return 2.0**-11

    dt = _as_dtype(dtype)
    if _dtypes.family(dt) not in ("float", "complex"):
        return 2.0**-53  # integers computed in float64
    return 2.0 ** -_dtypes.float_format(dt).p


def _name(dtype: Any) -> str:
    if isinstance(dtype, str) and dtype.lower() == "tf32":
        return "tf32"

    return _dtypes.dtype_label(_as_dtype(dtype))


def _axes(ndim: int, axis: int | Sequence[int] | None) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for an array of {ndim} dimensions")
        out.append(a % ndim)
    return tuple(sorted(set(out)))


def _slab_sum(
    x: Array,
    axes: tuple[int, ...],
    transform: Any = np.abs,
    center: Array | None = None,
    *,
    compensated: bool = False,
) -> Array:
    """Σ transform(x − center) over ``axes`` in float64, a slab of rows at a time (never a
    full-size float64 copy). ``compensated``: the sum is accurate to about one rounding
    whatever the cancellation (TwoSum through a pairwise reduction), not just float64."""
    if x.ndim == 0:
        v = np.asarray(x, dtype=np.float64)
        return np.asarray(transform(v if center is None else v - center))
    moved = np.moveaxis(x, axes, range(len(axes)))
    lead = moved.shape[: len(axes)]
    rest = moved.shape[len(axes) :]
    flat = moved.reshape((-1, *rest)) if moved.flags.c_contiguous else None
    total = np.zeros(rest, dtype=np.float64)
    # the compensated total as flat (hi, lo) pairs: what the sum is, and what it lacks
    hi_sum, lo_sum = np.zeros(math.prod(rest)), np.zeros(math.prod(rest))
    rows = math.prod(lead)
    step = max(1, (1 << 20) // max(1, math.prod(rest)))
    for start in range(0, rows, step):
        if flat is not None:
            block = flat[start : start + step].astype(np.float64)
        else:
            idx = np.unravel_index(np.arange(start, min(rows, start + step)), lead)
            block = moved[idx].astype(np.float64)
        if center is not None:
            block -= center
        if compensated:
            hi, lo = _compensated.sum2(transform(block).reshape(len(block), -1))
            hi_sum, lo_sum = _compensated.add_pair(hi_sum, lo_sum, hi, lo)
        else:
            total += transform(block).sum(axis=0)
    if compensated:
        return _compensated.value(hi_sum, lo_sum).reshape(rest)
    return total


def _abs_sum(x: Array, axes: tuple[int, ...]) -> Array:
    return _slab_sum(x, axes)


def _count(x: Array, axes: tuple[int, ...]) -> int:
    return math.prod(x.shape[a] for a in axes) if x.ndim else 1


def _scalar_or_array(v: Array) -> Any:
    return float(v) if np.ndim(v) == 0 else v


# ------------------------------------------------------------------- orders and constants


def _gamma(k: int, u: float, mode: Mode, n_errors: int, failure_probability: float) -> float:
    """γ_k (worst case) or γ̃_k(λ) (probabilistic), capped at 1: beyond k·u ≈ 1 no accuracy
    is guaranteed and the bound says so by allowing an error as large as Σ|x|."""
    if k <= 0:
        return 0.0
    if mode == "probabilistic":
        lam = math.sqrt(2.0 * math.log(2.0 * max(n_errors, 1) / failure_probability)) / (1 - u)
        g = math.expm1(lam * math.sqrt(k) * u + k * u * u / (1 - u))
    else:
        g = k * u / (1 - k * u) if k * u < 1 else math.inf
    return min(g, 1.0)


def _k_for(order: str, n: int, block: int | None) -> int:
    if order in ("any", "recursive"):
        return max(n - 1, 0)
    if order == "pairwise":
        return math.ceil(math.log2(n)) if n > 1 else 0
    if order == "blocked":
        b = block or max(1, round(math.sqrt(n)))
        return max(0, b + math.ceil(n / b) - 2)
    if order == "kahan":
        return 2  # the first-order term 2u; the n·u² term is added separately
    raise ValueError(f"order must be one of auto, {', '.join(ORDERS)}; got {order!r}")


@dataclass(frozen=True)
class _Plan:
    order: str
    k: int
    u_acc: float
    u_in: float
    u_out: float
    c_in: int  # inputs converted from a wider dtype: u_in per element
    backend: str | None
    dtype: str
    acc_dtype: str


def _plan(
    x: Any,
    arr: Array,
    axes: tuple[int, ...],
    n: int,
    dtype: Any,
    acc_dtype: Any,
    order: str,
    backend: str | None,
    block: int | None,
) -> _Plan:
    dt = arr.dtype if dtype is None else dtype
    if dtype is None and _dtypes.family(arr.dtype) not in ("float", "complex"):
        dt = np.float64
    u_in = _unit(dt)
    lib = backend or _kernels.library_of(x)
    acc = acc_dtype
    if acc is None:
        low = u_in > 2.0**-24
        acc = np.float32 if (low and _kernels.accumulates_in_float32(lib)) else dt
    u_acc = _unit(acc)
    c_in = int(_dtypes.family(arr.dtype) in ("float", "complex") and _unit(arr.dtype) < u_in)
    if order == "auto":
        chosen, k = _kernels.summation(lib, arr, axes, n)
    else:
        chosen, k = order, _k_for(order, n, block)
    return _Plan(
        chosen,
        k,
        u_acc,
        u_in,
        _unit(dt),
        c_in,
        lib if order == "auto" else backend,
        _name(dt),
        _name(acc),
    )


def _vacuous(p: _Plan) -> bool:
    return p.order != "kahan" and p.k * p.u_acc >= 1


def _sum_terms(
    p: _Plan, n: int, mode: Mode, outputs: int, failure_probability: float
) -> tuple[float, float, float]:
    """The three parts of a sum's error factor, each times Σ|x|: converting the inputs,
    accumulating, and rounding the accumulator to the output dtype."""
    n_errors = max(1, p.k * outputs)
    if p.order == "kahan":
        acc = 2 * p.u_acc + n * p.u_acc**2
    else:
        acc = _gamma(p.k, p.u_acc, mode, n_errors, failure_probability)
    out = p.u_out if p.u_out > p.u_acc else 0.0
    return p.c_in * p.u_in, acc, out


def _sum_factor(p: _Plan, n: int, mode: Mode, outputs: int, failure_probability: float) -> float:
    """The factor f with |error| <= f·Σ|x| for a sum."""
    conv, acc, out = _sum_terms(p, n, mode, outputs, failure_probability)
    return conv + acc + out


def _alternatives(
    arr: Array,
    axes: tuple[int, ...],
    n: int,
    plan: _Plan,
    mode: Mode,
    outputs: int,
    failure_probability: float,
    scale: Array,
    extra: float = 0.0,
    block: int | None = None,
) -> dict[str, Any]:
    alts = {}
    for order in ("pairwise", "recursive"):
        if order == plan.order:
            continue
        other = _Plan(
            order,
            _k_for(order, n, block),
            plan.u_acc,
            plan.u_in,
            plan.u_out,
            plan.c_in,
            plan.backend,
            plan.dtype,
            plan.acc_dtype,
        )
        f = _sum_factor(other, n, mode, outputs, failure_probability) + extra
        alts[order] = _scalar_or_array(f * scale)
    return alts


def _tolerance(atol: Array, derivation: Derivation) -> Tolerance:
    value = _scalar_or_array(np.asarray(atol, dtype=np.float64))
    return Tolerance(atol=value, source=derivation.describe(), derivation=derivation)


# -------------------------------------------------------------------------- operations


def sum_(
    x: Any,
    axis: int | Sequence[int] | None = None,
    *,
    dtype: Any = None,
    acc_dtype: Any = None,
    order: Order = "auto",
    backend: str | None = None,
    mode: Mode = "worst",
    failure_probability: float = 1e-6,
    block: int | None = None,
) -> Tolerance:
    """The rounding-error bound of ``sum(x, axis)``: ``γ_k·Σ|x_i|`` per output element.

    Args:
        x: the data (any framework) or its magnitudes.
        axis: the reduced axis or axes (None: all).
        dtype: the computing dtype (default: x's float dtype, else float64); ``acc_dtype``
            the accumulator's (default: float32 for float16/bfloat16 under PyTorch, else dtype).
        order: ``"auto"`` (what the backend does for this axis), ``"any"``, ``"recursive"``,
            ``"pairwise"``, ``"blocked"`` (block size ``block``, default √n) or ``"kahan"``.
        backend: the library that computes the sum, for ``order="auto"`` (default: x's own).
        mode: ``"worst"`` (deterministic) or ``"probabilistic"`` (Higham–Mary; see module docs).
        failure_probability: for ``mode="probabilistic"``.

    Example:
        >>> import numpy as np, nearly
        >>> x = np.full(1000, 0.1, dtype=np.float32)
        >>> nearly.assert_close(x.sum(), 100.0, tol=nearly.tol.sum(x))
    """
    arr = _host(x)
    axes = _axes(arr.ndim, axis)
    n = _count(arr, axes)
    scale = _abs_sum(arr, axes)
    plan = _plan(x, arr, axes, n, dtype, acc_dtype, order, backend, block)
    outputs = max(1, scale.size)
    f = _sum_factor(plan, n, mode, outputs, failure_probability)
    alts = _alternatives(arr, axes, n, plan, mode, outputs, failure_probability, scale, block=block)
    der = Derivation(
        "sum",
        plan.order,
        plan.k,
        plan.dtype,
        plan.acc_dtype,
        mode,
        plan.backend,
        alts,
        _vacuous(plan),
    )
    return _tolerance(f * scale, der)


def mean(
    x: Any,
    axis: int | Sequence[int] | None = None,
    *,
    dtype: Any = None,
    acc_dtype: Any = None,
    order: Order = "auto",
    backend: str | None = None,
    mode: Mode = "worst",
    failure_probability: float = 1e-6,
    block: int | None = None,
) -> Tolerance:
    """The rounding-error bound of ``mean(x, axis)`` = ``fl(Σx)/n``: ``γ_{k+1}·mean|x|``
    (the sum's bound plus one rounding for the division). Options as
    :func:`sum_`.

    Example:
        >>> import numpy as np, nearly
        >>> x = np.full((1000, 3), 0.1, dtype=np.float32)
        >>> nearly.assert_close(x.mean(axis=0), np.full(3, 0.1), tol=nearly.tol.mean(x, axis=0))
    """
    arr = _host(x)
    axes = _axes(arr.ndim, axis)
    n = _count(arr, axes)
    if n == 0:
        raise ValueError("the mean of no elements has no rounding bound (it is NaN)")
    scale = _abs_sum(arr, axes) / n
    plan = _plan(x, arr, axes, n, dtype, acc_dtype, order, backend, block)
    outputs = max(1, scale.size)
    f = _sum_factor(plan, n, mode, outputs, failure_probability) + plan.u_acc
    alts = _alternatives(
        arr, axes, n, plan, mode, outputs, failure_probability, scale, extra=plan.u_acc, block=block
    )
    der = Derivation(
        "mean",
        plan.order,
        plan.k,
        plan.dtype,
        plan.acc_dtype,
        mode,
        plan.backend,
        alts,
        _vacuous(plan),
    )
    return _tolerance(f * scale, der)


def _moments(arr: Array, axes: tuple[int, ...]) -> tuple[Array, Array]:
    """Accurate mean and population variance over ``axes``: float64, two passes."""
    n = _count(arr, axes)
    mu = _slab_sum(arr, axes, transform=lambda b: b) / n
    v = _slab_sum(arr, axes, transform=np.square, center=mu) / n
    return mu, v


def var(
    x: Any,
    axis: int | Sequence[int] | None = None,
    *,
    ddof: int = 0,
    algorithm: Literal["two-pass", "textbook", "welford"] = "two-pass",
    dtype: Any = None,
    acc_dtype: Any = None,
    order: Order = "auto",
    backend: str | None = None,
    mode: Mode = "worst",
    failure_probability: float = 1e-6,
    block: int | None = None,
) -> Tolerance:
    """The rounding-error bound of the variance of ``x`` along ``axis``.

    With ``S = Σ(x − x̄)²``, ``κ = √(1 + x̄²/σ²)`` (the condition number, about |mean|/std) and
    ``g`` the summation factor of :func:`sum_` for the chosen order, the relative error of S
    is at most (Chan, Golub & LeVeque, *Amer. Statist.* 37(3), 1983, Table 1):

    * two-pass (NumPy, TensorFlow, PyTorch): ``g + g²·κ²``
    * textbook ``Σx² − (Σx)²/n``: ``g·κ²``
    * Welford / updating: ``g·κ``

    plus one rounding for the division and one for the output. Offset data (large κ) make
    the bound large: that is the algorithm's real accuracy there, not slack. Options as
    :func:`sum_`; ``ddof`` as in NumPy.
    """
    atol, der, _ = _var_bound(
        x,
        axis,
        ddof,
        algorithm,
        dtype,
        acc_dtype,
        order,
        backend,
        mode,
        failure_probability,
        block,
    )
    return _tolerance(atol, der)


def _var_bound(
    x: Any,
    axis: int | Sequence[int] | None,
    ddof: int,
    algorithm: str,
    dtype: Any,
    acc_dtype: Any,
    order: str,
    backend: str | None,
    mode: Mode,
    failure_probability: float,
    block: int | None,
) -> tuple[Array, Derivation, Array]:
    """The variance bound, its derivation and the accurate (ddof-corrected) std, from one
    read of the data: :func:`std` builds on all three."""
    arr = _host(x)
    axes = _axes(arr.ndim, axis)
    n = _count(arr, axes)
    if n - ddof <= 0:
        raise ValueError(f"the variance of {n} element(s) with ddof={ddof} is undefined")
    mu, v = _moments(arr, axes)
    plan = _plan(x, arr, axes, n, dtype, acc_dtype, order, backend, block)
    outputs = max(1, np.size(v))
    conv, g, out = _sum_terms(plan, n, mode, outputs, failure_probability)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa2 = np.where(v > 0, 1.0 + mu * mu / v, 1.0)
    rel = {"two-pass": g + g * g * kappa2, "textbook": g * kappa2, "welford": g * np.sqrt(kappa2)}
    if algorithm not in rel:
        raise ValueError(f"algorithm must be two-pass, textbook or welford; got {algorithm!r}")
    scale = v * n / (n - ddof)
    # inputs rounded to the computing dtype perturb S by about 2·u_in·κ (relative); the
    # division and the final cast add one rounding each
    linear = 2 * conv * np.sqrt(kappa2) + out + 2 * plan.u_acc
    # an exactly constant column (S = 0) still sees rounding of the mean: bound by x̄²·g
    floor = g * g * mu * mu
    atol = np.maximum((rel[algorithm] + linear) * scale, floor)
    der = Derivation(
        "var",
        plan.order,
        plan.k,
        plan.dtype,
        plan.acc_dtype,
        mode,
        plan.backend,
        vacuous=_vacuous(plan),
    )
    return atol, der, np.sqrt(scale)


def std(
    x: Any,
    axis: int | Sequence[int] | None = None,
    *,
    ddof: int = 0,
    algorithm: Literal["two-pass", "textbook", "welford"] = "two-pass",
    dtype: Any = None,
    acc_dtype: Any = None,
    order: Order = "auto",
    backend: str | None = None,
    mode: Mode = "worst",
    failure_probability: float = 1e-6,
    block: int | None = None,
) -> Tolerance:
    """The rounding-error bound of the standard deviation: from the variance bound δ,
    ``|√v̂ − √v| ≤ min(δ/σ, √δ)`` (√ is concave), plus one rounding for the square root.
    Options as :func:`var`."""
    delta, d, sigma = _var_bound(
        x,
        axis,
        ddof,
        algorithm,
        dtype,
        acc_dtype,
        order,
        backend,
        mode,
        failure_probability,
        block,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        via_sigma = np.where(sigma > 0, delta / sigma, np.inf)
    atol = np.minimum(via_sigma, np.sqrt(delta)) + _unit(d.acc_dtype) * sigma
    return _tolerance(
        atol,
        Derivation("std", d.order, d.k, d.dtype, d.acc_dtype, d.mode, d.backend, vacuous=d.vacuous),
    )


def dot(
    x: Any,
    y: Any,
    *,
    dtype: Any = None,
    acc_dtype: Any = None,
    order: Order = "any",
    mode: Mode = "worst",
    failure_probability: float = 1e-6,
) -> Tolerance:
    """The rounding-error bound of ``x·y``: ``γ_n·|x|ᵀ|y|`` for any order, with or without
    FMA (Higham §3.1); ``order="pairwise"`` gives ``γ_{⌈log2 n⌉+1}``."""
    a, b = _host(x).astype(np.float64).reshape(-1), _host(y).astype(np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"dot needs vectors of one length, got {a.size} and {b.size}")
    n = a.size
    scale = np.asarray(np.abs(a) @ np.abs(b))
    return _product_bound(
        "dot",
        _host(x),
        n,
        scale,
        dtype,
        acc_dtype,
        order,
        mode,
        failure_probability,
        _kernels.library_of(x),
    )


def matmul(
    a: Any,
    b: Any,
    *,
    dtype: Any = None,
    acc_dtype: Any = None,
    order: Order = "any",
    mode: Mode = "worst",
    failure_probability: float = 1e-6,
) -> Tolerance:
    """The rounding-error bound of ``a @ b``, per element: ``|C − Ĉ| ≤ γ_k·(|A||B|)`` with k
    the inner dimension (Higham §3.5). ``dtype="tf32"``: inputs rounded to TF32 (2·u_tf32 per
    product) and float32 accumulation. The result broadcasts against ``a @ b``."""
    A, B = _host(a), _host(b)
    k = A.shape[-1] if A.ndim else 1
    scale = np.abs(A.astype(np.float64)) @ np.abs(B.astype(np.float64))
    return _product_bound(
        "matmul",
        A,
        k,
        np.asarray(scale),
        dtype,
        acc_dtype,
        order,
        mode,
        failure_probability,
        _kernels.library_of(a),
    )


def _product_bound(
    op: str,
    arr: Array,
    n: int,
    scale: Array,
    dtype: Any,
    acc_dtype: Any,
    order: str,
    mode: Mode,
    failure_probability: float,
    library: str,
) -> Tolerance:
    tf32 = isinstance(dtype, str) and dtype.lower() == "tf32"
    dt = np.float32 if tf32 else (arr.dtype if dtype is None else dtype)
    if dtype is None and _dtypes.family(arr.dtype) not in ("float", "complex"):
        dt = np.float64
    acc = np.float32 if tf32 else (dt if acc_dtype is None else acc_dtype)
    low = _unit(dt) > 2.0**-24
    if acc_dtype is None and not tf32 and low and _kernels.accumulates_in_float32(library):
        acc = np.float32
    u_acc = _unit(acc)
    if order in ("auto", "any", "recursive"):
        chosen, k = "any", n
    elif order == "pairwise":
        chosen, k = "pairwise", (math.ceil(math.log2(n)) if n > 1 else 0) + 1
    else:
        raise ValueError(f"order for {op} must be any, recursive or pairwise; got {order!r}")
    g = _gamma(k, u_acc, mode, max(1, k * scale.size), failure_probability)
    conv = 2 * _unit("tf32") if tf32 else 0.0  # both operands rounded to TF32
    out = _unit(dt) if _unit(dt) > u_acc else 0.0
    der = Derivation(op, chosen, k, "tf32" if tf32 else _name(dt), _name(acc), mode, None)
    return _tolerance((g + conv + out) * scale, der)


def _softmax64(arr: Array, axis: int) -> tuple[Array, Array, Array]:
    x = arr.astype(np.float64)
    a = np.max(x, axis=axis, keepdims=True)
    z = np.exp(x - a)
    s = np.sum(z, axis=axis, keepdims=True)
    return x, a, z / s


def softmax(x: Any, axis: int = -1, *, dtype: Any = None, exp_ulps: int = 2) -> Tolerance:
    """The rounding-error bound of a shifted softmax along ``axis``, per element (Blanchard,
    D. J. Higham & N. J. Higham, IMA J. Numer. Anal. 41(4), 2021):
    ``|ĝ_j − g_j| ≲ g_j·((n+2)u + u|x_j − a| + u·Σ g_i|x_i − a| + 2·exp_ulps·u)`` with
    ``a = max x``."""
    arr = _host(x)
    dt = arr.dtype if dtype is None else dtype
    u = _unit(dt)
    x64, a, g = _softmax64(arr, axis)
    n = arr.shape[axis] if arr.ndim else 1
    spread = np.sum(g * np.abs(x64 - a), axis=axis, keepdims=True)
    rel = (n + 2) * u + u * np.abs(x64 - a) + u * spread + 2 * exp_ulps * u
    der = Derivation("softmax", "shifted", n, _name(dt), _name(dt), "worst", None)
    return _tolerance(g * rel + u * g, der)


def logsumexp(
    x: Any, axis: int | None = None, *, dtype: Any = None, exp_ulps: int = 2
) -> Tolerance:
    """The rounding-error bound of a shifted log-sum-exp (Blanchard, D. J. Higham & N. J.
    Higham 2021): ``|ŷ − y| ≲ u|y| + (n+1)u + u·Σ g_i|x_i − a| + exp_ulps·(n+1)·u``."""
    arr = _host(x)
    dt = arr.dtype if dtype is None else dtype
    u = _unit(dt)
    ax = -1 if axis is None else axis
    flat = arr.reshape(-1) if axis is None else arr
    x64, a, g = _softmax64(flat, ax)
    n = flat.shape[ax] if flat.ndim else 1
    y = np.squeeze(a, axis=ax) + np.log(np.sum(np.exp(x64 - a), axis=ax))
    spread = np.sum(g * np.abs(x64 - a), axis=ax)
    atol = u * np.abs(y) + (n + 1) * u + u * spread + exp_ulps * (n + 1) * u
    der = Derivation("logsumexp", "shifted", n, _name(dt), _name(dt), "worst", None)
    return _tolerance(atol, der)


def norm(
    x: Any,
    axis: int | Sequence[int] | None = None,
    *,
    dtype: Any = None,
    order: Order = "any",
    mode: Mode = "worst",
) -> Tolerance:
    """The rounding-error bound of the 2-norm ``√Σx²``: the sum of squares has relative
    error at most ``γ_{k+1}`` (all terms are non-negative), the square root halves it and adds
    one rounding: ``(γ_{k+1}/2 + u)·‖x‖``."""
    arr = _host(x)
    axes = _axes(arr.ndim, axis)
    n = _count(arr, axes)
    plan = _plan(x, arr, axes, n, dtype, None, "any" if order == "auto" else order, None, None)
    g = _gamma(plan.k + 1, plan.u_acc, mode, max(1, n), 1e-6)
    sq = np.sqrt(_slab_sum(arr, axes, transform=np.square))
    der = Derivation("norm", plan.order, plan.k, plan.dtype, plan.acc_dtype, mode, None)
    return _tolerance((g / 2 + plan.u_acc + plan.c_in * plan.u_in) * sq, der)
