"""Statistical checks: values in a range, standardized columns, rows that sum to a total.

Each returns a :class:`~nearly._report.records.Comparison` whose mismatches give the measured value,
the allowed bound and where the bound came from; :mod:`nearly._checks.close` raises on failure.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nearly._core.tree import LeafPair, format_path, walk
from nearly._prim import dtypes as _dtypes
from nearly._report.records import Comparison, Example, Finding, Mismatch, Side
from nearly._tolerance.bounds import _abs_sum, _axes, _count, _gamma, _host, _moments, _unit
from nearly.backends import expand, graph_backend, is_array_leaf, to_leaf

__all__ = ["run_in_range", "run_standardized", "run_sums_to"]

Array = np.ndarray[Any, Any]


def _g(x: float) -> str:
    return f"{x:.6g}"


def _leaves(tree: Any) -> list[tuple[str, Any]]:
    out = []
    for event in walk(tree, tree, strict_types=False, is_array_leaf=is_array_leaf, expand=expand):
        if isinstance(event, LeafPair):
            out.append((format_path(event.path), event.actual))
    return out


def _side(value: Any, arr: Array) -> Side:
    return Side(to_leaf(value).type_name, _dtypes.dtype_label(arr.dtype), tuple(arr.shape))


def _index(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def _in_dtype(bound: float, dt: np.dtype[Any]) -> Any:
    """A bound as the value's dtype holds it: 0.01 compared with float32 data means
    float32(0.01), which is below 0.01 as a Python float."""
    if _dtypes.family(dt) in ("float", "complex"):
        return np.asarray(bound).astype(np.float64).astype(dt).astype(np.float64)[()]
    return bound


def run_in_range(tree: Any, lo: float | None, hi: float | None) -> Comparison:
    mismatches: list[Mismatch] = []
    leaves = _leaves(tree)
    for where, value in leaves:
        leaf = to_leaf(value)
        if leaf.kind == "symbolic":
            graph_backend(value).assert_in_range_in_graph(where, value, lo, hi)
            continue
        arr = _host(value, "assert_in_range")
        if arr.size == 0:
            continue
        lo_d = -math.inf if lo is None else _in_dtype(lo, arr.dtype)
        hi_d = math.inf if hi is None else _in_dtype(hi, arr.dtype)
        with np.errstate(invalid="ignore"):
            x = arr.astype(np.float64) if arr.dtype.kind != "f" or arr.itemsize < 8 else arr
            bad = ~((x >= lo_d) & (x <= hi_d))  # NaN is never in range
        count = int(np.count_nonzero(bad))
        if not count:
            continue
        flat = x.reshape(-1)
        badf = bad.reshape(-1)
        idx = np.flatnonzero(badf)
        finite = flat[np.isfinite(flat)]
        lo_found = float(finite.min()) if finite.size else math.nan
        hi_found = float(finite.max()) if finite.size else math.nan
        nan = int(np.count_nonzero(np.isnan(flat)))
        # the bounds as the data's dtype holds them, where that differs from the given value
        lo_stored, hi_stored = (
            None if b is None or b_d == b else float(b_d) for b, b_d in ((lo, lo_d), (hi, hi_d))
        )
        label = _dtypes.dtype_label(arr.dtype)
        from nearly._report.messages import range_text  # wording, loaded on failure only

        shown = range_text(lo, hi, lo_stored, hi_stored, label)
        bounds = {"lo": lo, "hi": hi, "lo_stored": lo_stored, "hi_stored": hi_stored}
        found = {"count": count, "smallest": lo_found, "largest": hi_found, "nan": nan}
        mismatches.append(
            Mismatch(
                where,
                "value",
                Finding("value.out_of_range"),
                count=count,
                total=int(arr.size),
                index=_index(int(idx[0]), arr.shape),
                actual=_side(value, arr),
                diagnoses=(Finding("hint.out_of_range", {**found, **bounds, "dtype": label}),),
                examples=[
                    Example(_index(int(i), arr.shape), str(arr.reshape(-1)[i]), shown)
                    for i in idx[:5]
                ],
            )
        )
    return Comparison(mismatches, [], len(leaves), check="range")


def run_sums_to(x: Any, total: float, axis: int | None, tol: Any) -> Comparison:
    """Rows (along ``axis``) whose exact sum differs from ``total`` by more than the
    derived bound, or than ``tol`` when given."""
    arr = _host(x, "assert_sums_to")
    axes = _axes(arr.ndim, axis)
    n = _count(arr, axes)
    sums = _moments_sum(arr, axes)
    abs_sums = _abs_sum(arr, axes)
    if tol is not None:
        allowed = np.asarray(tol.atol, dtype=np.float64) + np.asarray(
            tol.rtol, dtype=np.float64
        ) * abs(total)
        source: str | None = tol.source or tol.describe()
    else:
        u = _unit(arr.dtype)
        # a row normalised by its own sum (softmax, x / x.sum()): each stored element
        # carries the relative error of an n-term sum, a division and its own rounding
        allowed = (_gamma(n + 2, u, "worst", 1, 1e-6) + 2 * u) * abs_sums
        source = None  # the derived bound, which the report states
    err = np.abs(sums - total)
    bad = err > allowed
    count = int(np.count_nonzero(bad))
    if not count:
        return Comparison([], [], 1, check="sums")
    shape = np.shape(err)
    flat_err = np.reshape(err, -1)
    flat_bad = np.reshape(bad, -1)
    flat_sum = np.reshape(sums, -1)
    flat_allowed = np.reshape(np.broadcast_to(allowed, np.shape(err)), -1)
    j = int(np.argmax(np.where(flat_bad, flat_err, -1.0)))
    hint = Finding(
        "hint.sums",
        {
            "count": count,
            "rows": int(flat_err.size),
            "total": total,
            "worst": float(flat_sum[j]),
            "error": float(flat_err[j]),
            "allowed": float(flat_allowed[j]),
            "source": source,
            "n": n,
            "dtype": _dtypes.dtype_label(arr.dtype),
        },
    )
    examples = [
        Example(_index(int(i), shape), _g(float(flat_sum[i])), str(total))
        for i in np.flatnonzero(flat_bad)[:5]
    ]
    reason = Finding("value.sums", {"axis": axis, "total": total})
    return _whole_value_failure(
        x, arr, "sums", reason, count, flat_err.size, _index(j, shape), (hint,), examples
    )


def _whole_value_failure(
    x: Any,
    arr: Array,
    check: Any,
    reason: Finding,
    count: int,
    total: int,
    index: tuple[int, ...],
    diagnoses: tuple[Finding, ...],
    examples: list[Example],
) -> Comparison:
    """A failed check of one whole value (not a tree): its one Mismatch."""
    mismatch = Mismatch(
        "",
        "value",
        reason,
        count=count,
        total=int(total),
        index=index,
        actual=_side(x, arr),
        diagnoses=diagnoses,
        examples=examples,
    )
    return Comparison([mismatch], [], 1, check=check)


def _moments_sum(arr: Array, axes: tuple[int, ...]) -> Array:
    from nearly._tolerance.bounds import _slab_sum

    return _slab_sum(arr, axes, transform=lambda b: b, compensated=True)


#: How the statistics that standardized the data were computed (``assert_standardized``'s
#: ``stats=``): in the data's dtype in any order, in its dtype by pairwise summation, or
#: accurately (float64, then rounded to the dtype).
STATS = ("dtype", "pairwise", "float64")


def run_standardized(
    x: Any, axis: int, ddof: int, kappa: float | None, dtype: Any, stats: str = "dtype"
) -> Comparison:
    """Columns of standardized data: mean ≈ 0 and std ≈ 1 within the rounding-error bounds of
    the standardization, for statistics computed as ``stats`` says."""
    if stats not in STATS:
        raise ValueError(f"stats must be one of {', '.join(map(repr, STATS))}; got {stats!r}")
    arr = _host(x, "assert_standardized")
    axes = _axes(arr.ndim, axis)
    n = _count(arr, axes)
    if n - ddof <= 0:
        raise ValueError(f"need more than {ddof} value(s) along axis {axis}, got {n}")
    mu, v = _moments(arr, axes)
    sd = np.sqrt(v * n / (n - ddof))
    dt = arr.dtype if dtype is None else dtype
    u = _unit(dt)
    # z = (x − m̂)/ŝ stored in the dtype: each z carries ~3u of rounding (mean |z| <= 1), and
    # m̂ rounded to the dtype shifts every z by up to u·|m|/σ = u·κ of the raw data.
    if stats == "float64":
        # accurate statistics: their own error, γ_n of float64 times the conditioning, only
        # matters for float64 data; κ defaults to 1/√u (offset data is fine)
        k = 1.0 / math.sqrt(u) if kappa is None else float(kappa)
        g = _gamma(n, 2.0**-53, "worst", 1, 1e-6)
        mean_bound = (4.0 + k) * u + g * (1.0 + k)
        std_bound = 8.0 * u + 2.0 * g
    else:
        # statistics summed in the dtype: the mean's error is γ·Σ|x|/n <= γ·σ·(1 + κ), which
        # shifts z by γ·(1 + κ); the sum of squares about m̂ has relative error γ_(k+2), and
        # m̂'s error adds (γ·(1 + κ))² to it; the std halves both. κ defaults to 1: the raw
        # data is taken to be well-conditioned (|mean| up to its std)
        k = 1.0 if kappa is None else float(kappa)
        terms = n if stats == "dtype" else (math.ceil(math.log2(n)) if n > 1 else 0) + 1
        g = _gamma(terms, u, "worst", 1, 1e-6)
        shift = g * (1.0 + k)
        mean_bound = (4.0 + k) * u + shift
        std_bound = 0.5 * _gamma(terms + 2, u, "worst", 1, 1e-6) + 0.5 * shift**2 + 4.0 * u
    vacuous = g >= 1.0
    label = _dtypes.dtype_label(np.dtype(dt)) if not isinstance(dt, str) else dt
    bad_mean = np.abs(mu) > mean_bound
    bad_std = np.abs(sd - 1.0) > std_bound
    bad = np.logical_or(bad_mean, bad_std)
    count = int(np.count_nonzero(bad))
    if not count:
        return Comparison([], [], 1, check="standardized")
    flat_mu, flat_sd, flat_bad = (np.reshape(v_, -1) for v_ in (mu, sd, bad))
    shape = np.shape(mu)
    j = int(np.flatnonzero(flat_bad)[0])
    measured = Finding(
        "hint.standardized",
        {
            "mean": float(flat_mu[j]),
            "mean_bound": mean_bound,
            "std": float(flat_sd[j]),
            "std_bound": std_bound,
            "index": _index(j, shape),
            "dtype": label,
            "kappa": k,
            "kappa_given": kappa is not None,
            "n": n,
            "stats": stats,
            "vacuous": vacuous,
        },
    )
    hints = (measured, _standardized_diagnosis(flat_mu[flat_bad], flat_sd[flat_bad], std_bound))
    examples = [
        Example(
            _index(int(i), shape),
            f"mean {_g(float(flat_mu[i]))}, std {_g(float(flat_sd[i]))}",
            "mean 0, std 1",
        )
        for i in np.flatnonzero(flat_bad)[:5]
    ]
    return _whole_value_failure(
        x,
        arr,
        "standardized",
        Finding("value.not_standardized", {"axis": axis}),
        count,
        flat_mu.size,
        _index(j, shape),
        hints,
        examples,
    )


def _standardized_diagnosis(mu: Array, sd: Array, std_bound: float) -> Finding:
    if bool(np.all(np.abs(sd - 1.0) <= std_bound)):
        return Finding("hint.standardized.centre")
    if bool(np.all(np.abs(mu) < 0.1)):
        return Finding("hint.standardized.scale")
    if bool(np.all(sd < 0.5)):
        return Finding("hint.standardized.inaccurate")
    return Finding("hint.standardized.mismatch")
