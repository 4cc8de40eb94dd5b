"""Framework containers are walked, not compared by identity: JAX and torch registered pytree
nodes (under their key paths), ParameterList/ParameterDict, nested tensors component by
component, tf.TensorArray by its stacked value. Values a framework gives no layout (torch's
sub-byte dtypes) are refused with a TypeError naming the path."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nearly
from agree import agree


class Point:
    """A user class that is not a Mapping or a Sequence, registered as a pytree node."""

    def __init__(self, x: Any, y: Any) -> None:
        self.x, self.y = x, y


def test_a_registered_jax_pytree_node_is_walked_by_its_key_paths() -> None:
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    @jax.tree_util.register_pytree_with_keys_class
    class Node(Point):
        def tree_flatten_with_keys(self) -> Any:
            keys = jax.tree_util.GetAttrKey
            return [(keys("x"), self.x), (keys("y"), self.y)], None

        @classmethod
        def tree_unflatten(cls, aux: Any, children: Any) -> Node:
            return cls(*children)

    a = Node(jnp.ones(3), [jnp.zeros(2)])
    assert agree(a, Node(jnp.ones(3), [jnp.zeros(2)])).ok  # equal values, distinct objects
    (m,) = agree(a, Node(jnp.ones(3), [jnp.ones(2)])).mismatches
    assert m.path == ".y[0]"

    @jax.tree_util.register_pytree_node_class
    class Plain(Point):  # flattened without keys: children by position
        def tree_flatten(self) -> Any:
            return (self.x, self.y), None

        @classmethod
        def tree_unflatten(cls, aux: Any, children: Any) -> Plain:
            return cls(*children)

    (m,) = agree(Plain(1.0, 2.0), Plain(1.0, 3.0)).mismatches
    assert m.path == "[1]"


def test_a_registered_torch_pytree_node_is_walked() -> None:
    torch = pytest.importorskip("torch")
    from torch.utils import _pytree

    class Pair(Point):
        pass

    _pytree.register_pytree_node(
        Pair,
        lambda p: ([p.x, p.y], None),
        lambda children, _: Pair(*children),
        flatten_with_keys_fn=lambda p: (
            [(_pytree.GetAttrKey("x"), p.x), (_pytree.GetAttrKey("y"), p.y)],
            None,
        ),
    )
    a = Pair(torch.ones(2), torch.zeros(2))
    assert agree(a, Pair(torch.ones(2), torch.zeros(2))).ok
    (m,) = agree(a, Pair(torch.ones(2), torch.ones(2))).mismatches
    assert m.path == ".y"


def test_parameter_list_and_dict_are_walked_even_when_they_require_grad() -> None:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    plist = nn.ParameterList([nn.Parameter(torch.ones(2)), nn.Parameter(torch.zeros(3))])
    same = nn.ParameterList([nn.Parameter(torch.ones(2)), nn.Parameter(torch.zeros(3))])
    assert agree(plist, same).ok
    same[1].data += 1
    (m,) = agree(plist, same).mismatches
    assert (m.path, m.count) == ("[1]", 3)
    pdict = nn.ParameterDict({"w": nn.Parameter(torch.ones(2))})
    assert agree(pdict, nn.ParameterDict({"w": nn.Parameter(torch.ones(2))})).ok
    (m,) = agree(pdict, nn.ParameterDict({"b": nn.Parameter(torch.ones(2))})).mismatches
    assert m.code == "structure.keys"


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors is in prototype stage")
@pytest.mark.parametrize("layout", ["strided", "jagged"])
def test_nested_tensors_compare_component_by_component(layout: str) -> None:
    torch = pytest.importorskip("torch")
    kind = getattr(torch, layout)

    def nested(last: float) -> Any:
        parts = [torch.ones(2), torch.tensor([1.0, 2.0, last])]
        return torch.nested.nested_tensor(parts, layout=kind)

    assert agree(nested(3.0), nested(3.0)).ok
    (m,) = agree(nested(3.0), nested(4.0)).mismatches
    assert (m.path, m.index) == ("[1]", (2,))


def test_sub_byte_dtypes_are_refused_naming_the_path_and_dtype() -> None:
    torch = pytest.importorskip("torch")
    packed = torch.zeros(4, dtype=torch.uint8).view(torch.uint4)
    with pytest.raises(TypeError, match=r"torch.uint4 at \['q'\].*view\(torch.uint8\)"):
        nearly.compare({"q": packed}, {"q": packed})
    with pytest.raises(TypeError, match=r"torch\.uint4"):
        nearly.assert_close({"q": packed}, {"q": packed})


def test_tensor_arrays_compare_by_their_stacked_value() -> None:
    tf = pytest.importorskip("tensorflow")

    def filled(last: float) -> Any:
        ta = tf.TensorArray(tf.float32, size=2)
        return ta.write(0, [1.0, 2.0]).write(1, [3.0, last])

    assert agree(filled(4.0), filled(4.0)).ok
    (m,) = agree(filled(4.0), filled(5.0)).mismatches
    assert m.index == (1, 1)
    assert m.actual is not None
    assert m.actual.type == "tf.TensorArray"
    assert agree(filled(4.0), np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)).ok
