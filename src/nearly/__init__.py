"""nearly: tensor assertions that understand floating point.

Compare any nested structure of arrays and numbers, explain every difference, and use
tolerances that mean something::

    import nearly
    nearly.assert_close(model_outputs, expected)          # raises nearly.NotClose, explained
    print(nearly.explain(actual, expected, ulps=2))       # the report, without raising

``import nearly`` imports NumPy only; array frameworks are read by backends loaded the first
time one of their values is seen.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from nearly import stats, tol
from nearly._checks.close import (
    assert_close,
    assert_equal,
    assert_finite,
    assert_in_range,
    assert_standardized,
    assert_sums_to,
    compare,
    explain,
)
from nearly._report.records import Comparison, Mismatch
from nearly.errors import BadSums, CheckFailed, NotClose, NotFinite, NotStandardized, OutOfRange
from nearly.tol import Tolerance

if _TYPE_CHECKING:
    from nearly._audit.measure import AuditReport, audit
    from nearly._monitor.monitor import (
        Event,
        KOfN,
        Monitor,
        NumericsAlarm,
        NumericsWarning,
        Policy,
        Ratio,
        Spike,
        Threshold,
    )

__version__ = "0.1.0"

__all__ = [
    "AuditReport",
    "BadSums",
    "CheckFailed",
    "Comparison",
    "Event",
    "KOfN",
    "Mismatch",
    "Monitor",
    "NotClose",
    "NotFinite",
    "NotStandardized",
    "NumericsAlarm",
    "NumericsWarning",
    "OutOfRange",
    "Policy",
    "Ratio",
    "Spike",
    "Threshold",
    "Tolerance",
    "__version__",
    "assert_close",
    "assert_equal",
    "assert_finite",
    "assert_in_range",
    "assert_standardized",
    "assert_sums_to",
    "audit",
    "compare",
    "explain",
    "stats",
    "tol",
]

# The audit and the training monitor are features on top of the core: loaded on first use, so
# `import nearly` stays fast.
_LAZY = {"AuditReport": "nearly._audit.measure", "audit": "nearly._audit.measure"}
_LAZY.update(
    dict.fromkeys(
        (
            "Event",
            "KOfN",
            "Monitor",
            "NumericsAlarm",
            "NumericsWarning",
            "Policy",
            "Ratio",
            "Spike",
            "Threshold",
        ),
        "nearly._monitor.monitor",
    )
)


# The framework adapters, reachable as `nearly.keras` / `nearly.torch` after `import nearly`:
# imported on first access (with their framework), so `import nearly` stays NumPy-only.
_ADAPTERS = ("keras", "torch")


def __getattr__(name: str) -> object:
    if name in _LAZY or name in _ADAPTERS:
        import importlib

        if name in _ADAPTERS:
            try:
                value: object = importlib.import_module(f"nearly.{name}")
            except ImportError as exc:  # an AttributeError, so hasattr() and dir() tools work
                raise AttributeError(f"nearly.{name} is not available: {exc}") from exc
        else:
            value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nearly' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_ADAPTERS))
