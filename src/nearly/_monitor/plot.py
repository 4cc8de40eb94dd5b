"""The monitor's report (text) and plot (PNG). Pure functions of what a Monitor has read;
matplotlib is imported only by :func:`plot`."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from nearly._monitor.monitor import Monitor

__all__ = ["PLOT_HINT", "plot", "render_report"]

PLOT_HINT = "plotting the monitor needs matplotlib: pip install 'nearly[plot]'"
_PERCENTILES = (50, 90, 99)


def _fmt(x: float) -> str:
    return f"{x:.4g}"  # nan, inf and -inf print as such


def render_report(monitor: Monitor) -> str:
    hist = monitor.history()
    steps = hist["step"]
    lines = [
        f"{monitor.name}: {len(steps)} steps read (host reads every {monitor.check_every} "
        f"steps), {len(monitor.events)} events"
    ]
    if monitor.policies:
        lines.append("policies: NonFinite (always on, action " + repr(monitor.nonfinite) + "), ")
        lines[-1] += ", ".join(f"{p.describe()} -> {p.action!r}" for p in monitor.policies)
    else:
        lines.append(f"policies: NonFinite (always on, action {monitor.nonfinite!r})")
    if monitor.lost_steps:
        lines.append(f"lost: {monitor.lost_steps} steps were overwritten before they were read")
    names = [k for k in hist if k != "step"]
    if len(steps):
        header = ["series", *(f"p{q}" for q in _PERCENTILES), "min", "max", "non-finite"]
        table = [header]
        for name in names:
            col = hist[name].astype(np.float64)
            finite = col[np.isfinite(col)]
            bad = int(col.size - finite.size)
            if finite.size:
                pct = [_fmt(float(v)) for v in np.percentile(finite, _PERCENTILES)]
                row = [name, *pct, _fmt(float(finite.min())), _fmt(float(finite.max()))]
            else:
                row = [name, *(["-"] * (len(_PERCENTILES) + 2))]
            table.append([*row, str(bad)])
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        for r in table:
            lines.append(
                "  "
                + "  ".join(
                    c.ljust(w) if i == 0 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(r, widths, strict=True))
                )
            )
    if monitor.events:
        counts = Counter((e.policy, e.series, e.action) for e in monitor.events)
        lines.append("events by policy:")
        for (policy, series, action), n in counts.most_common():
            lines.append(f"  {n:>6} × {policy} on {series} -> {action}")
        lines.append("first events:")
        for ev in monitor.events[:10]:
            lines.append("  " + ev.describe().replace("\n", "\n  "))
        if len(monitor.events) > 10:
            lines.append(f"  ... and {len(monitor.events) - 10} more")
    else:
        lines.append("no events")
    return "\n".join(lines)


def plot(monitor: Monitor, path: str | Path) -> Path:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(PLOT_HINT) from None
    hist = monitor.history()
    steps = hist["step"]
    panels = [k for k in ("loss", "grad_norm") if k in hist] or [k for k in hist if k != "step"][:2]
    if not len(steps) or not panels:
        raise ValueError(f"{monitor.name}: nothing recorded yet to plot")
    out = Path(path)
    fig = Figure(figsize=(8.0, 2.6 * len(panels) + 0.4))
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    colors = {"raise": "#d62728", "stop": "#d62728", "warn": "#ff7f0e"}
    for ax, name in zip(axes, panels, strict=True):
        values = hist[name].astype(np.float64)
        finite = np.isfinite(values)
        ax.plot(steps[finite], values[finite], lw=0.9, color="#1f77b4", label=name)
        positive = values[finite]
        if positive.size and np.all(positive > 0) and positive.max() / positive.min() > 100:
            ax.set_yscale("log")
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
        marks: dict[str, Any] = {}
        for ev in monitor.events:
            if ev.series != name:
                continue
            color = colors.get(ev.action, "#7f7f7f")
            label = ev.policy.split("(")[0]
            ax.axvline(ev.step, color=color, lw=0.8, alpha=0.6)
            if math.isfinite(ev.value):
                marks[label] = ax.plot([ev.step], [ev.value], "o", ms=4, color=color)[0]
            else:
                marks[label] = ax.axvline(ev.step, color=color, lw=1.5, ls="--")
        if marks:
            ax.legend(list(marks.values()), list(marks), fontsize=7, loc="upper right")
    axes[-1].set_xlabel("step")
    fig.suptitle(f"{monitor.name}: {len(monitor.events)} events over {len(steps)} steps")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return out
