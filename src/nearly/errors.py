"""The exceptions nearly raises.

::

    AssertionError
     └── CheckFailed          a check ran and found a difference; .comparison explains it
          ├── NotClose        assert_close, assert_equal
          ├── NotFinite       assert_finite
          ├── OutOfRange      assert_in_range
          ├── NotStandardized assert_standardized
          └── BadSums         assert_sums_to

Misuse (a negative tolerance, an unknown option, a value nearly cannot compare) raises
``TypeError`` or ``ValueError`` at once, before anything is compared, so a broken test is never
mistaken for a failed check. An internal surprise raises ``NearlyBug``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nearly._report.records import Comparison

__all__ = [
    "BadSums",
    "CheckFailed",
    "NearlyBug",
    "NotClose",
    "NotFinite",
    "NotStandardized",
    "OutOfRange",
]


class CheckFailed(AssertionError):
    """A check found a difference. ``.comparison`` holds every failing leaf."""

    def __init__(self, message: str, comparison: Comparison) -> None:
        super().__init__(message)
        self.comparison = comparison


class NotClose(CheckFailed):
    """Raised by :func:`nearly.assert_close` and :func:`nearly.assert_equal`."""


class NotFinite(CheckFailed):
    """Raised by :func:`nearly.assert_finite` when a leaf holds NaN or infinity."""


class OutOfRange(CheckFailed):
    """Raised by :func:`nearly.assert_in_range`."""


class NotStandardized(CheckFailed):
    """Raised by :func:`nearly.assert_standardized`."""


class BadSums(CheckFailed):
    """Raised by :func:`nearly.assert_sums_to`."""


class NearlyBug(RuntimeError):
    """nearly reached a state it believed impossible; please report it with the inputs."""
