"""Turning comparison records into the report text and into plain dicts. Pure functions."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from nearly._prim.jsonable import json_number as _jnum
from nearly._prim.jsonable import jsonable
from nearly._prim.rule import Extreme

if TYPE_CHECKING:
    from nearly._report.records import Comparison, Finding, Mismatch, Side

__all__ = ["comparison_to_dict", "finding_to_dict", "format_index", "mismatch_to_dict", "render"]

_INDENT = "  "
#: failing leaves shown in full; the rest get one line each
DETAILED = 20


def format_index(index: tuple[int, ...] | None) -> str:
    if index is None:
        return ""
    return "[" + ", ".join(str(i) for i in index) + "]" if index else "[()]"


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if math.isinf(x) or math.isnan(x):
        return str(x)
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}"


def _where(path: str) -> str:
    return path or "(top level)"


def _side(label: str, side: Side | None) -> str:
    if side is None:
        return ""
    parts = [side.type]
    if side.dtype is not None:
        parts.append(side.dtype)
    if side.shape is not None:
        parts.append(f"shape {side.shape}")
    return f"{label}{' '.join(parts)}"


def _extreme(label: str, ext: Extreme | None, allowed_label: str = "allowed there") -> str:
    if ext is None:
        return ""
    at = f" at {format_index(ext.index)}" if ext.index else ""
    label_ = allowed_label if ext.index else "allowed"
    allowed = "" if ext.allowed is None else f" ({_num(ext.allowed)} {label_})"
    return f"{label}{_num(ext.value)}{at}{allowed}"


def _mismatch_lines(m: Mismatch) -> list[str]:
    head = f"{_where(m.path)}: {m.detail}"
    if m.kind in ("value", "dtype") and m.total > 1 and (m.count or m.kind == "value"):
        pct = 100.0 * m.count / m.total if m.total else 0.0
        head += f" at {m.count} of {m.total} element{'s' if m.total != 1 else ''} ({pct:.3g}%)"
    lines = [head]
    body: list[str] = []
    if m.actual is not None and m.actual.type and (m.kind != "structure"):
        if m.expected is None:
            body.append(_side("value:     ", m.actual))
        else:
            body.append(_side("actual:    ", m.actual))
            body.append(_side("expected:  ", m.expected))
    if m.tolerance is not None and m.count:
        src = f" ({m.tolerance.source})" if m.tolerance.source not in ("", "given") else ""
        body.append(f"tolerance: {m.tolerance.describe()}{src}")
    if m.worst_abs is not None:
        body.append(_extreme("greatest absolute difference: ", m.worst_abs))
        rel = m.worst_rel
        if (
            rel is not None
            and math.isinf(rel.value)
            and rel.allowed is not None
            and math.isinf(rel.allowed)
        ):  # |expected| is 0 where it is greatest: there is no relative difference to give
            at = f" at {format_index(rel.index)}" if rel.index else ""
            body.append(f"greatest relative difference: inf{at} (expected is 0 there)")
        else:
            body.append(_extreme("greatest relative difference: ", rel))
    if m.worst_ulps is not None:
        allowed = "" if m.worst_ulps.allowed is None else f", {_num(m.worst_ulps.allowed)} allowed"
        at = f" at {format_index(m.worst_ulps.index)}" if m.worst_ulps.index else ""
        body.append(
            f"greatest ULP difference:      {_num(m.worst_ulps.value)}{at} "
            f"(ULPs of {m.ulp_dtype}{allowed})"
        )
    nonfinite = []
    if m.nan_only_actual:
        nonfinite.append(f"NaN only in actual: {m.nan_only_actual}")
    if m.nan_only_expected:
        nonfinite.append(f"NaN only in expected: {m.nan_only_expected}")
    if m.nonfinite_other:
        nonfinite.append(f"other non-finite mismatches: {m.nonfinite_other}")
    if m.mask_differs:
        nonfinite.append(f"mask differs: {m.mask_differs}")
    if nonfinite:
        body.append("; ".join(nonfinite))
    if m.examples:
        if len(m.examples) == 1 and m.examples[0].index == ():
            ex = m.examples[0]
            body.append(f"actual {ex.actual} vs expected {ex.expected}")
        else:
            more = " (first failing elements)" if m.count > len(m.examples) else ""
            if m.expected is None:  # a check of one value, e.g. assert_finite
                body.append(f"index: value{more}")
                body += [f"{_INDENT}{format_index(ex.index)}: {ex.actual}" for ex in m.examples]
            else:
                body.append(f"index: actual vs expected{more}")
                body += [
                    f"{_INDENT}{format_index(ex.index)}: {ex.actual} vs {ex.expected}"
                    for ex in m.examples
                ]
    hints = m.hints
    if hints:
        body.append(f"diagnosis: {hints[0]}")
        body += [f"note: {h}" for h in hints[1:]]
    return lines + [_INDENT + b for b in body if b]


_HEADLINES = {
    "close": ("Close", "Not close", "no differences beyond the tolerance"),
    "equal": ("Equal", "Not equal", "no differences"),
    "finite": ("Finite", "Not finite", "no NaN or infinity"),
    "range": ("In range", "Out of range", "every value within the bounds"),
    "sums": ("Sums match", "Sums do not match", "every sum within its bound"),
    "standardized": ("Standardized", "Not standardized", "means and stds within bounds"),
}


def render(c: Comparison) -> str:
    """The full report: a headline, then one block per failing leaf, then notes."""
    leaves = f"{c.leaves} lea{'f' if c.leaves == 1 else 'ves'}"
    good, bad, nothing = _HEADLINES[c.check]
    verb = "compared" if c.check in ("close", "equal") else "checked"
    if c.ok:
        lines = [f"{good}: {leaves} {verb}, {nothing}."]
    else:
        n = len(c.mismatches)
        lines = [f"{bad}: {n} mismatch{'es' if n != 1 else ''} ({leaves} {verb})."]
        for m in c.mismatches[:DETAILED]:
            lines.append("")
            lines += _mismatch_lines(m)
        rest = c.mismatches[DETAILED:]
        if rest:
            lines.append("")
            lines.append(
                f"{len(rest)} more mismatch{'es' if len(rest) != 1 else ''}, one line each:"
            )
            lines += [f"{_INDENT}{_summary_line(m)}" for m in rest]
    if c.notes:
        lines.append("")
        lines.append("Notes (differences that do not fail):")
        lines += [f"{_INDENT}{_where(n.path)}: {n.text}" for n in c.notes]
    return "\n".join(lines)


def _summary_line(m: Mismatch) -> str:
    line = f"{_where(m.path)}: {m.detail}"
    if m.kind in ("value", "dtype") and m.total > 1 and m.count:
        line += f" at {m.count} of {m.total} elements"
    return line


def _jside(s: Side | None) -> Any:
    if s is None:
        return None
    return {"type": s.type, "dtype": s.dtype, "shape": None if s.shape is None else list(s.shape)}


def _jext(e: Extreme | None) -> Any:
    if e is None:
        return None
    return {"value": _jnum(e.value), "index": list(e.index), "allowed": _jnum(e.allowed)}


def finding_to_dict(f: Finding) -> dict[str, Any]:
    return {"code": f.code, "params": jsonable(dict(f.params))}


def mismatch_to_dict(m: Mismatch) -> dict[str, Any]:
    return {
        "path": m.path,
        "kind": m.kind,
        "code": m.reason.code,
        "params": jsonable(dict(m.reason.params)),
        "detail": m.detail,
        "count": m.count,
        "total": m.total,
        "max_abs": _jnum(m.max_abs),
        "max_rel": _jnum(m.max_rel),
        "max_ulps": _jnum(m.max_ulps),
        "index": None if m.index is None else list(m.index),
        "hints": m.hints,
        "diagnoses": [finding_to_dict(d) for d in m.diagnoses],
        "actual": _jside(m.actual),
        "expected": _jside(m.expected),
        "tolerance": None if m.tolerance is None else m.tolerance.to_dict(),
        "worst": {
            "abs": _jext(m.worst_abs),
            "rel": _jext(m.worst_rel),
            "ulps": _jext(m.worst_ulps),
            "ulp_dtype": m.ulp_dtype,
        },
        "nonfinite": {
            "nan_only_actual": m.nan_only_actual,
            "nan_only_expected": m.nan_only_expected,
            "other": m.nonfinite_other,
            "mask_differs": m.mask_differs,
        },
        "examples": [
            {"index": list(x.index), "actual": x.actual, "expected": x.expected} for x in m.examples
        ],
    }


def comparison_to_dict(c: Comparison) -> dict[str, Any]:
    return {
        "ok": c.ok,
        "leaves": c.leaves,
        "check": c.check,
        "mismatches": [mismatch_to_dict(m) for m in c.mismatches],
        "notes": [{"path": n.path, "text": n.text, **finding_to_dict(n.finding)} for n in c.notes],
    }
