"""Walking two nested structures side by side.

Containers are tuple, list (and other sequences), dict (any Mapping), namedtuple and
dataclass instances. The walk yields leaf pairs to compare and records structural
differences; it never looks at leaf values. Paths are tuples of parts, formatted in exactly
one place, :func:`format_path`: ``[0]['logits'].bias``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nearly._report.records import Finding
from nearly.backends._base import Attr
from nearly.backends._base import type_name as value_type_name

__all__ = [
    "PLAIN_LEAVES",
    "LeafPair",
    "LeafRun",
    "StructureDiff",
    "TypeNote",
    "format_path",
    "walk",
]
#: types whose values are always one leaf, with nothing to walk, expand or refuse: two of them
#: are a leaf pair at once (arrays and numbers, the commonest leaves)
PLAIN_LEAVES = frozenset({np.ndarray, float, int, complex, bool})

PathPart = tuple[str, Any]  # ("index", 0) | ("key", "a") | ("attr", "bias") | ("field", "x")
Path = tuple[PathPart, ...]


def format_path(path: Path) -> str:
    out = []
    for kind, value in path:
        if kind == "index":
            out.append(f"[{value}]")
        elif kind == "attr":
            out.append(f".{value}")
        else:  # dict key or structured-array field
            out.append(f"[{value!r}]")
    return "".join(out)


@dataclass(frozen=True)
class LeafPair:
    path: Path
    actual: Any
    expected: Any
    # the two types, e.g. ("list", "numpy.ndarray"), when a list is read as an array
    container_types: tuple[str, str] | None = None


@dataclass(frozen=True)
class LeafRun:
    """Many leaf pairs of Python numbers side by side, of one type on both sides (float, int
    or complex): the items of two sequences of one length, or the values of two dicts with
    the same keys. Item ``i`` is the leaf pair at ``path`` + its part: an index, or
    ``keys[i]``. Whoever takes the run may decide it in bulk, or take its pairs one by one:
    the outcome is the same."""

    path: Path
    actual: list[Any]
    expected: list[Any]
    keys: list[Any] | None = None  # the dict keys, in the order of the items

    def __len__(self) -> int:
        return len(self.expected)

    def pair(self, i: int) -> LeafPair:
        part: PathPart = ("index", i) if self.keys is None else ("key", self.keys[i])
        return LeafPair((*self.path, part), self.actual[i], self.expected[i])

    def pairs(self) -> Iterator[LeafPair]:
        return (self.pair(i) for i in range(len(self)))


@dataclass(frozen=True)
class StructureDiff:
    path: Path
    kind: str  # "structure" or "type"
    reason: Finding
    actual_type: str
    expected_type: str


@dataclass(frozen=True)
class TypeNote:
    path: Path
    finding: Finding


Event = LeafPair | LeafRun | StructureDiff | TypeNote


def type_name(x: Any) -> str:
    """A short, recognisable name for a value's type (an expanded container is named by the
    value it came from)."""
    if isinstance(x, _Expanded | _ExpandedMap):
        return type_name(x.original)
    return value_type_name(x)


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _is_dataclass_instance(x: Any) -> bool:
    return dataclasses.is_dataclass(x) and not isinstance(x, type)


def container_kind(x: Any, is_array_leaf: Callable[[Any], bool]) -> str | None:
    if isinstance(x, Mapping):
        # an array library's value that happens to be a mapping (scipy's dok sparse arrays
        # subclass dict) is an array leaf, read by its backend
        return None if is_array_leaf(x) else "mapping"
    if _is_dataclass_instance(x):
        return "dataclass"
    if isinstance(x, (str, bytes, bytearray, memoryview)):
        return None
    if isinstance(x, (list, tuple)) or (isinstance(x, Sequence) and not hasattr(x, "__array__")):
        return "sequence"
    return None


def _key_sort(keys: list[Any]) -> list[Any]:
    try:
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=repr)


def walk(
    actual: Any,
    expected: Any,
    *,
    strict_types: bool,
    is_array_leaf: Callable[[Any], bool],
    expand: Callable[[Any], list[Any] | dict[Any, Any] | None] = lambda _: None,
) -> Iterator[Event]:
    """Yield every leaf pair, structural difference and container type note, in order.

    ``is_array_leaf`` tells whether a non-container value is array-like (an array, tensor or
    number): a sequence facing one is read as an array instead of walked.

    The walk keeps its own stack instead of recursing, so nesting of any depth is walked (a
    structure 100,000 levels deep is as fine as a flat one); a path is kept as a chain of
    links and spelled out only for the events that carry it.
    """
    ctx = _Ctx(strict_types, is_array_leaf, expand, set())
    # each frame: a pair's step generator, and the containers it put on the current path
    frames: list[tuple[Iterator[_Step], list[tuple[str, int]]]] = [
        (_walk(actual, expected, None, ctx), [])
    ]
    while frames:
        steps, entered = frames[-1]
        step = next(steps, None)
        if step is None:
            frames.pop()
            ctx.on_path.difference_update(entered)
        elif isinstance(step, _Descend):
            frames.append((_walk(step.actual, step.expected, step.link, ctx), []))
        elif isinstance(step, _Enter):
            entered.extend(step.keys)
        else:
            yield step


@dataclass(frozen=True)
class _Ctx:
    strict: bool
    is_array_leaf: Callable[[Any], bool]
    expand: Callable[[Any], list[Any] | dict[Any, Any] | None]
    on_path: set[tuple[str, int]]  # ("a" | "e", id) of the containers being walked into


# A path under construction: a chain of (parent link, part), None at the top. Children share
# their parent's chain, so a deep structure costs memory proportional to its depth only.
_Link = tuple["_Link", PathPart] | None


def _path(link: _Link) -> Path:
    parts: list[PathPart] = []
    while link is not None:
        link, part = link
        parts.append(part)
    parts.reverse()
    return tuple(parts)


@dataclass(frozen=True)
class _Descend:
    """Walk this pair next, then carry on with the current one."""

    actual: Any
    expected: Any
    link: _Link


@dataclass(frozen=True)
class _Enter:
    """The current pair's containers are on the path until its walk ends."""

    keys: tuple[tuple[str, int], ...]


_Step = Event | _Descend | _Enter


def _original_type(x: Any) -> type:
    return type(x.original) if isinstance(x, _Expanded | _ExpandedMap) else type(x)


def _as_container(x: Any, ctx: _Ctx) -> Any:
    items = ctx.expand(x)
    if items is None:
        return x
    return _ExpandedMap(x, items) if isinstance(items, dict) else _Expanded(x, items)


class _Expanded(list):  # type: ignore[type-arg]
    """A framework value walked as a list of its items (a ragged tensor's rows)."""

    def __init__(self, original: Any, items: list[Any]) -> None:
        super().__init__(items)
        self.original = original


class _ExpandedMap(dict):  # type: ignore[type-arg]
    """A framework value walked as a mapping (a DataFrame: its index and its columns)."""

    def __init__(self, original: Any, items: dict[Any, Any]) -> None:
        super().__init__(items)
        self.original = original


def _reads_as_array(seq: Any) -> bool:
    """Whether a sequence facing an array can be read as one: NumPy makes an array of
    numbers (or text, or dates) of it. A ragged or mixed sequence cannot, and then the two
    differ in type instead."""
    try:
        return bool(np.asarray(seq).dtype != object)
    except (ValueError, TypeError, RuntimeError, OverflowError, RecursionError):
        return False


def _refuse_iterator(x: Any, link: _Link) -> None:
    """Generators and other one-pass iterators are refused, untouched: reading them would
    consume the caller's values, and ``==`` would compare only their identities."""
    if isinstance(x, Iterator) and not isinstance(x, (str, bytes, bytearray, memoryview)):
        where = format_path(_path(link)) or "the top level"
        raise TypeError(
            f"cannot compare the {type_name(x)} at {where}: it is a one-pass iterator, which "
            "nearly will not consume; pass list(...) of it instead"
        )


def _walk(a: Any, e: Any, link: _Link, ctx: _Ctx) -> Iterator[_Step]:
    a = _as_container(a, ctx)
    e = _as_container(e, ctx)
    ka, ke = container_kind(a, ctx.is_array_leaf), container_kind(e, ctx.is_array_leaf)
    if ka is None:
        _refuse_iterator(a, link)
    if ke is None:
        _refuse_iterator(e, link)
    if ka is None and ke is None:
        yield LeafPair(_path(link), a, e)
        return
    if ka is None or ke is None:
        seq_side, other = (
            (a, e) if ka == "sequence" else (e, a) if ke == "sequence" else (None, None)
        )
        if seq_side is not None and ctx.is_array_leaf(other) and _reads_as_array(seq_side):
            yield LeafPair(_path(link), a, e, container_types=(type_name(a), type_name(e)))
            return
        yield _type_diff(link, a, e)
        return
    # a cycle is a container inside itself on one side; the same object may well appear on
    # both sides, or twice on one side, without being a cycle
    keys = (("a", id(a)), ("e", id(e)))
    if any(k in ctx.on_path for k in keys):
        from nearly._prim.failures import cyclic

        raise cyclic(format_path(_path(link)))
    ctx.on_path.update(keys)
    yield _Enter(keys)
    if ka != ke:
        yield _type_diff(link, a, e)
        return
    if _original_type(a) is not _original_type(e):
        if ctx.strict:
            yield _type_diff(link, a, e)
        else:
            types = {"actual": type_name(a), "expected": type_name(e)}
            yield TypeNote(_path(link), Finding("note.container_types", types))
    if ka == "mapping":
        yield from _walk_keyed(a, e, a, e, link, "key")
    elif ka == "dataclass":
        fa = [f.name for f in dataclasses.fields(a)]
        fe = [f.name for f in dataclasses.fields(e)]
        yield from _walk_keyed(
            {n: getattr(a, n) for n in fa}, {n: getattr(e, n) for n in fe}, a, e, link, "attr"
        )
    else:
        if _is_namedtuple(a) and _is_namedtuple(e) and a._fields != e._fields:
            yield from _walk_keyed(
                dict(zip(a._fields, a, strict=True)),
                dict(zip(e._fields, e, strict=True)),
                a,
                e,
                link,
                "attr",
            )
            return
        names = e._fields if _is_namedtuple(e) else a._fields if _is_namedtuple(a) else None
        la, le = len(a), len(e)
        if names is None and la == le and _number_run(a, e):
            yield LeafRun(_path(link), list(a), list(e))
            return
        if la != le:
            yield StructureDiff(
                _path(link),
                "structure",
                Finding("structure.length", {"actual": la, "expected": le}),
                type_name(a),
                type_name(e),
            )
        for i in range(min(la, le)):
            part: PathPart = ("attr", names[i]) if names is not None else ("index", i)
            yield _child(a[i], e[i], (link, part))


def _type_diff(link: _Link, a: Any, e: Any) -> StructureDiff:
    ta, te = type_name(a), type_name(e)
    return StructureDiff(
        _path(link), "type", Finding("type.differ", {"actual": ta, "expected": te}), ta, te
    )


def key_difference(
    what: str, a_keys: Iterable[Any], e_keys: Iterable[Any], show: Callable[[Any], str]
) -> Finding | None:
    """A ``structure.keys`` finding: the keys missing in actual and the extra ones, each as
    ``show`` prints it (None when the key sets agree)."""
    # dicts keep order and look keys up in O(1): keys are hashable (dict keys, field names)
    a_set, e_set = dict.fromkeys(a_keys), dict.fromkeys(e_keys)
    if a_set.keys() == e_set.keys():
        return None
    missing = [show(k) for k in _key_sort([k for k in e_set if k not in a_set])]
    extra = [show(k) for k in _key_sort([k for k in a_set if k not in e_set])]
    return Finding("structure.keys", {"what": what, "missing": missing, "extra": extra})


def _walk_keyed(
    a: Mapping[Any, Any],
    e: Mapping[Any, Any],
    a_obj: Any,
    e_obj: Any,
    link: _Link,
    part: str,
) -> Iterator[_Step]:
    """Dicts (``part="key"``) and named fields of namedtuples/dataclasses (``"attr"``): the
    common keys are walked in ``expected``'s order; missing/extra ones are one difference."""
    what, show = ("keys", repr) if part == "key" else ("fields", str)
    diff = key_difference(what, a.keys(), e.keys(), show)
    if diff is not None:
        yield StructureDiff(_path(link), "structure", diff, type_name(a_obj), type_name(e_obj))
    if isinstance(a_obj, _ExpandedMap) and isinstance(e_obj, _ExpandedMap):
        # labelled columns match by label; their order is worth a note (plain dicts: not)
        common = [k for k in e if k in a and not isinstance(k, Attr)]
        if [k for k in a if k in e and not isinstance(k, Attr)] != common:
            in_actual = [show(k) for k in a if k in e and not isinstance(k, Attr)]
            order = {"actual": in_actual, "expected": list(map(show, common))}
            yield TypeNote(_path(link), Finding("note.key_order", order))
    elif part == "key" and diff is None and _number_run(a.values(), e.values()):
        keys = list(e)
        yield LeafRun(_path(link), [a[k] for k in keys], list(e.values()), keys)
        return
    for k in e:
        if k in a:
            key: PathPart = ("attr", k.name) if isinstance(k, Attr) else (part, k)
            yield _child(a[k], e[k], (link, key))


_NUMBERS = (float, int, complex)


def _number_run(a: Collection[Any], e: Collection[Any]) -> bool:
    """Whether two collections of items (of one length) are at least two Python numbers of
    one type, the same on both sides: a run of leaves that can be decided in bulk."""
    if len(e) < 2:
        return False
    first = type(next(iter(e)))
    return first in _NUMBERS and set(map(type, e)) == {first} == set(map(type, a))


def _child(a: Any, e: Any, link: _Link) -> _Step:
    """The step for one pair of items: two plain leaves (NumPy arrays, Python numbers) are a
    leaf pair at once, anything else is walked in turn."""
    if type(a) in PLAIN_LEAVES and type(e) in PLAIN_LEAVES:
        return LeafPair(_path(link), a, e)
    return _Descend(a, e, link)
