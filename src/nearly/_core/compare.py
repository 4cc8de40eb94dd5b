"""Comparing two leaves: dispatch on what they are, run the engine, collect the findings.

Produces :class:`~nearly._report.records.Mismatch` and :class:`~nearly._report.records.Note`
records whose findings are codes and data; their wording lives in
:mod:`nearly._report.messages`.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from nearly._core import diagnose as _diagnose
from nearly._core import engine as _engine
from nearly._core.engine import (
    Rule,
    ValueStats,
    count_failures,
    count_unequal,
    failure_mask,
    measure,
    measure_each,
    measure_unequal,
    nonfinite_counts,
    quick_measurable,
    quick_pass,
    quick_pass_number,
    quick_unequal,
)
from nearly._core.options import EXACT, Options
from nearly._core.tree import (
    PLAIN_LEAVES,
    Event,
    LeafPair,
    LeafRun,
    Path,
    StructureDiff,
    TypeNote,
    format_path,
    key_difference,
    walk,
)
from nearly._prim import dtypes as _dtypes
from nearly._prim.exact import as_fraction, exact_close_real
from nearly._prim.failures import unreadable, unsupported_leaf
from nearly._report.records import (
    Comparison,
    Example,
    Finding,
    Kind,
    Mismatch,
    Note,
    PendingNote,
    Side,
    resolve_notes,
)
from nearly._tolerance import tolerance as tol
from nearly.backends import (
    DENSIFY_LIMIT,
    Leaf,
    Unreadable,
    backend_of,
    expand,
    graph_backend,
    host_values,
    is_array_leaf,
    normalize_device,
    to_leaf,
    tracing_backend,
)

__all__ = ["run"]

Array = np.ndarray[Any, Any]


def run(actual: Any, expected: Any, options: Options) -> Comparison:
    """Compare two nested structures; every failing leaf becomes one Mismatch.

    Python's cycle collector is paused meanwhile: a walk over many leaves allocates many
    small objects (paths, leaf pairs, records), none of them in a cycle, and with the
    collector on it ran again and again over everything alive (a third of the time of a walk
    over 200,000 leaves)."""
    if not gc.isenabled():
        return _run(actual, expected, options)
    gc.disable()
    try:
        return _run(actual, expected, options)
    finally:
        gc.enable()


def _run(actual: Any, expected: Any, options: Options) -> Comparison:
    # findings per event, in walk order; small leaves wait in `batch` for a joint verdict
    if type(actual) is float and type(expected) is float:
        found = _two_floats(actual, expected, options)
        if found is not None:
            return found
    slots: list[tuple[list[Mismatch], list[PendingNote]]] = []
    batch = _SmallLeaves(options, slots)
    leaves = 0
    events: Iterable[Event] = (
        # two arrays or numbers: the commonest call, one leaf at the top level
        (LeafPair((), actual, expected),)
        if type(actual) in PLAIN_LEAVES and type(expected) in PLAIN_LEAVES
        else walk(
            actual,
            expected,
            strict_types=options.strict_types,
            is_array_leaf=is_array_leaf,
            expand=expand,
        )
    )

    def leaf(pair: LeafPair) -> None:
        try:
            pending = batch.take(pair)
            if pending is not None:
                slots.append(_compare(pair.path, *pending, options, pair.container_types))
        except Unreadable as err:
            raise unreadable(format_path(pair.path), err.type_name, err.why) from None

    try:
        for event in events:
            if isinstance(event, LeafPair):
                leaves += 1
                leaf(event)
            elif isinstance(event, LeafRun):
                leaves += len(event)
                for pair in batch.take_run(event):
                    leaf(pair)
            elif isinstance(event, StructureDiff):
                kind: Kind = "type" if event.kind == "type" else "structure"
                mismatch = Mismatch(
                    format_path(event.path),
                    kind,
                    event.reason,
                    actual=Side(event.actual_type),
                    expected=Side(event.expected_type),
                    diagnoses=_structure_hints(event),
                )
                slots.append(([mismatch], []))
            elif isinstance(event, TypeNote):
                slots.append(([], [Note(format_path(event.path), event.finding)]))
            if slots and slots[-1][0] and _stops(options):
                raise _Failed
        batch.flush()
    except _Failed:
        pass  # (the verdict is known: no need to walk on)
    mismatches = [m for found, _ in slots for m in found]
    notes = [n for _, leaf_notes in slots for n in leaf_notes]
    return Comparison(mismatches, notes, leaves, check="equal" if options.exact else "close")


class _Failed(Exception):
    """A comparison that wants only its verdict has found a failing leaf."""


def _stops(options: Options) -> bool:
    """Whether a comparison that has found a failing leaf stops there."""
    return options.stop_at_failure and tracing_backend() is None


def _two_floats(a: float, e: float, options: Options) -> Comparison | None:
    """Two Python floats that certainly pass, settled in a few float operations (the commonest
    call of all); None when the full path must decide."""
    t = options.tolerance
    if options.exact or (t is not None and (t.rtol_exact is None or t.atol_exact is None)):
        return None
    rule = rule_for(_FLOAT64, _FLOAT64, (), options, "")
    if not _engine.QUICK or not quick_pass_number(a, e, rule):
        return None
    notes: list[PendingNote] = []
    describe = options.describe_passing and not rule.exact_only and a != e
    if describe and not (math.isnan(a) and math.isnan(e)):
        notes.append(_lazy_close_note((), np.array(a), np.array(e), _exact_rule(rule)))
    return Comparison([], notes, 1, check="close")


_FLOAT64 = np.dtype(np.float64)


class _SmallLeaves:
    """Many small leaves, decided together. Host arrays of one type, dtype and shape on both
    sides (NumPy arrays, CPU tensors, Python numbers) are settled at once when identical;
    otherwise they wait, grouped by dtype, and one engine run over all of a group's values
    gives the verdict. Only leaves that fail take the full path, one by one."""

    SMALL = 4096  # elements per leaf
    FLUSH = 1 << 20  # elements waiting in a group

    def __init__(
        self, options: Options, slots: list[tuple[list[Mismatch], list[PendingNote]]]
    ) -> None:
        t = options.tolerance
        # per-element tolerances must be checked against each leaf's shape, identical or not
        self.on = t is None or (t.rtol_exact is not None and t.atol_exact is not None)
        # passing leaves that differ get a note when describe_passing: a verdict is not enough
        self.joint = not options.describe_passing
        self.options = options
        self.slots = slots
        self.groups: dict[np.dtype[Any], list[tuple[int, LeafPair | LeafRun, Array, Array]]] = {}
        self.sizes: dict[np.dtype[Any], int] = {}

    def take(self, event: LeafPair) -> tuple[Leaf, Leaf] | None:
        """None when the pair is settled here (identical) or waits here for a joint verdict;
        otherwise its two leaves, for the full path."""
        a, e = event.actual, event.expected
        usable = self.on and event.container_types is None
        if usable and type(a) is float and type(e) is float:
            # Python floats: as float64 scalars, no leaf records unless they fail
            fx, fy = np.asarray(a), np.asarray(e)
            if (
                self._wait(event, fx, fy)
                or self._passes(event, fx, fy)
                or self._defer(event, fx, fy)
            ):
                return None
        if usable and type(a) is np.ndarray and type(e) is np.ndarray:
            # the commonest leaves: no leaf records unless they fail
            if _small(a, e) and (
                self._wait(event, a, e)
                or _all_equal(a, e)
                or self._passes(event, a, e)
                or self._defer(event, a, e)
            ):
                return None
            return to_leaf(a), to_leaf(e)
        la, le = to_leaf(a), to_leaf(e)
        if usable and _plain(la, le):
            x, y = la.array, le.array
            assert x is not None and y is not None
            if _small(x, y) and (self._wait(event, x, y) or self._passes(event, x, y)):
                return None
        return la, le

    def take_run(self, run: LeafRun) -> Iterable[LeafPair]:
        """The pairs of a run of Python numbers that must be taken one by one. The others are
        settled here: identical ones at once; float ones that differ by one verdict over all
        of them (waiting in the float64 group, or at once for compare(), which notes them)."""
        if not (self.on and _engine.QUICK):
            return run.pairs()
        x, y = np.array(run.actual), np.array(run.expected)
        if x.dtype != y.dtype or x.dtype not in _RUN_DTYPES:  # (ints beyond 64 bits)
            return run.pairs()
        with np.errstate(invalid="ignore"):
            unequal = x != y
        if not unequal.any():
            return ()
        if x.dtype.kind != "f":
            return map(run.pair, np.flatnonzero(unequal).tolist())
        if self.joint:
            self._enqueue(run, x, y)
        else:
            self.slots.append(self._run_outcome(run, x, y, unequal))
        return ()

    def _run_outcome(
        self, run: LeafRun, x: Array, y: Array, unequal: Array
    ) -> tuple[list[Mismatch], list[PendingNote]]:
        """A run of floats that are not all identical, for compare(): its failing items'
        records, and the notes of all that differ (measured when first read), in order."""
        rule = rule_for(x.dtype, y.dtype, x.shape, self.options, "")
        failing = np.flatnonzero(failure_mask(x, y, rule)).tolist()
        explained = _explain([(run.pair(i), x[i, ...], y[i, ...]) for i in failing], self.options)
        found = dict(zip(failing, explained, strict=True))
        mismatches = [m for records, _ in found.values() for m in records]
        differ = np.flatnonzero(unequal).tolist()
        exact = None if rule.exact_only else _exact_rule(rule)

        def notes() -> list[Note]:
            out: list[Note] = []
            for i in differ:
                if i in found:
                    out.extend(resolve_notes(found[i][1]))
                elif exact is not None:
                    note = _close_note(run.pair(i).path, x[i, ...], y[i, ...], exact)
                    if note is not None:
                        out.append(note)
            return out

        return mismatches, [notes]

    def _passes(self, event: LeafPair, a: Array, e: Array) -> bool:
        """For compare() (which notes passing leaves, so does not wait for a joint verdict):
        a small float pair of one dtype that certainly passes, settled here, its "close but
        not identical" note measured when the notes are first read."""
        if not self.options.describe_passing or not quick_measurable(a, e):
            return False
        rule = rule_for(a.dtype, e.dtype, a.shape, self.options, "")
        if not quick_pass(a, e, rule):
            return False
        notes: list[PendingNote] = []
        if not rule.exact_only:
            notes.append(_lazy_close_note(event.path, a, e, _exact_rule(rule)))
        self.slots.append(([], notes))
        return True

    def _wait(self, event: LeafPair, a: Array, e: Array) -> bool:
        """Put a pair of float arrays in its dtype's group (False: not this pair)."""
        if not self.joint or not _groupable(a):
            return False
        self._enqueue(event, a, e)
        return True

    def _defer(self, event: LeafPair, a: Array, e: Array) -> bool:
        """For compare(): a pair of float arrays that did not pass at once waits in its
        dtype's group too, to be decided, and explained if it fails, with the others."""
        if self.joint or not _groupable(a):
            return False
        self._enqueue(event, a, e)
        return True

    def _enqueue(self, event: LeafPair | LeafRun, a: Array, e: Array) -> None:
        """Wait in the dtype's group, with a slot kept for the findings."""
        self.groups.setdefault(a.dtype, []).append((len(self.slots), event, a, e))
        self.slots.append(([], []))
        size = self.sizes[a.dtype] = self.sizes.get(a.dtype, 0) + a.size
        if size >= self.FLUSH:
            self._decide(a.dtype)

    def flush(self) -> None:
        for dtype in list(self.groups):
            self._decide(dtype)

    def _decide(self, dtype: np.dtype[Any]) -> None:
        """One verdict over a group's values; then its failing pairs explained together, and
        (for compare()) its passing ones noted one by one."""
        waiting = self.groups.pop(dtype)
        self.sizes.pop(dtype)
        if len(waiting) == 1:
            a, e = waiting[0][2].reshape(-1), waiting[0][3].reshape(-1)
        else:
            a = np.concatenate([x for _, _, x, _ in waiting], axis=None)
            e = np.concatenate([y for _, _, _, y in waiting], axis=None)
        rule = rule_for(dtype, dtype, a.shape, self.options, "")
        if self.joint and count_failures(a, e, rule, limit=1) == 0:
            return
        mask = failure_mask(a, e, rule)
        starts = np.cumsum([0, *(x.size for _, _, x, _ in waiting[:-1])])
        failed = np.logical_or.reduceat(mask, starts)
        if self.joint and _stops(self.options):
            # the verdict is known: the first failing leaf's record is enough
            slot, event, x, _ = waiting[int(np.argmax(failed))]
            if isinstance(event, LeafRun):
                start = int(starts[int(np.argmax(failed))])
                event = event.pair(int(np.argmax(mask[start : start + x.size])))
            self.slots[slot] = compare_leaves(event, self.options)
            raise _Failed
        failing: list[tuple[int, LeafPair, Array, Array]] = []
        for (slot, event, x, y), start, bad in zip(waiting, starts, failed, strict=True):
            if isinstance(event, LeafRun):  # (a run waits only for a joint verdict)
                for i in np.flatnonzero(mask[start : start + x.size]).tolist():
                    failing.append((slot, event.pair(i), x[i, ...], y[i, ...]))
            elif bad:
                failing.append((slot, event, x, y))
            else:  # compare(): a pair that passes, not at once; noted by the full path
                self.slots[slot] = compare_leaves(event, self.options)
        found = _explain([(pair, x, y) for _, pair, x, y in failing], self.options)
        for (slot, _, _, _), (records, notes) in zip(failing, found, strict=True):
            self.slots[slot][0].extend(records)
            self.slots[slot][1].extend(notes)


def _groupable(a: Array) -> bool:
    """Float arrays wait in groups; empty ones do not: they have nothing to decide, and no
    place in the group's values."""
    return a.dtype in _GROUPED and a.size > 0


_GROUPED = frozenset(np.dtype(t) for t in ("float16", "float32", "float64", "longdouble"))


_RUN_DTYPES = frozenset(np.dtype(t) for t in ("float64", "int64", "complex128"))


def _explain(
    pairs: list[tuple[LeafPair, Array, Array]], options: Options
) -> list[tuple[list[Mismatch], list[PendingNote]]]:
    """The records of failing pairs of float arrays of one dtype and their own shapes, as the
    full path makes them. NumPy arrays and Python floats under a scalar tolerance (not a
    derived one: its hints read each pair's bound) are measured and diagnosed together, a
    few engine runs over many of them; the others take the full path one by one."""
    out: list[tuple[list[Mismatch], list[PendingNote]] | None] = [None] * len(pairs)
    t = options.tolerance
    if _engine.QUICK and (t is None or t.derivation is None):
        batch: list[int] = []
        size = 0
        for k, (pair, x, _) in enumerate(pairs):
            if type(pair.actual) is type(pair.expected) and type(pair.actual) in _EXPLAINED:
                batch.append(k)
                size += x.size
            if batch and (size >= _EXPLAIN_BATCH or k == len(pairs) - 1):
                _explain_together(pairs, batch, options, out)
                batch, size = [], 0
    return [
        found if found is not None else compare_leaves(pairs[k][0], options)
        for k, found in enumerate(out)
    ]


_EXPLAINED = frozenset({np.ndarray, float})
_EXPLAIN_BATCH = 1 << 18  # elements explained together (bounds the memory it takes)


def _explain_together(
    pairs: list[tuple[LeafPair, Array, Array]],
    which: list[int],
    options: Options,
    out: list[tuple[list[Mismatch], list[PendingNote]] | None],
) -> None:
    xs = [pairs[k][1] for k in which]
    ys = [pairs[k][2] for k in which]
    rule = rule_for(xs[0].dtype, ys[0].dtype, (), options, "")
    flat_x = np.concatenate(xs, axis=None)
    flat_y = np.concatenate(ys, axis=None)
    stats = measure_each(flat_x, flat_y, rule, [x.shape for x in xs])
    answers = _diagnose.answers_each(flat_x, flat_y, [x.shape for x in xs], rule, stats)
    for k, x, y, st, known in zip(which, xs, ys, stats, answers, strict=True):
        pair = pairs[k][0]
        la, le = to_leaf(pair.actual), to_leaf(pair.expected)
        p = _Pair(format_path(pair.path), la, le, options, [])

        def ask(question: str, answer: Callable[[], Any], known: dict[str, Any] = known) -> Any:
            return known[question] if question in known else answer()

        hints = _diagnose.value_hints(x, y, rule, st, None, ask)
        out[k] = ([_failed_values(p, x, y, st, hints, rule)], p.notes)


def _structure_hints(event: StructureDiff) -> tuple[Finding, ...]:
    if event.reason.code == "type.differ":
        if {event.actual_type, event.expected_type} <= {"list", "tuple"}:
            return (Finding("hint.tuple_list"),)
        return (Finding("hint.incomparable_types", event.reason.params),)
    return ()


def _side(leaf: Leaf) -> Side:
    dt = leaf.dtype
    label = leaf.format or (None if dt is None else _dtypes.dtype_label(dt))
    return Side(leaf.type_name, label, leaf.shape)


def _precision(leaf: Leaf, dt: np.dtype[Any]) -> np.dtype[Any]:
    """The dtype whose ULPs and default tolerance a leaf's values get: a narrow format's
    (complex32: float16), else the dtype's own."""
    return dt if leaf.format is None else _dtypes.NARROW_FORMATS[leaf.format]


def _fmt(x: Any) -> str:
    """A value as an example prints it (floats as NumPy prints them: shortest round trip)."""
    if type(x) in _FLOAT_SCALARS:  # the commonest, first
        return str(x)
    if isinstance(x, (str, bytes)):
        text = repr(x)
    elif (isinstance(x, np.generic) and x.dtype.kind in "fc") or _dtypes.family(
        np.asarray(x).dtype
    ) in ("float", "complex"):
        text = str(x)
    else:
        text = str(x) if isinstance(x, np.generic) else repr(x)
    return text if len(text) <= 80 else text[:77] + "..."


_FLOAT_SCALARS = frozenset({np.float16, np.float32, np.float64})


def _examples(stats: ValueStats, masks: tuple[Array, Array] | None = None) -> list[Example]:
    """The failing elements as they print; a masked element (a missing value: NumPy masked,
    pandas NA) prints as ``masked``, not as the fill value its array holds there."""
    if masks is None:
        return [Example(i, _fmt(a), _fmt(e)) for i, a, e in stats.examples]
    ma, me = masks
    return [
        Example(i, "masked" if ma[i] else _fmt(a), "masked" if me[i] else _fmt(e))
        for i, a, e in stats.examples
    ]


def compare_leaves(pair: LeafPair, options: Options) -> tuple[list[Mismatch], list[PendingNote]]:
    """One Mismatch per failing leaf (several for a structured array), plus notes."""
    la, le = to_leaf(pair.actual), to_leaf(pair.expected)
    return _compare(pair.path, la, le, options, pair.container_types)


_NUMERIC = frozenset({"bool", "int", "float", "complex"})


@dataclass
class _Pair:
    """Everything known about one leaf pair while it is compared."""

    where: str
    la: Leaf
    le: Leaf
    options: Options
    notes: list[PendingNote]

    @property
    def sa(self) -> Side:
        return _side(self.la)

    @property
    def se(self) -> Side:
        return _side(self.le)

    def mismatch(
        self, kind: Kind, reason: Finding, diagnoses: tuple[Finding, ...] = (), **kw: Any
    ) -> Mismatch:
        return Mismatch(
            self.where, kind, reason, actual=self.sa, expected=self.se, diagnoses=diagnoses, **kw
        )

    def note(self, code: str, **params: Any) -> None:
        self.notes.append(Note(self.where, Finding(code, params)))

    @property
    def types(self) -> dict[str, str]:
        return {"actual": self.sa.type, "expected": self.se.type}

    @property
    def dtypes(self) -> dict[str, str | None]:
        return {"actual": self.sa.dtype, "expected": self.se.dtype}

    def dtypes_differ(self, a: Array, e: Array) -> bool:
        return a.dtype != e.dtype or self.la.format != self.le.format

    def precisions(self, a: Array, e: Array) -> tuple[np.dtype[Any], np.dtype[Any]]:
        """The dtypes whose ULPs and default tolerances the two sides' values get."""
        return _precision(self.la, a.dtype), _precision(self.le, e.dtype)


def _compare(
    path: Path,
    la: Leaf,
    le: Leaf,
    options: Options,
    container_types: tuple[str, str] | None,
) -> tuple[list[Mismatch], list[PendingNote]]:
    if la.labels or le.labels:
        return _compare_labels(path, la, le, options, container_types)
    t = options.tolerance
    per_element = t is not None and (t.rtol_exact is None or t.atol_exact is None)
    if container_types is None and not per_element and _identical_small(la, le):
        return [], []  # (per-element tolerances still get their shape checked below)
    p = _Pair(format_path(path), la, le, options, [])
    if la.utf8 != le.utf8:
        p.la, p.le = _as_text(la, le, p), _as_text(le, la, p)
    if "symbolic" in (p.la.kind, p.le.kind):
        found = _compare_symbolic(p)
        return ([] if found is None else [found]), p.notes
    if "array" not in (p.la.kind, p.le.kind) or p.la.kind != p.le.kind:
        found = _compare_plain(p)
        return ([] if found is None else [found]), p.notes
    a, e = p.la.array, p.le.array
    assert a is not None
    assert e is not None
    found = _check_types(p, container_types)
    if found is None:
        aligned = _align_shapes(p, a, e)
        if isinstance(aligned, Mismatch):
            found = aligned
        else:
            a, e = aligned
            fa, fe = _dtypes.family(a.dtype), _dtypes.family(e.dtype)
            if p.la.meta or p.le.meta:
                found = _compare_meta(p, a, e)
            elif p.la.sparse is not None or p.le.sparse is not None:
                found = _compare_sparse(p, a, e)
            elif fa in _NUMERIC and fe in _NUMERIC:
                found = _compare_numeric(p, a, e)
            elif fa == fe == "void" and a.dtype.names and e.dtype.names:
                return _compare_fields(path, a, e, p)
            else:
                found = _compare_exactly(p, a, e, fa, fe)
    return ([] if found is None else [found]), p.notes


def _compare_labels(
    path: Path,
    la: Leaf,
    le: Leaf,
    options: Options,
    container_types: tuple[str, str] | None,
) -> tuple[list[Mismatch], list[PendingNote]]:
    """Labels (an index) are structure: compared exactly, whatever the tolerance, and a
    difference is a structure mismatch (its diagnoses still say how they differ: shifted,
    reordered...)."""
    exact = dataclasses.replace(options, tolerance=EXACT, exact=True, check_dtype=False)
    plain = dataclasses.replace(la, labels=False), dataclasses.replace(le, labels=False)
    found, notes = _compare(path, *plain, exact, container_types)
    labels = [
        dataclasses.replace(
            m,
            kind="structure",
            reason=Finding("structure.labels", {"count": m.count, "total": m.total}),
            tolerance=None,
            # labels are exact whatever the options: a hint naming a tolerance does not apply
            diagnoses=tuple(d for d in m.diagnoses if d.code not in _TOLERANCE_HINTS),
        )
        if m.kind in ("value", "dtype")
        else m
        for m in found
    ]
    # an index is its labels: RangeIndex vs Index is no difference worth a note
    return labels, [n for n in notes if not (isinstance(n, Note) and n.code == "note.types")]


_TOLERANCE_HINTS = frozenset({"hint.integers", "hint.rounding", "hint.beyond_rounding"})


def _compare_symbolic(p: _Pair) -> Mismatch | None:
    """A graph tensor (inside tf.function / Keras): what is known now (static shapes, dtypes)
    is checked now; the values are checked by assertion ops when the graph runs."""
    if not p.options.in_graph:
        raise TypeError(
            f"cannot compare the symbolic tensor at {p.where or 'the top level'} now: inside "
            "tf.function (or a Keras layer) it has no values yet. Use nearly.assert_close or "
            "nearly.assert_equal there: they become graph ops that check when the graph runs."
        )
    tfb = graph_backend(p.la.obj if p.la.kind == "symbolic" else p.le.obj)
    a, e = tfb.as_tensor(p.la.obj), tfb.as_tensor(p.le.obj)
    da, de = tfb.numpy_dtype(a), tfb.numpy_dtype(e)
    sa, se = a.shape, e.shape
    if sa.rank is not None and se.rank is not None and not sa.is_compatible_with(se):
        shapes = {"actual": tuple(sa.as_list()), "expected": tuple(se.as_list())}
        return p.mismatch("shape", Finding("shape.differ", shapes))
    if da != de and p.options.check_dtype:
        labels = {"actual": _dtypes.dtype_label(da), "expected": _dtypes.dtype_label(de)}
        return p.mismatch("dtype", Finding("dtype.differ", labels), (_option_hint("check_dtype"),))
    numeric = _dtypes.family(da) in _NUMERIC and _dtypes.family(de) in _NUMERIC
    if not numeric:
        tfb.assert_equal_in_graph(p.where, a, e)
        return None
    t = p.options.tolerance
    if t is not None and (isinstance(t.rtol, np.ndarray) or isinstance(t.atol, np.ndarray)):
        raise TypeError(
            f"per-element tolerance arrays are not supported for graph tensors "
            f"(at {p.where or 'the top level'}); pass scalar rtol/atol/ulps there"
        )
    rule = rule_for(da, de, (), p.options, p.where)
    tolerance = tolerance_of(p.options, da, de)
    text = tolerance.describe() + (f" ({tolerance.source})" if tolerance.source else "")
    check = "assert_equal" if p.options.exact else "assert_close"

    def decide(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return failure_mask(np.asarray(x), np.asarray(y), rule)

    tfb.assert_close_in_graph(p.where, a, e, rule, text, check, decide)
    return None


_FAST_KINDS = frozenset("fiub")


def _small(a: Array, e: Array) -> bool:
    """Two small arrays of one dtype and shape, of numbers or bools."""
    return (
        a.dtype == e.dtype
        and a.shape == e.shape
        and a.size <= _SmallLeaves.SMALL
        and a.dtype.kind in _FAST_KINDS
    )


def _plain(la: Leaf, le: Leaf) -> bool:
    """Two leaves of one type whose values are plain host arrays (no device, mask, meta
    tensor or labels to account for)."""
    return (
        la.kind == le.kind == "array"
        and not (la.labels or le.labels)
        and not (_foreign_subclass(la.obj) or _foreign_subclass(le.obj))
        and la.array is not None
        and le.array is not None
        and type(la.obj) is type(le.obj)
        and la.format == le.format
        and not (la.stand_in or le.stand_in)
        and la.mask is None
        and le.mask is None
    )


def _identical_small(la: Leaf, le: Leaf) -> bool:
    """The common case of many small leaves, settled before any other work: two host arrays
    of one type, dtype and shape whose elements are all equal (NaN makes this False, and the
    full path then decides)."""
    a, e = la.array, le.array
    return _plain(la, le) and a is not None and e is not None and _small(a, e) and _all_equal(a, e)


def _all_equal(a: Array, e: Array) -> bool:
    # a signalling NaN makes `==` raise the invalid flag for some formats (complex,
    # bfloat16): it is just unequal here
    with np.errstate(invalid="ignore"):
        return bool((a == e).all())


def _as_text(leaf: Leaf, other: Leaf, p: _Pair) -> Leaf:
    """A string tensor facing text (a str, an array of str): its bytes read as UTF-8 text,
    noted (bytes that are not UTF-8 stay bytes, and differ); a scalar one facing Python
    bytes: those bytes. Any other leaf as it is."""
    arr = leaf.array
    if not leaf.utf8 or arr is None:
        return leaf
    if arr.ndim == 0 and other.kind == "text" and isinstance(other.obj, bytes):
        return dataclasses.replace(leaf, obj=arr[()], kind="text", array=None, utf8=False)
    if not _holds_text(other):
        return leaf
    try:
        texts = [b.decode("utf-8") for b in arr.reshape(-1).tolist()]
    except UnicodeDecodeError:
        return leaf
    p.note("note.utf8", side="actual" if leaf is p.la else "expected")
    if arr.ndim == 0:
        return dataclasses.replace(leaf, obj=texts[0], kind="text", array=None, utf8=False)
    return dataclasses.replace(leaf, array=np.array(texts, str).reshape(arr.shape), utf8=False)


def _holds_text(leaf: Leaf) -> bool:
    if leaf.kind == "text":
        return isinstance(leaf.obj, str)
    arr = leaf.array
    if arr is None or leaf.stand_in:
        return False
    if arr.dtype.kind == "U":
        return True
    return arr.dtype == object and arr.size > 0 and isinstance(arr.reshape(-1)[0], str)


def _compare_plain(p: _Pair) -> Mismatch | None:
    """None, Python text and plain objects (and any of them against an array)."""
    la, le = p.la, p.le
    if la.kind != le.kind and ("object" not in (la.kind, le.kind) or "text" in (la.kind, le.kind)):
        return p.mismatch("type", Finding("type.differ", p.types))
    if la.kind == "none":
        return None
    if la.kind == "text":
        if isinstance(la.obj, bytes) != isinstance(le.obj, bytes):
            return p.mismatch("type", Finding("type.differ", p.types))
        if la.obj == le.obj:
            return None
        return p.mismatch(
            "value",
            Finding("value.text"),
            (_text_hint(la.obj, le.obj),),
            examples=[Example((), _fmt(la.obj), _fmt(le.obj))],
        )
    if p.options.strict_types and type(la.obj) is not type(le.obj):
        return p.mismatch("type", Finding("type.strict", p.types), (Finding("hint.strict_types"),))
    if _py_close(la.obj, le.obj, p.options, p.where):
        return None
    return p.mismatch(
        "value",
        Finding("value.eq"),
        (Finding("hint.eq_false"),),
        examples=[Example((), _fmt(la.obj), _fmt(le.obj))],
    )


def _option_hint(option: str) -> Finding:
    return Finding("hint.option", {"option": option})


def _compare_meta(p: _Pair, a: Array, e: Array) -> Mismatch | None:
    """A meta tensor has a shape and a dtype but no values: those are compared (the shape
    already is), the values are not, and the report says so."""
    side = "actual" if p.la.meta else "expected"
    p.note("note.meta", side=side)
    return _dtype_outcome(p, a, e, True)


def _refused(p: _Pair) -> Mismatch | None:
    """A foreign ndarray subclass (a units array, say) is compared as its base array only if
    it accepts arithmetic between the two values: incompatible units are a type mismatch
    carrying the subclass's own reason, never a silent comparison of bare numbers."""
    x, y = p.la.obj, p.le.obj
    if not (_foreign_subclass(x) or _foreign_subclass(y)):
        return None
    try:
        with np.errstate(all="ignore"):
            np.subtract(np.ravel(x)[:1], np.ravel(y)[:1])
            np.equal(np.ravel(x)[:1], np.ravel(y)[:1])
    except Exception as err:
        reason = f"{type(err).__name__}: {err}"
        return p.mismatch("type", Finding("type.refused", {**p.types, "reason": reason[:300]}))
    return None


def _foreign_subclass(x: Any) -> bool:
    return isinstance(x, np.ndarray) and not type(x).__module__.startswith("numpy")


def _check_types(p: _Pair, container_types: tuple[str, str] | None) -> Mismatch | None:
    """Leaf types may differ unless strict_types=True. Arrays and tensors of different
    libraries, and Python numbers, are all just arrays: only a list read as an array, or a
    subclass facing its base (a Parameter, a masked array), is worth a note. Devices differ as a
    note, or fail with check_device=True."""
    la, le = p.la, p.le
    refused = _refused(p)
    if refused is not None:
        return refused
    types = p.types
    if container_types is not None:
        types = {"actual": container_types[0], "expected": container_types[1]}
    if p.options.strict_types and type(la.obj) is not type(le.obj):
        return p.mismatch("type", Finding("type.strict", types), (Finding("hint.strict_types"),))
    ta, te = type(la.obj), type(le.obj)
    subclass = ta is not te and (issubclass(ta, te) or issubclass(te, ta))
    scalars = la.python_scalar or le.python_scalar
    if container_types is not None or (subclass and not scalars):
        p.note("note.types", **types)
    da = "cpu" if la.device is None else normalize_device(la.device)
    de = "cpu" if le.device is None else normalize_device(le.device)
    if da != de:
        devices = {"actual": da, "expected": de}
        if p.options.check_device:
            return p.mismatch(
                "type", Finding("type.device", devices), (_option_hint("check_device"),)
            )
        p.note("note.devices", **devices)
    return None


def _align_shapes(p: _Pair, a: Array, e: Array) -> tuple[Array, Array] | Mismatch:
    if a.shape == e.shape:
        return a, e
    if p.options.check_shape:
        numeric = _dtypes.family(a.dtype) in _NUMERIC and _dtypes.family(e.dtype) in _NUMERIC
        # values are asked about only where the arrays hold them (not a stand-in's zeros)
        known = not (p.la.stand_in or p.le.stand_in)
        rule = (
            rule_for(*p.precisions(a, e), a.shape, p.options, p.where, for_diagnosis=True)
            if numeric and known
            else None
        )
        hints = _diagnose.shape_hints(a, e, rule, p.la.python_scalar, p.le.python_scalar)
        shapes = {"actual": a.shape, "expected": e.shape}
        return p.mismatch("shape", Finding("shape.differ", shapes), hints)
    try:
        shape = np.broadcast_shapes(a.shape, e.shape)
    except ValueError:
        return p.mismatch(
            "shape",
            Finding("shape.no_broadcast", {"actual": a.shape, "expected": e.shape}),
            (Finding("hint.element_counts", {"actual": a.size, "expected": e.size}),),
        )
    p.note("note.broadcast", actual=a.shape, expected=e.shape, shape=shape)
    return np.broadcast_to(a, shape), np.broadcast_to(e, shape)


def _dtype_outcome(p: _Pair, a: Array, e: Array, identical: bool, **kw: Any) -> Mismatch | None:
    """After the values passed: a dtype difference fails with check_dtype=True, else a note."""
    if not p.dtypes_differ(a, e):
        return None
    if p.options.check_dtype:
        return p.mismatch(
            "dtype",
            Finding("dtype.differ", p.dtypes),
            (_diagnose.dtype_only_hint(p.dtypes, identical),),
            count=0,
            total=int(a.size),
            **kw,
        )
    p.note("note.dtypes", **p.dtypes)
    return None


def _failed_values(
    p: _Pair,
    a: Array,
    e: Array,
    stats: ValueStats,
    hints: tuple[Finding, ...],
    rule: Rule | None,
) -> Mismatch:
    differs = p.dtypes_differ(a, e)
    if differs:
        also = Finding("hint.dtype_also", {**p.dtypes, "checked": p.options.check_dtype})
        hints = (*hints, also)
    fails_dtype = differs and p.options.check_dtype
    kind: Kind = "dtype" if fails_dtype else "value"
    reason = Finding("dtype.and_values", p.dtypes) if fails_dtype else Finding("value.differ")
    index = stats.worst_abs.index if stats.worst_abs is not None else stats.first_failure
    return p.mismatch(
        kind,
        reason,
        hints,
        count=stats.failed,
        total=stats.total,
        index=index,
        tolerance=None if rule is None else tolerance_of(p.options, *p.precisions(a, e)),
        worst_abs=stats.worst_abs,
        worst_rel=stats.worst_rel,
        worst_ulps=stats.worst_ulps,
        ulp_dtype=None if rule is None else _dtypes.dtype_label(_dtypes.component(rule.ulp_dtype)),
        examples=_examples(stats, _masks(p.la, p.le, a.shape)),
        nan_only_actual=stats.nan_only_actual,
        nan_only_expected=stats.nan_only_expected,
        nonfinite_other=stats.nonfinite_other,
        mask_differs=stats.mask_differs,
    )


def _host_view(leaf: Leaf, shape: tuple[int, ...]) -> Array:
    """The values of a leaf on the host (a copy for a device tensor), broadcast to ``shape``."""
    return np.broadcast_to(host_values(leaf, "comparing"), shape)


def _compare_on_device(p: _Pair, a: Array, e: Array, rule: Rule) -> Mismatch | None:
    """A device tensor: the rule runs where it lives; only counts and the few elements whose
    verdict float rounding could flip come to the host. A failure is then explained from a
    host copy (the slow path; a passing check moves no data)."""
    native = p.la.obj if p.la.native else p.le.obj
    x = p.la.obj if p.la.native else p.la.array
    y = p.le.obj if p.le.native else p.le.array
    verdict = backend_of(native).device_verdict(x, y, rule)
    host_fails = 0
    if verdict.index.size:
        host_fails = int(np.count_nonzero(failure_mask(verdict.actual, verdict.expected, rule)))
    if verdict.clear_fail + host_fails == 0:
        found = _dtype_outcome(
            p, a, e, verdict.unequal == 0, tolerance=tolerance_of(p.options, *p.precisions(a, e))
        )
        if p.options.describe_passing and verdict.unequal:
            p.note("note.close_not_identical", count=verdict.unequal, total=int(a.size))
        return found
    return _compare_host(p, _host_view(p.la, a.shape), _host_view(p.le, a.shape), rule)


#: A sparse value is densified only to face a dense one of its size, and never beyond this
#: many elements when the dense side is smaller (a broadcast scalar).
_DENSIFY_LIMIT = 1 << 27
# diagnoses that read positions or the zeros a sparse value does not store
_POSITIONAL = frozenset({"hint.offset", "hint.reordered", "hint.transposed"})


def _compare_sparse(p: _Pair, a: Array, e: Array) -> Mismatch | None:
    """A sparse value: against another of its shape, the two are compared at the union of
    their stored positions only (every other element is zero on both sides, equal under any
    tolerance), and the findings are put back at their coordinates; against a dense value,
    the sparse side is densified (no larger than the dense one)."""
    sa, se = p.la.sparse, p.le.sparse
    shape = a.shape
    if sa is None or se is None or p.la.shape != p.le.shape:
        return _compare_values(p, _dense(p, p.la, shape), _dense(p, p.le, shape))
    union = np.union1d(sa.flat, se.flat)
    found = _compare_values(p, _scatter(union, sa, a.dtype), _scatter(union, se, e.dtype))
    size = math.prod(shape)
    coords = np.unravel_index(union, shape) if shape else ()

    def at(i: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(int(c[i[0]]) for c in coords) if shape else i

    for k, note in enumerate(p.notes):  # (measured now: sparse values are never lazy)
        if isinstance(note, Note) and note.code == "note.close_not_identical":
            params = {**note.finding.params, "total": size}
            p.notes[k] = Note(note.path, Finding(note.code, params))
    if found is None or found.kind not in ("value", "dtype") or found.total != union.size:
        return found
    worst = {
        f: dataclasses.replace(x, index=at(x.index))
        for f in ("worst_abs", "worst_rel", "worst_ulps")
        if (x := getattr(found, f)) is not None and x.index is not None
    }
    return dataclasses.replace(
        found,
        total=size,
        index=None if found.index is None else at(found.index),
        examples=[dataclasses.replace(x, index=at(x.index)) for x in found.examples],
        diagnoses=tuple(d for d in found.diagnoses if d.code not in _POSITIONAL),
        **worst,
    )


def _scatter(union: Array, sparse: Any, dtype: np.dtype[Any]) -> Array:
    """The values of ``sparse`` at the positions ``union`` (zero where none is stored)."""
    out = np.zeros(union.size, dtype)
    out[np.searchsorted(union, sparse.flat)] = sparse.values
    return out


def _dense(p: _Pair, leaf: Leaf, shape: tuple[int, ...]) -> Array:
    """The values of a leaf as a dense host array broadcast to ``shape``: a sparse value is
    densified to face a dense value of its size, but not beyond ``DENSIFY_LIMIT`` elements
    to face a smaller one (a broadcast scalar)."""
    other = p.le if leaf is p.la else p.la
    size = math.prod(leaf.shape or ())
    if leaf.sparse is not None and size > DENSIFY_LIMIT and size > _held(other):
        raise ValueError(
            f"cannot compare the sparse {leaf.type_name} at {p.where or 'the top level'} "
            f"(shape {leaf.shape}) with a smaller value without densifying {size:,} "
            "elements: compare it with a sparse value of its shape, or a dense one"
        )
    return np.broadcast_to(host_values(leaf, "comparing", limit=None), shape)


def _held(leaf: Leaf) -> int:
    """How many elements a leaf really holds (a broadcast array: its distinct ones)."""
    if leaf.sparse is not None:
        return int(leaf.sparse.flat.size)
    arr = leaf.array
    assert arr is not None
    if leaf.native:
        return int(arr.size)
    return math.prod(n for n, st in zip(arr.shape, arr.strides, strict=True) if st != 0)


def _compare_values(p: _Pair, a: Array, e: Array) -> Mismatch | None:
    fa, fe = _dtypes.family(a.dtype), _dtypes.family(e.dtype)
    if fa in _NUMERIC and fe in _NUMERIC:
        return _compare_numeric(p, a, e)
    return _compare_exactly(p, a, e, fa, fe)


def _compare_numeric(p: _Pair, a: Array, e: Array) -> Mismatch | None:
    rule = rule_for(*p.precisions(a, e), a.shape, p.options, p.where)
    if p.la.native or p.le.native:
        if p.la.mask is None and p.le.mask is None:
            return _compare_on_device(p, a, e, rule)
        a, e = _host_view(p.la, a.shape), _host_view(p.le, a.shape)
    return _compare_host(p, a, e, rule)


def _compare_host(p: _Pair, a: Array, e: Array, rule: Rule) -> Mismatch | None:
    """Two arrays on the host, through the chunked engine."""
    masks = _masks(p.la, p.le, a.shape)
    if count_failures(a, e, rule, masks=masks, limit=1) == 0:
        exact = _exact_rule(rule)
        need_identity = p.dtypes_differ(a, e) and p.options.check_dtype
        describe = p.options.describe_passing and not rule.exact_only
        # small host arrays: the note is measured when the notes are first read
        lazy = describe and not need_identity and _lazy(p, a, e, masks)
        # one pass either way: the note's measurements count the differing elements too
        unequal = None
        if describe and not lazy:
            unequal = (masks is None and quick_unequal(a, e, exact)) or measure(
                a, e, exact, masks=masks
            )
        if unequal is not None:
            differing = unequal.failed
        else:
            differing = count_failures(a, e, exact, masks=masks, limit=1) if need_identity else 0
        found = _dtype_outcome(
            p, a, e, differing == 0, tolerance=tolerance_of(p.options, *p.precisions(a, e))
        )
        if lazy:
            p.notes.append(_lazy_close_note(p.where, a, e, exact))
        elif unequal is not None and differing:
            p.notes.append(Note(p.where, _close_not_identical(unequal)))
        return found
    stats = measure(a, e, rule, masks=masks)
    hints = _diagnose.value_hints(a, e, rule, stats, masks)
    derivation = p.options.tolerance.derivation if p.options.tolerance is not None else None
    if derivation is not None and masks is None:
        hints = (*_diagnose.bound_hints(a, e, rule, stats, derivation), *hints)
    return _failed_values(p, a, e, stats, hints, rule)


def _lazy(p: _Pair, a: Array, e: Array, masks: tuple[Array, Array] | None) -> bool:
    """Whether a passing pair's "close but not identical" note can wait until the notes are
    read: small host arrays the quick measurement takes (no masks, sparse or device values)."""
    if masks is not None or p.la.sparse is not None or p.le.sparse is not None:
        return False
    return not (p.la.native or p.le.native) and quick_measurable(a, e)


def _lazy_close_note(
    where: str | Path, a: Array, e: Array, exact: Rule
) -> Callable[[], Note | None]:
    """The "close but not identical" note of a passing pair, measured when called (from
    copies: the inputs are not retained)."""
    x, y = a.copy(), e.copy()
    return lambda: _close_note(where, x, y, exact)


def _close_note(where: str | Path, a: Array, e: Array, exact: Rule) -> Note | None:
    """How a passing pair differs: a "close but not identical" note (None: identical)."""
    stats = quick_unequal(a, e, exact) or measure(a, e, exact)
    path = where if isinstance(where, str) else format_path(where)
    return Note(path, _close_not_identical(stats)) if stats.failed else None


def _compare_exactly(p: _Pair, a: Array, e: Array, fa: str, fe: str) -> Mismatch | None:
    """Dates, text and object arrays: exact, element by element."""
    eq = _exact_equality(fa, fe, a.dtype, e.dtype, p.options, p.where)
    if eq is None:
        return p.mismatch(
            "dtype",
            Finding("dtype.incomparable", p.dtypes),
            (Finding("hint.incomparable_families", {"actual": fa, "expected": fe}),),
        )
    masks = _masks(p.la, p.le, a.shape)
    if count_unequal(a, e, eq, masks) == 0:
        return _dtype_outcome(p, a, e, True)
    stats = measure_unequal(a, e, eq, masks)
    hint = Finding("hint.exact_family", {"count": stats.failed, "total": stats.total, "family": fa})
    return _failed_values(p, a, e, stats, (hint,), None)


def _close_not_identical(stats: ValueStats) -> Finding:
    params: dict[str, Any] = {"count": stats.failed, "total": stats.total}
    if stats.worst_abs is not None:
        params["max_abs"] = stats.worst_abs.value
    if stats.worst_ulps is not None:
        params["max_ulps"] = stats.worst_ulps.value
    return Finding("note.close_not_identical", params)


def _text_hint(a: Any, e: Any) -> Finding:
    n = next((i for i, (x, y) in enumerate(zip(a, e, strict=False)) if x != y), min(len(a), len(e)))
    lengths = {"actual_length": len(a), "expected_length": len(e)}
    return Finding("hint.first_character", {"index": n, **lengths})


def _masks(la: Leaf, le: Leaf, shape: tuple[int, ...]) -> tuple[Array, Array] | None:
    if la.mask is None and le.mask is None:
        return None
    ma = np.zeros(shape, bool) if la.mask is None else np.broadcast_to(la.mask, shape)
    me = np.zeros(shape, bool) if le.mask is None else np.broadcast_to(le.mask, shape)
    return ma, me


def _scalar_rule(
    da: np.dtype[Any], de: np.dtype[Any], t: tol.Tolerance | None, equal_nan: bool
) -> Rule:
    """The rule of scalar tolerances ``t`` (None: the dtypes' default), made once per dtype
    pair and tolerance value (keyed by integers and floats: hashing Fractions is slow)."""
    if t is None:
        return _rule_of(da, de, None, equal_nan)
    assert t.rtol_exact is not None and t.atol_exact is not None
    r, a = t.rtol_exact, t.atol_exact
    key = (t.rtol, t.atol, r.numerator, r.denominator, a.numerator, a.denominator, t.ulps)
    return _rule_of(da, de, key, equal_nan)


@lru_cache(maxsize=512)
def _rule_of(
    da: np.dtype[Any], de: np.dtype[Any], key: tuple[Any, ...] | None, equal_nan: bool
) -> Rule:
    low = _dtypes.lower_precision(da, de)
    if key is None:
        t = tol.default(low)
        return Rule(t.rtol, t.atol, t.rtol_exact, t.atol_exact, t.ulps, low, equal_nan)
    rt, at, rn, rd, an, ad, ulps = key
    return Rule(rt, at, Fraction(rn, rd), Fraction(an, ad), ulps, low, equal_nan)


def _exact_rule(rule: Rule) -> Rule:
    return Rule(0.0, 0.0, Fraction(0), Fraction(0), None, rule.ulp_dtype, rule.equal_nan)


def tolerance_of(options: Options, da: np.dtype[Any], de: np.dtype[Any]) -> tol.Tolerance:
    if options.tolerance is not None:
        return options.tolerance
    return tol.default(_dtypes.lower_precision(da, de))


def rule_for(
    da: np.dtype[Any],
    de: np.dtype[Any],
    shape: tuple[int, ...],
    options: Options,
    where: str,
    *,
    for_diagnosis: bool = False,
) -> Rule:
    """The rule for one pair. Per-element tolerance arrays must broadcast to the compared
    shape; for a shape diagnosis (where shapes differ) their largest value stands in."""
    t = options.tolerance
    if t is None or (t.rtol_exact is not None and t.atol_exact is not None):
        return _scalar_rule(da, de, t, options.equal_nan)  # the same for every shape
    t = tolerance_of(options, da, de)
    values: list[Any] = []
    for name, value, exact in (("rtol", t.rtol, t.rtol_exact), ("atol", t.atol, t.atol_exact)):
        if isinstance(value, np.ndarray):
            if for_diagnosis:
                value = float(value.max()) if value.size else 0.0
                exact = Fraction(value)
            else:
                try:
                    ok = np.broadcast_shapes(value.shape, shape) == shape
                except ValueError:
                    ok = False
                if not ok:
                    raise ValueError(
                        f"the per-element {name} of shape {value.shape} does not broadcast to "
                        f"the compared shape {shape} at {where or 'the top level'}"
                    )
        values += [value, exact]
    rt, rq, at, aq = values
    return Rule(rt, at, rq, aq, t.ulps, _dtypes.lower_precision(da, de), options.equal_nan)


def _exact_equality(
    fa: str, fe: str, da: np.dtype[Any], de: np.dtype[Any], options: Options, where: str
) -> Callable[[Array, Array], Array] | None:
    equal_nan = options.equal_nan
    if fa != fe and "object" not in (fa, fe):
        return None
    if fa in ("datetime", "timedelta"):
        if fa == "timedelta" and (_nonlinear(da) != _nonlinear(de)):
            raise TypeError(
                f"cannot compare {_dtypes.dtype_label(da)} with {_dtypes.dtype_label(de)} at "
                f"{where or 'the top level'}: months and years have no fixed length in other "
                "units"
            )

        def eq_time(x: Array, y: Array) -> Array:
            return _times_equal(x, y, equal_nan)

        return eq_time
    if fa in ("str", "bytes", "void"):
        return lambda x, y: np.asarray(x == y)

    def eq_obj(x: Array, y: Array) -> Array:
        out = np.empty(x.shape, dtype=bool)
        for i in range(x.size):
            out[i] = _py_close(x[i], y[i], options, where)
        return out

    return eq_obj


# the length of each linear time unit in attoseconds (months and years are not linear)
_ATTOSECONDS = {
    "W": 7 * 86_400 * 10**18,
    "D": 86_400 * 10**18,
    "h": 3_600 * 10**18,
    "m": 60 * 10**18,
    "s": 10**18,
    "ms": 10**15,
    "us": 10**12,
    "ns": 10**9,
    "ps": 10**6,
    "fs": 10**3,
    "as": 1,
}


def _nonlinear(dt: np.dtype[Any]) -> bool:
    return np.datetime_data(dt)[0] in ("Y", "M")


def _times_equal(x: Array, y: Array, equal_nan: bool) -> Array:
    """Dates or durations equal as instants, exactly, whatever their units: NumPy's cast to
    a common unit is used where it is exact and checked (it can wrap around, or refuse a unit
    pair it cannot represent); elsewhere the counts are compared as Python integers of
    attoseconds (dates in months or years are first read as days, exactly)."""
    x, y = np.broadcast_arrays(x, y)
    shape = x.shape
    x, y = x.reshape(-1), y.reshape(-1)
    nat_x, nat_y = np.isnat(x), np.isnat(y)
    try:
        common = np.promote_types(x.dtype, y.dtype)
        xc, yc = x.astype(common), y.astype(common)
        res = np.asarray(xc == yc)
        exact = ((xc.astype(x.dtype) == x) | nat_x) & ((yc.astype(y.dtype) == y) | nat_y)
    except (OverflowError, TypeError):
        res, exact = np.zeros(x.shape, bool), np.zeros(x.shape, bool)
    redo = ~exact & ~nat_x & ~nat_y
    if redo.any():
        (cx, fx), (cy, fy) = _attoseconds(x[redo]), _attoseconds(y[redo])
        res[redo] = [int(a) * fx == int(b) * fy for a, b in zip(cx, cy, strict=True)]
    res &= ~(nat_x | nat_y)
    if equal_nan:
        res |= nat_x & nat_y
    return res.reshape(shape)


def _attoseconds(t: Array) -> tuple[Array, int]:
    """The int64 counts of ``t`` and the length of one count in attoseconds."""
    if _nonlinear(t.dtype):  # dates only (durations in months/years are refused earlier)
        t = t.astype("M8[D]")
    unit, count = np.datetime_data(t.dtype)
    return t.view(np.int64), _ATTOSECONDS[unit] * count


def _py_close(x: Any, y: Any, options: Options, where: str) -> bool:
    """Two Python objects: real numbers (big ints, Fraction, Decimal) by the tolerance rule
    in exact arithmetic, anything else with ``==``."""
    t = options.tolerance
    if t is None and _is_real(x) and _is_real(y):
        # no tolerance given: the default of the lower-precision side, as for arrays (a float
        # involved: its format's row; integers, Fractions and Decimals only: exact)
        floats = [np.asarray(v).dtype for v in (x, y) if isinstance(v, float | np.floating)]
        t = tol.default(_dtypes.lower_precision(floats[0], floats[-1])) if floats else None
    if (
        t is not None
        and t.rtol_exact is not None
        and t.atol_exact is not None
        and _is_real(x)
        and _is_real(y)
        and _finite(x)
        and _finite(y)
    ):
        return exact_close_real(x, y, t.rtol_exact, t.atol_exact)
    return _py_equal(x, y, options.equal_nan, where)


def _finite(x: Any) -> bool:
    """A real number that is not NaN or infinite (an int or a fraction of any size is)."""
    return isinstance(x, (numbers.Rational, np.integer)) or math.isfinite(float(x))


def _is_real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def _py_equal(x: Any, y: Any, equal_nan: bool, where: str) -> bool:
    if equal_nan and _is_nan(x) and _is_nan(y):
        return True
    if _is_real(x) and _is_real(y):
        if _finite(x) and _finite(y):
            # exactly, on the stored values: `==` between a huge int and a NumPy float
            # converts the int to float and overflows
            return as_fraction(x) == as_fraction(y)
        # an infinity (or NaN) against anything: equal only to the same infinity
        return not _finite(x) and not _finite(y) and float(x) == float(y)
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


def _compare_fields(
    path: Path, a: Array, e: Array, p: _Pair
) -> tuple[list[Mismatch], list[PendingNote]]:
    """Structured arrays: each field is compared as a leaf of its own, at path['field']."""
    na, ne = list(a.dtype.names or ()), list(e.dtype.names or ())
    found: list[Mismatch] = []
    diff = key_difference("structured-array fields", na, ne, str)
    if diff is not None:
        found.append(p.mismatch("structure", diff))
    notes = p.notes
    for name in ne:
        if name in na:
            sub, sub_notes = _compare(
                (*path, ("field", name)), to_leaf(a[name]), to_leaf(e[name]), p.options, None
            )
            found.extend(sub)
            notes.extend(sub_notes)
    return found, notes


def run_finite(tree: Any) -> Comparison:
    """A Comparison whose mismatches are the leaves of ``tree`` holding NaN or infinity."""
    mismatches: list[Mismatch] = []
    leaves = 0
    for event in walk(tree, tree, strict_types=False, is_array_leaf=is_array_leaf, expand=expand):
        if not isinstance(event, LeafPair):
            continue
        leaves += 1
        leaf = to_leaf(event.actual)
        if leaf.kind == "symbolic":
            graph_backend(leaf.obj).assert_finite_in_graph(format_path(event.path), leaf.obj)
            continue
        if leaf.array is None or _dtypes.family(leaf.array.dtype) not in ("float", "complex"):
            continue
        arr = host_values(leaf, "assert_finite")
        stats = measure_unequal(arr, arr, _finite_pair)
        if stats.failed == 0:
            continue
        nan, posinf, neginf = nonfinite_counts(arr)
        counts = {"nan": nan, "posinf": posinf, "neginf": neginf, "first": stats.first_failure}
        mismatches.append(
            Mismatch(
                format_path(event.path),
                "value",
                Finding("value.nonfinite"),
                count=stats.failed,
                total=stats.total,
                index=stats.first_failure,
                actual=_side(leaf),
                examples=[Example(i, _fmt(a), "a finite number") for i, a, _ in stats.examples],
                diagnoses=(Finding("hint.nonfinite_counts", counts),),
            )
        )
    return Comparison(mismatches, [], leaves, check="finite")


def _finite_pair(x: Array, _: Array) -> Array:
    with np.errstate(invalid="ignore"):
        return np.asarray(np.isfinite(x.astype(_dtypes.work_dtype(x.dtype, x.dtype))))
