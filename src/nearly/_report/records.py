"""Result records: what a comparison found, with no text formatting (see
:mod:`nearly._report.text`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from nearly._prim.rule import Extreme
from nearly._report import text as _text

if TYPE_CHECKING:
    from nearly._tolerance.tolerance import Tolerance

__all__ = ["Comparison", "Example", "Mismatch", "Note", "Side"]

Kind = Literal["structure", "type", "shape", "dtype", "value"]


@dataclass(frozen=True)
class Side:
    """What one side of a leaf is: its type, dtype and shape (None where they do not apply)."""

    type: str
    dtype: str | None = None
    shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Example:
    """One failing element: its index and the two values as they print."""

    index: tuple[int, ...]
    actual: str
    expected: str


@dataclass(frozen=True)
class Note:
    """Something that differs but does not fail, e.g. a dtype when ``check_dtype=False``."""

    path: str
    text: str


@dataclass(frozen=True)
class Mismatch:
    """One failing leaf (or one structural difference) and everything known about it.

    ``kind`` is the most basic thing that differs: ``"structure"`` (missing/extra keys,
    lengths), ``"type"``, ``"shape"``, ``"dtype"`` or ``"value"``. For values, ``count`` is the
    number of failing elements out of ``total``; ``max_abs``/``max_rel``/``max_ulps`` are the
    greatest differences among failing elements and ``index`` is where the greatest absolute
    difference is. ``hints`` starts with the diagnosis: the most likely reason, in one line.
    """

    path: str
    kind: Kind
    detail: str
    count: int = 1
    total: int = 1
    index: tuple[int, ...] | None = None
    hints: list[str] = field(default_factory=list)
    actual: Side | None = None
    expected: Side | None = None
    tolerance: Tolerance | None = None
    worst_abs: Extreme | None = None
    worst_rel: Extreme | None = None
    worst_ulps: Extreme | None = None
    ulp_dtype: str | None = None
    examples: list[Example] = field(default_factory=list)
    nan_only_actual: int = 0
    nan_only_expected: int = 0
    nonfinite_other: int = 0
    mask_differs: int = 0

    @property
    def max_abs(self) -> float | None:
        return None if self.worst_abs is None else self.worst_abs.value

    @property
    def max_rel(self) -> float | None:
        return None if self.worst_rel is None else self.worst_rel.value

    @property
    def max_ulps(self) -> float | None:
        return None if self.worst_ulps is None else self.worst_ulps.value

    @property
    def diagnosis(self) -> str | None:
        return self.hints[0] if self.hints else None

    def to_dict(self) -> dict[str, Any]:
        return _text.mismatch_to_dict(self)


@dataclass(frozen=True, eq=False)
class Comparison:
    """The outcome of comparing two values: ``bool(c)`` is ``c.ok``; ``str(c)`` is the report."""

    mismatches: list[Mismatch]
    notes: list[Note]
    leaves: int
    check: Literal["close", "equal", "finite", "range", "sums", "standardized"] = "close"

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return _text.render(self)

    def __repr__(self) -> str:
        status = "ok" if self.ok else f"{len(self.mismatches)} mismatches"
        return f"<Comparison {status}, {self.leaves} leaves>"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (non-finite numbers become the strings "inf", "nan")."""
        return _text.comparison_to_dict(self)
