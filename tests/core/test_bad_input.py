"""Bad and odd inputs: each gets a correct verdict, or a TypeError/ValueError naming the path and
the problem — never an internal exception; no input is modified, and none is retained after the
call. (Tolerance misuse, cycles and ``==`` oddities are in test_misuse.py.)"""

from __future__ import annotations

import contextlib
import gc
import sys
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nearly

FUNCS = [nearly.compare, nearly.explain, nearly.assert_close]


def refused(func: Callable[..., Any], words: list[str], *args: Any, **kw: Any) -> str:
    """``func`` raises TypeError or ValueError (never an AssertionError or anything else)
    whose message holds every one of ``words``."""
    with pytest.raises((TypeError, ValueError)) as info:
        func(*args, **kw)
    assert not isinstance(info.value, AssertionError)
    text = str(info.value)
    for word in words:
        assert word in text, text
    return text


def nested(depth: int, leaf: Any) -> Any:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


# ------------------------------------------------------------------------------ deep nesting


@pytest.mark.parametrize("depth", [10_000, 20_000])
def test_deep_nesting_is_walked_without_recursion(depth: int) -> None:
    assert depth > sys.getrecursionlimit()
    a, e = nested(depth, 1.0), nested(depth, 1.0)
    assert nearly.compare(a, e).ok
    nearly.assert_close(a, e)
    nearly.assert_equal(a, e)
    nearly.assert_finite(a)


def test_deep_difference_is_found_with_its_full_path() -> None:
    depth = 10_000
    result = nearly.compare(nested(depth, 1.0), nested(depth, 2.0))
    (m,) = result.mismatches
    assert m.path == "[0]" * depth
    assert m.kind == "value"
    with pytest.raises(nearly.NotFinite) as info:
        nearly.assert_finite({"x": nested(depth, float("nan"))})
    (m,) = info.value.comparison.mismatches
    assert m.path == "['x']" + "[0]" * depth


def test_deep_structure_differences() -> None:
    depth = 12_000
    (m,) = nearly.compare(nested(depth, [1.0, 2.0]), nested(depth, [1.0])).mismatches
    assert (m.path, m.kind) == ("[0]" * depth, "structure")
    (m,) = nearly.compare(nested(depth, {"a": 1}), nested(depth, {"b": 1})).mismatches
    assert "'b'" in m.detail


def test_deep_cycle_is_refused_naming_where() -> None:
    a: list[Any] = [1.0]
    inner = nested(5_000, a)
    a.append(inner)
    refused(nearly.compare, ["cycle", "[1]" + "[0]" * 4_999], a, a)


# ------------------------------------------------------------------------ one-pass iterators


def _gen() -> Iterator[float]:
    yield 1.0
    yield 2.0


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "make",
    [
        _gen,
        lambda: iter([1.0, 2.0]),
        lambda: map(float, [1, 2]),
        lambda: zip([1.0], [2.0], strict=True),
    ],
    ids=["generator", "list_iterator", "map", "zip"],
)
def test_iterators_are_refused_and_left_unconsumed(
    func: Callable[..., Any], make: Callable[[], Iterator[Any]]
) -> None:
    for wrap, path in ((lambda x: x, "top level"), (lambda x: {"k": [0.0, x]}, "['k'][1]")):
        it = make()
        text = refused(func, ["iterator", path, "list("], wrap(it), wrap([1.0, 2.0]))
        assert type(it).__name__ in text
        # nothing was read from it
        assert len(list(it)) in (1, 2)
        it = make()
        refused(func, ["iterator"], wrap([1.0, 2.0]), wrap(it))
        assert len(list(it)) in (1, 2)
    refused(nearly.assert_finite, ["iterator"], {"g": make()})


def test_reiterable_ranges_and_views_still_compare() -> None:
    assert nearly.compare(range(3), [0, 1, 2]).ok
    assert nearly.compare({"a": 1}.keys(), {"a": 1}.keys()).ok


# --------------------------------------------------------------------- sets, objects, strings


def test_sets_compare_by_equality() -> None:
    assert nearly.compare({1, 2}, {2, 1}).ok
    assert nearly.compare(frozenset({1.0}), frozenset({1.0})).ok
    (m,) = nearly.compare({"s": {1, 2}}, {"s": {1, 3}}).mismatches
    assert (m.path, m.kind) == ("['s']", "value")


def test_object_arrays_compare_element_by_element() -> None:
    a = np.array([1, "a", None, 2.5], dtype=object)
    assert nearly.compare(a, a.copy()).ok
    b = a.copy()
    b[1] = "b"
    (m,) = nearly.compare([a], [b]).mismatches
    assert (m.path, m.kind, m.count, m.index) == ("[0]", "value", 1, (1,))


def test_object_array_of_arrays_is_refused_naming_the_path() -> None:
    a = np.empty(2, dtype=object)
    a[0], a[1] = np.ones(2), np.ones(3)
    refused(nearly.compare, ["['w']", "=="], {"w": a}, {"w": a.copy()})


@pytest.mark.parametrize(
    ("actual", "expected", "kind"),
    [
        ("1", 1, "type"),
        (1, "1", "type"),
        ("1.0", np.array(1.0), "type"),
        (b"a", "a", "type"),
        (np.array(["1"]), np.array([1]), "dtype"),
        (np.array([1.0]), np.array(["1.0"]), "dtype"),
        (None, 0.0, "type"),
        (["a", "b"], np.array([1, 2]), "dtype"),
    ],
)
def test_strings_versus_numbers(actual: Any, expected: Any, kind: str) -> None:
    for a, e in ((actual, expected), (expected, actual)):
        (m,) = nearly.compare({"v": a}, {"v": e}).mismatches
        assert m.path == "['v']"
        assert m.kind == kind


def test_ragged_and_mixed_sequences_against_arrays_differ_in_type() -> None:
    for seq in ([[1.0, 2.0], [3.0]], [2**70, 1], [None, 1.0], [1.0, "a", None]):
        (m,) = nearly.compare({"x": seq}, {"x": np.array([1.0, 2.0])}).mismatches
        assert (m.path, m.kind) == ("['x']", "type")
        assert "list" in m.detail


def test_deep_list_against_an_array_differs_in_type() -> None:
    (m,) = nearly.compare(nested(5_000, 1.0), np.array(1.0)).mismatches
    assert m.kind == "type"


def test_dict_keys_that_do_not_sort() -> None:
    a = {1: 1.0, "a": 2.0, (1, 2): 3.0, None: 4.0}
    e = {1: 1.0, "b": 2.0, (1, 2): 3.5, 2j: 4.0}
    result = nearly.compare(a, e)
    kinds = {(m.path, m.kind) for m in result.mismatches}
    assert ("", "structure") in kinds
    assert ("[(1, 2)]", "value") in kinds
    structure = next(m for m in result.mismatches if m.kind == "structure")
    for key in ("'a'", "'b'", "None", "2j"):
        assert key in structure.detail
    assert nearly.compare(a, dict(reversed(list(a.items())))).ok


@pytest.mark.parametrize("other", [1.0, np.float64(1.0), np.array([1.0]), [1.0]])
def test_zero_d_versus_one_element(other: Any) -> None:
    if isinstance(other, float | np.floating):
        assert nearly.compare(np.array(1.0), other).ok
        return
    for a, e in ((np.array(1.0), other), (other, np.array(1.0)), (1.0, other)):
        (m,) = nearly.compare(a, e).mismatches
        assert m.kind == "shape"
        assert "()" in m.detail
        assert "(1,)" in m.detail
        assert nearly.compare(a, e, check_shape=False).ok


@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0, 2)])
def test_zero_size_arrays(shape: tuple[int, ...]) -> None:
    a = np.zeros(shape, np.float32)
    assert nearly.compare(a, np.zeros(shape, np.int8)).ok
    assert nearly.compare(a, np.zeros(shape, "U2")).mismatches[0].kind == "dtype"
    (m,) = nearly.compare(a, np.zeros((*shape[::-1], 1))).mismatches
    assert m.kind == "shape"
    nearly.assert_finite(a)


# ------------------------------------------------------------------- memory layouts


def layouts(base: np.ndarray[Any, Any]) -> dict[str, np.ndarray[Any, Any]]:
    read_only = base.copy()
    read_only.setflags(write=False)
    return {
        "read-only": read_only,
        "transposed": np.ascontiguousarray(base.T).T,
        "strided": np.repeat(base, 2, axis=-1)[..., ::2],
        "reversed": base[::-1, ::-1].copy()[::-1, ::-1],
        "big-endian": base.astype(base.dtype.newbyteorder(">")),
        "fortran": np.asfortranarray(base),
        "broadcast": np.broadcast_to(base[:1], base.shape) if (base[:1] == base).all() else base,
    }


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16", "complex128", "uint64"])
@pytest.mark.parametrize(
    "layout",
    ["read-only", "transposed", "strided", "reversed", "big-endian", "fortran", "broadcast"],
)
def test_every_memory_layout_gives_the_same_verdict(dtype: str, layout: str) -> None:
    rng = np.random.default_rng(1)
    base = (rng.normal(size=(30, 40)) * 100).astype(dtype)
    other = base.copy()
    other[3, 7] += 5
    other[20, 1] -= 3
    plain = nearly.compare(base, other, atol=1)
    view = layouts(base)[layout]
    before = view.tobytes()
    for a, e in ((view, other), (other, view)):
        result = nearly.compare(a, e, atol=1)
        (m,) = result.mismatches
        assert (m.count, m.index, m.max_abs) == (
            plain.mismatches[0].count,
            plain.mismatches[0].index,
            plain.mismatches[0].max_abs,
        )
    assert nearly.compare(view, base).ok
    assert view.tobytes() == before


def test_big_endian_against_little_endian_values() -> None:
    a = np.array([1.5, -2.0, np.nan, np.inf], ">f8")
    e = np.array([1.5, -2.0, np.nan, np.inf], "<f4")
    assert nearly.compare(a, e).ok
    (m,) = nearly.compare(a, np.array([1.5, 2.0, np.nan, np.inf], "<f8")).mismatches
    assert (m.count, m.index, m.max_abs) == (1, (1,), 4.0)


def test_big_endian_longdouble_beyond_float64_range() -> None:
    big = np.array([np.longdouble("1e400"), 1.0])
    if not np.isfinite(big).all():
        pytest.skip("longdouble is float64 here")
    swapped = big.astype(big.dtype.newbyteorder(">" if big.dtype.isnative else "<"))
    nearly.assert_finite(swapped)  # finite, though beyond float64's range
    assert nearly.compare(swapped, big).ok
    assert nearly.compare(swapped, swapped).ok  # the default tolerance is float64's row
    assert nearly.tol.default(swapped.dtype) == nearly.tol.default(np.float64)
    step = np.nextafter(big, np.longdouble(np.inf)).astype(swapped.dtype)
    (m,) = nearly.compare(step, swapped, ulps=0).mismatches
    assert (m.count, m.max_ulps) == (2, 1)


def test_memory_mapped_arrays(tmp_path: Path) -> None:
    path = tmp_path / "values.npy"
    values = np.linspace(0, 1, 300_000, dtype=np.float32)
    np.save(path, values)
    mapped = np.load(path, mmap_mode="r")
    assert isinstance(mapped, np.memmap)
    assert nearly.compare(mapped, values).ok
    wrong = values.copy()
    wrong[123_456] = 2
    (m,) = nearly.compare(mapped, wrong).mismatches
    assert (m.count, m.index) == (1, (123_456,))
    (m,) = nearly.compare(mapped, values, strict_types=True).mismatches
    assert m.kind == "type"
    del mapped, m
    gc.collect()
    np.testing.assert_array_equal(np.load(path), values)


def test_masked_arrays() -> None:
    a = np.ma.array([1.0, 2.0, 3.0], mask=[False, True, False])
    assert nearly.compare(a, np.ma.array([1.0, 99.0, 3.0], mask=[False, True, False])).ok
    (m,) = nearly.compare(a, np.ma.array([1.0, 2.0, 3.0], mask=False)).mismatches
    assert (m.kind, m.count, m.index) == ("value", 1, (1,))
    (m,) = nearly.compare(a, np.ma.array([1.0, 2.0, 4.0], mask=[False, True, False])).mismatches
    assert (m.count, m.index) == (1, (2,))
    # a fully masked array is equal to any fully masked array of its shape
    assert nearly.compare(np.ma.masked_all((2, 2)), np.ma.array(np.ones((2, 2)), mask=True)).ok


def test_datetimes() -> None:
    a = np.array(["2024-01-01", "NaT", "2024-03-01"], "M8[D]")
    assert nearly.compare(a, a.astype("M8[s]")).ok
    (m,) = nearly.compare(a, np.array(["2024-01-01", "NaT", "2024-03-02"], "M8[D]")).mismatches
    assert (m.kind, m.count, m.index) == ("value", 1, (2,))
    assert not nearly.compare(a, a.copy(), equal_nan=False).ok
    (m,) = nearly.compare(a, a.astype("i8")).mismatches
    assert m.kind == "dtype"
    (m,) = nearly.compare(a, np.array([1, 2, 3], "m8[D]")).mismatches
    assert m.kind == "dtype"
    with pytest.raises(nearly.NotClose):
        nearly.assert_equal(np.timedelta64(1, "s"), np.timedelta64(1001, "ms"))


# ------------------------------------------------------------------------------ frameworks


def test_torch_meta_against_cpu_compares_shape_and_dtype() -> None:
    torch = pytest.importorskip("torch")
    meta = torch.empty(3, 2, device="meta")
    assert nearly.compare(meta, torch.zeros(3, 2)).ok
    result = nearly.compare(meta, torch.zeros(3, 2))
    assert any("meta" in n.text for n in result.notes)
    (m,) = nearly.compare(meta, torch.zeros(2, 3)).mismatches
    assert m.kind == "shape"
    (m,) = nearly.compare({"t": meta}, {"t": torch.zeros(3, 2)}, check_device=True).mismatches
    assert (m.path, m.kind) == ("['t']", "type")
    assert "meta" in m.detail


def test_tensors_that_require_grad() -> None:
    torch = pytest.importorskip("torch")
    w = torch.ones(4, requires_grad=True)
    y = w * 2
    assert nearly.compare(y, torch.full((4,), 2.0)).ok
    (m,) = nearly.compare({"y": y}, {"y": torch.full((4,), 3.0)}).mismatches
    assert (m.path, m.count) == ("['y']", 4)
    nearly.assert_close(w, np.ones(4, np.float32))
    # a list of them read against an array is a type difference, not a crash
    (m,) = nearly.compare([w], np.ones((1, 4))).mismatches
    assert m.kind == "type"
    # nothing was recorded on the graph or changed
    assert w.grad is None
    assert w.requires_grad
    y.sum().backward()
    assert w.grad is not None


# ------------------------------------------------------------------ inputs are never touched


def fingerprint(x: np.ndarray[Any, Any]) -> tuple[Any, ...]:
    return (x.tobytes(), x.dtype, x.shape, x.strides, x.flags.writeable, x.flags.c_contiguous)


def test_arrays_sharing_memory_are_not_modified() -> None:
    base = np.linspace(-1, 1, 200_000).reshape(400, 500)
    views = {
        "base": base,
        "reversed": base[::-1],
        "transposed": base.T,
        "slice": base[10:20, ::3],
        "as_bytes": base.view(np.uint8),
    }
    snapshot = {k: fingerprint(v) for k, v in views.items()}
    nearly.compare(base, base[::-1])
    nearly.compare(base, base.T.T)
    nearly.explain(base[::-1], base, ulps=2)
    nearly.compare({"a": base, "b": base.T}, {"a": base[::-1], "b": base[::-1].T})
    with pytest.raises(nearly.NotClose):
        nearly.assert_close(base[::-1], base)
    with pytest.raises(nearly.NotClose):
        nearly.assert_equal(base[:, ::-1], base, check_shape=False)
    nearly.compare(base[:1], base, check_shape=False)
    assert {k: fingerprint(v) for k, v in views.items()} == snapshot


def test_torch_tensors_are_not_modified() -> None:
    torch = pytest.importorskip("torch")
    t = torch.linspace(-1, 1, 1000)
    view = t.flip(0)
    before = t.clone()
    nearly.compare(t, view)
    nearly.compare(t.view(10, 100).T, view.view(10, 100).T)
    with pytest.raises(nearly.NotClose):
        nearly.assert_close(view, t)
    assert torch.equal(t, before)
    assert t.is_contiguous()


# ---------------------------------------------------------------- inputs are never retained


class Holder:
    """A weakly referenceable leaf compared with ==."""

    def __init__(self, v: float) -> None:
        self.v = v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Holder) and other.v == self.v

    __hash__ = None  # type: ignore[assignment]


class Arr(np.ndarray):  # type: ignore[type-arg]
    """An ndarray subclass: weakly referenceable, unlike ndarray itself."""


def make_inputs(kind: str, differ: bool) -> tuple[Any, Any]:
    if kind == "numpy":
        a = np.linspace(0, 1, 100_000).view(Arr)
        e = (a + (1 if differ else 0)).view(Arr)
        return a, e
    if kind == "object":
        return Holder(1.0), Holder(2.0 if differ else 1.0)
    if kind == "masked":
        return (
            np.ma.array([1.0, 2.0], mask=[False, True]),
            np.ma.array([1.0, 5.0 if differ else 2.0], mask=[False, differ]),
        )
    torch = pytest.importorskip("torch")
    t = torch.linspace(0, 1, 1000, requires_grad=kind == "torch-grad")
    return t, t.detach() + (1 if differ else 0)


def calls() -> dict[str, Callable[[Any, Any], Any]]:
    def assert_close(a: Any, e: Any) -> None:
        # the exception, and its traceback, are dropped on leaving the block
        with contextlib.suppress(nearly.NotClose):
            nearly.assert_close({"x": [a]}, {"x": [e]})

    def comparison_kept(a: Any, e: Any) -> Any:
        return nearly.compare(a, e)

    return {
        "compare": lambda a, e: nearly.compare([a], [e]).ok,
        "explain": lambda a, e: nearly.explain({"x": a}, {"x": e}),
        "to_dict": lambda a, e: nearly.compare(a, e).to_dict(),
        "assert_close": assert_close,
        "comparison_kept": comparison_kept,
    }


@pytest.mark.parametrize("kind", ["numpy", "object", "masked", "torch", "torch-grad"])
@pytest.mark.parametrize("call", list(calls()))
@pytest.mark.parametrize("differ", [False, True], ids=["equal", "different"])
def test_inputs_are_not_retained(kind: str, call: str, differ: bool) -> None:
    a, e = make_inputs(kind, differ)
    refs = [weakref.ref(a), weakref.ref(e)]
    kept = calls()[call](a, e)  # a Comparison kept alive must not keep the inputs alive
    del a, e
    gc.collect()
    assert [r() is None for r in refs] == [True, True]
    del kept


def test_failing_assertion_releases_inputs_once_the_exception_is_dropped() -> None:
    a, e = make_inputs("numpy", True)
    refs = [weakref.ref(a), weakref.ref(e)]
    try:
        nearly.assert_close(a, e)
    except nearly.NotClose as err:
        comparison = err.comparison
    del a, e
    gc.collect()
    assert [r() is None for r in refs] == [True, True]
    assert not comparison.ok


# ------------------------------------------------------------------------ known engine bugs


def test_real_signalling_nan() -> None:
    snan = np.array([0x7FA00000], np.uint32).view(np.float32)
    assert np.isnan(snan).all()
    assert nearly.compare(snan, snan.copy()).ok
    assert not nearly.compare(snan, snan.copy(), equal_nan=False).ok
    with pytest.raises(nearly.NotFinite):
        nearly.assert_finite(snan)


@pytest.mark.parametrize("dtype", ["complex64", "bfloat16"])
def test_signalling_nan_in_other_formats(dtype: str) -> None:
    if dtype == "complex64":
        snan = np.array([0x7FA00000, 0], np.uint32).view(np.complex64)
    else:
        ml_dtypes = pytest.importorskip("ml_dtypes")
        snan = np.array([0x7FA0], np.uint16).view(ml_dtypes.bfloat16)
    assert nearly.compare(snan, snan.copy()).ok


def test_python_ints_beyond_float_range() -> None:
    assert nearly.compare(10**400, 10**400).ok
    (m,) = nearly.compare(10**400, 10**400 + 1).mismatches
    assert m.kind == "value"


def test_python_int_beyond_float_range_against_a_float() -> None:
    (m,) = nearly.compare({"n": 10**400}, {"n": 1.0}).mismatches
    assert (m.path, m.kind) == ("['n']", "value")
