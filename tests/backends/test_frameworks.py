"""Framework tensors as leaves: PyTorch, TensorFlow (eager and graph), JAX and NumPy.

Every semantic is checked on every framework's arrays (the ``framework`` fixture), the same
structure built in any two frameworks must give the same verdict and the same explanation, and
the places where checks meet compilers (tf.function, Keras, XLA, jax.jit, torch.compile) must
either check at run time or refuse loudly, never pass silently.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import itertools
import json
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import nearly
from frameworks import FRAMEWORKS, TYPE_NAMES, convert, import_framework

pytestmark = [
    # torch._inductor imports torch.utils.mkldnn, which uses a deprecated torch.jit decorator
    pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"),
]

NAN = float("nan")
INF = float("inf")


@dataclass(frozen=True)
class Framework:
    """One array library: ``fw(values, dtype)`` builds an array of it."""

    name: str

    def __call__(self, values: Any, dtype: str | None = None) -> Any:
        return convert(self.name, values, dtype)

    @property
    def type_name(self) -> str:
        return TYPE_NAMES[self.name]


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> Framework:
    """Each framework in turn (skipped where it is not installed)."""
    import_framework(request.param)
    return Framework(request.param)


PAIRS = list(itertools.product(FRAMEWORKS, FRAMEWORKS))
PAIR_IDS = [f"{a}-{e}" for a, e in PAIRS]


def framework_pair(actual: str, expected: str) -> tuple[Framework, Framework]:
    import_framework(actual)
    import_framework(expected)
    return Framework(actual), Framework(expected)


def only(result: nearly.Comparison) -> nearly.Mismatch:
    """The single mismatch of a failing comparison."""
    assert not result.ok, str(result)
    assert len(result.mismatches) == 1, str(result)
    return result.mismatches[0]


def host_copy(x: Any) -> np.ndarray[Any, Any]:
    """An independent NumPy copy of a framework array (bytes and all)."""
    if type(x).__module__.startswith("torch"):
        return x.detach().cpu().clone().numpy()
    if hasattr(x, "numpy"):
        return np.array(x.numpy(), copy=True)
    return np.array(x, copy=True)


def f32_up(x: float, steps: int = 1) -> float:
    v = np.float32(x)
    for _ in range(steps):
        v = np.nextafter(v, np.float32(INF))
    return float(v)


def f64_up(x: float) -> float:
    return float(np.nextafter(x, INF))


# ================================================================ every semantic, every framework


def test_close_and_not_close(framework: Framework) -> None:
    fw = framework
    expected = fw([1.0, 2.0, 3.0], "float32")
    close = fw([1.0, f32_up(2.0, 3), 3.0], "float32")
    far = fw([1.0, 2.1, 3.0], "float32")

    result = nearly.compare(close, expected)
    assert result.ok, str(result)
    nearly.assert_close(close, expected)

    mismatch = only(nearly.compare(far, expected))
    assert (mismatch.path, mismatch.kind, mismatch.count, mismatch.total) == ("", "value", 1, 3)
    assert mismatch.index == (1,)
    assert mismatch.max_abs == pytest.approx(0.1, rel=1e-6)
    assert mismatch.actual is not None
    assert mismatch.actual.type == fw.type_name
    assert mismatch.actual.dtype == "float32"
    assert mismatch.actual.shape == (3,)
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_close(far, expected)
    text = str(info.value)
    assert fw.type_name in text
    assert "values differ at 1 of 3 elements" in text
    assert "[1]: 2.1 vs 2.0" in text
    assert [(m.path, m.kind) for m in info.value.comparison.mismatches] == [("", "value")]


def test_nan_and_inf_equal_at_the_same_places(framework: Framework) -> None:
    fw = framework
    a = fw([1.0, NAN, INF, -INF], "float32")
    b = fw([1.0, NAN, INF, -INF], "float32")
    nearly.assert_close(a, b)
    nearly.assert_equal(a, b)

    no_nan = only(nearly.compare(a, b, equal_nan=False))
    assert (no_nan.kind, no_nan.count, no_nan.total) == ("value", 1, 4)

    misplaced = only(nearly.compare(fw([NAN, 1.0], "float32"), fw([1.0, 1.0], "float32")))
    assert misplaced.count == 1
    assert misplaced.nan_only_actual == 1
    assert misplaced.nan_only_expected == 0

    signs = only(nearly.compare(fw([INF], "float64"), fw([-INF], "float64")))
    assert signs.kind == "value"


def test_negative_zero_equals_zero(framework: Framework) -> None:
    fw = framework
    a = fw([-0.0, 0.0, -0.0], "float32")
    b = fw([0.0, -0.0, -0.0], "float32")
    nearly.assert_equal(a, b)
    nearly.assert_close(a, b, rtol=0, atol=0)
    nearly.assert_close(a, b, ulps=0)


def test_shapes_are_never_broadcast(framework: Framework) -> None:
    fw = framework
    row = fw([1.0, 2.0, 3.0], "float32")
    matrix = fw([[1.0, 2.0, 3.0]], "float32")
    mismatch = only(nearly.compare(row, matrix))
    assert mismatch.kind == "shape"
    assert "(3,) vs (1, 3)" in mismatch.detail
    assert only(nearly.compare(fw([1.0], "float32"), fw([1.0, 1.0], "float32"))).kind == "shape"
    with pytest.raises(nearly.NotClose, match="shapes differ"):
        nearly.assert_close(row, matrix)
    # broadcasting is opt-in
    nearly.assert_close(row, matrix, check_shape=False)


def test_dtype_difference_is_noted_and_fails_only_when_checked(framework: Framework) -> None:
    fw = framework
    f32 = fw([1.0, 2.5], "float32")
    f64 = fw([1.0, 2.5], "float64")
    result = nearly.compare(f32, f64)
    assert result.ok
    assert "dtypes differ (float32 vs float64)" in str(result)
    mismatch = only(nearly.compare(f32, f64, check_dtype=True))
    assert mismatch.kind == "dtype"
    with pytest.raises(nearly.NotClose, match="dtypes differ"):
        nearly.assert_equal(f32, f64, check_dtype=True)

    i32 = fw([1, 2], "int32")
    i64 = fw([1, 2], "int64")
    nearly.assert_equal(i32, i64)
    assert only(nearly.compare(i32, i64, check_dtype=True)).kind == "dtype"


def test_integer_differences_never_overflow(framework: Framework) -> None:
    fw = framework
    mismatch = only(nearly.compare(fw([-128, 0], "int8"), fw([127, 0], "int8")))
    assert (mismatch.kind, mismatch.count, mismatch.index) == ("value", 1, (0,))
    assert mismatch.max_abs == 255
    assert "-128 vs 127" in str(nearly.explain(fw([-128], "int8"), fw([127], "int8")))

    unsigned = only(nearly.compare(fw([0], "uint8"), fw([255], "uint8")))
    assert unsigned.max_abs == 255


def test_bool_tensors(framework: Framework) -> None:
    fw = framework
    a = fw([True, False, True], "bool")
    nearly.assert_equal(a, fw([True, False, True], "bool"))
    nearly.assert_close(a, fw([True, False, True], "bool"))
    mismatch = only(nearly.compare(a, fw([True, True, True], "bool")))
    assert (mismatch.kind, mismatch.count, mismatch.total, mismatch.index) == ("value", 1, 3, (1,))


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_tensors(framework: Framework, dtype: str) -> None:
    fw = framework
    a = fw([1 + 1j, 2 - 1j], dtype)
    nearly.assert_close(a, fw([1 + 1j, 2 - 1j], dtype))
    far = only(nearly.compare(a, fw([1 + 1j, 2 - 1.5j], dtype)))
    assert (far.kind, far.count, far.index) == ("value", 1, (1,))
    # closeness is on the modulus |a - e| = sqrt(2), not per part (1 each)
    one_one = fw([1 + 1j], dtype)
    zero = fw([0j], dtype)
    assert not nearly.compare(one_one, zero, atol=1.4142, rtol=0).ok
    assert nearly.compare(one_one, zero, atol=1.4143, rtol=0).ok
    # a NaN in either part makes the value NaN
    nearly.assert_close(fw([complex(NAN, 1.0)], dtype), fw([complex(2.0, NAN)], dtype))
    assert not nearly.compare(fw([complex(NAN, 1.0)], dtype), fw([1 + 1j], dtype)).ok


def test_zero_d_and_empty_tensors(framework: Framework) -> None:
    fw = framework
    nearly.assert_close(fw(1.5, "float32"), fw(1.5, "float32"))
    nearly.assert_equal(fw(7, "int64"), fw(7, "int64"))
    scalar = only(nearly.compare(fw(1.5, "float32"), fw(2.5, "float32")))
    assert (scalar.kind, scalar.count, scalar.total, scalar.index) == ("value", 1, 1, ())

    nearly.assert_close(fw(np.zeros((0,)), "float32"), fw(np.zeros((0,)), "float32"))
    nearly.assert_equal(fw(np.zeros((0, 3)), "int32"), fw(np.zeros((0, 3)), "int32"))
    empty = only(nearly.compare(fw(np.zeros((0, 3)), "float32"), fw(np.zeros((3, 0)), "float32")))
    assert empty.kind == "shape"
    assert only(nearly.compare(fw(np.zeros((0,)), "float32"), fw(0.0, "float32"))).kind == "shape"


def test_float16_tensors(framework: Framework) -> None:
    fw = framework
    up = float(np.nextafter(np.float16(1.0), np.float16(2.0)))  # 1 + 2**-10
    nearly.assert_close(fw([1.0], "float16"), fw([up], "float16"))  # default rtol 1e-3
    one_ulp = only(nearly.compare(fw([1.0], "float16"), fw([up], "float16"), ulps=0))
    assert one_ulp.max_ulps == 1
    assert one_ulp.ulp_dtype == "float16"
    far = only(nearly.compare(fw([1.0], "float16"), fw([1.01], "float16")))
    assert far.tolerance is not None
    assert far.tolerance.rtol == pytest.approx(1e-3)


def test_bfloat16_tensors(framework: Framework) -> None:
    fw = framework
    up = 1.0 + 2.0**-7  # the next bfloat16 after 1
    one = fw([1.0], "bfloat16")
    # ULPs are counted in bfloat16, not in the float32 the values would widen to
    one_ulp = only(nearly.compare(one, fw([up], "bfloat16"), ulps=0))
    assert one_ulp.max_ulps == 1
    assert one_ulp.ulp_dtype == "bfloat16"
    assert "ULPs of bfloat16" in nearly.explain(one, fw([up], "bfloat16"), ulps=0)
    nearly.assert_close(one, fw([up], "bfloat16"), ulps=1)

    # default tolerance of bfloat16: rtol 1.6e-2
    nearly.assert_close(fw([1.0 + 2.0**-6], "bfloat16"), one)  # 0.0156 <= 1e-5 + 0.016
    far = only(nearly.compare(fw([1.0 + 2.0**-5], "bfloat16"), one))  # 0.031 > 0.016
    assert far.tolerance is not None
    assert far.tolerance.rtol == pytest.approx(1.6e-2)
    assert far.actual is not None
    assert far.actual.dtype == "bfloat16"

    # against float32 the lower precision (bfloat16) sets the tolerance and the ULPs
    f32_one = fw([1.0], "float32")
    nearly.assert_close(fw([up], "bfloat16"), f32_one)
    mixed = only(nearly.compare(fw([up], "bfloat16"), f32_one, ulps=0))
    assert mixed.max_ulps == 1
    assert mixed.ulp_dtype == "bfloat16"


@pytest.mark.parametrize("name", ["numpy", "torch", "jax"])
def test_float8_e4m3fn_tensors(name: str) -> None:
    import_framework(name)
    fw = Framework(name)
    one = fw([1.0, -2.0], "float8_e4m3fn")
    nearly.assert_equal(one, fw([1.0, -2.0], "float8_e4m3fn"))
    # the default allows 1 ULP (1.125 is the next e4m3fn after 1)
    nearly.assert_close(one, fw([1.125, -2.0], "float8_e4m3fn"))
    mismatch = only(nearly.compare(one, fw([1.25, -2.0], "float8_e4m3fn")))
    assert mismatch.max_ulps == 2
    assert mismatch.ulp_dtype == "float8_e4m3fn"
    assert mismatch.tolerance is not None
    assert mismatch.tolerance.ulps == 1


def test_python_float_against_tensors(framework: Framework) -> None:
    fw = framework
    assert only(nearly.compare(1.0, fw([1.0], "float32"))).kind == "shape"
    assert only(nearly.compare(fw([1.0], "float32"), 1.0)).kind == "shape"
    nearly.assert_close(1.0, fw(1.0, "float32"))
    nearly.assert_close(fw(1.0, "float32"), 1.0)
    nearly.assert_equal(3, fw(3, "int32"))
    assert not nearly.compare(2.0, fw(1.0, "float32")).ok


def test_framework_arrays_in_nested_structures(framework: Framework) -> None:
    fw = framework
    actual = {"a": [fw([1.0, 2.0], "float32"), (fw(3, "int64"),)], "b": fw([True], "bool")}
    expected = {"b": np.array([True]), "a": ([1.0, 2.0], [3])}
    result = nearly.compare(actual, expected)
    assert result.ok, str(result)
    bad = {"a": ([1.0, 2.5], [3]), "b": np.array([False])}
    found = nearly.compare(actual, bad)
    assert [(m.path, m.kind) for m in found.mismatches] == [
        ("['a'][0]", "value"),
        ("['b']", "value"),
    ]


def test_inputs_are_never_modified(framework: Framework) -> None:
    fw = framework
    actual = [
        fw([[1.0, NAN], [-0.0, INF]], "float32"),
        fw([-128, 5], "int8"),
        fw(2.5, "float64"),
    ]
    expected = [
        fw([[1.5, NAN], [0.0, -INF]], "float32"),
        fw([127, 5], "int8"),
        fw(2.5, "float64"),
    ]
    before = [(host_copy(x), host_copy(y)) for x, y in zip(actual, expected, strict=True)]
    nearly.compare(actual, expected)
    nearly.explain(actual, expected, ulps=3)
    nearly.compare(actual, expected, rtol=0.5, atol=1.0, check_shape=False)
    with pytest.raises(nearly.NotClose):
        nearly.assert_close(actual, expected)
    with pytest.raises(nearly.NotClose):
        nearly.assert_equal(actual, expected)
    with pytest.raises(nearly.NotFinite):
        nearly.assert_finite(actual)
    for (a0, e0), a, e in zip(before, actual, expected, strict=True):
        for saved, now in ((a0, host_copy(a)), (e0, host_copy(e))):
            assert saved.dtype == now.dtype
            assert saved.shape == now.shape
            assert saved.tobytes() == now.tobytes()


# ========================================================================== framework specifics


def test_torch_requires_grad_tensors() -> None:
    torch = import_framework("torch")
    leaf = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    computed = leaf * 2  # has a grad_fn
    nearly.assert_close(computed, np.array([2.0, 4.0, 6.0], np.float32))
    nearly.assert_close(leaf, leaf.detach().clone())
    mismatch = only(nearly.compare(computed, torch.tensor([2.0, 4.0, 6.5])))
    assert mismatch.index == (2,)
    assert leaf.requires_grad
    assert leaf.grad is None
    computed.sum().backward()  # the graph is intact
    nearly.assert_equal(leaf.grad, torch.full((3,), 2.0))


def test_torch_non_contiguous_tensors() -> None:
    torch = import_framework("torch")
    base = torch.arange(12.0).reshape(3, 4)
    ref = np.arange(12.0, dtype=np.float32).reshape(3, 4)

    transposed = base.T
    assert not transposed.is_contiguous()
    nearly.assert_equal(transposed, ref.T)
    nearly.assert_equal(transposed, ref.T.copy())

    strided = base[::2, 1::2]  # rows 0 and 2, columns 1 and 3
    assert not strided.is_contiguous()
    nearly.assert_equal(strided, ref[::2, 1::2])
    changed = ref[::2, 1::2].copy()
    changed[1, 0] = 100.0  # element base[2, 1]
    mismatch = only(nearly.compare(strided, changed))
    assert (mismatch.count, mismatch.total, mismatch.index) == (1, 4, (1, 0))
    assert "[1, 0]: 9.0 vs 100.0" in nearly.explain(strided, changed)

    t_changed = ref.T.copy()
    t_changed[3, 2] = -1.0
    assert only(nearly.compare(transposed, t_changed)).index == (3, 2)
    # a tensor with a zero stride (expand) holds one value many times
    expanded = torch.tensor([1.0, 2.0]).expand(3, 2)
    nearly.assert_equal(expanded, np.array([[1.0, 2.0]] * 3, np.float32))


def test_torch_sparse_coo_compares_by_value() -> None:
    torch = import_framework("torch")
    dense = torch.tensor([[0.0, 1.0], [2.0, 0.0]])
    sparse = dense.to_sparse()
    assert sparse.layout == torch.sparse_coo
    nearly.assert_close(sparse, dense)
    nearly.assert_close(dense, sparse)
    nearly.assert_close(sparse, np.array([[0.0, 1.0], [2.0, 0.0]], np.float32))
    nearly.assert_close(sparse, dense.to_sparse())
    mismatch = only(nearly.compare(sparse, torch.tensor([[0.0, 1.0], [2.5, 0.0]])))
    assert (mismatch.count, mismatch.total, mismatch.index) == (1, 4, (1, 0))
    # an uncoalesced tensor's duplicate entries add up
    uncoalesced = torch.sparse_coo_tensor(
        [[0, 0], [1, 1]], [1.0, 2.0], (2, 2), check_invariants=True
    )
    nearly.assert_close(uncoalesced, torch.tensor([[0.0, 3.0], [0.0, 0.0]]))


def test_torch_parameter_vs_tensor_differs_only_with_strict_types() -> None:
    torch = import_framework("torch")
    param = torch.nn.Parameter(torch.ones(3))
    plain = torch.ones(3)
    result = nearly.compare(param, plain)
    assert result.ok
    assert "types differ" in str(result)
    nearly.assert_close(param, plain)
    mismatch = only(nearly.compare(param, plain, strict_types=True))
    assert mismatch.kind == "type"
    with pytest.raises(nearly.NotClose, match="types differ"):
        nearly.assert_equal(param, plain, strict_types=True)
    nearly.assert_equal(param, torch.nn.Parameter(torch.ones(3)), strict_types=True)


def test_tf_variables() -> None:
    tf = import_framework("tensorflow")
    var = tf.Variable([1.0, 2.0, 3.0])
    nearly.assert_close(var, tf.constant([1.0, 2.0, 3.0]))
    nearly.assert_close(var, np.array([1.0, 2.0, 3.0], np.float32))
    nearly.assert_close(var, tf.Variable([1.0, 2.0, 3.0]))
    nearly.assert_close({"w": var}, {"w": [1.0, 2.0, 3.0]})
    mismatch = only(nearly.compare(var, [1.0, 2.5, 3.0]))
    assert (mismatch.kind, mismatch.index) == ("value", (1,))
    nearly.assert_equal(var, tf.constant([1.0, 2.0, 3.0]))
    assert var.numpy().tolist() == [1.0, 2.0, 3.0]


def test_tf_ragged_tensors_compare_row_by_row() -> None:
    tf = import_framework("tensorflow")
    rows = [[1.0, 2.0], [3.0], [4.0, 5.0, 6.0]]
    ragged = tf.ragged.constant(rows)
    nearly.assert_close(ragged, tf.ragged.constant(rows))
    nearly.assert_close(ragged, rows)

    other = tf.ragged.constant([[1.0, 2.0], [3.0], [4.0, 5.5, 6.0]])
    mismatch = only(nearly.compare(ragged, other))
    assert (mismatch.path, mismatch.kind, mismatch.count, mismatch.index) == (
        "[2]",
        "value",
        1,
        (1,),
    )
    with pytest.raises(nearly.NotClose, match=re.escape("[2]: values differ")):
        nearly.assert_close(ragged, other)

    longer_row = tf.ragged.constant([[1.0, 2.0], [3.0, 3.0], [4.0, 5.0, 6.0]])
    row = only(nearly.compare(ragged, longer_row))
    assert (row.path, row.kind) == ("[1]", "shape")
    fewer_rows = tf.ragged.constant([[1.0, 2.0], [3.0]])
    assert only(nearly.compare(ragged, fewer_rows)).kind == "structure"


def test_tf_ragged_rows_are_read_in_one_copy_and_reported_row_by_row() -> None:
    tf = import_framework("tensorflow")
    values = np.arange(12, dtype=np.float32).reshape(6, 2)  # rows of 2-vectors
    ragged = tf.RaggedTensor.from_row_lengths(values, [2, 0, 3, 1])
    other = values.copy()
    other[4, 1] += 1.0  # row 2 (values 2-4), its third item
    mismatch = only(nearly.compare(ragged, tf.RaggedTensor.from_row_lengths(other, [2, 0, 3, 1])))
    assert (mismatch.path, mismatch.index, mismatch.count) == ("[2]", (2, 1), 1)
    assert nearly.compare(ragged, ragged).leaves == 4
    empty = tf.RaggedTensor.from_row_lengths(np.zeros(0, np.float32), np.zeros(0, np.int64))
    assert nearly.compare(empty, empty).leaves == 0
    deeper = tf.ragged.constant([[[1.0], [2.0, 3.0]], [[4.0]]])  # two ragged levels
    changed = tf.ragged.constant([[[1.0], [2.0, 3.5]], [[4.0]]])
    assert only(nearly.compare(deeper, changed)).path == "[0][1]"
    words = tf.ragged.constant([["a", "b"], ["c"]])
    assert only(nearly.compare(words, tf.ragged.constant([["a", "b"], ["d"]]))).path == "[1]"


def test_tf_sparse_tensors_compare_by_value() -> None:
    tf = import_framework("tensorflow")
    sparse = tf.sparse.SparseTensor(indices=[[0, 1], [1, 0]], values=[1.0, 2.0], dense_shape=[2, 2])
    dense = tf.constant([[0.0, 1.0], [2.0, 0.0]])
    nearly.assert_close(sparse, dense)
    nearly.assert_close(dense, sparse)
    nearly.assert_close(sparse, np.array([[0.0, 1.0], [2.0, 0.0]], np.float32))
    nearly.assert_close(sparse, tf.sparse.from_dense(dense))
    mismatch = only(nearly.compare(sparse, [[0.0, 1.0], [2.5, 0.0]]))
    assert (mismatch.kind, mismatch.count, mismatch.total, mismatch.index) == (
        "value",
        1,
        4,
        (1, 0),
    )


def test_jax_arrays_are_full_leaves() -> None:
    import_framework("jax")
    import jax.numpy as jnp

    computed = jnp.arange(4.0, dtype=jnp.float32) * 2
    nearly.assert_close(computed, np.array([0.0, 2.0, 4.0, 6.0], np.float32))
    nearly.assert_close({"y": computed}, {"y": [0.0, 2.0, 4.0, 6.0]})
    mismatch = only(nearly.compare(computed, np.array([0.0, 2.0, 4.5, 6.0], np.float32)))
    assert (mismatch.count, mismatch.total, mismatch.index) == (1, 4, (2,))
    assert mismatch.actual is not None
    assert mismatch.actual.type == "jax.Array"


# =============================================================================== cross-framework

TYPE_NAME_RE = re.compile(r"numpy\.ndarray|torch\.Tensor|tf\.EagerTensor|jax\.Array")


def normalise(text: str) -> str:
    return TYPE_NAME_RE.sub("ARRAY", text)


def outputs(fw: Framework, offset: float = 0.0) -> dict[str, Any]:
    logits = np.array([[0.5, -1.25, 2.0], [3.0, 0.0, -0.75]], np.float32)
    logits[1, 2] += np.float32(offset)
    return {
        "logits": fw(logits, "float32"),
        "labels": fw([2, 0, 1], "int64"),
        "aux": [fw(0.25, "float32")],
    }


def outcome(result: nearly.Comparison) -> list[tuple[Any, ...]]:
    return [(m.path, m.kind, m.count, m.total, m.index) for m in result.mismatches]


@pytest.mark.parametrize(("actual_fw", "expected_fw"), PAIRS, ids=PAIR_IDS)
def test_same_verdict_and_explanation_in_every_pairing(actual_fw: str, expected_fw: str) -> None:
    fa, fe = framework_pair(actual_fw, expected_fw)
    ref = Framework("numpy")
    for offset in (0.0, 0.1):
        reference = nearly.compare(outputs(ref, offset), outputs(ref))
        result = nearly.compare(outputs(fa, offset), outputs(fe))
        assert result.ok == reference.ok == (offset == 0.0)
        assert outcome(result) == outcome(reference)
        assert normalise(str(result)) == normalise(str(reference))
        assert normalise(nearly.explain(outputs(fa, offset), outputs(fe))) == normalise(
            str(reference)
        )
    failing = nearly.explain(outputs(fa, 0.1), outputs(fe))
    assert "['logits']: values differ at 1 of 6 elements" in failing
    assert f"actual:    {fa.type_name} float32 shape (2, 3)" in failing
    assert f"expected:  {fe.type_name} float32 shape (2, 3)" in failing


@pytest.mark.parametrize(("actual_fw", "expected_fw"), PAIRS, ids=PAIR_IDS)
def test_low_precision_across_frameworks(actual_fw: str, expected_fw: str) -> None:
    fa, fe = framework_pair(actual_fw, expected_fw)
    up = 1.0 + 2.0**-7
    nearly.assert_close(fa([up, 2.0], "bfloat16"), fe([1.0, 2.0], "float32"))
    mismatch = only(nearly.compare(fa([up, 2.0], "bfloat16"), fe([1.0, 2.0], "float32"), ulps=0))
    assert (mismatch.max_ulps, mismatch.ulp_dtype, mismatch.index) == (1, "bfloat16", (0,))
    ints = only(nearly.compare(fa([-128], "int8"), fe([127], "int8")))
    assert ints.max_abs == 255


@pytest.mark.parametrize(("actual_fw", "expected_fw"), PAIRS, ids=PAIR_IDS)
def test_host_values_of_any_framework_are_on_the_same_device(
    actual_fw: str, expected_fw: str
) -> None:
    """Every CPU array lives in host memory: check_device=True has nothing to object to."""
    fa, fe = framework_pair(actual_fw, expected_fw)
    a, e = fa([1.0, 2.0], "float32"), fe([1.0, 2.0], "float32")
    result = nearly.compare(a, e, check_device=True)
    assert result.ok, str(result)
    assert "device" not in str(result)


def test_leaves_of_different_frameworks_in_one_structure() -> None:
    frameworks = [Framework(name) for name in FRAMEWORKS]
    for fw in frameworks:
        import_framework(fw.name)
    actual = {fw.name: fw([1.0, 2.0, 3.0], "float32") for fw in frameworks}
    expected = {
        fw.name: frameworks[(i + 1) % 4]([1.0, 2.0, 3.0], "float64")
        for i, fw in enumerate(frameworks)
    }
    nearly.assert_close(actual, expected)
    expected["jax"] = frameworks[0]([1.0, 2.0, 3.5], "float64")
    mismatch = only(nearly.compare(actual, expected))
    assert (mismatch.path, mismatch.index) == ("['jax']", (2,))


# ====================================================================== TensorFlow graph mode


@pytest.fixture(scope="module")
def tf() -> Any:
    return import_framework("tensorflow")


def test_tuple_equality_of_tf_tensors_is_broken_but_assert_equal_works(tf: Any) -> None:
    t1 = tf.constant([1.0, 2.0, 3.0])
    t2 = tf.constant([1.0, 2.0, 3.0])
    t3 = tf.constant([1.0, 2.0, 3.5])
    with pytest.raises(ValueError, match="ambiguous"):
        assert (t1,) == (t2,)

    nearly.assert_equal((t1,), (t2,))
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_equal((t1,), (t3,))
    text = str(info.value)
    assert "[0]: values differ at 1 of 3 elements" in text
    assert "[2]: 3.0 vs 3.5" in text
    assert "greatest absolute difference: 0.5 at [2]" in text


def test_tuple_equality_in_tf_function(tf: Any) -> None:
    @tf.function
    def python_equality(a: Any, b: Any) -> Any:
        return (a,) == (b,)

    @tf.function
    def checked(a: Any, b: Any) -> Any:
        nearly.assert_equal((a,), (b,))
        return a + 1

    t1 = tf.constant([1.0, 2.0, 3.0])
    with pytest.raises(tf.errors.OperatorNotAllowedInGraphError):
        python_equality(t1, t1)

    nearly.assert_equal(checked(t1, tf.constant([1.0, 2.0, 3.0])), [2.0, 3.0, 4.0])
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        checked(t1, tf.constant([1.0, 2.0, 3.5]))
    message = info.value.message
    assert "[0]" in message
    assert "values differ at 1 of 3 elements" in message
    assert "0.5" in message  # the difference
    assert "index [2]" in message


@pytest.mark.parametrize("in_graph", [False, True], ids=["eager", "tf.function"])
def test_assert_near_rejects_identical_zeros_but_nearly_does_not(tf: Any, in_graph: bool) -> None:
    x = tf.constant([0.0, 1.0, -2.5])

    def near(a: Any, b: Any) -> Any:
        tf.debugging.assert_near(a, b, rtol=1e-5, atol=0.0)
        return a

    def close(a: Any, b: Any) -> Any:
        nearly.assert_close(a, b, rtol=1e-5, atol=0.0)
        return a

    if in_graph:
        near, close = tf.function(near), tf.function(close)
    with pytest.raises(tf.errors.InvalidArgumentError):
        near(x, x)
    close(x, x)
    with pytest.raises((nearly.NotClose, tf.errors.InvalidArgumentError)):
        close(x, x + 1e-3)


BOUNDARY_CASES = [
    # (actual, expected, options, passes): exact verdicts at the tolerance boundary
    (13.0, 10.0, {"rtol": 0.3, "atol": 0}, True),
    (f64_up(13.0), 10.0, {"rtol": 0.3, "atol": 0}, False),
    (0.5, 0.0, {"rtol": 0, "atol": 0.5}, True),
    (f64_up(0.5), 0.0, {"rtol": 0, "atol": 0.5}, False),
    (-0.5, 0.0, {"rtol": 0, "atol": 0.5}, True),
    (1.1, 1.0, {"rtol": 0, "atol": 0.1}, False),  # 1.1 is stored a little above 11/10
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("actual", "expected", "options", "passes"), BOUNDARY_CASES)
def test_graph_verdicts_are_exact_and_match_eager(
    tf: Any, dtype: str, actual: float, expected: float, options: dict[str, Any], passes: bool
) -> None:
    np_dtype = np.dtype(dtype)
    if dtype == "float32":
        # the same boundaries one float32 step beyond where the float64 step would be lost
        if actual == f64_up(13.0):
            actual = f32_up(13.0)
        elif actual == f64_up(0.5):
            actual = f32_up(0.5)
        elif actual == 1.1:
            actual = float(np.float32(1.1))
    a = tf.constant([1.0, actual, 2.0], dtype=np_dtype)
    e = tf.constant([1.0, expected, 2.0], dtype=np_dtype)

    eager = nearly.compare(a, e, **options).ok
    assert eager is passes

    @tf.function
    def check(x: Any, y: Any) -> Any:
        nearly.assert_close(x, y, **options)
        return x

    if passes:
        check(a, e)
    else:
        with pytest.raises(tf.errors.InvalidArgumentError, match="values differ at 1 of 3"):
            check(a, e)


def test_tf_function_with_python_constant_expected(tf: Any) -> None:
    @tf.function
    def double(x: Any) -> Any:
        y = x * 2.0
        nearly.assert_close(y, [2.0, 4.0, 6.0])
        nearly.assert_close({"y": y}, {"y": np.array([2.0, 4.0, 6.0])})
        return y

    nearly.assert_equal(double(tf.constant([1.0, 2.0, 3.0])), [2.0, 4.0, 6.0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="values differ at 1 of 3"):
        double(tf.constant([1.0, 2.0, 3.5]))


def test_tf_function_with_scalar_tensors(tf: Any) -> None:
    """0-d graph tensors (a loss, a sum) against a Python number and against each other."""

    @tf.function
    def total(x: Any) -> Any:
        s = tf.reduce_sum(x)
        nearly.assert_close(s, 6.0)
        nearly.assert_close(s, tf.reduce_sum(x[::-1]), rtol=1e-6)
        nearly.assert_equal(tf.size(x), 3)
        return s

    nearly.assert_equal(total(tf.constant([1.0, 2.0, 3.0])), 6.0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="values differ at 1 of 1"):
        total(tf.constant([1.0, 2.0, 3.5]))


def test_graph_checks_on_structures_name_the_failing_leaf(tf: Any) -> None:
    @tf.function
    def check(logits: Any, labels: Any) -> Any:
        nearly.assert_close(
            {"logits": logits, "labels": labels},
            {"logits": np.array([[0.5, 1.0]], np.float32), "labels": np.array([1, 0])},
        )
        return logits

    check(tf.constant([[0.5, 1.0]]), tf.constant([1, 0], tf.int64))
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        check(tf.constant([[0.5, 1.25]]), tf.constant([1, 0], tf.int64))
    message = info.value.message
    assert re.search(r"\['?logits'?\]", message), message
    assert "values differ at 1 of 2 elements" in message
    assert "index [0 1]" in message or "index [0, 1]" in message
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels"):
        check(tf.constant([[0.5, 1.0]]), tf.constant([1, 1], tf.int64))


def test_graph_shape_mismatch_is_reported(tf: Any) -> None:
    @tf.function
    def static(x: Any) -> Any:
        nearly.assert_close(x, np.zeros((3,), np.float32))
        return x

    # known while tracing: fails then, as the NotClose it is (not wrapped by AutoGraph)
    with pytest.raises(nearly.NotClose, match="shapes differ") as info:
        static(tf.zeros((1, 3)))
    assert info.value.comparison.mismatches[0].kind == "shape"

    @tf.function
    def typed(x: Any) -> Any:
        nearly.assert_close(x, tf.zeros([2], tf.float64), check_dtype=True)
        return x

    with pytest.raises(nearly.NotClose, match="dtypes differ"):
        typed(tf.zeros([2], tf.float32))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def dynamic(x: Any) -> Any:
        nearly.assert_close(x, tf.zeros([3]))
        return x

    dynamic(tf.zeros([3]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="shapes differ"):
        dynamic(tf.zeros([4]))


def test_graph_assert_finite(tf: Any) -> None:
    @tf.function
    def finite(x: Any) -> Any:
        nearly.assert_finite({"x": x})
        return x

    finite(tf.constant([1.0, 2.0]))
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        finite(tf.constant([1.0, NAN, INF]))
    message = info.value.message
    assert "nearly.assert_finite" in message
    assert "2 of 3" in message
    assert "NaN" in message


def test_compare_and_explain_refuse_symbolic_tensors(tf: Any) -> None:
    @tf.function
    def compared(x: Any) -> Any:
        nearly.compare(x, x)
        return x

    @tf.function
    def explained(x: Any) -> Any:
        nearly.explain(x, np.ones(2, np.float32))
        return x

    with pytest.raises(TypeError, match="symbolic"):
        compared(tf.ones(2))
    with pytest.raises(TypeError, match="symbolic"):
        explained(tf.ones(2))


@pytest.mark.parametrize("check", ["assert_close", "assert_equal", "assert_finite"])
def test_xla_compiled_tf_function_refuses_checks(tf: Any, check: str) -> None:
    @tf.function(jit_compile=True)
    def compiled(x: Any) -> Any:
        if check == "assert_finite":
            nearly.assert_finite(x)
        else:
            getattr(nearly, check)(x, x + 1.0)  # would fail if it ran
        return x

    with pytest.raises(TypeError, match="XLA"):
        compiled(tf.ones(3))


# ============================================================================ Keras integration


@pytest.fixture(scope="module")
def keras(tf: Any) -> Any:
    return pytest.importorskip("keras")


class _Seed:
    """The seed's example: one input 1.0, label 2 (an int64 array)."""

    x = np.array([[1.0]])
    y = np.array([[2]])


def seed_model(keras: Any, learning_rate: float) -> Any:
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mse", jit_compile=False
    )
    return model


def prediction_check(keras: Any, **options: Any) -> Any:
    class PredictionCheck(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            pred = self.model.predict(_Seed.x, verbose=0)
            nearly.assert_close(pred, _Seed.y, **options)

    return PredictionCheck()


@pytest.fixture(scope="module")
def trained_seed_model(keras: Any) -> Any:
    model = seed_model(keras, learning_rate=0.1)
    model.fit(_Seed.x, _Seed.y.astype(np.float32), epochs=40, verbose=0)
    return model


def test_keras_callback_untrained_prediction_is_explained(keras: Any) -> None:
    model = seed_model(keras, learning_rate=0.0)
    pred = model.predict(_Seed.x, verbose=0)
    assert pred.dtype == np.float32
    with pytest.raises(nearly.NotClose) as info:
        model.fit(_Seed.x, _Seed.y, epochs=1, verbose=0, callbacks=[prediction_check(keras)])
    text = str(info.value)
    assert "float32" in text
    assert "int64" in text
    assert f"{pred[0, 0]!s} vs 2" in text  # both values, as NumPy prints them
    assert f"greatest absolute difference: {abs(2.0 - float(pred[0, 0])):.6g}" in text
    assert "dtypes differ (float32 vs int64)" in text


def test_keras_callback_trained_prediction_passes(keras: Any, trained_seed_model: Any) -> None:
    trained_seed_model.fit(
        _Seed.x,
        _Seed.y,
        epochs=1,
        verbose=0,
        callbacks=[prediction_check(keras, atol=1e-2)],
    )
    pred = trained_seed_model.predict(_Seed.x, verbose=0)
    nearly.assert_close(pred, _Seed.y, atol=1e-2)
    # int vs float compares exactly only when a tolerance is given: the default float32 row
    assert not nearly.compare(pred + np.float32(0.5), _Seed.y).ok


def checked_layer(keras: Any, tf: Any, perturb: float = 0.0) -> Any:
    class CheckedDense(keras.layers.Layer):
        """A dense layer that checks its input is finite and its product two ways."""

        def build(self, input_shape: Any) -> None:
            self.kernel = self.add_weight(shape=(input_shape[-1], 4), initializer="glorot_uniform")

        def call(self, x: Any) -> Any:
            nearly.assert_finite(x)
            y = tf.matmul(x, self.kernel)
            reference = tf.einsum("bi,ij->bj", x, self.kernel)
            nearly.assert_close(y + perturb, reference, rtol=1e-5, atol=1e-6)
            return y

    return CheckedDense()


@pytest.fixture(scope="module")
def regression_data() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)
    return x, y


def checked_model(keras: Any, tf: Any, jit_compile: Any, perturb: float = 0.0) -> Any:
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [keras.Input((3,)), checked_layer(keras, tf, perturb), keras.layers.Dense(1)]
    )
    kwargs = {} if jit_compile == "default" else {"jit_compile": jit_compile}
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse", **kwargs)
    return model


def test_keras_layer_with_checks_trains(keras: Any, tf: Any, regression_data: Any) -> None:
    x, y = regression_data
    model = checked_model(keras, tf, jit_compile=False)
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    losses = history.history["loss"]
    nearly.assert_finite(losses)
    assert losses[-1] < losses[0]


def test_keras_layer_stops_on_nan_input(keras: Any, tf: Any, regression_data: Any) -> None:
    x, y = regression_data
    model = checked_model(keras, tf, jit_compile=False)
    poisoned = x.copy()
    poisoned[10, 1] = NAN
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        model.fit(poisoned, y, epochs=1, batch_size=16, verbose=0)
    message = info.value.message
    assert "nearly.assert_finite" in message
    assert "NaN" in message


def test_keras_layer_assert_close_fails_at_run_time(
    keras: Any, tf: Any, regression_data: Any
) -> None:
    x, y = regression_data
    model = checked_model(keras, tf, jit_compile=False, perturb=0.1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="values differ"):
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)


def test_keras_layer_with_checks_refuses_xla(keras: Any, tf: Any, regression_data: Any) -> None:
    x, y = regression_data
    model = checked_model(keras, tf, jit_compile=True)
    with pytest.raises(TypeError, match="XLA"):
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)


def test_keras_default_compile_never_skips_a_check(
    keras: Any, tf: Any, regression_data: Any
) -> None:
    """Whatever jit_compile="auto" resolves to, a NaN input is caught or the checks refuse."""
    x, y = regression_data
    model = checked_model(keras, tf, jit_compile="default")
    poisoned = x.copy()
    poisoned[0, 0] = NAN
    with pytest.raises((tf.errors.InvalidArgumentError, TypeError)):
        model.fit(poisoned, y, epochs=1, batch_size=16, verbose=0)


def test_keras_custom_loss_with_checks(keras: Any, tf: Any, regression_data: Any) -> None:
    x, y = regression_data

    def checked_mse(y_true: Any, y_pred: Any) -> Any:
        nearly.assert_finite(y_pred)
        nearly.assert_equal(tf.shape(y_true), tf.shape(y_pred))
        squared = tf.square(y_true - y_pred)
        loss = tf.reduce_mean(squared, axis=-1)
        nearly.assert_close(tf.reduce_sum(loss), tf.reduce_sum(squared), rtol=1e-5, atol=1e-6)
        return loss

    def wrong_loss(y_true: Any, y_pred: Any) -> Any:
        nearly.assert_close(y_pred, y_true, atol=1e-3)  # an untrained model is far off
        return tf.reduce_mean(tf.square(y_true - y_pred), axis=-1)

    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss=checked_mse, jit_compile=False)
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]

    model.compile(optimizer="sgd", loss=wrong_loss, jit_compile=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match="values differ"):
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)


def test_keras_custom_train_step_with_checks(keras: Any, tf: Any, regression_data: Any) -> None:
    x, y = regression_data

    class CheckedModel(keras.Model):
        def __init__(self, loss_scale: float = 1.0) -> None:
            super().__init__()
            self.dense = keras.layers.Dense(1)
            self.loss_scale = loss_scale

        def call(self, inputs: Any) -> Any:
            return self.dense(inputs)

        def train_step(self, data: Any) -> Any:
            features, target = data
            with tf.GradientTape() as tape:
                pred = self(features, training=True)
                loss = self.compute_loss(x=features, y=target, y_pred=pred)
            by_hand = tf.reduce_mean(tf.square(target - pred)) * self.loss_scale
            nearly.assert_close(loss, by_hand, rtol=1e-5, atol=1e-6)
            grads = tape.gradient(loss, self.trainable_variables)
            nearly.assert_finite(grads)
            self.optimizer.apply(grads, self.trainable_variables)
            return {"mse": loss}  # Keras keeps "loss" for its own tracker

    keras.utils.set_random_seed(11)
    model = CheckedModel()
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", jit_compile=False)
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert history.history["mse"][-1] < history.history["mse"][0]

    broken = CheckedModel(loss_scale=2.0)
    broken.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", jit_compile=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match="values differ"):
        broken.fit(x, y, epochs=1, batch_size=16, verbose=0)


# ===================================================================== JAX and torch compilers


@pytest.mark.parametrize("check", ["assert_close", "assert_equal", "compare", "explain"])
def test_jax_jit_refuses_traced_values(check: str) -> None:
    jax = import_framework("jax")
    import jax.numpy as jnp

    def body(x: Any) -> Any:
        getattr(nearly, check)(x, x)
        return x * 2

    with pytest.raises(TypeError, match="traced JAX value"):
        jax.jit(body)(jnp.ones(3))
    with pytest.raises(TypeError, match="traced JAX value"):
        jax.jit(lambda x: nearly.assert_close(x, np.ones(3, np.float32)) or x)(jnp.ones(3))
    # outside jit the same arrays compare normally
    nearly.assert_close(body(jnp.ones(3)), jnp.full(3, 2.0))


def test_jax_assert_finite_under_jit_refuses() -> None:
    jax = import_framework("jax")
    import jax.numpy as jnp

    @jax.jit
    def finite(x: Any) -> Any:
        nearly.assert_finite(x)
        return x

    with pytest.raises(TypeError, match="traced JAX value"):
        finite(jnp.array([1.0, NAN]))


@pytest.mark.parametrize("backend", ["inductor", "eager"])
def test_torch_compile_runs_checks_eagerly(backend: str) -> None:
    torch = import_framework("torch")
    if backend == "inductor" and not any(shutil.which(cc) for cc in ("c++", "g++", "clang++")):
        pytest.skip("TorchInductor needs a C++ compiler on CPU")

    def step(a: Any, b: Any) -> Any:
        c = a * 2
        nearly.assert_close(c, b)
        return c + 1

    compiled = torch.compile(step, backend=backend)
    out = compiled(torch.ones(3), torch.full((3,), 2.0))
    nearly.assert_equal(out, torch.full((3,), 3.0))
    with pytest.raises(nearly.NotClose) as info:
        compiled(torch.ones(3), torch.tensor([2.0, 2.0, 2.5]))
    assert info.value.comparison.mismatches[0].index == (2,)
    assert "torch.Tensor" in str(info.value)


def test_torch_compile_fullgraph_refuses_loudly() -> None:
    torch = import_framework("torch")

    def step(a: Any) -> Any:
        nearly.assert_close(a, a)
        return a + 1

    compiled = torch.compile(step, backend="eager", fullgraph=True)
    # Dynamo's own error (torch._dynamo.exc.Unsupported, a RuntimeError), at compile time
    with pytest.raises(RuntimeError):
        compiled(torch.ones(3))


# ================================================================================= lazy backends

_LAZY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import nearly
    frameworks = ("torch", "tensorflow", "jax", "keras")
    seen = {"after_import": [m for m in frameworks if m in sys.modules]}
    nearly.assert_close(1.0, 1.0)
    nearly.assert_close({"a": [1.0, 2]}, {"a": (1.0, 2)})
    nearly.compare([1, 2], [1, 3])
    seen["after_checks"] = [m for m in frameworks if m in sys.modules]
    seen["backends_before"] = sorted(m for m in sys.modules if m.startswith("nearly.backends."))
    import torch
    nearly.assert_close(torch.ones(1), torch.ones(1))
    seen["backends_after"] = sorted(m for m in sys.modules if m.startswith("nearly.backends."))
    seen["frameworks_after"] = [m for m in frameworks if m in sys.modules]
    print(json.dumps(seen))
    """
)


def test_backends_load_only_on_first_sight() -> None:
    import_framework("torch")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-c", _LAZY_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["after_import"] == []
    assert seen["after_checks"] == []
    assert "nearly.backends.torch" not in seen["backends_before"]
    assert "nearly.backends.torch" in seen["backends_after"]
    assert "nearly.backends.tensorflow" not in seen["backends_after"]
    assert "nearly.backends.jax" not in seen["backends_after"]
    assert seen["frameworks_after"] == ["torch"]


@pytest.mark.parametrize(("name", "next_after_2"), [("float8_e4m3fn", 2.25), ("float8_e5m2", 2.5)])
def test_tf_float8_tensors_use_their_own_format(name: str, next_after_2: float) -> None:
    tf = import_framework("tensorflow")
    f8 = getattr(tf.dtypes.experimental, name)
    one = tf.cast(tf.constant([1.0, 2.0]), f8)
    up = tf.cast(tf.constant([1.0, next_after_2]), f8)  # one float8 step above 2
    assert nearly.compare(one, one).ok
    result = nearly.compare(up, one)
    assert result.ok  # the float8 default allows 1 ULP
    (m,) = nearly.compare(up, one, ulps=0).mismatches
    assert m.max_ulps == 1
    assert name in str(nearly.compare(up, one, ulps=0))
