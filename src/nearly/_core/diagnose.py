"""Diagnoses: the most likely reason two values differ, in one line each.

Each diagnosis asks the engine a question ("would they match with the sign flipped?") and
words the answer. They run only after a comparison has failed, and they are ordered from the
most specific to the most general: the first one is the headline.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from nearly._core.engine import Rule, ValueStats, count_failures
from nearly._prim import dtypes as _dtypes

__all__ = ["bound_hints", "dtype_only_hint", "shape_hints", "value_hints"]

Array = np.ndarray[Any, Any]

#: failing elements all within this many ULPs read as rounding, not a bug
ROUNDING_ULPS = 8
#: arrays larger than this are not sorted to look for a reordering
REORDER_LIMIT = 1_000_000


def _num(x: float) -> str:
    return f"{x:.6g}"


def _num_any(x: Any) -> str:
    z = complex(x)
    return _num(z.real) if z.imag == 0 else f"({_num(z.real)}{z.imag:+.6g}j)"


#: a diagnosis is first tried on this many elements spread over the arrays
SAMPLE = 256


def _passes(a: Array, e: Array, rule: Rule, **kw: Any) -> bool:
    """Whether ``a`` and ``e`` pass ``rule`` (after the transform in ``kw``). Most guesses
    are wrong, so a sample of elements spread over the arrays is tried first: a miss there
    costs microseconds instead of a pass over the data."""
    try:
        scalar = rule.rtol_exact is not None and rule.atol_exact is not None
        if scalar and a.shape == e.shape and a.size > 4 * SAMPLE:
            flat = np.linspace(0, a.size - 1, SAMPLE).astype(np.intp)
            at = np.unravel_index(flat, a.shape)
            if count_failures(a[at], e[at], rule, limit=1, **kw):
                return False
        return count_failures(a, e, rule, limit=1, **kw) == 0
    except (ValueError, TypeError, FloatingPointError):  # a transform that does not apply
        return False


def value_hints(
    a: Array, e: Array, rule: Rule, stats: ValueStats, masks: tuple[Array, Array] | None
) -> list[str]:
    hints: list[str] = []
    nonfinite = stats.nan_only_actual + stats.nan_only_expected + stats.nonfinite_other
    if stats.mask_differs:
        hints.append(
            f"the masks differ at {stats.mask_differs} element(s); masked elements are ignored "
            "only where both sides mask them"
        )
    if nonfinite and nonfinite + stats.mask_differs >= stats.failed:
        parts = []
        if stats.nan_only_actual:
            parts.append(f"NaN only in actual at {stats.nan_only_actual} element(s)")
        if stats.nan_only_expected:
            parts.append(f"NaN only in expected at {stats.nan_only_expected} element(s)")
        if stats.nonfinite_other:
            why = "infinities that differ" if rule.equal_nan else "infinities or NaNs that differ"
            parts.append(f"{why} at {stats.nonfinite_other} element(s)")
            if not rule.equal_nan:
                parts[-1] += " (equal_nan=False: NaN never equals NaN)"
        hints.append("; ".join(parts) + "; every finite element is close")
        return hints
    if nonfinite:
        hints.append(
            f"{nonfinite} failing element(s) are NaN/Inf on one side only "
            f"(NaN only in actual: {stats.nan_only_actual}, only in expected: "
            f"{stats.nan_only_expected})"
        )
    ulp_fam = _dtypes.family(rule.ulp_dtype)
    wu = stats.worst_ulps
    if ulp_fam in ("float", "complex") and wu is not None and 0 < wu.value <= ROUNDING_ULPS:
        k = int(wu.value)
        label = _dtypes.dtype_label(_dtypes.component(rule.ulp_dtype))
        hints.append(
            f"rounding-level: every failing element is within {k} ULP of {label}; compare with "
            f"a tolerance (ulps={k}, or one derived from the computation with nearly.tol)"
        )
        return hints
    if ulp_fam not in ("float", "complex"):
        hints.append(
            f"{stats.failed} integer element(s) differ; integers and bools compare exactly "
            "unless rtol/atol is given"
        )
        return hints
    if masks is not None:
        return hints or [_generic(stats)]
    sized = a.size > 0 and stats.failed > 0
    if sized and _passes(a, e, rule, transform=np.negative):
        hints.append("sign flipped: actual matches -expected")
    if (
        sized
        and a.ndim >= 2
        and a.shape[-1] == a.shape[-2]
        and a.shape[-1] > 1
        and _passes(np.swapaxes(a, -1, -2), e, rule)
    ):
        hints.append("looks transposed: actual with its last two axes swapped matches expected")
    first = stats.first_failure
    if sized and first is not None and stats.failed >= 2:
        work = _dtypes.work_dtype(a.dtype, e.dtype)
        with np.errstate(all="ignore"):
            av, ev = np.asarray(a[first]).astype(work), np.asarray(e[first]).astype(work)
            c = av - ev
            s = av / ev if ev != 0 else np.asarray(np.nan)
        if np.isfinite(c) and c != 0 and _passes(a, e, rule, transform=lambda x: x - c):
            hints.append(f"constant offset: actual = expected + {_num_any(c)}")
        elif (
            np.isfinite(s)
            and s not in (0, 1, -1)
            and _passes(a, e, rule, transform=lambda x: x / s)
        ):
            hints.append(f"constant scale: actual = expected × {_num_any(s)}")
    if (
        sized
        and not hints
        and stats.failed >= 2
        and a.size <= REORDER_LIMIT
        and _dtypes.family(a.dtype) != "complex"
        and _dtypes.family(e.dtype) != "complex"
        and _may_be_reordered(a, e, rule)
    ):
        sa = np.sort(a.reshape(-1).astype(np.float64))
        se = np.sort(e.reshape(-1).astype(np.float64))
        if _passes(sa, se, rule):
            hints.append("same values in another order: sorted, the two match")
    if not hints:
        hints.append(_generic(stats))
    return hints


def _may_be_reordered(a: Array, e: Array, rule: Rule) -> bool:
    """Necessary conditions for "sorted, the two match", in a few linear passes, so that the
    sorts run only when they can succeed: the smallest and the largest values must match, and
    the sums may differ by no more than the sum of the allowed differences."""
    if rule.rtol_exact is None or rule.atol_exact is None:
        return False  # per-element tolerances belong to positions, not to sorted values
    x, y = a.reshape(-1), e.reshape(-1)
    with np.errstate(invalid="ignore", over="ignore"):
        ends_x = np.array([x.min(), x.max()]).astype(np.float64)
        ends_y = np.array([y.min(), y.max()]).astype(np.float64)
        if np.isnan(ends_x).any() or np.isnan(ends_y).any():
            return True  # NaNs sort last: let the full check decide
        if not _passes(ends_x, ends_y, rule):
            return False
        mag_x = float(np.abs(x).sum(dtype=np.float64))
        mag_y = float(np.abs(y).sum(dtype=np.float64))
        rtol, atol = float(rule.rtol), float(rule.atol)
        if rule.ulps:
            fmt = _dtypes.float_format(_dtypes.component(rule.ulp_dtype))
            rtol += 2 * rule.ulps * fmt.eps  # one ULP is at most eps·|x| for normal x ...
            atol += rule.ulps * 2.0 ** (fmt.emin - fmt.p + 1)  # ... or one subnormal step
        allowed = x.size * atol + rtol * max(mag_x, mag_y)
        # far above the rounding error of float64 sums of these sizes
        slack = 1e-12 * (mag_x + mag_y)
        gap = abs(float(x.sum(dtype=np.float64)) - float(y.sum(dtype=np.float64)))
    return not np.isfinite(gap) or gap <= allowed + slack


def bound_hints(a: Array, e: Array, rule: Rule, stats: ValueStats, derivation: Any) -> list[str]:
    """For a tolerance derived from an error bound: how far beyond the bound the error is,
    and whether another summation order's bound would explain it (rounding for another
    algorithm) or none would (a real bug)."""
    w = stats.worst_abs
    if w is None or not w.allowed:
        return []
    times = f"{_num(w.value / w.allowed)}×"
    what = f"the {derivation.order} rounding bound of this {derivation.op}"
    for order, atol in derivation.alternatives.items():
        alt = _atol_rule(atol, rule)
        if _passes(a, e, alt):
            bound = _num(float(np.max(atol)))
            return [
                f"the error is {times} {what}, but within its {order} bound ({bound}): "
                f"consistent with {order} accumulation, so rounding of that algorithm rather "
                "than a bug; state the order the value was computed with"
            ]
    return [
        f"the error is {times} {what}, and beyond the bound of every summation order: not "
        "rounding, a real bug"
    ]


def _atol_rule(atol: Any, rule: Rule) -> Rule:
    if isinstance(atol, np.ndarray):
        return Rule(0.0, atol, Fraction(0), None, None, rule.ulp_dtype, rule.equal_nan)
    return Rule(0.0, float(atol), Fraction(0), Fraction(atol), None, rule.ulp_dtype, rule.equal_nan)


def _generic(stats: ValueStats) -> str:
    w = stats.worst_abs
    ratio = ""
    if w is not None and w.allowed:
        ratio = f"; the worst is {_num(w.value / w.allowed)}× the allowed difference"
    ulps = ""
    if stats.worst_ulps is not None and np.isfinite(stats.worst_ulps.value):
        ulps = f" (up to {_num(stats.worst_ulps.value)} ULP)"
    return (
        f"{stats.failed} element(s) differ by more than rounding in one operation{ulps}{ratio}: "
        "a real difference, or error accumulated over a long computation"
    )


def dtype_only_hint(da: np.dtype[Any], de: np.dtype[Any], identical: bool) -> str:
    how = "equal" if identical else "close"
    return (
        f"only the dtype differs ({_dtypes.dtype_label(da)} vs {_dtypes.dtype_label(de)}); "
        f"the values are {how}"
    )


def shape_hints(
    a: Array, e: Array, rule: Rule | None, a_python_scalar: bool, e_python_scalar: bool
) -> list[str]:
    hints: list[str] = []
    sa, se = a.shape, e.shape

    def verdict(x: Array, y: Array) -> str:
        if rule is None:
            return ""
        return ", and then the values match" if _passes(x, y, rule) else ", but the values differ"

    if a_python_scalar != e_python_scalar and a.size == 1 and e.size == 1:
        side = "actual" if a_python_scalar else "expected"
        hints.append(
            f"{side} is a Python scalar (0-d) and the other has shape "
            f"{sa if e_python_scalar else se}: compare with .item() or reshape"
            + verdict(a.reshape(()), e.reshape(()))
        )
        return hints
    if a.size == e.size and np.squeeze(a).shape == np.squeeze(e).shape:
        hints.append(
            "shapes differ only by axes of length 1: they match after squeeze"
            + verdict(np.squeeze(a), np.squeeze(e))
        )
    elif a.ndim >= 2 and sa[:-2] == se[:-2] and sa[-2:] == se[-2:][::-1]:
        if rule is not None and _passes(np.swapaxes(a, -1, -2), e, rule):
            hints.append("looks transposed: actual with its last two axes swapped matches expected")
        else:
            hints.append(
                "the last two axes are swapped (transposed shape), and the values differ too"
            )
    elif a.size == e.size:
        hints.append(
            f"same number of elements ({a.size}): a reshape to {se} may be missing"
            + (verdict(a.reshape(se), e) if a.size <= REORDER_LIMIT else "")
        )
    else:
        try:
            shape = np.broadcast_shapes(sa, se)
            hints.append(
                f"the shapes broadcast to {shape}; nearly does not broadcast unless "
                "check_shape=False"
            )
        except ValueError:
            hints.append(f"{a.size} vs {e.size} elements: the shapes are incompatible")
    return hints
