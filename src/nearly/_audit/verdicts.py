"""The audit's verdicts, the thresholds that decide them and what each means; how sizes are
written."""

from __future__ import annotations

import math

__all__ = [
    "FLOOR",
    "LINEAR_FROM",
    "MEANING",
    "SAFETY",
    "SATURATED",
    "STABLE_BELOW",
    "VERDICTS",
    "size_label",
]

VERDICTS = ("stable", "random-walk", "linear", "beyond-bound")
STABLE_BELOW = 0.25  # growth exponents below this are flat or logarithmic
LINEAR_FROM = 0.75  # and from this on, linear
SAFETY = 4.0  # observed worst error x SAFETY, when no derived bound can be recommended
FLOOR = 1 / 16  # relative errors below FLOOR * u count as FLOOR * u in the fit
SATURATED = 0.5  # relative error from which a result has no correct digits left

MEANING = {
    "stable": "flat or ~log n: a fixed tolerance holds at every size",
    "random-walk": "~√n: independent rounding errors accumulating",
    "linear": "~n: rounding errors that lean one way accumulating (biased rounding)",
    "beyond-bound": "exceeds the worst-case bound: a bug, or catastrophic cancellation",
}


def size_label(n: int) -> str:
    """1000000 -> "1e6" (powers of ten from 1000), other sizes as integers."""
    e = round(math.log10(n)) if n > 0 else 0
    return f"1e{e}" if n >= 1000 and n == 10**e else str(n)
