"""Leaf and container semantics users rely on (DESIGN.md, "Semantics that users rely on").

Every leaf semantic runs once per container shape (the ``wrap`` fixture of conftest.py) and
checks the path at which a difference is reported.
"""

from __future__ import annotations

import collections
import dataclasses
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

import nearly
from frameworks import ml_dtypes, needs_ml_dtypes, with_ml_dtypes

NAN = float("nan")
INF = float("inf")

F32 = np.float32
# the ml_dtypes formats (None without ml_dtypes: their cases are skipped)
BF16 = getattr(ml_dtypes, "bfloat16", None)
E4M3 = getattr(ml_dtypes, "float8_e4m3fn", None)
E5M2 = getattr(ml_dtypes, "float8_e5m2", None)


def f32_up(x: float, steps: int = 1) -> np.float32:
    """``x`` as float32, moved ``steps`` representable values up."""
    v = np.float32(x)
    for _ in range(steps):
        v = np.nextafter(v, np.float32(np.inf))
    return v


def f64_up(x: float, steps: int = 1) -> float:
    v = float(x)
    for _ in range(steps):
        v = float(np.nextafter(v, np.inf))
    return v


def test_rewrap_yields_four_wrappings(rewrap: Any) -> None:
    cases = list(rewrap(1, 2))
    assert [path for *_, path in cases] == ["[0]", "[0]", "['x']", "['a'][0][0]"]
    assert [type(a) for a, _, _ in cases] == [tuple, list, dict, dict]
    assert cases[3][0] == {"a": [(1,)]}
    for a, e, path in cases:
        (mismatch,) = nearly.compare(a, e).mismatches
        assert mismatch.path == path
        assert mismatch.kind == "value"


# --------------------------------------------------------------------------- NaN / inf / -0.0


@pytest.mark.parametrize(
    "value",
    [
        np.array([1.0, NAN, 3.0]),
        np.array([NAN], dtype=np.float32),
        np.array([NAN, 1.0], dtype=np.float16),
        NAN,
        np.float64(NAN),
        np.array(NAN),
    ],
    ids=["f64", "f32", "f16", "py", "np-scalar", "0d"],
)
def test_nan_equals_nan_by_default(wrap: Any, value: Any) -> None:
    copy = value.copy() if isinstance(value, np.ndarray) else value
    wrap.passes(value, copy)
    nearly.assert_equal(wrap(value), wrap(copy))


@pytest.mark.parametrize(
    ("value", "n_nan"),
    [(np.array([1.0, NAN, NAN]), 2), (NAN, 1), (np.array([NAN], dtype=np.float32), 1)],
    ids=["array", "py", "f32"],
)
def test_nan_differs_from_nan_with_equal_nan_false(wrap: Any, value: Any, n_nan: int) -> None:
    copy = value.copy() if isinstance(value, np.ndarray) else value
    m = wrap.fails(value, copy, "value", equal_nan=False)
    assert m.count == n_nan
    with pytest.raises(nearly.NotClose):
        nearly.assert_equal(wrap(value), wrap(copy), equal_nan=False)


def test_nan_placement_counts_every_element(wrap: Any) -> None:
    a = np.array([NAN, 1.0, 2.0, NAN])
    e = np.array([0.0, NAN, 2.0, NAN])
    m = wrap.fails(a, e, "value")
    assert m.count == 2
    assert m.total == 4
    assert "NaN only in actual" in str(wrap.compare(a, e))


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_inf_equals_same_inf(wrap: Any, sign: float) -> None:
    a = np.array([sign * INF, 1.0])
    wrap.passes(a, a.copy())
    wrap.passes(a, a.copy(), atol=0)
    wrap.passes(sign * INF, sign * INF, ulps=0)
    nearly.assert_equal(wrap(sign * INF), wrap(np.float32(sign * INF)))


def test_plus_inf_vs_minus_inf_fails(wrap: Any) -> None:
    m = wrap.fails(np.array([INF, 1.0]), np.array([-INF, 1.0]), "value")
    assert m.count == 1
    assert m.index == (0,)
    # no tolerance makes opposite infinities close
    wrap.fails(INF, -INF, "value", rtol=1e300, atol=1e300)
    wrap.fails(INF, -INF, "value", ulps=10**9)


@pytest.mark.parametrize(("a", "e"), [(INF, 1e308), (1.0, INF), (-INF, -1e308), (INF, 0.0)])
def test_inf_vs_finite_fails(wrap: Any, a: float, e: float) -> None:
    assert wrap.fails(np.array([a]), np.array([e]), "value").count == 1
    wrap.fails(a, e, "value", atol=1e308, rtol=10)


def test_inf_is_infinitely_many_ulps_from_the_largest_finite(wrap: Any) -> None:
    big = np.finfo(np.float64).max
    wrap.fails(INF, big, "value", ulps=1)
    big32 = np.finfo(np.float32).max
    wrap.fails(np.array([INF], dtype=F32), np.array([big32], dtype=F32), "value", ulps=1000)


@pytest.mark.parametrize(
    ("a", "e"),
    [
        (-0.0, 0.0),
        (0.0, -0.0),
        (np.array([-0.0, 1.0]), np.array([0.0, 1.0])),
        (np.array([-0.0], dtype=F32), np.array([0.0], dtype=F32)),
        (np.array([complex(-0.0, -0.0)]), np.array([0j])),
        (np.float16(-0.0), 0),
    ],
    ids=["py", "py-rev", "f64", "f32", "complex", "f16-vs-int"],
)
def test_negative_zero_equals_zero(wrap: Any, a: Any, e: Any) -> None:
    wrap.passes(a, e, atol=0)
    wrap.passes(a, e, ulps=0)
    wrap.passes(a, e)
    nearly.assert_equal(wrap(a), wrap(e))


# ------------------------------------------------------------------------------------ shapes


def test_no_silent_broadcasting(wrap: Any) -> None:
    a = np.zeros((3, 1))
    e = np.zeros(3)
    m = wrap.fails(a, e, "shape")
    assert m.count == 1
    text = str(wrap.compare(a, e))
    assert "(3, 1)" in text
    assert "(3,)" in text


@pytest.mark.parametrize(
    ("sa", "se"), [((3,), (1,)), ((2, 3), (3, 2)), ((1, 3), (3,)), ((0, 3), (3, 0)), ((0,), (1,))]
)
def test_any_shape_difference_is_a_shape_mismatch(wrap: Any, sa: Any, se: Any) -> None:
    wrap.fails(np.ones(sa), np.ones(se), "shape")


def test_check_shape_false_allows_broadcasting(wrap: Any) -> None:
    a = np.array([[1.0], [2.0], [3.0]])
    wrap.passes(a, np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]), check_shape=False)
    wrap.passes(np.ones((3, 1)), np.ones(3), check_shape=False)
    m = wrap.fails(np.ones((3, 1)), np.array([1.0, 2.0, 1.0]), "value", check_shape=False)
    assert m.count == 3  # broadcast to (3, 3): column 1 differs in every row
    wrap.fails(np.ones(3), np.ones(4), "shape", check_shape=False)


# ------------------------------------------------------------------------------------ dtypes


@pytest.mark.parametrize(
    ("a", "e", "labels"),
    [
        (np.array([1.0, 2.0], dtype=F32), np.array([1.0, 2.0]), ("float32", "float64")),
        (np.array([1, 2], dtype=np.int32), np.array([1, 2]), ("int32", "int64")),
        (
            np.array([1, 2], dtype=np.uint8),
            np.array([1.0, 2.0], dtype=np.float16),
            ("uint8", "float16"),
        ),
        with_ml_dtypes(
            np.array([1.0], dtype=BF16), np.array([1.0], dtype=F32), ("bfloat16", "float32")
        ),
    ],
    ids=["f32-f64", "i32-i64", "u8-f16", "bf16-f32"],
)
def test_dtype_difference_is_a_note_unless_check_dtype(
    wrap: Any, a: Any, e: Any, labels: tuple[str, str]
) -> None:
    result = wrap.passes(a, e)
    text = str(result)
    for label in labels:
        assert label in text
    assert wrap.path in text
    m = wrap.fails(a, e, "dtype", check_dtype=True)
    text = str(wrap.compare(a, e, check_dtype=True))
    for label in labels:
        assert label in text
    assert m.hints
    nearly.assert_equal(wrap(a), wrap(e))
    with pytest.raises(nearly.NotClose):
        nearly.assert_equal(wrap(a), wrap(e), check_dtype=True)


def test_same_dtype_passes_check_dtype(wrap: Any) -> None:
    wrap.passes(np.ones(3, dtype=F32), np.ones(3, dtype=F32), check_dtype=True)


# ---------------------------------------------------------------------------------- integers


@pytest.mark.parametrize(
    ("a", "e", "diff"),
    [
        (np.array([-128], np.int8), np.array([127], np.int8), 255),
        (np.array([127], np.int8), np.array([-128], np.int8), 255),
        (np.array([0], np.uint8), np.array([255], np.uint8), 255),
        (np.array([-1], np.int8), np.array([255], np.uint8), 256),
        (np.array([-32768], np.int16), np.array([32767], np.int16), 65535),
        (np.array([0], np.uint32), np.array([2**32 - 1], np.uint32), 2**32 - 1),
        (
            np.array([np.iinfo(np.int64).min], np.int64),
            np.array([np.iinfo(np.int64).max], np.int64),
            2**64 - 1,
        ),
        (np.array([0], np.uint64), np.array([2**64 - 1], np.uint64), 2**64 - 1),
    ],
    ids=["i8", "i8-rev", "u8", "i8-u8", "i16", "u32", "i64", "u64"],
)
def test_integer_differences_never_overflow(wrap: Any, a: Any, e: Any, diff: int) -> None:
    m = wrap.fails(a, e, "value")
    assert m.count == 1
    assert m.index == (0,)
    assert m.max_abs == pytest.approx(float(diff), rel=1e-15)
    assert m.max_abs > 0


def test_integers_compare_exactly_by_default(wrap: Any) -> None:
    a = np.array([1, 2, 3, 10**12])
    wrap.passes(a, a.copy())
    m = wrap.fails(a, np.array([1, 2, 4, 10**12 + 1]), "value")
    assert m.count == 2
    assert m.index in ((2,), (3,))
    wrap.fails(5, 6, "value")
    wrap.passes(5, 5)


def test_integer_atol(wrap: Any) -> None:
    a = np.array([100, 200], np.int16)
    wrap.passes(a, np.array([102, 198], np.int16), atol=2)
    assert wrap.fails(a, np.array([103, 198], np.int16), "value", atol=2).count == 1


# -------------------------------------------------------------------------------------- bool


def test_bool_arrays(wrap: Any) -> None:
    a = np.array([True, False, True])
    wrap.passes(a, a.copy())
    m = wrap.fails(a, np.array([True, True, False]), "value")
    assert m.count == 2
    assert m.total == 3
    wrap.passes(True, True)
    wrap.fails(True, False, "value")
    wrap.passes(np.bool_(False), False)


def test_bool_vs_int_compares_values(wrap: Any) -> None:
    wrap.passes(np.array([True, False]), np.array([1, 0]))
    wrap.fails(np.array([True, False]), np.array([1, 2]), "value")


# ----------------------------------------------------------------------------------- complex


def test_complex_closeness_uses_the_modulus(wrap: Any) -> None:
    a = np.array([1 + 1j])
    e = np.array([0j])
    # |a - e| = sqrt(2) ~ 1.414: each part alone is within 1.2, the modulus is not
    m = wrap.fails(a, e, "value", atol=1.2)
    assert m.max_abs == pytest.approx(2**0.5)
    wrap.passes(a, e, atol=1.5)
    wrap.passes(np.complex64(3 + 4j), np.complex64(0), atol=5)
    wrap.fails(np.complex64(3 + 4j), np.complex64(0), "value", atol=4.9)


@pytest.mark.parametrize(
    ("a", "e"),
    [
        (complex(NAN, 1.0), complex(1.0, NAN)),
        (complex(NAN, 0.0), complex(NAN, 5.0)),
        (complex(2.0, NAN), complex(NAN, NAN)),
    ],
)
def test_complex_with_nan_in_either_part_is_nan(wrap: Any, a: complex, e: complex) -> None:
    for ctype in (np.complex128, np.complex64):
        wrap.passes(np.array([a], ctype), np.array([e], ctype))
        wrap.fails(np.array([a], ctype), np.array([e], ctype), "value", equal_nan=False)
    wrap.passes(a, e)


def test_complex_nan_vs_number_fails(wrap: Any) -> None:
    m = wrap.fails(np.array([complex(NAN, 0.0), 1j]), np.array([0j, 1j]), "value")
    assert m.count == 1
    assert m.index == (0,)


def test_complex_ulps_counted_per_part_the_larger(wrap: Any) -> None:
    e = np.array([complex(1.0, 2.0)])
    a = np.array([complex(f64_up(1.0, 1), f64_up(2.0, 2))])
    wrap.passes(a, e, ulps=2)
    m = wrap.fails(a, e, "value", ulps=1)
    assert m.max_ulps == 2
    e32 = np.array([complex(1.0, 2.0)], np.complex64)
    a32 = np.array([complex(f32_up(1.0, 3), f32_up(2.0, 1))], np.complex64)
    wrap.passes(a32, e32, ulps=3)
    assert wrap.fails(a32, e32, "value", ulps=2).max_ulps == 3


@pytest.mark.parametrize(
    "e", [1.0, -3.5, 1e300, 2.0**-1060], ids=["one", "neg", "huge", "subnormal"]
)
def test_float64_ulps_are_counted_exactly(wrap: Any, e: float) -> None:
    a = f64_up(e, 3)
    wrap.passes(a, e, ulps=3)
    m = wrap.fails(a, e, "value", ulps=2)
    assert m.max_ulps == 3
    assert wrap.fails(f64_up(e, 600), e, "value", ulps=599).max_ulps == 600


@pytest.mark.parametrize(
    "dtype", [np.float64, np.float32, np.float16, with_ml_dtypes(BF16), with_ml_dtypes(E4M3)]
)
def test_ulps_across_zero(wrap: Any, dtype: Any) -> None:
    finfo = np.finfo if np.dtype(dtype).type.__module__ == "numpy" else ml_dtypes.finfo
    tiny = float(finfo(dtype).smallest_subnormal)
    a = np.array([-tiny], dtype)
    e = np.array([tiny], dtype)
    wrap.passes(a, e, ulps=2)
    assert wrap.fails(a, e, "value", ulps=1).max_ulps == 2
    wrap.passes(np.array([-0.0], dtype), e, ulps=1)


# ------------------------------------------------------------------------ low-precision floats


def test_float16_default_and_ulps(wrap: Any) -> None:
    one = np.array([1.0], np.float16)
    up1 = np.array([1.0 + 2.0**-10], np.float16)  # 1 ULP of float16
    up2 = np.array([1.0 + 2.0**-9], np.float16)  # 2 ULPs
    wrap.passes(up1, one)
    m = wrap.fails(up2, one, "value")
    assert m.max_ulps == 2
    wrap.passes(up2, one, ulps=2)
    wrap.fails(up2, one, "value", ulps=1)


@needs_ml_dtypes
def test_bfloat16_default_and_ulps(wrap: Any) -> None:
    one = np.array([1.0, 2.0], BF16)
    up1 = np.array([1.0 + 2.0**-7, 2.0], BF16)  # 1 ULP of bfloat16
    up4 = np.array([1.0 + 2.0**-5, 2.0], BF16)  # 4 ULPs, beyond rtol 1.6e-2
    wrap.passes(up1, one)
    m = wrap.fails(up4, one, "value")
    assert m.count == 1
    assert m.index == (0,)
    assert m.max_ulps == 4
    wrap.passes(up4, one, ulps=4)
    wrap.passes(np.array([NAN, INF], BF16), np.array([NAN, INF], BF16))
    wrap.fails(np.array([INF], BF16), np.array([-INF], BF16), "value")


@needs_ml_dtypes
@pytest.mark.parametrize(
    ("dtype", "one_ulp"), [(E4M3, 0.125), (E5M2, 0.25)], ids=["e4m3fn", "e5m2"]
)
def test_float8_default_is_one_ulp(wrap: Any, dtype: Any, one_ulp: float) -> None:
    one = np.array([1.0, 0.0], dtype)
    up1 = np.array([1.0 + one_ulp, 0.0], dtype)
    up2 = np.array([1.0 + 2 * one_ulp, 0.0], dtype)
    down1 = np.array([1.0 - one_ulp / 2, 0.0], dtype)  # below 1 the spacing halves
    wrap.passes(up1, one)
    wrap.passes(down1, one)
    m = wrap.fails(up2, one, "value")
    assert m.max_ulps == 2
    assert m.count == 1
    wrap.passes(up2, one, ulps=2)
    wrap.fails(up1, one, "value", ulps=0)
    wrap.passes(np.array([NAN], dtype), np.array([NAN], dtype))


# --------------------------------------------------------------------------- 0-d and empty


def test_zero_dimensional_arrays(wrap: Any) -> None:
    wrap.passes(np.array(1.5), np.array(1.5))
    m = wrap.fails(np.array(1.5), np.array(2.5), "value")
    assert m.count == 1
    assert m.total == 1
    assert m.index == ()
    assert m.max_abs == 1.0


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0, 4)], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize(
    "dtype", [np.float64, np.int8, F32, with_ml_dtypes(BF16), np.complex64, np.bool_]
)
def test_empty_arrays(wrap: Any, shape: tuple[int, ...], dtype: Any) -> None:
    wrap.passes(np.zeros(shape, dtype), np.ones(shape, dtype))
    wrap.passes(np.zeros(shape, dtype), np.zeros(shape, dtype), atol=0)
    wrap.fails(np.zeros(shape, dtype), np.zeros((*shape, 1), dtype), "shape")


# ------------------------------------------------------------------------------ Python scalars


@pytest.mark.parametrize("scalar", [1.0, 1, True, 1 + 0j])
def test_python_scalar_vs_one_element_array_is_a_shape_mismatch(wrap: Any, scalar: Any) -> None:
    wrap.fails(scalar, np.array([1.0]), "shape")
    wrap.fails(np.array([1.0]), scalar, "shape")
    wrap.fails(scalar, np.array([[1.0]]), "shape")


@pytest.mark.parametrize("scalar", [1.0, 1, True])
def test_python_scalar_vs_zero_d_array_passes(wrap: Any, scalar: Any) -> None:
    wrap.passes(scalar, np.array(1.0))
    wrap.passes(np.array(1, np.int8), scalar)
    wrap.passes(scalar, np.float32(1.0))
    wrap.fails(scalar, np.array(2.0), "value")


def test_python_int_vs_float(wrap: Any) -> None:
    wrap.passes(1, 1.0)
    wrap.fails(1, 1.5, "value")


# ---------------------------------------------------------------------------- list vs array


def test_list_against_array_is_read_as_array(wrap: Any) -> None:
    e = np.array([[1.0, 2.0], [3.0, 4.0]])
    a = [[1.0, 2.0], [3.0, 4.0]]
    result = wrap.passes(a, e)
    assert "list" in str(result)  # the type difference is noted
    m = wrap.fails([[1.0, 2.0], [30.0, 4.0]], e, "value")
    assert m.index == (1, 0)
    assert m.count == 1
    wrap.passes(e, a)
    wrap.passes((1.0, 2.0), np.array([1.0, 2.0]))


def test_list_against_array_fails_with_strict_types(wrap: Any) -> None:
    wrap.fails([1.0, 2.0], np.array([1.0, 2.0]), "type", strict_types=True)
    wrap.fails(np.array([1.0, 2.0]), [1.0, 2.0], "type", strict_types=True)


def test_list_against_array_of_other_shape_is_a_shape_mismatch(wrap: Any) -> None:
    wrap.fails([1.0, 2.0, 3.0], np.array([1.0, 2.0]), "shape")


# ------------------------------------------------------------------------------- containers


def test_tuple_vs_list_allowed_unless_strict(wrap: Any) -> None:
    wrap.passes((1.0, 2.0), [1.0, 2.0])
    wrap.passes([np.ones(2)], (np.ones(2),))
    wrap.fails((1.0, 2.0), [1.0, 2.0], "type", strict_types=True)
    wrap.passes((1.0, 2.0), (1.0, 2.0), strict_types=True)


def test_tuple_vs_list_element_paths(wrap: Any) -> None:
    result = wrap.compare((1.0, 2.0), [1.0, 3.0])
    assert [(m.path, m.kind) for m in result.mismatches] == [(wrap.path + "[1]", "value")]


def test_dict_keys_are_order_insensitive(wrap: Any) -> None:
    a = {"p": np.ones(2), "q": 2.0, 3: "x"}
    e = {3: "x", "q": 2.0, "p": np.ones(2)}
    wrap.passes(a, e)
    result = wrap.compare({"p": 1.0, "q": 2.0}, {"q": 2.5, "p": 1.0})
    assert [(m.path, m.kind) for m in result.mismatches] == [(wrap.path + "['q']", "value")]


def test_missing_and_extra_keys_are_structure_mismatches(wrap: Any) -> None:
    m = wrap.fails({"a": 1, "gone": 2}, {"a": 1, "gone": 2, "wanted": 3}, "structure")
    text = str(wrap.compare({"a": 1}, {"a": 1, "wanted": 3}))
    assert "'wanted'" in text
    assert "missing" in text
    m = wrap.fails({"a": 1, "surplus": 2}, {"a": 1}, "structure")
    text = str(wrap.compare({"a": 1, "surplus": 2}, {"a": 1}))
    assert "'surplus'" in text
    assert "extra" in text
    assert m.path == wrap.path


def test_missing_key_does_not_hide_other_leaves(wrap: Any) -> None:
    result = wrap.compare({"a": 1.0, "b": 5.0}, {"a": 2.0, "b": 5.0, "c": 0.0})
    got = sorted((m.path, m.kind) for m in result.mismatches)
    assert got == sorted([(wrap.path, "structure"), (wrap.path + "['a']", "value")])


def test_different_lengths_are_structure_mismatches(wrap: Any) -> None:
    wrap.fails([1.0, 2.0, 3.0], [1.0, 2.0], "structure")
    wrap.fails((1.0,), (1.0, 2.0), "structure")
    text = str(wrap.compare([1.0, 2.0, 3.0], [1.0, 2.0]))
    assert "3" in text
    assert "2" in text


PointNT = collections.namedtuple("PointNT", ["x", "y"])


@dataclasses.dataclass
class Params:
    w: Any
    b: Any


def test_namedtuple_fields_appear_in_paths(wrap: Any) -> None:
    wrap.passes(PointNT(1.0, np.ones(2)), PointNT(1.0, np.ones(2)))
    result = wrap.compare(PointNT(1.0, np.ones(2)), PointNT(1.0, np.zeros(2)))
    assert [(m.path, m.kind) for m in result.mismatches] == [(wrap.path + ".y", "value")]
    result = wrap.compare(PointNT(9.0, 2.0), PointNT(1.0, 2.0))
    assert [m.path for m in result.mismatches] == [wrap.path + ".x"]


def test_namedtuple_vs_tuple_allowed_unless_strict(wrap: Any) -> None:
    wrap.passes(PointNT(1.0, 2.0), (1.0, 2.0))
    wrap.fails(PointNT(1.0, 2.0), (1.0, 2.0), "type", strict_types=True)
    result = wrap.compare((1.0, 5.0), PointNT(1.0, 2.0))
    assert [m.path for m in result.mismatches] == [wrap.path + ".y"]


class Tagged(np.ndarray):
    """An ndarray subclass, like a framework's parameter type."""


def test_leaf_subclass_differs_only_with_strict_types(wrap: Any) -> None:
    base = np.arange(3.0)
    sub = base.copy().view(Tagged)
    result = wrap.passes(sub, base)
    assert "Tagged" in str(result)  # the type difference is noted
    wrap.fails(sub, base, "type", strict_types=True)
    wrap.passes(sub, base.copy().view(Tagged), strict_types=True)


def test_dataclass_fields_appear_in_paths(wrap: Any) -> None:
    wrap.passes(Params(np.ones(3), 0.5), Params(np.ones(3), 0.5))
    result = wrap.compare(Params(np.ones(3), 0.5), Params(np.ones(3), 0.75))
    assert [(m.path, m.kind) for m in result.mismatches] == [(wrap.path + ".b", "value")]
    result = wrap.compare(Params({"k": np.zeros(2)}, 0.5), Params({"k": np.array([0.0, 1.0])}, 0.5))
    (m,) = result.mismatches
    assert m.path == wrap.path + ".w['k']"
    assert m.index == (1,)


# ------------------------------------------------------------------------------ masked arrays


def test_masked_elements_are_ignored(wrap: Any) -> None:
    a = np.ma.array([1.0, 2.0, 3.0], mask=[False, True, False])
    e = np.ma.array([1.0, 99.0, 3.0], mask=[False, True, False])
    wrap.passes(a, e)
    wrap.passes(a, e, atol=0)
    e2 = np.ma.array([1.0, 99.0, 4.0], mask=[False, True, False])
    m = wrap.fails(a, e2, "value")
    assert m.count == 1
    assert m.index == (2,)


def test_masks_must_match(wrap: Any) -> None:
    a = np.ma.array([1.0, 2.0, 3.0], mask=[False, True, False])
    e = np.ma.array([1.0, 2.0, 3.0], mask=[False, False, True])
    m = wrap.fails(a, e, "value")
    assert m.count == 2
    m = wrap.fails(a, np.array([1.0, 2.0, 3.0]), "value")
    assert m.count == 1
    wrap.passes(np.ma.array([1.0, 2.0], mask=False), np.array([1.0, 2.0]))


# ---------------------------------------------------------------------------- dates and times


def test_datetime_exact_and_across_units(wrap: Any) -> None:
    a = np.array(["2020-01-01", "2021-06-30"], "datetime64[D]")
    e = np.array(["2020-01-01T00:00", "2021-06-30T00:00"], "datetime64[m]")
    wrap.passes(a, e)
    late = np.array(["2020-01-01T00:00", "2021-06-30T00:01"], "datetime64[m]")
    m = wrap.fails(a, late, "value")
    assert m.count == 1
    assert m.index == (1,)
    # exact: no tolerance applies to dates
    wrap.fails(a, late, "value", atol=10**6)


def test_datetime_nat(wrap: Any) -> None:
    a = np.array(["2020-01-01", "NaT"], "datetime64[D]")
    e = np.array(["2020-01-01T00:00:00", "NaT"], "datetime64[s]")
    wrap.passes(a, e)
    assert wrap.fails(a, e, "value", equal_nan=False).count == 1
    m = wrap.fails(a, np.array(["NaT", "NaT"], "datetime64[D]"), "value")
    assert m.count == 1
    nearly.assert_equal(wrap(a), wrap(e))


def test_timedelta_exact_across_units_with_nat(wrap: Any) -> None:
    a = np.array([1, 2, "NaT"], "timedelta64[h]")
    e = np.array([60, 120, "NaT"], "timedelta64[m]")
    wrap.passes(a, e)
    wrap.fails(a, e, "value", equal_nan=False)
    m = wrap.fails(a, np.array([60, 121, "NaT"], "timedelta64[m]"), "value")
    assert m.count == 1
    assert m.index == (1,)
    wrap.passes(np.timedelta64(1, "s"), np.timedelta64(1000, "ms"))


# -------------------------------------------------------------------------- structured arrays


def test_structured_arrays_compare_field_by_field(wrap: Any) -> None:
    dt = [("id", "i4"), ("score", "f8"), ("name", "U5")]
    a = np.array([(1, 0.5, "a"), (2, 1.5, "b")], dtype=dt)
    wrap.passes(a, a.copy())
    e = a.copy()
    e["score"][1] = 1.5 + 1e-12  # within the float64 default
    wrap.passes(a, e)
    e["score"][1] = 2.5
    result = wrap.compare(a, e)
    assert [(m.path, m.kind, m.count, m.index) for m in result.mismatches] == [
        (wrap.path + "['score']", "value", 1, (1,))
    ]
    e["id"][0] = 7
    e["name"][1] = "zz"
    result = wrap.compare(a, e)
    assert sorted(m.path for m in result.mismatches) == sorted(
        wrap.path + f"[{f!r}]" for f in ("id", "score", "name")
    )


# ------------------------------------------------------------------------- str / bytes / None


@pytest.mark.parametrize("value", ["abc", b"abc", "", None, np.str_("abc")])
def test_text_and_none_equal(wrap: Any, value: Any) -> None:
    wrap.passes(value, value)
    wrap.passes(value, value, strict_types=False, atol=0)


def test_text_differs(wrap: Any) -> None:
    wrap.fails("abc", "abd", "value")
    wrap.fails(b"abc", b"ab", "value")
    wrap.fails("abc", b"abc", "type")
    wrap.fails(None, 0, "type")
    wrap.fails(0.0, None, "type")
    wrap.fails("1", 1, "type")
    wrap.fails("1/3", Fraction(1, 3), "type")  # text against a number held as an object
    wrap.fails(Decimal("1"), b"1", "type")


def test_string_arrays(wrap: Any) -> None:
    a = np.array(["x", "yy", "zzz"])
    wrap.passes(a, a.copy())
    m = wrap.fails(a, np.array(["x", "yy", "zz"]), "value")
    assert m.count == 1
    assert m.index == (2,)


# -------------------------------------------------------------------------- given tolerances


def test_rtol_alone_means_atol_zero(wrap: Any) -> None:
    wrap.fails(0.0, 1e-300, "value", rtol=0.5)
    wrap.fails(np.zeros(2), np.array([0.0, 1e-300]), "value", rtol=0.5)
    wrap.passes(1.0, 1.4, rtol=0.5)


def test_atol_alone_means_rtol_zero(wrap: Any) -> None:
    # the float64 default rtol (1e-7 * 1e6 = 0.1) would pass this
    wrap.fails(1e6, 1e6 + 0.05, "value", atol=1e-3)
    wrap.passes(1e6, 1e6 + 0.05, atol=0.06)
    wrap.passes(1e6, 1e6 + 0.05)


def test_ulps_alone_means_rtol_and_atol_zero(wrap: Any) -> None:
    # the float64 default atol (1e-7) would pass this
    wrap.fails(0.0, 1e-9, "value", ulps=1)
    wrap.passes(1.0, f64_up(1.0), ulps=1)
    wrap.passes(1.0, 1.0 + 1e-9)


def test_atol_zero_and_rtol_zero_is_exact(wrap: Any) -> None:
    wrap.fails(1.0, f64_up(1.0), "value", atol=0)
    wrap.fails(1.0, f64_up(1.0), "value", rtol=0)
    wrap.passes(1.0, 1.0, rtol=0)


# ---------------------------------------------------------------------- the default tolerances


@pytest.mark.parametrize(
    ("dtype", "rtol", "atol", "ulps"),
    [
        (np.float16, 1e-3, 1e-5, None),
        with_ml_dtypes(BF16, 1.6e-2, 1e-5, None),
        (np.float32, 1.3e-6, 1e-5, None),
        (np.float64, 1e-7, 1e-7, None),
        (np.longdouble, 1e-7, 1e-7, None),
        (np.complex64, 1.3e-6, 1e-5, None),
        (np.complex128, 1e-7, 1e-7, None),
        (np.int8, 0, 0, None),
        (np.int64, 0, 0, None),
        (np.uint64, 0, 0, None),
        (np.bool_, 0, 0, None),
        with_ml_dtypes(E4M3, 0, 0, 1),
        with_ml_dtypes(E5M2, 0, 0, 1),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_default_tolerance_table(dtype: Any, rtol: float, atol: float, ulps: Any) -> None:
    t = nearly.tol.default(np.dtype(dtype))
    assert isinstance(t, nearly.Tolerance)
    assert t.rtol == rtol
    assert t.atol == atol
    assert t.ulps == ulps
    assert nearly.tol.default(dtype) == t
    assert nearly.tol.default(np.zeros(2, dtype)) == t


def test_default_tolerance_accepts_python_types() -> None:
    assert nearly.tol.default(float) == nearly.tol.default(np.float64)
    assert nearly.tol.default(int).rtol == 0
    assert nearly.tol.default(int).atol == 0


@needs_ml_dtypes
def test_default_tolerance_knows_bfloat16_by_name() -> None:
    assert nearly.tol.default("bfloat16") == nearly.tol.default(BF16)


# (dtype, expected value, a value passing its row, a value failing its row)
DEFAULT_CASES = [
    (np.float16, 1.0, 1.0 + 2.0**-10, 1.0 + 2.0**-9),
    with_ml_dtypes(BF16, 1.0, 1.0 + 2.0**-7, 1.0 + 3 * 2.0**-7),
    (np.float32, 1.0, float(f32_up(1.0, 80)), float(f32_up(1.0, 100))),
    (np.float64, 1.0, 1.0 + 1.5e-7, 1.0 + 2.5e-7),
    with_ml_dtypes(E4M3, 1.0, 1.125, 1.25),
    with_ml_dtypes(E5M2, 1.0, 1.25, 1.5),
]


@pytest.mark.parametrize(
    ("dtype", "e", "ok", "bad"), DEFAULT_CASES, ids=lambda v: getattr(v, "__name__", None)
)
def test_default_rows_decide(wrap: Any, dtype: Any, e: float, ok: float, bad: float) -> None:
    assert np.array([ok], dtype)[0] == ok  # the values are representable
    assert np.array([bad], dtype)[0] == bad
    wrap.passes(np.array([ok], dtype), np.array([e], dtype))
    wrap.fails(np.array([bad], dtype), np.array([e], dtype), "value")


@pytest.mark.parametrize("swap", [False, True], ids=["low-actual", "low-expected"])
@pytest.mark.parametrize(
    ("low", "high", "e", "ok"),
    [
        # float32 vs float64: 1e-5 off passes float32's row (1.13e-5) but not float64's (2e-7)
        (np.float32, np.float64, 1.0, float(f32_up(1.0, 80))),
        (np.float16, np.float32, 1.0, 1.0 + 2.0**-10),
        (np.float16, np.float64, 1.0, 1.0 + 2.0**-10),
        with_ml_dtypes(BF16, np.float32, 1.0, 1.0 + 2.0**-7),
        with_ml_dtypes(E4M3, np.float32, 1.0, 1.125),
        with_ml_dtypes(E5M2, np.float16, 1.0, 1.25),
        (np.complex64, np.complex128, 1.0, float(f32_up(1.0, 80))),
    ],
    ids=["f32-f64", "f16-f32", "f16-f64", "bf16-f32", "e4m3-f32", "e5m2-f16", "c64-c128"],
)
def test_lower_precision_row_is_used_for_mixed_pairs(
    wrap: Any, low: Any, high: Any, e: float, ok: float, swap: bool
) -> None:
    a_low = np.array([ok], low)
    e_high = np.array([e], high)
    # the same pair at the higher precision fails: the lower row is what lets it pass
    wrap.fails(np.array([ok], high), e_high, "value")
    if swap:
        wrap.passes(e_high, a_low)
    else:
        wrap.passes(a_low, e_high)


@pytest.mark.parametrize("swap", [False, True], ids=["int-actual", "int-expected"])
@pytest.mark.parametrize(
    ("ftype", "fval"),
    [
        (np.float64, 1000.0 + 5e-5),  # within 1e-7 + 1e-7 * 1000
        (np.float32, float(np.float32(1000.0) + np.float32(2**-14) * 8)),
        (np.float16, 1000.5),  # float16 row: 1e-5 + 1e-3 * 1000 = 1.00001
    ],
    ids=["f64", "f32", "f16"],
)
def test_int_vs_float_uses_the_float_row(wrap: Any, ftype: Any, fval: float, swap: bool) -> None:
    i = np.array([1000], np.int64)
    f = np.array([fval], ftype)
    assert f[0] != 1000
    if swap:
        wrap.passes(f, i)
    else:
        wrap.passes(i, f)
    wrap.fails(np.array([1010], np.int64), np.array([1000.0], ftype), "value")


def test_python_int_vs_float32_array_uses_float32_row(wrap: Any) -> None:
    wrap.passes(1, np.float32(f32_up(1.0, 80)))
    wrap.fails(1, np.float32(f32_up(1.0, 100)), "value")


# ----------------------------------------------------------------------- every leaf reported


def test_every_failing_leaf_is_reported(wrap: Any) -> None:
    a = {
        "ok": np.arange(4.0),
        "values": np.array([1.0, 2.0, 3.0, 4.0]),
        "nans": np.array([NAN, 1.0, 2.0, NAN, 5.0]),
        "seq": [1.0, (2.0, "s", 3.5)],
    }
    e = {
        "ok": np.arange(4.0),
        "values": np.array([1.5, 2.0, 3.5, 4.5]),
        "nans": np.array([0.0, NAN, 2.0, NAN, INF]),
        "seq": [1.0, (2.0, "s", 3.0)],
    }
    result = wrap.compare(a, e)
    got = {m.path: (m.kind, m.count, m.total) for m in result.mismatches}
    assert got == {
        wrap.path + "['values']": ("value", 3, 4),
        wrap.path + "['nans']": ("value", 3, 5),
        wrap.path + "['seq'][1][2]": ("value", 1, 1),
    }
    assert len(result.mismatches) == 3
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_close(wrap(a), wrap(e))
    assert len(info.value.comparison.mismatches) == 3
    text = str(info.value)
    for path in got:
        assert path in text


def test_structure_type_and_value_mismatches_are_all_reported(wrap: Any) -> None:
    a = {"k": [1.0, 2.0], "t": "x", "s": np.ones(2), "v": 1.0}
    e = {"k": [1.0], "t": None, "s": np.ones(3), "v": 2.0}
    result = wrap.compare(a, e)
    got = sorted((m.path, m.kind) for m in result.mismatches)
    assert got == sorted(
        [
            (wrap.path + "['k']", "structure"),
            (wrap.path + "['t']", "type"),
            (wrap.path + "['s']", "shape"),
            (wrap.path + "['v']", "value"),
        ]
    )


def test_count_covers_every_failing_element(wrap: Any) -> None:
    a = np.zeros(1000)
    e = np.zeros(1000)
    bad = [3, 10, 500, 999]
    e[bad] = 1.0
    e[20] = NAN
    m = wrap.fails(a, e, "value")
    assert m.count == len(bad) + 1
    assert m.total == 1000
    assert m.index in {(i,) for i in bad}
