"""Diagnoses: the most likely reasons two values differ.

Each diagnosis asks the engine a question ("would they match with the sign flipped?") and
records the answer as a :class:`~nearly._report.records.Finding` (a ``hint.`` code and its
parameters; :mod:`nearly._report.messages` words it). They run only after a comparison has
failed, and they are ordered from the most specific to the most general: the first one is the
headline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from nearly._core.engine import Rule, ValueStats, count_failures, failure_mask
from nearly._prim import dtypes as _dtypes
from nearly._report.records import Finding

__all__ = ["answers_each", "bound_hints", "dtype_only_hint", "shape_hints", "value_hints"]

Array = np.ndarray[Any, Any]

#: failing elements all within this many ULPs read as rounding, not a bug
ROUNDING_ULPS = 8
#: arrays larger than this are not sorted to look for a reordering
REORDER_LIMIT = 1_000_000


def _number(x: Any) -> float | list[float]:
    """A real number as a float, a complex one as ``[re, im]`` (JSON has no complex)."""
    z = complex(x)
    return z.real if z.imag == 0 else [z.real, z.imag]


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


#: how a diagnosis asks one question about a pair: ``ask(question, answer)`` returns the
#: answer, found by calling ``answer()`` or known beforehand (see :func:`answers_each`); the
#: questions are the hint codes less ``hint.``, and ``"shift"`` (see :func:`_shift`)
Ask = Callable[[str, Callable[[], Any]], Any]


def _own(_: str, answer: Callable[[], Any]) -> Any:
    return answer()


def value_hints(
    a: Array,
    e: Array,
    rule: Rule,
    stats: ValueStats,
    masks: tuple[Array, Array] | None,
    ask: Ask = _own,
) -> tuple[Finding, ...]:
    hints: list[Finding] = []
    nonfinite = stats.nan_only_actual + stats.nan_only_expected + stats.nonfinite_other
    if stats.mask_differs:
        hints.append(Finding("hint.masks_differ", {"count": stats.mask_differs}))
    nan_only = {
        "nan_only_actual": stats.nan_only_actual,
        "nan_only_expected": stats.nan_only_expected,
    }
    if nonfinite and nonfinite + stats.mask_differs >= stats.failed:
        params = {**nan_only, "nonfinite_other": stats.nonfinite_other, "equal_nan": rule.equal_nan}
        hints.append(Finding("hint.only_nonfinite", params))
        return tuple(hints)
    if nonfinite:
        hints.append(Finding("hint.some_nonfinite", {"count": nonfinite, **nan_only}))
    ulp_fam = _dtypes.family(rule.ulp_dtype)
    wu = stats.worst_ulps
    if ulp_fam in ("float", "complex") and wu is not None and 0 < wu.value <= ROUNDING_ULPS:
        label = _dtypes.dtype_label(_dtypes.component(rule.ulp_dtype))
        hints.append(Finding("hint.rounding", {"ulps": int(wu.value), "dtype": label}))
        return tuple(hints)
    if ulp_fam not in ("float", "complex"):
        hints.append(Finding("hint.integers", {"count": stats.failed}))
        return tuple(hints)
    if masks is not None:
        return tuple(hints or [_generic(stats)])
    sized = a.size > 0 and stats.failed > 0
    if sized and ask("sign_flipped", lambda: _passes(a, e, rule, transform=np.negative)):
        hints.append(Finding("hint.sign_flipped"))
    if sized and _square(a) and ask("transposed", lambda: _passes(np.swapaxes(a, -1, -2), e, rule)):
        hints.append(Finding("hint.transposed"))
    shift = ask("shift", lambda: _shift(a, e, stats)) if sized else None
    if shift is not None:
        c, s = shift
        if c is not None and ask("offset", lambda: _passes(a, e, rule, transform=lambda x: x - c)):
            hints.append(Finding("hint.offset", {"offset": _number(c)}))
        elif s is not None and ask("scale", lambda: _passes(a, e, rule, transform=lambda x: x / s)):
            hints.append(Finding("hint.scale", {"scale": _number(s)}))
    if (
        sized
        and not hints
        and _may_sort(a, e, stats)
        and ask("reordered", lambda: _may_be_reordered(a, e, rule) and _passes_sorted(a, e, rule))
    ):
        hints.append(Finding("hint.reordered"))
    if not hints:
        hints.append(_generic(stats))
    return tuple(hints)


def _square(a: Array) -> bool:
    return a.ndim >= 2 and a.shape[-1] == a.shape[-2] and a.shape[-1] > 1


def _shift(a: Array, e: Array, stats: ValueStats) -> tuple[Any, Any] | None:
    """The offset ``c`` and the scale ``s`` that would carry the first failing element of
    ``e`` to that of ``a``, each None where it cannot be the answer (None: too few failures
    to ask)."""
    first = stats.first_failure
    if first is None or stats.failed < 2:
        return None
    work = _dtypes.work_dtype(a.dtype, e.dtype)
    with np.errstate(all="ignore"):
        av, ev = np.asarray(a[first]).astype(work), np.asarray(e[first]).astype(work)
        c = av - ev
        s = av / ev if ev != 0 else np.asarray(np.nan)
    offset = c if np.isfinite(c) and c != 0 else None
    scale = s if np.isfinite(s) and s not in (0, 1, -1) else None
    return offset, scale


def _may_sort(a: Array, e: Array, stats: ValueStats) -> bool:
    """Whether a reordering is worth asking about: several failures, real values, a size
    worth sorting."""
    return (
        stats.failed >= 2
        and a.size <= REORDER_LIMIT
        and _dtypes.family(a.dtype) != "complex"
        and _dtypes.family(e.dtype) != "complex"
    )


def _sorted(x: Array) -> Array:
    return np.sort(x.reshape(-1).astype(np.float64))


def _passes_sorted(a: Array, e: Array, rule: Rule) -> bool:
    return _passes(_sorted(a), _sorted(e), rule)


def answers_each(
    x: Array, y: Array, shapes: Sequence[tuple[int, ...]], rule: Rule, stats: Sequence[ValueStats]
) -> list[dict[str, Any]]:
    """For many failing pairs of one float dtype (no masks) and one scalar rule, laid end to
    end in two flat arrays (pair ``i`` is the next ``prod(shapes[i])`` elements): the
    answers :func:`value_hints` would get for each, from a few whole-array operations and
    one engine run per question over all the pairs that may ask it."""
    n = len(shapes)
    sizes = np.array([math.prod(shape) for shape in shapes], dtype=np.intp)
    starts = np.cumsum(sizes) - sizes
    answers: list[dict[str, Any]] = [{} for _ in range(n)]
    failed = np.array([st.failed for st in stats])
    work = _dtypes.work_dtype(x.dtype, y.dtype)

    def ask(question: str, which: Array, xs: Array, ys: Array) -> list[bool]:
        """Whether each pair in ``which`` passes (``xs``, ``ys``: their values)."""
        if not which.size:
            return []
        within = np.cumsum(sizes[which]) - sizes[which]
        bad = np.logical_or.reduceat(failure_mask(xs, ys, rule).reshape(-1), within).tolist()
        for i, b in zip(which.tolist(), bad, strict=True):
            answers[i][question] = not b
        return [not b for b in bad]

    def values_of(which: Array) -> Array:
        """The flat positions of the values of the pairs in ``which``, pair after pair."""
        n, within = sizes[which], np.cumsum(sizes[which]) - sizes[which]
        return np.repeat(starts[which] - within, n) + np.arange(int(n.sum()))

    with np.errstate(all="ignore"):
        xw = x.astype(work)
        asking = np.flatnonzero((sizes > 0) & (failed > 0))
        at = values_of(asking)
        ask("sign_flipped", asking, np.negative(xw[at]), y[at])
        for i in asking.tolist():
            a = x[starts[i] : starts[i] + sizes[i]].reshape(shapes[i])
            if _square(a):
                e = y[starts[i] : starts[i] + sizes[i]].reshape(shapes[i])
                ask("transposed", np.array([i]), np.swapaxes(a, -1, -2), e)
        # the shift that carries each pair's first failing element of expected to actual's
        several = np.flatnonzero((sizes > 0) & (failed >= 2))
        first = np.array(
            [int(starts[i]) + _flat(stats[i].first_failure, shapes[i]) for i in several.tolist()],
            dtype=np.intp,
        )
        av, ev = xw[first], y[first].astype(work)
        c = av - ev
        sc = np.where(ev != 0, av / np.where(ev != 0, ev, 1), np.nan)
        offset = np.isfinite(c) & (c != 0)
        scale = np.isfinite(sc) & (sc != 0) & (sc != 1) & (sc != -1)
        for k, i in enumerate(several.tolist()):
            answers[i]["shift"] = (c[k] if offset[k] else None, sc[k] if scale[k] else None)
        for i in asking.tolist():
            answers[i].setdefault("shift", None)
        which = several[offset]
        at = values_of(which)
        ask("offset", which, xw[at] - np.repeat(c[offset], sizes[which]), y[at])
        which = several[scale]
        at = values_of(which)
        ask("scale", which, xw[at] / np.repeat(sc[scale], sizes[which]), y[at])
        # sorted, the two match (then the cheap necessary conditions too, as value_hints asks)
        which = several[sizes[several] <= REORDER_LIMIT]
        at = values_of(which)
        pair = np.repeat(np.arange(which.size), sizes[which])
        xs, ys = x[at].astype(np.float64), y[at].astype(np.float64)
        xs, ys = xs[np.lexsort((xs, pair))], ys[np.lexsort((ys, pair))]
        for i, ok in zip(which.tolist(), ask("reordered", which, xs, ys), strict=True):
            if ok:
                a = x[starts[i] : starts[i] + sizes[i]]
                e = y[starts[i] : starts[i] + sizes[i]]
                answers[i]["reordered"] = _may_be_reordered(a, e, rule)
    return answers


def _flat(index: tuple[int, ...] | None, shape: tuple[int, ...]) -> int:
    """The flat position (C order) of an index."""
    assert index is not None
    flat = 0
    for i, n in zip(index, shape, strict=True):
        flat = flat * n + i
    return flat


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


def bound_hints(
    a: Array, e: Array, rule: Rule, stats: ValueStats, derivation: Any
) -> tuple[Finding, ...]:
    """For a tolerance derived from an error bound: how far beyond the bound the error is,
    and whether another summation order's bound would explain it (rounding for another
    algorithm) or none would (a real bug)."""
    w = stats.worst_abs
    if w is None or not w.allowed:
        return ()
    params = {"ratio": w.value / w.allowed, "order": derivation.order, "op": derivation.op}
    for order, atol in derivation.alternatives.items():
        alt = _atol_rule(atol, rule)
        if _passes(a, e, alt):
            bound = float(np.max(atol))
            return (Finding("hint.bound.other_order", {**params, "other": order, "bound": bound}),)
    return (Finding("hint.bound.exceeded", params),)


def _atol_rule(atol: Any, rule: Rule) -> Rule:
    if isinstance(atol, np.ndarray):
        return Rule(0.0, atol, Fraction(0), None, None, rule.ulp_dtype, rule.equal_nan)
    return Rule(0.0, float(atol), Fraction(0), Fraction(atol), None, rule.ulp_dtype, rule.equal_nan)


def _generic(stats: ValueStats) -> Finding:
    w = stats.worst_abs
    ratio = w.value / w.allowed if w is not None and w.allowed else None
    max_ulps = None if stats.worst_ulps is None else stats.worst_ulps.value
    return Finding(
        "hint.beyond_rounding", {"count": stats.failed, "max_ulps": max_ulps, "ratio": ratio}
    )


def dtype_only_hint(labels: dict[str, str | None], identical: bool) -> Finding:
    """``labels``: the two sides' dtype names (``actual``, ``expected``)."""
    return Finding("hint.dtype_only", {**labels, "identical": identical})


def shape_hints(
    a: Array, e: Array, rule: Rule | None, a_python_scalar: bool, e_python_scalar: bool
) -> tuple[Finding, ...]:
    sa, se = a.shape, e.shape

    def values(x: Array, y: Array) -> bool | None:
        """Whether the values match once the shapes do (None: not asked)."""
        return None if rule is None else _passes(x, y, rule)

    if a_python_scalar != e_python_scalar and a.size == 1 and e.size == 1:
        params = {
            "side": "actual" if a_python_scalar else "expected",
            "shape": sa if e_python_scalar else se,
            "values": values(a.reshape(()), e.reshape(())),
        }
        return (Finding("hint.shape.python_scalar", params),)
    if a.size == e.size and np.squeeze(a).shape == np.squeeze(e).shape:
        return (Finding("hint.shape.squeeze", {"values": values(np.squeeze(a), np.squeeze(e))}),)
    if a.ndim >= 2 and sa[:-2] == se[:-2] and sa[-2:] == se[-2:][::-1]:
        if rule is not None and _passes(np.swapaxes(a, -1, -2), e, rule):
            return (Finding("hint.transposed"),)
        return (Finding("hint.shape.swapped"),)
    if a.size == e.size:
        match = values(a.reshape(se), e) if a.size <= REORDER_LIMIT else None
        return (Finding("hint.shape.reshape", {"size": a.size, "shape": se, "values": match}),)
    try:
        shape = np.broadcast_shapes(sa, se)
    except ValueError:
        return (Finding("hint.shape.incompatible", {"actual": a.size, "expected": e.size}),)
    return (Finding("hint.shape.broadcast", {"shape": shape}),)
