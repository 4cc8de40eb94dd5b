"""Properties over arbitrary nested structures (Hypothesis).

* a structure is close to (and equal to) its deep copy;
* a single difference planted at a random leaf and element is found: one Mismatch, at the
  right path, pointing at the planted element, counting one element.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nearly

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Part = tuple[str, Any]  # ("index", 3) or ("key", "k")

float_arrays = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    elements={"allow_nan": True, "allow_infinity": True, "allow_subnormal": True},
)
int_arrays = hnp.arrays(
    dtype=st.sampled_from([np.int8, np.uint8, np.int32, np.int64, np.uint64]),
    shape=hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=5),
)
py_floats = st.floats(allow_nan=True, allow_infinity=True)
py_ints = st.one_of(st.integers(-(2**70), 2**70), st.integers(-10, 10))
other_leaves = st.one_of(st.text(max_size=4), st.binary(max_size=3), st.none())

leaves = st.one_of(float_arrays, int_arrays, py_floats, py_ints, other_leaves)
keys = st.text(alphabet="abcxyz_", min_size=1, max_size=3)

trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=12,
)


def format_path(parts: list[Part]) -> str:
    return "".join(f"[{v}]" if kind == "index" else f"[{v!r}]" for kind, v in parts)


def numeric_leaves(tree: Any, parts: list[Part] | None = None) -> list[tuple[list[Part], Any]]:
    """Every leaf holding at least one number, with its path."""
    parts = parts or []
    if isinstance(tree, dict):
        out = []
        for k, v in tree.items():
            out += numeric_leaves(v, [*parts, ("key", k)])
        return out
    if isinstance(tree, (list, tuple)):
        out = []
        for i, v in enumerate(tree):
            out += numeric_leaves(v, [*parts, ("index", i)])
        return out
    if isinstance(tree, np.ndarray):
        return [(parts, tree)] if tree.size else []
    if isinstance(tree, (int, float)) and not isinstance(tree, bool):
        return [(parts, tree)]
    return []


def different(value: Any, dtype: Any = None) -> Any:
    """A value surely not close to ``value`` under the default tolerance."""
    if dtype is not None and np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return value - 1 if value == info.max else value + 1
    if isinstance(value, int):
        return value + 1
    v = float(value)
    if v != v or v in (float("inf"), float("-inf")):
        return 0.0
    if dtype is not None and abs(v) > float(np.finfo(dtype).max) / 4:
        return -v
    return v + max(1.0, abs(v))


def replace_at(tree: Any, parts: list[Part], new: Any) -> Any:
    if not parts:
        return new
    (_, key), rest = parts[0], parts[1:]
    if isinstance(tree, dict):
        out = dict(tree)
        out[key] = replace_at(tree[key], rest, new)
        return out
    items = list(tree)
    items[key] = replace_at(tree[key], rest, new)
    return type(tree)(items)


@SETTINGS
@given(trees)
def test_structure_is_close_to_its_deep_copy(tree: Any) -> None:
    other = copy.deepcopy(tree)
    result = nearly.compare(tree, other)
    assert result.ok, str(result)
    assert nearly.compare(tree, tree).ok
    nearly.assert_equal(tree, other)
    nearly.assert_close(other, tree, atol=0)


@SETTINGS
@given(trees)
def test_not_equal_nan_only_fails_at_nan_leaves(tree: Any) -> None:
    result = nearly.compare(tree, copy.deepcopy(tree), equal_nan=False)
    nan_paths = set()
    for parts, leaf in numeric_leaves(tree):
        has_nan = (
            bool(np.isnan(leaf).any())
            if isinstance(leaf, np.ndarray) and leaf.dtype.kind == "f"
            else isinstance(leaf, float) and leaf != leaf
        )
        if has_nan:
            nan_paths.add(format_path(parts))
    assert {m.path for m in result.mismatches} == nan_paths
    assert all(m.kind == "value" for m in result.mismatches)


@SETTINGS
@given(trees.filter(lambda t: bool(numeric_leaves(t))), st.data())
def test_a_planted_difference_is_found(tree: Any, data: st.DataObject) -> None:
    parts, leaf = data.draw(st.sampled_from(numeric_leaves(tree)), label="leaf")
    if isinstance(leaf, np.ndarray):
        index = tuple(data.draw(st.integers(0, n - 1), label="index") for n in leaf.shape)
        changed = leaf.copy()
        changed[index] = different(leaf[index], leaf.dtype)
    else:
        index = ()
        changed = different(leaf)
    planted = replace_at(tree, parts, changed)

    for actual, expected in ((planted, tree), (tree, planted)):
        result = nearly.compare(actual, expected)
        assert len(result.mismatches) == 1, str(result)
        (m,) = result.mismatches
        assert m.path == format_path(parts), str(result)
        assert m.kind == "value"
        assert m.index == index
        assert m.count == 1
        assert m.total == (leaf.size if isinstance(leaf, np.ndarray) else 1)
    # the untouched input is unchanged
    assert nearly.compare(tree, copy.deepcopy(tree)).ok


@SETTINGS
@given(trees, st.sampled_from([(), [], {}]))
def test_wrapping_changes_only_the_path_prefix(tree: Any, wrapper: Any) -> None:
    a = tree
    e = copy.deepcopy(tree)
    leaves_found = numeric_leaves(tree)
    if leaves_found:
        parts, leaf = leaves_found[0]
        if isinstance(leaf, np.ndarray):
            changed = leaf.copy()
            flat = changed.reshape(-1)
            flat[0] = different(flat[0], leaf.dtype)
        else:
            changed = different(leaf)
        e = replace_at(e, parts, changed)
    bare = nearly.compare(a, e)
    if isinstance(wrapper, dict):
        wrapped = nearly.compare({"w": a}, {"w": e})
        prefix = "['w']"
    else:
        wrapped = nearly.compare(type(wrapper)([a]), type(wrapper)([e]))
        prefix = "[0]"
    assert [prefix + m.path for m in bare.mismatches] == [m.path for m in wrapped.mismatches]
    assert [(m.kind, m.count, m.index) for m in bare.mismatches] == [
        (m.kind, m.count, m.index) for m in wrapped.mismatches
    ]
