"""Misuse raises at once (TypeError/ValueError, never an AssertionError) with a message naming
the problem; and nearly never modifies its inputs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nearly

NAN = float("nan")
INF = float("inf")

CLOSE_FUNCS = [nearly.compare, nearly.assert_close, nearly.explain]


def _ids(f: Callable[..., Any]) -> str:
    return f.__name__


def check_misuse(
    func: Callable[..., Any], error: type[Exception], words: list[str], *args: Any, **kw: Any
) -> str:
    """Call ``func`` and check it raises ``error`` (not an AssertionError) whose message
    contains every one of ``words``; return the message."""
    with pytest.raises(error) as info:
        func(*args, **kw)
    assert not isinstance(info.value, AssertionError)
    text = str(info.value)
    for word in words:
        assert word in text, text
    return text


# ---------------------------------------------------------------------------- tolerances


@pytest.mark.parametrize("func", CLOSE_FUNCS, ids=_ids)
@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"rtol": -1e-3}, ValueError, ["rtol", "negative"]),
        ({"atol": -1}, ValueError, ["atol", "negative"]),
        ({"rtol": NAN}, ValueError, ["rtol", "finite"]),
        ({"atol": NAN}, ValueError, ["atol", "finite"]),
        ({"rtol": INF}, ValueError, ["rtol", "finite"]),
        ({"atol": -INF}, ValueError, ["atol"]),
        ({"atol": np.float32(-1)}, ValueError, ["atol", "negative"]),
        ({"atol": np.array(-1.0)}, ValueError, ["atol", "negative"]),
        ({"rtol": True}, TypeError, ["rtol", "bool"]),
        ({"atol": False}, TypeError, ["atol", "bool"]),
        ({"atol": np.bool_(True)}, TypeError, ["atol"]),
        ({"rtol": "0.1"}, TypeError, ["rtol", "str"]),
        ({"rtol": 1j}, TypeError, ["rtol"]),
        ({"atol": np.array([1.0, -1.0, 1.0])}, ValueError, ["atol", "negative"]),
        ({"atol": np.array([1.0, NAN, 1.0])}, ValueError, ["atol", "finite"]),
        ({"rtol": np.array([True, False, True])}, TypeError, ["rtol"]),
        ({"ulps": -1}, ValueError, ["ulps", "non-negative integer"]),
        ({"ulps": 1.5}, TypeError, ["ulps", "integer"]),
        ({"ulps": "2"}, TypeError, ["ulps", "integer"]),
        ({"ulps": True}, TypeError, ["ulps"]),
        ({"ulps": NAN}, TypeError, ["ulps"]),
    ],
)
def test_bad_tolerance_raises_at_once(
    func: Callable[..., Any], options: dict[str, Any], error: type[Exception], words: list[str]
) -> None:
    # at once: the inputs differ, yet the misuse is what is reported
    check_misuse(func, error, words, np.zeros(3), np.ones(3), **options)
    check_misuse(func, error, words, np.zeros(3), np.zeros(3), **options)


@pytest.mark.parametrize(
    ("kw", "error", "words"),
    [
        ({"rtol": -1}, ValueError, ["rtol"]),
        ({"atol": NAN}, ValueError, ["atol"]),
        ({"rtol": True}, TypeError, ["rtol"]),
        ({"ulps": -2}, ValueError, ["ulps"]),
        ({"ulps": 0.5}, TypeError, ["ulps"]),
    ],
)
def test_bad_tolerance_object(kw: dict[str, Any], error: type[Exception], words: list[str]) -> None:
    check_misuse(nearly.Tolerance, error, words, **kw)


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_bad_ulps_helper(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="ulps"):
        nearly.tol.ulps(bad)


@pytest.mark.parametrize("func", CLOSE_FUNCS, ids=_ids)
@pytest.mark.parametrize("other", [{"rtol": 1e-3}, {"atol": 0}, {"ulps": 1}])
def test_tol_with_rtol_atol_ulps(func: Callable[..., Any], other: dict[str, Any]) -> None:
    name = next(iter(other))
    check_misuse(func, TypeError, ["tol", name], 1.0, 1.0, tol=nearly.tol.ulps(2), **other)


@pytest.mark.parametrize("func", CLOSE_FUNCS, ids=_ids)
@pytest.mark.parametrize("bad", [0.1, 1, "float32", {"rtol": 0.1}, (1e-3, 1e-5)])
def test_tol_must_be_a_tolerance(func: Callable[..., Any], bad: Any) -> None:
    check_misuse(func, TypeError, ["tol", "Tolerance"], 1.0, 1.0, tol=bad)


@pytest.mark.parametrize("func", CLOSE_FUNCS, ids=_ids)
@pytest.mark.parametrize("flag", ["equal_nan", "check_dtype", "check_shape", "strict_types"])
@pytest.mark.parametrize("bad", [1, "yes", None])
def test_flags_must_be_bool(func: Callable[..., Any], flag: str, bad: Any) -> None:
    check_misuse(func, TypeError, [flag], 1.0, 1.0, **{flag: bad})


@pytest.mark.parametrize("func", [nearly.assert_close, nearly.assert_equal], ids=_ids)
@pytest.mark.parametrize("bad", [3, b"bytes", ["a"]])
def test_msg_must_be_str_or_callable(func: Callable[..., Any], bad: Any) -> None:
    check_misuse(func, TypeError, ["msg"], 1.0, 1.0, msg=bad)
    check_misuse(func, TypeError, ["msg"], 1.0, 2.0, msg=bad)


# ------------------------------------------------------------------------- unknown options


@pytest.mark.parametrize(
    ("func", "wrong", "right"),
    [
        (nearly.assert_close, "rotl", "rtol"),
        (nearly.compare, "rotl", "rtol"),
        (nearly.explain, "rotl", "rtol"),
        (nearly.assert_close, "err_msg", "msg"),
        (nearly.assert_equal, "err_msg", "msg"),
        (nearly.assert_close, "atl", "atol"),
        (nearly.assert_close, "rel_tol", "rtol"),
        (nearly.assert_close, "abs_tol", "atol"),
        (nearly.assert_close, "nulp", "ulps"),
        (nearly.assert_close, "equal_nans", "equal_nan"),
        (nearly.assert_close, "check_dtypes", "check_dtype"),
        (nearly.compare, "strict", "strict_types"),
        (nearly.assert_equal, "chek_shape", "check_shape"),
        (nearly.assert_finite, "mgs", "msg"),
    ],
)
def test_unknown_option_suggests_the_right_one(
    func: Callable[..., Any], wrong: str, right: str
) -> None:
    text = check_misuse(func, TypeError, [repr(wrong)], *_args(func), **{wrong: 1})
    assert f"Did you mean {right}?" in text


def _args(func: Callable[..., Any]) -> tuple[Any, ...]:
    return (np.zeros(2),) if func is nearly.assert_finite else (np.zeros(2), np.ones(2))


@pytest.mark.parametrize("name", ["rtol", "atol", "ulps", "tol"])
def test_assert_equal_rejects_tolerances(name: str) -> None:
    check_misuse(nearly.assert_equal, TypeError, [repr(name)], 1.0, 1.0, **{name: 1})


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        nearly.assert_close(1.0, 1.0, 1e-3)  # type: ignore[misc]
    with pytest.raises(TypeError):
        nearly.compare(1.0, 1.0, 1e-3, 1e-5)  # type: ignore[misc]


# -------------------------------------------------------------------------- strange leaves


class ArrayEq:
    """An object whose == answers with an array, like many array libraries."""

    def __eq__(self, other: object) -> Any:
        return np.array([True, False])

    __hash__ = None  # type: ignore[assignment]


class NoneEq:
    def __eq__(self, other: object) -> Any:
        return None

    __hash__ = None  # type: ignore[assignment]


class RaisingEq:
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("cannot compare")

    __hash__ = None  # type: ignore[assignment]


@pytest.mark.parametrize("func", CLOSE_FUNCS, ids=_ids)
@pytest.mark.parametrize("cls", [ArrayEq, NoneEq], ids=lambda c: c.__name__)
def test_leaf_whose_eq_is_not_a_bool(func: Callable[..., Any], cls: type) -> None:
    text = check_misuse(
        func,
        TypeError,
        ["['k'][1]", cls.__name__],
        {"k": [1.0, cls()]},
        {"k": [1.0, cls()]},
    )
    assert "==" in text


def test_leaf_whose_eq_raises() -> None:
    check_misuse(
        nearly.assert_close, TypeError, ["[0]", "RaisingEq"], (RaisingEq(),), (RaisingEq(),)
    )


def test_leaf_whose_eq_is_not_a_bool_with_assert_equal() -> None:
    check_misuse(nearly.assert_equal, TypeError, ["ArrayEq"], ArrayEq(), ArrayEq())


def test_plain_objects_compare_with_eq() -> None:
    class Token:
        def __init__(self, v: int) -> None:
            self.v = v

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Token) and other.v == self.v

        __hash__ = None  # type: ignore[assignment]

    assert nearly.compare([Token(1)], [Token(1)]).ok
    (m,) = nearly.compare({"t": Token(1)}, {"t": Token(2)}).mismatches
    assert m.path == "['t']"
    assert m.kind == "value"


# ------------------------------------------------------------------------------------ cycles


def test_cyclic_list() -> None:
    a: list[Any] = [1.0]
    a.append(a)
    e: list[Any] = [1.0]
    e.append(e)
    for func in CLOSE_FUNCS:
        check_misuse(func, ValueError, ["[1]", "cycle"], a, e)
    check_misuse(nearly.assert_equal, ValueError, ["cycle"], a, e)


def test_cyclic_dict_on_one_side() -> None:
    d: dict[str, Any] = {"x": 1.0}
    d["self"] = d
    check_misuse(nearly.compare, ValueError, ["['self']", "cycle"], d, {"x": 1.0, "self": {}})
    check_misuse(nearly.compare, ValueError, ["cycle"], {"x": 1.0, "self": {"x": 1.0}}, d)
    check_misuse(nearly.assert_finite, ValueError, ["cycle"], d)


def test_shared_subtrees_are_not_cycles() -> None:
    leaf = [np.ones(2), 1.0]
    assert nearly.compare([leaf, leaf, {"k": leaf}], [leaf, leaf, {"k": leaf}]).ok
    tree = {"a": leaf}
    assert nearly.compare(tree, tree).ok


def test_the_same_object_at_different_depths_is_not_a_cycle() -> None:
    inner = [[1.0]]
    # acyclic: [inner] is [[[1.0]]], compared against [[1.0]]
    result = nearly.compare([inner], inner)
    assert not result.ok
    assert [m.path for m in result.mismatches] == ["[0][0]"]


# ------------------------------------------------------------------ per-element tolerance


@pytest.mark.parametrize("func", CLOSE_FUNCS, ids=_ids)
@pytest.mark.parametrize("name", ["atol", "rtol"])
def test_per_element_tolerance_must_broadcast(func: Callable[..., Any], name: str) -> None:
    text = check_misuse(
        func,
        ValueError,
        [name, "(4,)", "(3,)"],
        np.zeros(3),
        np.zeros(3),
        **{name: np.full(4, 0.1)},
    )
    assert "broadcast" in text


def test_per_element_tolerance_must_broadcast_names_the_path() -> None:
    tol = nearly.Tolerance(atol=np.full((2, 2), 0.1))
    check_misuse(
        nearly.compare,
        ValueError,
        ["['b']", "(2, 2)", "(3,)"],
        {"a": np.zeros((2, 2)), "b": np.zeros(3)},
        {"a": np.zeros((2, 2)), "b": np.zeros(3)},
        tol=tol,
    )


def test_per_element_tolerance_that_broadcasts_is_fine() -> None:
    assert nearly.compare(np.zeros((2, 3)), np.full((2, 3), 0.05), atol=np.full(3, 0.1)).ok
    assert nearly.compare(np.zeros((2, 3)), np.full((2, 3), 0.05), atol=np.full((2, 1), 0.1)).ok


# ------------------------------------------------------------------- inputs never modified


def _snapshot(x: Any) -> Any:
    return copy.deepcopy(x)


def _same(x: Any, y: Any) -> None:
    """Deep equality, including dtypes, masks and flags of arrays."""
    if isinstance(x, np.ma.MaskedArray):
        assert isinstance(y, np.ma.MaskedArray)
        np.testing.assert_array_equal(np.ma.getmaskarray(x), np.ma.getmaskarray(y))
        _same(np.ma.getdata(x), np.ma.getdata(y))
    elif isinstance(x, np.ndarray):
        assert isinstance(y, np.ndarray)
        assert x.dtype == y.dtype
        assert x.shape == y.shape
        assert x.tobytes() == y.tobytes()
    elif isinstance(x, dict):
        assert list(x) == list(y)
        for k in x:
            _same(x[k], y[k])
    elif isinstance(x, (list, tuple)):
        assert type(x) is type(y)
        assert len(x) == len(y)
        for p, q in zip(x, y, strict=True):
            _same(p, q)
    elif isinstance(x, float) and x != x:
        assert y != y
    else:
        assert x == y
        assert type(x) is type(y)


def _inputs() -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(40, 40))
    a = {
        "w": base.copy(),
        "t": base.T,  # non-contiguous
        "f32": base.astype(np.float32)[::2],
        "nan": np.array([NAN, 1.0, -0.0, INF]),
        "ints": np.arange(-5, 5, dtype=np.int8),
        "m": np.ma.array([1.0, 2.0, 3.0], mask=[False, True, False]),
        "seq": [1.0, 2, (3.0, "s", None)],
        "cplx": np.array([1 + 2j, NAN]),
    }
    e = {
        "w": -base,  # sign flipped: runs the diagnoses
        "t": base + 0.5,  # offset
        "f32": (base.astype(np.float32)[::2] * 2).astype(np.float32),  # scale
        "nan": np.array([1.0, NAN, 0.0, -INF]),
        "ints": np.arange(-5, 5, dtype=np.int8)[::-1].copy(),
        "m": np.ma.array([1.0, 5.0, 4.0], mask=[False, False, False]),
        "seq": [1.5, 2, (3.0, "t", None)],
        "cplx": np.array([1 + 2.5j, 0j]),
    }
    return a, e


@pytest.mark.parametrize(
    "call",
    [
        lambda a, e: nearly.compare(a, e),
        lambda a, e: nearly.compare(a, e, rtol=1e-3, equal_nan=False),
        lambda a, e: nearly.compare(a, e, ulps=2, check_dtype=True),
        lambda a, e: nearly.explain(a, e),
        lambda a, e: nearly.compare(a, e).to_dict(),
    ],
    ids=["compare", "rtol", "ulps", "explain", "to_dict"],
)
def test_inputs_are_never_modified(call: Callable[[Any, Any], Any]) -> None:
    a, e = _inputs()
    before_a, before_e = _snapshot(a), _snapshot(e)
    flags = {k: v.flags.writeable for k, v in a.items() if isinstance(v, np.ndarray)}
    call(a, e)
    call(e, a)
    call(a, a)
    _same(a, before_a)
    _same(e, before_e)
    assert {k: v.flags.writeable for k, v in a.items() if isinstance(v, np.ndarray)} == flags


def test_failing_assertions_do_not_modify_inputs() -> None:
    a, e = _inputs()
    before_a, before_e = _snapshot(a), _snapshot(e)
    with pytest.raises(nearly.NotClose):
        nearly.assert_close(a, e)
    with pytest.raises(nearly.NotClose):
        nearly.assert_equal(a, e)
    with pytest.raises(nearly.NotFinite):
        nearly.assert_finite(a)
    _same(a, before_a)
    _same(e, before_e)


def test_read_only_arrays() -> None:
    a = np.linspace(0, 1, 200_000)
    e = a + 1e-3
    a.setflags(write=False)
    e.setflags(write=False)
    ma = np.ma.array(a, mask=a > 0.5)
    ma.setflags(write=False)
    result = nearly.compare(a, e)
    assert not result.ok
    assert result.mismatches[0].count == a.size
    assert nearly.compare(a, a.copy()).ok
    assert nearly.compare(ma, ma.copy()).ok
    assert not nearly.compare(ma, np.ma.array(e, mask=a > 0.5)).ok
    nearly.assert_finite({"a": a, "ma": ma})
    assert not a.flags.writeable
    assert not e.flags.writeable
    np.testing.assert_array_equal(a, np.linspace(0, 1, 200_000))


def test_masked_array_mask_and_fill_value_untouched() -> None:
    a = np.ma.array([1.0, NAN, 3.0, 4.0], mask=[False, True, False, True], fill_value=-9.0)
    e = np.ma.array([1.0, 2.0, 30.0, 4.0], mask=[False, True, False, False], fill_value=7.0)
    before = (a.data.copy(), a.mask.copy(), e.data.copy(), e.mask.copy())
    assert not nearly.compare(a, e).ok
    nearly.explain(a, e, atol=1)
    np.testing.assert_array_equal(a.data, before[0])
    np.testing.assert_array_equal(a.mask, before[1])
    np.testing.assert_array_equal(e.data, before[2])
    np.testing.assert_array_equal(e.mask, before[3])
    assert a.fill_value == -9.0
    assert e.fill_value == 7.0


def test_per_element_tolerance_array_is_not_modified() -> None:
    atol = np.array([0.1, 0.2, 0.3])
    before = atol.copy()
    nearly.compare(np.zeros(3), np.full(3, 0.25), atol=atol)
    t = nearly.Tolerance(atol=atol)
    (m,) = nearly.compare(np.zeros(3), np.full(3, 0.25), tol=t + t).mismatches
    assert m.count == 1  # 0.25 > 2 * 0.1 at [0] only
    assert m.index == (0,)
    np.testing.assert_array_equal(atol, before)
    assert atol.flags.writeable
