"""nearly: tensor assertions that understand floating point.

Compare any nested structure of arrays and numbers, explain every difference, and use
tolerances that mean something::

    import nearly
    nearly.assert_close(model_outputs, expected)          # raises nearly.NotClose, explained
    print(nearly.explain(actual, expected, ulps=2))       # the report, without raising

``import nearly`` imports NumPy only; array frameworks are read by backends loaded the first
time one of their values is seen.
"""

from nearly import stats, tol
from nearly._result import Comparison, Mismatch
from nearly.checks import (
    assert_close,
    assert_equal,
    assert_finite,
    assert_in_range,
    assert_standardized,
    assert_sums_to,
    compare,
    explain,
)
from nearly.errors import BadSums, CheckFailed, NotClose, NotFinite, NotStandardized, OutOfRange
from nearly.tol import Tolerance

__version__ = "0.1.0"

__all__ = [
    "BadSums",
    "CheckFailed",
    "Comparison",
    "Mismatch",
    "NotClose",
    "NotFinite",
    "NotStandardized",
    "OutOfRange",
    "Tolerance",
    "__version__",
    "assert_close",
    "assert_equal",
    "assert_finite",
    "assert_in_range",
    "assert_standardized",
    "assert_sums_to",
    "compare",
    "explain",
    "stats",
    "tol",
]
