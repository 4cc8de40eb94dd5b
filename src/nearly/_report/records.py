"""Result records: what a comparison found, as codes and data. The wording of each finding
is in :mod:`nearly._report.messages`, the report's layout in :mod:`nearly._report.text`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from nearly._prim.rule import Extreme
from nearly._report import text as _text

if TYPE_CHECKING:
    from nearly._tolerance.tolerance import Tolerance

__all__ = [
    "Comparison",
    "Example",
    "Finding",
    "Mismatch",
    "Note",
    "PendingNote",
    "Side",
    "resolve_notes",
]

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
class Finding:
    """One thing found, as data: a ``code`` (``"shape.differ"``, ``"hint.offset"``, ...) and
    its ``params`` (numbers, strings, shapes); ``text`` is its sentence."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        # the wording is loaded on the first report rendered: a passing check never needs it
        from nearly._report import messages

        return messages.render(self.code, self.params)

    def to_dict(self) -> dict[str, Any]:
        return _text.finding_to_dict(self)


@dataclass(frozen=True)
class Note:
    """Something that differs but does not fail, e.g. a dtype when ``check_dtype=False``."""

    path: str
    finding: Finding

    @property
    def code(self) -> str:
        return self.finding.code

    @property
    def text(self) -> str:
        return self.finding.text


@dataclass(frozen=True)
class Mismatch:
    """One failing leaf (or one structural difference) and everything known about it.

    ``kind`` is the most basic thing that differs: ``"structure"`` (missing/extra keys,
    lengths), ``"type"``, ``"shape"``, ``"dtype"`` or ``"value"``. For values, ``count`` is the
    number of failing elements out of ``total``; ``max_abs``/``max_rel``/``max_ulps`` are the
    greatest differences among failing elements and ``index`` is where the greatest absolute
    difference is.

    ``reason`` is what failed and ``diagnoses`` why it may have, most likely first, both as
    :class:`Finding` (code and parameters); ``detail`` and ``hints`` are their sentences, and
    ``diagnosis`` the first hint.
    """

    path: str
    kind: Kind
    reason: Finding
    count: int = 1
    total: int = 1
    index: tuple[int, ...] | None = None
    diagnoses: tuple[Finding, ...] = ()
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
    def code(self) -> str:
        return self.reason.code

    @property
    def detail(self) -> str:
        return self.reason.text

    @property
    def hints(self) -> list[str]:
        return [d.text for d in self.diagnoses]

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
        return self.diagnoses[0].text if self.diagnoses else None

    def to_dict(self) -> dict[str, Any]:
        return _text.mismatch_to_dict(self)


#: a note, or a callable that measures it when first asked for: a note, the notes of a run of
#: leaves in walk order, or None (nothing to note)
PendingNote = Note | Callable[[], Note | list[Note] | None]


def resolve_notes(pending: list[PendingNote]) -> list[Note]:
    """The notes, measured where they wait to be, in order."""
    out: list[Note] = []
    for p in pending:
        found = p if isinstance(p, Note) else p()
        if isinstance(found, Note):
            out.append(found)
        elif found is not None:
            out.extend(found)
    return out


@dataclass(frozen=True, eq=False)
class Comparison:
    """The outcome of comparing two values: ``bool(c)`` is ``c.ok``; ``str(c)`` is the report."""

    mismatches: list[Mismatch]
    # notes, and notes measured only when first asked for (a passing compare() need not
    # measure how its leaves differ unless someone looks)
    found_notes: list[PendingNote]
    leaves: int
    check: Literal["close", "equal", "finite", "range", "sums", "standardized"] = "close"

    @property
    def notes(self) -> list[Note]:
        """What differs without failing, in walk order."""
        if any(not isinstance(n, Note) for n in self.found_notes):
            object.__setattr__(self, "found_notes", resolve_notes(self.found_notes))
        return self.found_notes  # type: ignore[return-value]  # (all Notes now)

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
