"""Audit how the rounding error of a computation grows with data size and precision.

:func:`audit` runs the user's function on inputs of growing size, at each audited dtype and
again on the very same values cast up to float64 (or through an exact reference the user
gives), and measures the difference. The report says, per case and dtype:

* the largest and median error, absolute, relative and in ULPs of the output dtype;
* the derived worst-case bound (``bound=``, e.g. ``nearly.tol.mean``) and error / bound, with
  the bound under the other summation orders, so it can say which order the error fits;
* the growth exponent ``b`` of relative error ~ ``n**b``, fitted by least squares on log-log
  axes, with its R²;
* a verdict, and a tolerance to use in an assertion on the function, per size.

Verdicts (``AuditReport.verdicts``):

================ ===========================================================================
beyond-bound     the error exceeds the derived worst-case bound at some size, or the output
                 is not finite where the reference is: a bug, or cancellation the bound's
                 model misses. Takes precedence over the growth verdicts.
linear           ``b >= 0.75``: rounding errors that lean one way pile up (biased rounding,
                 e.g. adding same-sign values one at a time).
random-walk      ``0.25 <= b < 0.75``: independent rounding errors, growing like √n.
stable           ``b < 0.25``: flat, or the ~log n of pairwise summation (log2 n grows
                 by a factor 3 over 1e2..1e6: an exponent of about 0.12).
================ ===========================================================================

Relative error is normwise: the largest absolute error of a run over the largest magnitude of
its reference output, so outputs with near-zero entries (the mean of centred data, the mean
of standardized data) do not divide by zero. Errors below ``u/16`` of the output dtype count as
``u/16`` in the fit: a correctly rounded result is already up to ``u`` off, nothing below that
carries information. The fit uses, at each size, the median over seeds of the run's largest
relative error, up to the first size where that error reaches 1/2: from there the result has
no correct digits and its error cannot grow any further. Where relative error says nothing at
all (no correct digits at any size, or a reference of zero) the absolute error is fitted
instead (``Trend.basis``).

The recommended tolerance is the derived bound where one is known, holds at that size and is
not vacuous (the order guarantees some accuracy), else the largest observed error times
:data:`SAFETY` (at least ``SAFETY`` units of roundoff of the output's magnitude).
"""

from __future__ import annotations

import contextlib
import math
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nearly._prim import dtypes as _dtypes
from nearly.backends import backend_of, loaded_versions

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "LINEAR_FROM",
    "SAFETY",
    "STABLE_BELOW",
    "VERDICTS",
    "AuditReport",
    "Case",
    "Cell",
    "Trend",
    "audit",
    "fit_growth",
    "parse_dtypes",
    "parse_sizes",
    "run_cases",
]

from nearly._audit.verdicts import (
    FLOOR,
    LINEAR_FROM,
    SAFETY,
    SATURATED,
    STABLE_BELOW,
    VERDICTS,
)
from nearly._audit.verdicts import size_label as _size

Array = np.ndarray[Any, Any]
Progress = Callable[[int, int, str], None]


class AuditError(RuntimeError):
    """The audited function (or its inputs factory, bound or reference) raised; the message
    names the case, size, dtype and seed, and the original exception is chained."""


# ------------------------------------------------------------------------------ cases


@dataclass(frozen=True)
class Case:
    """One audited computation: ``fn(*make_inputs(n, dtype, rng))``.

    ``bound(*inputs)`` returns a :class:`~nearly.Tolerance` (or a sequence of them, one per
    output leaf) bounding the rounding error of ``fn``; ``reference`` is ``"float64"`` (run
    ``fn`` on the inputs cast up to float64) or a callable returning the exact result.
    ``group`` names the plot panel; ``max_n`` caps the sizes run for this case.
    """

    name: str
    fn: Callable[..., Any]
    make_inputs: Callable[..., Any]
    bound: Callable[..., Any] | None = None
    reference: str | Callable[..., Any] = "float64"
    group: str = ""
    label: str = ""  # the line's name inside its group's panel (e.g. the framework)
    max_n: int | None = None


# ------------------------------------------------------------------------ validation


def parse_sizes(sizes: Any) -> tuple[int, ...]:
    """Sizes as sorted distinct positive integers. Accepts integers, integral floats
    (``1e6``), and strings: a comma list (``"100,1000"``) or a range of decades
    (``"1e2..1e6"``: 100, 1000, ..., 1e6).

    >>> parse_sizes("1e2..1e4")
    (100, 1000, 10000)
    >>> parse_sizes([1e3, 10, 10])
    (10, 1000)
    """
    if isinstance(sizes, str):
        sizes = _sizes_from_text(sizes)
    elif isinstance(sizes, int | float | np.integer | np.floating):
        sizes = [sizes]
    try:
        items = list(sizes)
    except TypeError:
        raise TypeError(
            f"sizes must be a sequence of positive integers, got {type(sizes).__name__}"
        ) from None
    out: set[int] = set()
    for s in items:
        if isinstance(s, bool | np.bool_) or not isinstance(
            s, int | float | np.integer | np.floating
        ):
            raise TypeError(f"sizes must be positive integers, got {s!r}")
        if not math.isfinite(float(s)) or float(s) != int(s) or int(s) < 1:
            raise ValueError(f"sizes must be positive integers, got {s!r}")
        out.add(int(s))
    if len(out) < 2:
        raise ValueError(
            f"sizes needs at least two distinct sizes to fit a growth exponent, got {items!r}"
        )
    return tuple(sorted(out))


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"not a size: {text!r} (expected e.g. 1000 or 1e3)") from None


def _sizes_from_text(text: str) -> list[float]:
    text = text.strip()
    if ".." in text:
        lo_text, _, hi_text = text.partition("..")
        lo, hi = _number(lo_text), _number(hi_text)
        if not (lo >= 1 and hi > lo) or not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"a size range needs 1 <= low < high, got {text!r}")
        out = []
        v = lo
        while v <= hi * (1 + 1e-9):
            out.append(float(round(v)))
            v *= 10
        if out[-1] < hi:
            out.append(float(round(hi)))
        return out
    return [_number(t) for t in text.split(",") if t.strip()]


def parse_dtypes(dtypes: Any) -> tuple[np.dtype[Any], ...]:
    """Floating-point dtypes from names (``"float32,bfloat16"`` or a sequence) or dtypes.

    >>> [d.name for d in parse_dtypes("float32,float16")]
    ['float32', 'float16']
    """
    from nearly._prim.dtypes import as_dtype as _as_dtype

    if isinstance(dtypes, str):
        dtypes = [t.strip() for t in dtypes.split(",") if t.strip()]
    elif not isinstance(dtypes, list | tuple):
        dtypes = [dtypes]
    if not dtypes:
        raise ValueError("dtypes is empty: name at least one floating-point dtype")
    out: list[np.dtype[Any]] = []
    for d in dtypes:
        name = d if isinstance(d, str) else getattr(d, "name", d)
        try:
            dt = _as_dtype(name if isinstance(name, str) else d)
        except TypeError:
            hint = " (bfloat16 and float8 need the ml_dtypes package)" if "float" in str(d) else ""
            raise ValueError(f"unknown dtype {d!r}{hint}") from None
        if _dtypes.family(dt) != "float":
            raise ValueError(
                f"dtypes must be floating-point formats, got {_dtypes.dtype_label(dt)}"
            )
        if dt not in out:
            out.append(dt)
    return tuple(out)


def _seeds(seeds: Any) -> tuple[int, ...]:
    if isinstance(seeds, bool) or not isinstance(seeds, int | Sequence):
        raise TypeError(f"seeds must be a count or a sequence of integers, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"seeds must be at least 1, got {seeds}")
        return tuple(range(seeds))
    out = tuple(int(s) for s in seeds)
    if not out or any(s < 0 for s in out):
        raise ValueError(f"seeds must be non-negative integers, at least one, got {seeds!r}")
    return out


# ------------------------------------------------------------- framework-aware casting


def _upcast(x: Any, found: set[Any]) -> Any:
    """``x`` with every floating-point array (any framework) cast up to float64 in its own
    framework, exactly (each backend's ``upcast``); containers are rebuilt, other values
    kept. Records the backends seen in ``found``."""
    if isinstance(x, tuple):
        items = [_upcast(v, found) for v in x]
        return type(x)(*items) if hasattr(x, "_fields") else tuple(items)
    if isinstance(x, list):
        return [_upcast(v, found) for v in x]
    if isinstance(x, dict):
        return {k: _upcast(v, found) for k, v in x.items()}
    backend = backend_of(x)
    found.add(backend)
    upcast = getattr(backend, "upcast", None)
    return x if upcast is None else upcast(x)


def _float64(backends: set[Any]) -> contextlib.ExitStack:
    """The contexts in which the ``backends``' frameworks compute in float64 (JAX needs 64-bit
    types enabled), entered together."""
    stack = contextlib.ExitStack()
    for backend in backends:
        context = getattr(backend, "float64_context", None)
        if context is not None:
            stack.enter_context(context())
    return stack


def _leaves(out: Any) -> list[Any]:
    if isinstance(out, dict):
        return [v for k in sorted(out, key=str) for v in _leaves(out[k])]
    if isinstance(out, tuple | list):
        return [v for item in out for v in _leaves(item)]
    return [out]


def _to_host(x: Any) -> Array:
    from nearly._tolerance.bounds import _host

    return np.asarray(_host(x, "the audit"))


# -------------------------------------------------------------------------- measuring


@dataclass
class _Run:
    """One seed of one cell. The per-element arrays are dropped by :meth:`shrink` once the
    bound has been applied, so a long audit holds summaries only."""

    abs_err: Array
    rel_err: Array  # abs_err / scale
    ulps: Array
    scale: float
    nonfinite: str  # "" or where NaN/Inf appear that the other side lacks: "output"/"reference"
    out_dtype: np.dtype[Any]
    undefined: bool = False  # the reference has no finite value at all
    bound_max: float | None = None
    ratio: float | None = None
    orders: dict[str, float] = field(default_factory=dict)  # order -> max error / its bound
    order: str | None = None
    k: int | None = None
    vacuous: bool = False
    stats: dict[str, float] = field(default_factory=dict)

    def shrink(self) -> _Run:
        for name, arr in (("abs", self.abs_err), ("rel", self.rel_err), ("ulps", self.ulps)):
            self.stats[f"max_{name}"] = _max(arr)
            self.stats[f"median_{name}"] = float(np.median(arr)) if arr.size else 0.0
        self.abs_err = self.rel_err = self.ulps = np.zeros(0)
        return self


def _errors(
    actual: list[Array], expected: list[Array]
) -> tuple[list[Array], list[Array], float, str]:
    errs, ulps = [], []
    nonfinite = ""
    scale = 0.0
    for e in expected:
        e64 = e.astype(np.float64)
        fin = np.isfinite(e64)
        if fin.any():
            scale = max(scale, float(np.max(np.abs(e64[fin]))))
    for a, e in zip(actual, expected, strict=True):
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            err = np.abs(a64 - e64)
        same = (a64 == e64) | (np.isnan(a64) & np.isnan(e64))
        err = np.where(same, 0.0, err)
        bad = ~np.isfinite(err)
        if bad.any():
            out_bad = bad & ~np.isfinite(a64) & np.isfinite(e64)
            nonfinite = nonfinite or ("output" if out_bad.any() else "reference")
            err = np.where(bad, np.inf, err)
        errs.append(err.reshape(-1))
        if _dtypes.family(a.dtype) == "float":
            dist = np.where(same, 0.0, _dtypes.ulp_distance(a, e64, a.dtype))
            ulps.append(np.where(np.isnan(dist), np.inf, dist).reshape(-1))
        else:
            ulps.append(err.reshape(-1))
    return errs, ulps, scale, nonfinite


def _as_tolerances(value: Any, count: int, case: str) -> list[Any]:
    from nearly._tolerance.tolerance import Tolerance

    if isinstance(value, Tolerance):
        items: list[Any] = [value]
    elif isinstance(value, list | tuple) and all(isinstance(v, Tolerance) for v in value):
        items = list(value)
    else:
        try:
            items = [Tolerance(atol=np.asarray(value, dtype=np.float64))]
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"bound of {case!r} must return a nearly.Tolerance (e.g. nearly.tol.mean(x, "
                f"axis=0)), a sequence of them, or an atol; got {type(value).__name__}"
            ) from exc
    if len(items) != count:
        raise ValueError(
            f"bound of {case!r} returned {len(items)} tolerance(s) for {count} output leaves"
        )
    return items


def _fit(values: Any, shape: tuple[int, ...], what: str, case: str) -> Array:
    arr = np.asarray(values, dtype=np.float64)
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(
            f"bound of {case!r}: {what} of shape {arr.shape} does not fit the output shape {shape}"
        ) from None


def _ratio(err: Array, allowed: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(allowed > 0, err / np.where(allowed > 0, allowed, 1.0), np.inf)
    return np.asarray(np.where(err == 0, 0.0, r))


def _apply_bound(
    run: _Run, tols: list[Any], actual: list[Array], expected: list[Array], case: str
) -> None:
    ratios: list[Array] = []
    alt_ratios: dict[str, list[Array]] = {}
    bound_max = 0.0
    order = None
    k = None
    vacuous = False
    start = 0
    for t, a, e in zip(tols, actual, expected, strict=True):
        size = a.size
        err = run.abs_err[start : start + size].reshape(a.shape)
        ulps = run.ulps[start : start + size].reshape(a.shape)
        start += size
        e64 = np.abs(e.astype(np.float64))
        allowed = _fit(t.atol, a.shape, "atol", case) + _fit(t.rtol, a.shape, "rtol", case) * e64
        r = _ratio(err, allowed)
        if t.ulps:
            r = np.minimum(r, ulps / t.ulps)
        ratios.append(r.reshape(-1))
        if allowed.size:
            bound_max = max(bound_max, float(np.max(allowed)))
        der = t.derivation
        if der is not None:
            order, k = str(der.order), int(der.k)
            vacuous = vacuous or bool(der.vacuous)
            alt_ratios.setdefault(order, []).append(r.reshape(-1))
            for name, value in (der.alternatives or {}).items():
                alt = _fit(value, a.shape, f"the {name} bound", case)
                alt_ratios.setdefault(str(name), []).append(_ratio(err, alt).reshape(-1))
    run.ratio = _max(np.concatenate(ratios)) if ratios else None
    run.bound_max = bound_max
    run.order, run.k, run.vacuous = order, k, vacuous
    run.orders = {name: _max(np.concatenate(parts)) for name, parts in alt_ratios.items()}


def _max(x: Array) -> float:
    return float(np.max(x)) if x.size else 0.0


def _measure(case: Case, dt: np.dtype[Any], n: int, seed: int) -> _Run:
    where = f"{case.name!r} at n={n}, dtype={_dtypes.dtype_label(dt)}, seed={seed}"
    rng = np.random.default_rng([seed, n])
    try:
        made = case.make_inputs(n, dt, rng)
    except Exception as exc:
        raise AuditError(f"make_inputs for {where} raised {type(exc).__name__}: {exc}") from exc
    args = made if isinstance(made, tuple) and not hasattr(made, "_fields") else (made,)
    try:
        with np.errstate(all="ignore"):  # NaN/Inf in the output are measured, not warned of
            out = case.fn(*args)
    except Exception as exc:
        raise AuditError(f"{where}: the function raised {type(exc).__name__}: {exc}") from exc
    try:
        if callable(case.reference):
            ref = case.reference(*args)
        else:
            found: set[Any] = set()
            up = _upcast(args, found)
            with _float64(found), np.errstate(all="ignore"):
                ref = case.fn(*up)
    except Exception as exc:
        raise AuditError(f"{where}: the reference run raised {type(exc).__name__}: {exc}") from exc
    actual = [_to_host(v) for v in _leaves(out)]
    expected = [_to_host(v) for v in _leaves(ref)]
    if len(actual) != len(expected):
        raise ValueError(
            f"{where}: the function returned {len(actual)} values but the reference {len(expected)}"
        )
    for a, e in zip(actual, expected, strict=True):
        if a.shape != e.shape:
            raise ValueError(
                f"{where}: output shape {a.shape} differs from the reference's {e.shape}"
            )
        if (
            not callable(case.reference)
            and _dtypes.family(a.dtype) == "float"
            and _dtypes.family(e.dtype) == "float"
            and _dtypes.float_format(e.dtype).p <= _dtypes.float_format(a.dtype).p
            and a.dtype != np.dtype(np.float64)
        ):
            raise ValueError(
                f"{where}: on float64 inputs the function returned "
                f"{_dtypes.dtype_label(e.dtype)}, so it is no reference: make the function "
                "compute in its inputs' dtype, or pass reference= a callable that computes "
                "the exact result"
            )
    errs, ulps, scale, nonfinite = _errors(actual, expected)
    abs_err = np.concatenate(errs) if errs else np.zeros(0)
    rel = abs_err / scale if scale > 0 else np.where(abs_err > 0, np.inf, 0.0)
    undefined = not any(np.isfinite(e.astype(np.float64)).any() for e in expected)
    run = _Run(
        abs_err,
        rel,
        np.concatenate(ulps) if ulps else np.zeros(0),
        scale,
        nonfinite,
        actual[0].dtype,
        undefined,
    )
    if case.bound is not None:
        try:
            value = case.bound(*args)
        except Exception as exc:
            raise AuditError(f"{where}: bound raised {type(exc).__name__}: {exc}") from exc
        _apply_bound(
            run, _as_tolerances(value, len(actual), case.name), actual, expected, case.name
        )
    return run.shrink()


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Cell:
    """The measurements of one case at one dtype and size, over all seeds.

    Errors: ``max_*`` is the worst element of any seed, ``median_*`` the median element (the
    median over seeds of each run's median);
    relative errors are over the largest reference magnitude (``scale``); ULPs are counted in
    the output dtype. ``fit_rel`` is the value the growth fit uses (median over seeds of each
    run's largest relative error). ``bound`` is the derived bound's largest element (None when
    no bound is known), ``ratio`` the largest error / bound over elements and seeds, and
    ``orders`` the same ratio under each summation order the derivation names. ``nonfinite``
    says where NaN or Inf appear that the other side lacks: ``"output"`` (overflow, a
    division by zero), ``"reference"`` (the problem is undefined on these values), or "";
    ``undefined`` that the reference has no finite value at all.
    """

    case: str
    dtype: str
    n: int
    seeds: int
    max_abs: float
    median_abs: float
    max_rel: float
    median_rel: float
    max_ulps: float
    median_ulps: float
    fit_rel: float
    fit_abs: float
    scale: float
    nonfinite: str
    undefined: bool
    bound: float | None
    ratio: float | None
    order: str | None
    k: int | None
    vacuous: bool
    orders: dict[str, float]
    recommended_atol: float
    recommended_rtol: float
    recommended_from: str  # "derived bound" or "observed x4"


@dataclass(frozen=True)
class Trend:
    """One case at one dtype across sizes: the growth exponent of relative error, its R², the
    verdict, a one-line note, and how the recommended tolerance grows."""

    case: str
    dtype: str
    group: str
    label: str
    exponent: float
    r2: float
    basis: str  # "relative" error, or "absolute" where relative error says nothing
    verdict: str
    note: str
    within: tuple[str, ...]  # summation orders whose bound held at every size
    beyond: dict[str, float]  # order -> worst error / that order's bound (> 1)
    tolerance_exponent: float
    tolerance_grows: bool


def fit_growth(ns: Sequence[float], values: Sequence[float]) -> tuple[float, float]:
    """Least-squares slope and R² of ``log10(values)`` against ``log10(ns)``, over the finite
    positive values (NaN, NaN with fewer than two). A perfectly flat series has R² = 1.

    >>> fit_growth([10, 100, 1000], [1e-6, 1e-5, 1e-4])
    (1.0, 1.0)
    """
    pts = [
        (math.log10(n), math.log10(v))
        for n, v in zip(ns, values, strict=True)
        if math.isfinite(v) and v > 0 and n > 0
    ]
    if len({p[0] for p in pts}) < 2:
        return math.nan, math.nan
    x = np.array([p[0] for p in pts])
    y = np.array([p[1] for p in pts])
    xm, ym = x.mean(), y.mean()
    slope = float(np.sum((x - xm) * (y - ym)) / np.sum((x - xm) ** 2))
    resid = y - (ym + slope * (x - xm))
    ss_tot = float(np.sum((y - ym) ** 2))
    ss_res = float(np.sum(resid**2))
    r2 = 1.0 if ss_tot <= 1e-24 else max(0.0, 1.0 - ss_res / ss_tot)
    return round(slope, 12), round(r2, 12)


def _cell(case: Case, dt: np.dtype[Any], n: int, runs: list[_Run]) -> Cell:
    out_dt = runs[0].out_dtype
    u = 2.0 ** -_dtypes.float_format(out_dt).p if _dtypes.family(out_dt) == "float" else 0.0

    def worst(name: str) -> float:
        return max(r.stats[name] for r in runs)

    def median(name: str) -> float:
        return float(np.median([r.stats[name] for r in runs]))

    fit_rel = median("max_rel")
    if u > 0 and math.isfinite(fit_rel):
        fit_rel = max(fit_rel, FLOOR * u)
    scale = float(np.median([r.scale for r in runs]))
    has_bound = case.bound is not None
    ratio = max((r.ratio or 0.0) for r in runs) if has_bound else None
    bound = max((r.bound_max or 0.0) for r in runs) if has_bound else None
    vacuous = any(r.vacuous for r in runs)
    orders: dict[str, float] = {}
    for r in runs:
        for name, v in r.orders.items():
            orders[name] = max(orders.get(name, 0.0), v)
    max_abs = worst("max_abs")
    nonfinite = next((r.nonfinite for r in runs if r.nonfinite), "")
    if (
        has_bound
        and bound is not None
        and ratio is not None
        and not vacuous
        and ratio <= 1
        and not nonfinite
    ):
        rec_atol, rec_from = bound, "derived bound"
    else:
        floor = u * scale if math.isfinite(scale) else 0.0
        rec_atol, rec_from = SAFETY * max(max_abs, floor), f"observed x{SAFETY:g}"
    return Cell(
        case=case.name,
        dtype=_dtypes.dtype_label(dt),
        n=n,
        seeds=len(runs),
        max_abs=max_abs,
        median_abs=median("median_abs"),
        max_rel=worst("max_rel"),
        median_rel=median("median_rel"),
        max_ulps=worst("max_ulps"),
        median_ulps=median("median_ulps"),
        fit_rel=fit_rel,
        fit_abs=median("max_abs"),
        scale=scale,
        nonfinite=nonfinite,
        undefined=any(r.undefined for r in runs),
        bound=bound,
        ratio=ratio,
        order=runs[0].order,
        k=max((r.k or 0) for r in runs) if runs[0].k is not None else None,
        vacuous=vacuous,
        orders=orders,
        recommended_atol=rec_atol,
        recommended_rtol=rec_atol / scale if scale > 0 else math.inf,
        recommended_from=rec_from,
    )


def _times(x: float) -> str:
    return f"{x:.3g}×" if x < 1e4 else f"{x:.1e}×"


def _trend(case: Case, dtype: str, cells: list[Cell]) -> Trend:
    # once a result has no correct digits its error cannot grow further: fit the growth up to
    # the first saturated size and leave the flat tail out
    saturated = [c.n for c in cells if c.fit_rel >= SATURATED]
    upto = [c for c in cells if not saturated or c.n <= saturated[0]]
    basis = "relative"
    if len(upto) < 2:
        # no correct digits at any size (or a reference of zero): relative error says
        # nothing about growth, the absolute error still does
        upto, basis = cells, "absolute"
    exponent, r2 = fit_growth(
        [c.n for c in upto], [c.fit_rel if basis == "relative" else c.fit_abs for c in upto]
    )
    tol_exp, _ = fit_growth(
        [c.n for c in upto],
        [c.recommended_rtol if basis == "relative" else c.recommended_atol for c in upto],
    )
    nonfinite = [c.n for c in cells if c.nonfinite]
    named = {"any": "any-order"}
    over = [c for c in cells if c.ratio is not None and c.ratio > 1]
    orders: dict[str, float] = {}
    for c in cells:
        for name, v in c.orders.items():
            orders[name] = max(orders.get(name, 0.0), v)
    within = tuple(sorted(name for name, v in orders.items() if v <= 1))
    beyond = {name: v for name, v in sorted(orders.items()) if v > 1}
    if nonfinite or over:
        verdict = "beyond-bound"
    elif not math.isfinite(exponent) or exponent < STABLE_BELOW:
        verdict = "stable"
    elif exponent < LINEAR_FROM:
        verdict = "random-walk"
    else:
        verdict = "linear"
    parts = []
    if math.isfinite(exponent):
        fast = " (faster than linear)" if exponent >= 1.5 else ""
        parts.append(f"{basis} error ~ n^{exponent:.2f}{fast} (R²={r2:.2f})")
    if nonfinite:
        first = next(c for c in cells if c.nonfinite)
        if first.nonfinite == "output":
            parts.append(
                f"NaN/Inf in the output where the reference is finite from n={_size(first.n)}"
            )
        else:
            parts.append(
                f"the reference is NaN/Inf where the output is not from n={_size(first.n)}: the "
                "problem is undefined on these values, the output hides it"
            )
    undefined = [c.n for c in cells if c.undefined]
    if undefined:
        parts.append(
            f"the reference has no finite value from n={_size(undefined[0])}: the problem is "
            "undefined on these values at this dtype (constant data?), nothing is measured there"
        )
    if over:
        worst = max(over, key=lambda c: c.ratio or 0.0)
        parts.append(
            f"exceeds the derived bound ({worst.order or 'given'}) by {_times(worst.ratio or 0)} "
            f"at n={_size(worst.n)}"
        )
    chosen = cells[-1].order
    if within and chosen in within and beyond:
        ok = " and ".join(named.get(w, w) for w in within) + (
            " bounds" if len(within) > 1 else " bound"
        )
        bad = "; ".join(
            f"beyond the {named.get(k, k)} bound by up to {_times(v)}" for k, v in beyond.items()
        )
        parts.append(f"within the {ok}; {bad}: the accumulation is not {', '.join(beyond)}")
    elif within and not over:
        ok = " and ".join(named.get(w, w) for w in within) + (
            " bounds" if len(within) > 1 else " bound"
        )
        parts.append(f"within the {ok} at every size")
    if any(c.vacuous for c in cells):
        first_n = next(c.n for c in cells if c.vacuous)
        parts.append(f"the bound guarantees nothing from n={_size(first_n)} (k·u >= 1)")
    if saturated:
        fitted = f"fitted up to n={_size(upto[-1].n)}; " if len(upto) < len(cells) else ""
        parts.append(
            f"{fitted}no correct digits left from n={_size(saturated[0])} (relative error >= "
            f"{SATURATED:g}): no tolerance makes an assertion there meaningful"
        )
    return Trend(
        case=case.name,
        dtype=dtype,
        group=case.group or case.name,
        label=case.label or case.name,
        exponent=exponent,
        r2=r2,
        basis=basis,
        verdict=verdict,
        note="; ".join(parts),
        within=within,
        beyond=beyond,
        tolerance_exponent=tol_exp,
        tolerance_grows=bool(math.isfinite(tol_exp) and tol_exp >= STABLE_BELOW),
    )


@dataclass(frozen=True)
class AuditReport:
    """What :func:`nearly.audit` measured: one :class:`Cell` per case, dtype and size, one
    :class:`Trend` per case and dtype. ``verdicts`` maps ``(case, dtype)`` to one of
    ``"stable"``, ``"random-walk"``, ``"linear"``, ``"beyond-bound"``."""

    cells: tuple[Cell, ...]
    trends: tuple[Trend, ...]
    sizes: tuple[int, ...]
    dtypes: tuple[str, ...]
    seeds: tuple[int, ...]
    reference: str
    seconds: float
    environment: dict[str, str]
    skipped: tuple[tuple[str, str, str], ...] = ()  # (case, dtype, why)
    command: str = ""

    @property
    def verdicts(self) -> dict[tuple[str, str], str]:
        """``(case, dtype) -> verdict``."""
        return {(t.case, t.dtype): t.verdict for t in self.trends}

    @property
    def cases(self) -> tuple[str, ...]:
        """The audited case names, in order."""
        return tuple(dict.fromkeys(t.case for t in self.trends))

    def trend(self, case: str, dtype: str) -> Trend:
        """The trend of ``case`` at ``dtype`` (KeyError naming what exists otherwise)."""
        for t in self.trends:
            if t.case == case and t.dtype == dtype:
                return t
        raise KeyError(f"no audited case {case!r} at {dtype}; cases: {list(self.verdicts)}")

    def cells_of(self, case: str, dtype: str) -> list[Cell]:
        """The cells of ``case`` at ``dtype``, by increasing size."""
        return sorted((c for c in self.cells if c.case == case and c.dtype == dtype), key=_n)

    def cell(self, case: str, dtype: str, n: int) -> Cell:
        for c in self.cells:
            if c.case == case and c.dtype == dtype and c.n == n:
                return c
        raise KeyError(f"no cell {case!r} at {dtype}, n={n}")

    def to_dict(self) -> dict[str, Any]:
        """Everything, as JSON-ready data (non-finite numbers become the strings "nan", "inf",
        "-inf")."""
        from nearly._audit.render import to_dict

        return to_dict(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        from nearly._audit.render import to_json

        return to_json(self, indent=indent)

    def to_text(self, *, detail: bool | None = None) -> str:
        """A terminal table: one row per case and dtype, and per-size rows when ``detail``
        (default: when there are at most four case/dtype pairs)."""
        from nearly._audit.render import to_text

        return to_text(self, detail=detail)

    def to_markdown(self, *, image: str | None = None) -> str:
        """A markdown report; ``image`` links a plot written by :meth:`plot`."""
        from nearly._audit.render import to_markdown

        return to_markdown(self, image=image)

    def plot(self, path: str | Path) -> Path:
        """Write a PNG of relative error against n (log-log), one panel per case group, one
        line per dtype (and framework), the derived bound dashed. Needs matplotlib
        (``pip install 'nearly[plot]'``)."""
        from nearly._audit.render import plot

        return plot(self, path)

    def __str__(self) -> str:
        return self.to_text()


def _n(c: Cell) -> int:
    return c.n


def _environment() -> dict[str, str]:
    env = {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "numpy": np.__version__,
    }
    env.update(loaded_versions())
    import os

    env["cpus"] = str(os.cpu_count() or "?")
    return env


def run_cases(
    cases: Sequence[Case],
    *,
    sizes: Any,
    dtypes: Any,
    seeds: Any = 3,
    progress: Progress | None = None,
    skip_unsupported: bool = False,
    command: str = "",
    max_n: Mapping[str, int] | None = None,
) -> AuditReport:
    """Audit several cases (the engine of :func:`audit` and of the built-in suite).

    With ``skip_unsupported``, a case that cannot be audited at a dtype (its function raises,
    or returns something unusable) is left out at that dtype and listed in
    ``AuditReport.skipped`` instead of stopping the audit. ``max_n`` caps
    the sizes run per dtype name (e.g. ``{"bfloat16": 100_000}``).
    """
    size_list = parse_sizes(sizes)
    dts = parse_dtypes(dtypes)
    seed_list = _seeds(seeds)
    if not cases:
        raise ValueError("nothing to audit: no cases")
    names = [c.name for c in cases]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"case names must be unique; repeated: {dup}")
    for c in cases:
        if not callable(c.reference) and c.reference != "float64":
            raise ValueError(
                f"reference must be 'float64' or a callable returning the exact result, "
                f"got {c.reference!r}"
            )
        if not callable(c.reference) and np.dtype(np.float64) in dts:
            raise ValueError(
                "auditing float64 against a float64 reference measures nothing: pass "
                "reference= a callable that computes the exact result (e.g. with math.fsum)"
            )
    caps = dict(max_n or {})

    def fits(c: Case, dt: np.dtype[Any], n: int) -> bool:
        cap = caps.get(_dtypes.dtype_label(dt))
        return (c.max_n is None or n <= c.max_n) and (cap is None or n <= cap)

    plan = [(c, dt, [n for n in size_list if fits(c, dt, n)]) for c in cases for dt in dts]
    total = sum(len(ns) * len(seed_list) for _, _, ns in plan)
    done = 0
    start = time.perf_counter()
    cells: list[Cell] = []
    trends: list[Trend] = []
    skipped: list[tuple[str, str, str]] = []
    for case, dt, ns in plan:
        label = _dtypes.dtype_label(dt)
        these: list[Cell] = []
        base = done
        try:
            for n in ns:
                runs = []
                for seed in seed_list:
                    if progress is not None:
                        progress(done, total, f"{case.name} ({label}, n={_size(n)})")
                    runs.append(_measure(case, dt, n, seed))
                    done += 1
                these.append(_cell(case, dt, n, runs))
        except (AuditError, ValueError, TypeError) as exc:
            if not skip_unsupported:
                raise
            cause = (exc.__cause__ or exc) if isinstance(exc, AuditError) else exc
            skipped.append((case.name, label, f"{type(cause).__name__}: {_line(cause)}"))
            done = base + len(ns) * len(seed_list)
            continue
        if len(these) < 2:
            skipped.append((case.name, label, "fewer than two sizes within its size cap"))
            continue
        cells.extend(these)
        trends.append(_trend(case, label, these))
    if progress is not None:
        progress(total, total, "done")
    return AuditReport(
        cells=tuple(cells),
        trends=tuple(trends),
        sizes=size_list,
        dtypes=tuple(_dtypes.dtype_label(d) for d in dts),
        seeds=seed_list,
        reference="float64"
        if all(not callable(c.reference) for c in cases)
        else "given by the caller",
        seconds=time.perf_counter() - start,
        environment=_environment(),
        skipped=tuple(skipped),
        command=command,
    )


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text[:160] + "…") if len(text) > 160 else (text or type(exc).__name__)


def audit(
    fn: Callable[..., Any],
    make_inputs: Callable[..., Any],
    *,
    sizes: Any,
    dtypes: Any = ("float32",),
    reference: str | Callable[..., Any] = "float64",
    seeds: int | Sequence[int] = 3,
    bound: Callable[..., Any] | None = None,
    name: str | None = None,
    progress: Progress | None = None,
) -> AuditReport:
    """Measure how the rounding error of ``fn`` grows with size and precision.

    For each size ``n`` in ``sizes``, dtype in ``dtypes`` and seed, ``make_inputs(n, dtype,
    rng)`` builds the inputs (one value or a tuple of arguments; ``dtype`` is a NumPy dtype,
    ``rng`` a seeded ``numpy.random.Generator``) and ``fn(*inputs)`` is compared with the
    reference: ``fn`` run again on the same values cast up to float64 in their own
    framework (``reference="float64"``; JAX runs it with 64-bit types enabled), or
    ``reference(*inputs)`` when a callable gives the exact result.

    Args:
        fn: the computation, in any framework; its output (an array or a tuple/list/dict of
            them) is read back to the host.
        make_inputs: ``(n, dtype, rng) -> inputs``.
        sizes: at least two sizes: integers, or a string ``"1e2..1e6"`` (decades) or
            ``"100,1000"``.
        dtypes: floating-point dtypes or their names (``"float32,bfloat16"``); float64 needs a
            callable ``reference``.
        reference: ``"float64"`` or a callable returning the exact result.
        seeds: a number of seeds, or the seeds themselves.
        bound: ``(*inputs) -> Tolerance``, the derived error bound of ``fn``, e.g.
            ``lambda x: nearly.tol.mean(x, axis=0)``.
        name: the case name in the report (default: ``fn``'s name).
        progress: called as ``progress(done, total, label)`` before each run.

    The float64 re-run measures rounding, not the formula: a function that is wrong in the
    same way at every precision agrees with its own re-run. To check the formula too, pass
    ``reference=`` an independent exact computation.

    Raises:
        ValueError / TypeError: bad sizes, dtypes, seeds, reference or bound, or a function
            whose float64 run does not return float64.
        RuntimeError: ``fn``, ``make_inputs``, ``bound`` or ``reference`` raised; the message
            names the case, size, dtype and seed, and the original exception is chained.

    Example:
        >>> import numpy as np, nearly
        >>> report = nearly.audit(
        ...     lambda x: x.sum(axis=-1),
        ...     lambda n, dtype, rng: rng.uniform(0, 1, (4, n)).astype(dtype),
        ...     sizes=[100, 1000, 10000],
        ...     bound=lambda x: nearly.tol.sum(x, axis=-1),
        ... )
        >>> report.verdicts[("<lambda>", "float32")]
        'stable'
    """
    if not callable(fn) or not callable(make_inputs):
        raise TypeError("audit needs a callable fn and a callable make_inputs(n, dtype, rng)")
    if bound is not None and not callable(bound):
        raise TypeError(f"bound must be a callable returning a nearly.Tolerance, got {bound!r}")
    case = Case(
        name=name or getattr(fn, "__qualname__", None) or repr(fn),
        fn=fn,
        make_inputs=make_inputs,
        bound=bound,
        reference=reference,
    )
    return run_cases([case], sizes=sizes, dtypes=dtypes, seeds=seeds, progress=progress)
