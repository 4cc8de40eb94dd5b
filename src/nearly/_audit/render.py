"""Render an :class:`~nearly._audit.measure.AuditReport`: terminal text, markdown, JSON, and a PNG.

Pure functions of the report; matplotlib is imported only by :func:`plot`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nearly._audit.verdicts import LINEAR_FROM, MEANING, SAFETY, STABLE_BELOW, VERDICTS
from nearly._audit.verdicts import size_label as _n
from nearly._prim.jsonable import jsonable

if TYPE_CHECKING:
    from nearly._audit.measure import AuditReport, Cell, Trend

__all__ = ["plot", "to_dict", "to_json", "to_markdown", "to_text"]

PLOT_HINT = "plotting the audit needs matplotlib: pip install 'nearly[plot]'"


# ------------------------------------------------------------------------------ numbers


def _g(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "-"
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf"
    if x == 0:
        return "0"
    return f"{x:.{digits}g}"


def _ratio(x: float | None) -> str:
    if x is None:
        return "-"
    return _g(x) + ("  !" if x > 1 else "")


def _growth(t: Trend) -> str:
    if math.isnan(t.exponent):
        return "-"
    return f"n^{t.exponent:.2f} ({t.r2:.2f})"


def _tolerance(c: Cell) -> str:
    return f"{_g(c.recommended_atol)} ({c.recommended_from.split()[0]})"


# ------------------------------------------------------------------------------- tables


def _table(header: Sequence[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        out = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        ]
        return "  ".join(out).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _md_table(header: Sequence[str], rows: list[list[str]]) -> list[str]:
    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    out = ["| " + " | ".join(esc(h) for h in header) + " |"]
    out.append("|" + "|".join("---" for _ in header) + "|")
    out.extend("| " + " | ".join(esc(c) for c in r) + " |" for r in rows)
    return out


_SUMMARY = [
    "case",
    "dtype",
    "verdict",
    "growth (R²)",
    "max rel err",
    "max ULP",
    "err/bound",
    "tolerance at largest n",
    "grows",
]


def _summary_rows(report: AuditReport) -> list[list[str]]:
    rows = []
    for t in report.trends:
        cells = report.cells_of(t.case, t.dtype)
        last = cells[-1]
        ratios = [c.ratio for c in cells if c.ratio is not None]
        rows.append(
            [
                t.case,
                t.dtype,
                t.verdict,
                _growth(t),
                f"{_g(last.max_rel)} @{_n(last.n)}",
                _g(max(c.max_ulps for c in cells), 3),
                _ratio(max(ratios)) if ratios else "-",
                f"{_tolerance(last)} @{_n(last.n)}",
                "yes" if t.tolerance_grows else "no",
            ]
        )
    return rows


_DETAIL = [
    "n",
    "max abs",
    "median abs",
    "max rel",
    "median rel",
    "max ULP",
    "median ULP",
    "bound",
    "err/bound",
    "tolerance (from)",
]


def _detail_rows(cells: list[Cell]) -> list[list[str]]:
    return [
        [
            _n(c.n),
            _g(c.max_abs),
            _g(c.median_abs),
            _g(c.max_rel),
            _g(c.median_rel),
            _g(c.max_ulps, 3),
            _g(c.median_ulps, 3),
            _g(c.bound),
            _ratio(c.ratio),
            _tolerance(c),
        ]
        for c in cells
    ]


def _header(report: AuditReport) -> str:
    env = ", ".join(f"{k} {v}" for k, v in report.environment.items() if k not in ("machine",))
    sizes = ", ".join(_n(n) for n in report.sizes)
    return (
        f"sizes {sizes}; dtypes {', '.join(report.dtypes)}; {len(report.seeds)} seed(s); "
        f"reference {report.reference}; {report.seconds:.1f} s; {env}"
    )


def _legend() -> list[str]:
    return [
        f"beyond-bound: {MEANING['beyond-bound']} (takes precedence)",
        f"linear: growth exponent >= {LINEAR_FROM}: {MEANING['linear']}",
        f"random-walk: {STABLE_BELOW} <= exponent < {LINEAR_FROM}: {MEANING['random-walk']}",
        f"stable: exponent < {STABLE_BELOW}: {MEANING['stable']}",
        "growth: relative error ~ n^b fitted on log-log axes (R² in brackets); relative error "
        "is the largest absolute error over the largest reference magnitude",
        f"tolerance: the derived bound where it holds and is not vacuous, else the observed "
        f"largest error x{SAFETY:g}; 'grows' says whether it has to grow with n",
    ]


def to_text(report: AuditReport, *, detail: bool | None = None) -> str:
    if detail is None:
        detail = len(report.trends) <= 4
    lines = ["nearly audit: " + _header(report), ""]
    lines += _table(_SUMMARY, _summary_rows(report), right={4, 5, 6, 7})
    notes = [t for t in report.trends if t.note]
    if notes:
        lines += ["", "notes:"]
        lines += [f"  {t.case} ({t.dtype}), {t.verdict}: {t.note}" for t in notes]
    if report.skipped:
        lines += ["", "skipped:"]
        lines += [f"  {case} ({dtype}): {why}" for case, dtype, why in report.skipped]
    if detail:
        for t in report.trends:
            lines += ["", f"{t.case} ({t.dtype}): {t.verdict}"]
            lines += [
                "  " + s
                for s in _table(_DETAIL, _detail_rows(report.cells_of(t.case, t.dtype)), set())
            ]
    lines += ["", "verdicts:"] + [f"  {s}" for s in _legend()]
    return "\n".join(lines)


def to_markdown(report: AuditReport, *, image: str | None = None) -> str:
    lines = ["# nearly audit", ""]
    if report.command:
        lines += [f"Command: `{report.command}`", ""]
    lines += [_header(report) + ".", ""]
    lines += _md_table(_SUMMARY, _summary_rows(report))
    lines += ["", "Verdicts and columns:", ""] + [f"- {s}" for s in _legend()]
    if image:
        lines += ["", f"![relative error against n]({image})"]
    notes = [t for t in report.trends if t.note]
    if notes:
        lines += ["", "## Notes", ""]
        lines += [f"- **{t.case}** ({t.dtype}), *{t.verdict}*: {t.note}" for t in notes]
    if report.skipped:
        lines += ["", "## Skipped", ""]
        lines += [f"- **{case}** ({dtype}): {why}" for case, dtype, why in report.skipped]
    lines += ["", "## Per size", ""]
    for t in report.trends:
        lines += [f"### {t.case} ({t.dtype}): {t.verdict}", ""]
        lines += _md_table(_DETAIL, _detail_rows(report.cells_of(t.case, t.dtype)))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def to_dict(report: AuditReport) -> dict[str, Any]:
    data = {
        "command": report.command,
        "sizes": list(report.sizes),
        "dtypes": list(report.dtypes),
        "seeds": list(report.seeds),
        "reference": report.reference,
        "seconds": report.seconds,
        "environment": dict(report.environment),
        "thresholds": {
            "stable_below": STABLE_BELOW,
            "linear_from": LINEAR_FROM,
            "safety": SAFETY,
            "verdicts": list(VERDICTS),
        },
        "trends": [asdict(t) for t in report.trends],
        "cells": [asdict(c) for c in report.cells],
        "skipped": [{"case": c, "dtype": d, "why": w} for c, d, w in report.skipped],
    }
    cleaned: dict[str, Any] = jsonable(data)
    return cleaned


def to_json(report: AuditReport, *, indent: int | None = 2) -> str:
    return json.dumps(to_dict(report), indent=indent, allow_nan=False)


# --------------------------------------------------------------------------------- plot


_PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
)
_MARKERS = ("o", "^", "s", "D", "v", "P")


def _panels(report: AuditReport) -> tuple[list[tuple[str, list[Trend]]], bool]:
    """The plot's panels and whether lines are told apart by dtype: one panel per group when
    each group holds one case (its dtypes are the lines), else one panel per group and dtype
    (the frameworks are the lines)."""
    groups: dict[str, list[Trend]] = {}
    for t in report.trends:
        groups.setdefault(t.group, []).append(t)
    if all(len({t.label for t in ts}) == 1 for ts in groups.values()):
        return list(groups.items()), True
    panels = []
    for group, ts in groups.items():
        for dtype in report.dtypes:
            these = [t for t in ts if t.dtype == dtype]
            if these:
                panels.append((f"{group} · {dtype}", these))
    return panels, False


def plot(report: AuditReport, path: str | Path) -> Path:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(PLOT_HINT) from None
    from nearly._prim import dtypes as _dtypes
    from nearly._prim.dtypes import as_dtype as _as_dtype

    out = Path(path)
    panels, by_dtype = _panels(report)
    if not panels:
        raise ValueError("the report has no measured cases to plot")
    ncols = min(4, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    head = 1.05 if ncols >= 3 else 1.4  # inches above the panels (more lines when narrow)
    width, height = 4.4 * ncols, 3.3 * nrows + head - 0.35
    fig = Figure(figsize=(width, height))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    # fixed margins in inches: a layout engine costs seconds on a grid this size
    fig.subplots_adjust(
        left=0.75 / width,
        right=1 - 0.2 / width,
        bottom=0.55 / height,
        top=1 - head / height,
        wspace=0.3,
        hspace=0.45,
    )
    # the same colour for a framework (or a dtype) in every panel
    keys = list(dict.fromkeys(t.dtype if by_dtype else t.label for t in report.trends))
    color = {key: _PALETTE[i % len(_PALETTE)] for i, key in enumerate(keys)}
    marker = {d: _MARKERS[i % len(_MARKERS)] for i, d in enumerate(report.dtypes)}
    for i, (title, trends) in enumerate(panels):
        ax = axes[i // ncols][i % ncols]
        measured: list[float] = []
        for t in trends:
            cells = report.cells_of(t.case, t.dtype)
            ns = [c.n for c in cells]
            c_ = color[t.dtype if by_dtype else t.label]
            exp = "" if math.isnan(t.exponent) else f", n^{t.exponent:.2f}"
            ax.plot(
                ns,
                [c.fit_rel for c in cells],
                color=c_,
                marker=marker.get(t.dtype, "o"),
                markersize=4,
                linewidth=1.6,
                label=f"{t.dtype if by_dtype else t.label}: {t.verdict}{exp}",
            )
            measured += [c.fit_rel for c in cells if math.isfinite(c.fit_rel) and c.fit_rel > 0]
            bound = [(c.n, c.bound / c.scale) for c in cells if c.bound and c.scale > 0]
            if bound:
                ax.plot(*zip(*bound, strict=True), color=c_, linestyle="--", linewidth=1, alpha=0.6)
            over = [
                (c.n, c.fit_rel)
                for c in cells
                if ((c.ratio or 0) > 1 or c.nonfinite) and math.isfinite(c.fit_rel)
            ]
            if over:
                ax.plot(*zip(*over, strict=True), "x", color="black", markersize=8)
        units = {d: 2.0 ** -_dtypes.float_format(_as_dtype(d)).p for d in {t.dtype for t in trends}}
        for d, u in units.items():
            ax.axhline(u, color="grey", linestyle=":", linewidth=0.8)
            ax.annotate(
                f"u {d}",
                (0.99, u),
                xycoords=("axes fraction", "data"),
                ha="right",
                va="bottom",
                fontsize=6,
                color="grey",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.minorticks_off()  # minor ticks of many log decades cost more than they tell
        if measured:
            # bounds far above the data (vacuous ones reach 1 and beyond) must not flatten it
            lo = min(min(measured), *units.values()) / 4
            ax.set_ylim(lo, max(2.0, max(measured) * 30))
        verdicts = {t.verdict for t in trends}
        ax.set_title(title if len(verdicts) > 1 else f"{title}: {verdicts.pop()}", fontsize=9)
        ax.set_xlabel("n", fontsize=8)
        ax.set_ylabel("relative error", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=6.5, loc="upper left", frameon=True, framealpha=0.8)
    for j in range(len(panels), nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    legend = [
        "solid: measured (median over seeds of the largest error)",
        "dashed: derived worst-case bound; x: beyond it",
        "dotted: unit roundoff u",
    ]
    # one line of the legend per row when the figure is narrow, all on one line otherwise
    fig.suptitle(
        "nearly audit: relative error against n\n"
        + ("; ".join(legend) if ncols >= 3 else "\n".join(legend)),
        fontsize=10,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    return out
