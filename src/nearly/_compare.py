"""Comparing two leaves: dispatch on what they are, run the engine, collect the findings.

Produces :class:`~nearly._result.Mismatch` and :class:`~nearly._result.Note` records; the
wording of diagnoses lives in :mod:`nearly._diagnose` and all other text in
:mod:`nearly._report`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from nearly import _diagnose, _dtypes, tol
from nearly._engine import (
    Rule,
    ValueStats,
    count_failures,
    count_unequal,
    measure,
    measure_unequal,
)
from nearly._errors_internal import unsupported_leaf
from nearly._exact import exact_close_real
from nearly._options import Options
from nearly._result import Comparison, Example, Kind, Mismatch, Note, Side
from nearly._tree import LeafPair, Path, StructureDiff, TypeNote, format_path, walk
from nearly.backends import Leaf, is_array_leaf, to_leaf

__all__ = ["run"]

Array = np.ndarray[Any, Any]


def run(actual: Any, expected: Any, options: Options) -> Comparison:
    """Compare two nested structures; every failing leaf becomes one Mismatch."""
    mismatches: list[Mismatch] = []
    notes: list[Note] = []
    leaves = 0
    for event in walk(
        actual, expected, strict_types=options.strict_types, is_array_leaf=is_array_leaf
    ):
        if isinstance(event, LeafPair):
            leaves += 1
            found, leaf_notes = compare_leaves(event, options)
            mismatches.extend(found)
            notes.extend(leaf_notes)
        elif isinstance(event, StructureDiff):
            kind: Kind = "type" if event.kind == "type" else "structure"
            mismatches.append(
                Mismatch(
                    format_path(event.path),
                    kind,
                    event.detail,
                    actual=Side(event.actual_type),
                    expected=Side(event.expected_type),
                    hints=_structure_hints(event),
                )
            )
        elif isinstance(event, TypeNote):
            notes.append(Note(format_path(event.path), event.text))
    return Comparison(mismatches, notes, leaves, exact=options.exact)


def _structure_hints(event: StructureDiff) -> list[str]:
    if event.kind == "type" and "vs" in event.detail:
        if {event.actual_type, event.expected_type} <= {"list", "tuple"}:
            return ["tuple vs list is allowed unless strict_types=True"]
        return [f"a {event.actual_type} cannot be compared with a {event.expected_type}"]
    return []


def _side(leaf: Leaf) -> Side:
    dt = leaf.dtype
    return Side(leaf.type_name, None if dt is None else _dtypes.dtype_label(dt), leaf.shape)


def _fmt(x: Any) -> str:
    if isinstance(x, (str, bytes)):
        text = repr(x)
    elif (isinstance(x, np.generic) and x.dtype.kind in "fc") or _dtypes.family(
        np.asarray(x).dtype
    ) in ("float", "complex"):
        text = str(x)
    else:
        text = str(x) if isinstance(x, np.generic) else repr(x)
    return text if len(text) <= 80 else text[:77] + "..."


def _examples(stats: ValueStats) -> list[Example]:
    return [Example(i, _fmt(a), _fmt(e)) for i, a, e in stats.examples]


def compare_leaves(pair: LeafPair, options: Options) -> tuple[list[Mismatch], list[Note]]:
    return _compare(pair.path, pair.actual, pair.expected, options, pair.container_note)


def _compare(
    path: Path, actual: Any, expected: Any, options: Options, container_note: str | None
) -> tuple[list[Mismatch], list[Note]]:
    where = format_path(path)
    la, le = to_leaf(actual), to_leaf(expected)
    sa, se = _side(la), _side(le)
    notes: list[Note] = []

    def mismatch(kind: Kind, detail: str, hints: list[str] | None = None, **kw: Any) -> Mismatch:
        return Mismatch(where, kind, detail, actual=sa, expected=se, hints=hints or [], **kw)

    # -- None, text, plain objects
    if la.kind == "none" or le.kind == "none":
        if la.kind == le.kind:
            return [], notes
        return [mismatch("type", f"{sa.type} vs {se.type}")], notes
    if la.kind == "text" or le.kind == "text":
        if la.kind != le.kind or (
            type(la.obj) is not type(le.obj)
            and (isinstance(la.obj, bytes) != isinstance(le.obj, bytes))
        ):
            return [mismatch("type", f"{sa.type} vs {se.type}")], notes
        if la.obj == le.obj:
            return [], notes
        return [
            mismatch(
                "value",
                "strings differ",
                examples=[Example((), _fmt(la.obj), _fmt(le.obj))],
                hints=[_text_hint(la.obj, le.obj)],
            )
        ], notes
    if la.kind == "object" or le.kind == "object":
        return _compare_objects(where, la, le, sa, se, options), notes

    a, e = la.array, le.array
    assert a is not None and e is not None

    # -- types
    if la.type_name != le.type_name and not (la.python_scalar or le.python_scalar):
        text = container_note or f"{sa.type} vs {se.type}"
        if options.strict_types:
            return [
                mismatch(
                    "type",
                    f"types differ: {text}",
                    ["types must match exactly with strict_types=True"],
                )
            ], notes
        notes.append(Note(where, f"types differ ({text}); allowed unless strict_types=True"))
    elif options.strict_types and type(la.obj) is not type(le.obj):
        return [
            mismatch(
                "type",
                f"types differ: {sa.type} vs {se.type}",
                ["types must match exactly with strict_types=True"],
            )
        ], notes

    fa, fe = _dtypes.family(a.dtype), _dtypes.family(e.dtype)
    numeric = {"bool", "int", "float", "complex"}

    # -- shapes
    if a.shape != e.shape:
        if options.check_shape:
            rule = (
                _rule_for(a, e, options, where, for_diagnosis=True)
                if (fa in numeric and fe in numeric)
                else None
            )
            hints = _diagnose.shape_hints(a, e, rule, la.python_scalar, le.python_scalar)
            return [mismatch("shape", f"shapes differ: {a.shape} vs {e.shape}", hints)], notes
        try:
            shape = np.broadcast_shapes(a.shape, e.shape)
        except ValueError:
            return [
                mismatch(
                    "shape",
                    f"shapes {a.shape} and {e.shape} do not broadcast",
                    [f"{a.size} vs {e.size} elements"],
                )
            ], notes
        a, e = np.broadcast_to(a, shape), np.broadcast_to(e, shape)
        notes.append(
            Note(
                where,
                f"shapes differ ({la.shape} vs {le.shape}); compared "
                f"broadcast to {shape} (check_shape=False)",
            )
        )
    masks = _masks(la, le, a.shape)

    # -- dtypes
    dtype_differs = a.dtype != e.dtype
    dtype_fails = dtype_differs and options.check_dtype
    dlabel = f"{sa.dtype} vs {se.dtype}"

    if fa in numeric and fe in numeric:
        rule = _rule_for(a, e, options, where)
        failed = count_failures(a, e, rule, masks=masks)
        if failed == 0:
            if dtype_fails:
                identical = count_failures(a, e, _exact_rule(rule), masks=masks) == 0
                return [
                    mismatch(
                        "dtype",
                        f"dtypes differ: {dlabel}",
                        [_diagnose.dtype_only_hint(a.dtype, e.dtype, identical)],
                        count=0,
                        total=int(a.size),
                        tolerance=_tolerance_of(options, a, e),
                    )
                ], notes
            if dtype_differs:
                notes.append(
                    Note(
                        where,
                        f"dtypes differ ({dlabel}); not checked "
                        "(check_dtype=True requires equal dtypes)",
                    )
                )
            if options.describe_passing and not rule.exact_only:
                exact = _exact_rule(rule)
                if count_failures(a, e, exact, masks=masks):
                    notes.append(
                        Note(where, _close_not_identical(measure(a, e, exact, masks=masks)))
                    )
            return [], notes
        stats = measure(a, e, rule, masks=masks)
        hints = _diagnose.value_hints(a, e, rule, stats, masks)
        if dtype_differs:
            hints.append(
                f"dtypes differ ({dlabel})"
                + (
                    ""
                    if options.check_dtype
                    else "; not checked (check_dtype=True requires them equal)"
                )
            )
        kind: Kind = "dtype" if dtype_fails else "value"
        detail = f"dtypes differ ({dlabel}) and values differ" if dtype_fails else "values differ"
        return [
            _value_mismatch(
                where, kind, detail, stats, hints, sa, se, rule, _tolerance_of(options, a, e)
            )
        ], notes

    if fa == "void" and fe == "void" and a.dtype.names and e.dtype.names:
        return _compare_fields(path, a, e, options, sa, se, notes)

    eq = _exact_equality(fa, fe, a.dtype, e.dtype, options, where)
    if eq is None:
        return [
            mismatch(
                "dtype",
                f"cannot compare {dlabel}",
                [f"{fa} values cannot be compared with {fe} values"],
            )
        ], notes
    failed = count_unequal(a, e, eq, masks)
    if failed == 0:
        if dtype_fails:
            return [
                mismatch(
                    "dtype",
                    f"dtypes differ: {dlabel}",
                    [_diagnose.dtype_only_hint(la.array.dtype, le.array.dtype, True)],  # type: ignore[union-attr]
                    count=0,
                    total=int(a.size),
                )
            ], notes
        if dtype_differs:
            notes.append(Note(where, f"dtypes differ ({dlabel}); not checked"))
        return [], notes
    stats = measure_unequal(a, e, eq, masks)
    kind = "dtype" if dtype_fails else "value"
    return [
        _value_mismatch(
            where,
            kind,
            "values differ",
            stats,
            [f"{stats.failed} of {stats.total} element(s) differ ({fa} values compare exactly)"],
            sa,
            se,
            None,
            None,
        )
    ], notes


def _close_not_identical(stats: ValueStats) -> str:
    text = f"close but not identical: {stats.failed} of {stats.total} element(s) differ"
    if stats.worst_abs is not None:
        text += f", by at most {stats.worst_abs.value:.6g}"
    if stats.worst_ulps is not None and np.isfinite(stats.worst_ulps.value):
        text += f" ({int(stats.worst_ulps.value)} ULP)"
    return text + " — within the tolerance"


def _text_hint(a: Any, e: Any) -> str:
    n = next((i for i, (x, y) in enumerate(zip(a, e, strict=False)) if x != y), min(len(a), len(e)))
    return f"first difference at character {n} (lengths {len(a)} and {len(e)})"


def _masks(la: Leaf, le: Leaf, shape: tuple[int, ...]) -> tuple[Array, Array] | None:
    if la.mask is None and le.mask is None:
        return None
    ma = np.zeros(shape, bool) if la.mask is None else np.broadcast_to(la.mask, shape)
    me = np.zeros(shape, bool) if le.mask is None else np.broadcast_to(le.mask, shape)
    return ma, me


def _exact_rule(rule: Rule) -> Rule:
    return Rule(0.0, 0.0, Fraction(0), Fraction(0), None, rule.ulp_dtype, rule.equal_nan)


def _tolerance_of(options: Options, a: Array, e: Array) -> tol.Tolerance:
    if options.tolerance is not None:
        return options.tolerance
    return tol.default(_dtypes.lower_precision(a.dtype, e.dtype))


def _rule_for(
    a: Array, e: Array, options: Options, where: str, *, for_diagnosis: bool = False
) -> Rule:
    """The rule for one pair. Per-element tolerance arrays must broadcast to the compared
    shape; for a shape diagnosis (where shapes differ) their largest value stands in."""
    t = _tolerance_of(options, a, e)
    values: list[Any] = []
    for name, value, exact in (("rtol", t.rtol, t.rtol_exact), ("atol", t.atol, t.atol_exact)):
        if isinstance(value, np.ndarray):
            if for_diagnosis:
                value = float(value.max()) if value.size else 0.0
                exact = Fraction(value)
            else:
                try:
                    ok = np.broadcast_shapes(value.shape, a.shape) == a.shape
                except ValueError:
                    ok = False
                if not ok:
                    raise ValueError(
                        f"the per-element {name} of shape {value.shape} does not broadcast to "
                        f"the compared shape {a.shape} at {where or 'the top level'}"
                    )
        values += [value, exact]
    rt, rq, at, aq = values
    return Rule(
        rt, at, rq, aq, t.ulps, _dtypes.lower_precision(a.dtype, e.dtype), options.equal_nan
    )


def _value_mismatch(
    where: str,
    kind: Kind,
    detail: str,
    stats: ValueStats,
    hints: list[str],
    sa: Side,
    se: Side,
    rule: Rule | None,
    tolerance: tol.Tolerance | None,
) -> Mismatch:
    index = stats.worst_abs.index if stats.worst_abs is not None else stats.first_failure
    return Mismatch(
        where,
        kind,
        detail,
        count=stats.failed,
        total=stats.total,
        index=index,
        hints=hints,
        actual=sa,
        expected=se,
        tolerance=tolerance,
        worst_abs=stats.worst_abs,
        worst_rel=stats.worst_rel,
        worst_ulps=stats.worst_ulps,
        ulp_dtype=None if rule is None else _dtypes.dtype_label(_dtypes.component(rule.ulp_dtype)),
        examples=_examples(stats),
        nan_only_actual=stats.nan_only_actual,
        nan_only_expected=stats.nan_only_expected,
        nonfinite_other=stats.nonfinite_other,
        mask_differs=stats.mask_differs,
    )


def _exact_equality(
    fa: str, fe: str, da: np.dtype[Any], de: np.dtype[Any], options: Options, where: str
) -> Callable[[Array, Array], Array] | None:
    equal_nan = options.equal_nan
    if fa != fe and "object" not in (fa, fe):
        return None
    if fa in ("datetime", "timedelta"):
        common = np.promote_types(da, de)

        def eq_time(x: Array, y: Array) -> Array:
            xc, yc = x.astype(common), y.astype(common)
            res = xc == yc
            if equal_nan:
                res |= np.isnat(xc) & np.isnat(yc)
            return np.asarray(res)

        return eq_time
    if fa in ("str", "bytes", "void"):
        return lambda x, y: np.asarray(x == y)

    def eq_obj(x: Array, y: Array) -> Array:
        out = np.empty(x.shape, dtype=bool)
        for i in range(x.size):
            out[i] = _py_close(x[i], y[i], options, where)
        return out

    return eq_obj


def _py_close(x: Any, y: Any, options: Options, where: str) -> bool:
    """Two Python objects: real numbers (big ints, Fraction, Decimal) by the tolerance rule
    in exact arithmetic, anything else with ``==``."""
    t = options.tolerance
    if (
        t is not None
        and t.rtol_exact is not None
        and t.atol_exact is not None
        and _is_real(x)
        and _is_real(y)
        and not (_is_nan(x) or _is_nan(y))
        and all(math.isfinite(float(v)) for v in (x, y))
    ):
        return exact_close_real(x, y, t.rtol_exact, t.atol_exact)
    return _py_equal(x, y, options.equal_nan, where)


def _is_real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def _py_equal(x: Any, y: Any, equal_nan: bool, where: str) -> bool:
    if equal_nan and _is_nan(x) and _is_nan(y):
        return True
    try:
        r = x == y
    except Exception as err:
        raise unsupported_leaf(where, type(x).__name__, f"its == raised {err!r}") from None
    if isinstance(r, (bool, np.bool_)):
        return bool(r)
    raise unsupported_leaf(
        where,
        f"{type(x).__module__}.{type(x).__qualname__}",
        f"its == returned a {type(r).__name__}, not True/False",
    )


def _is_nan(x: Any) -> bool:
    try:
        return (
            isinstance(x, (float, np.floating, complex, np.complexfloating)) and bool(np.isnan(x))
        ) or (isinstance(x, float) and math.isnan(x))
    except TypeError:
        return False


def _compare_objects(
    where: str, la: Leaf, le: Leaf, sa: Side, se: Side, options: Options
) -> list[Mismatch]:
    if options.strict_types and type(la.obj) is not type(le.obj):
        return [
            Mismatch(
                where,
                "type",
                f"types differ: {sa.type} vs {se.type}",
                actual=sa,
                expected=se,
                hints=["types must match exactly with strict_types=True"],
            )
        ]
    if _py_close(la.obj, le.obj, options, where):
        return []
    return [
        Mismatch(
            where,
            "value",
            "values differ (compared with ==)",
            actual=sa,
            expected=se,
            examples=[Example((), _fmt(la.obj), _fmt(le.obj))],
            hints=["objects compare with ==, which returned False"],
        )
    ]


def _compare_fields(
    path: Path, a: Array, e: Array, options: Options, sa: Side, se: Side, notes: list[Note]
) -> tuple[list[Mismatch], list[Note]]:
    na, ne = list(a.dtype.names or ()), list(e.dtype.names or ())
    found: list[Mismatch] = []
    if set(na) != set(ne):
        missing = [n for n in ne if n not in na]
        extra = [n for n in na if n not in ne]
        parts = ([f"missing in actual: {', '.join(missing)}"] if missing else []) + (
            [f"extra in actual: {', '.join(extra)}"] if extra else []
        )
        found.append(
            Mismatch(
                format_path(path),
                "structure",
                "structured-array fields differ: " + "; ".join(parts),
                actual=sa,
                expected=se,
            )
        )
    for name in ne:
        if name in na:
            sub, sub_notes = _compare((*path, ("field", name)), a[name], e[name], options, None)
            found.extend(sub)
            notes.extend(sub_notes)
    return found, notes
