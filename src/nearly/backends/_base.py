"""What every backend shares: the :class:`Leaf` a backend reads a value into, and the short
name of a value's type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

    from nearly._prim.rule import DeviceVerdict, Rule

__all__ = [
    "DENSIFY_LIMIT",
    "Attr",
    "Backend",
    "CompilerBackend",
    "DeviceBackend",
    "GraphBackend",
    "Labels",
    "Leaf",
    "Sparse",
    "Unreadable",
    "sparse_leaf",
    "type_name",
]


@dataclass(frozen=True)
class Leaf:
    """A leaf value read by a backend.

    ``kind`` is ``"array"`` (numbers, strings, dates... held in ``array``, 0-d for scalars),
    ``"none"``, ``"text"`` (a Python str/bytes), ``"object"`` (compared with ``==``) or
    ``"symbolic"`` (a graph tensor with no values yet: checked by graph ops).
    ``array`` is a NumPy view of the values where they live on the host; ``device`` names
    where the original lives; a ``meta`` leaf has a shape and dtype but no values.
    """

    obj: Any
    kind: Literal["array", "none", "text", "object", "symbolic"]
    type_name: str
    array: np.ndarray[Any, Any] | None = None
    mask: np.ndarray[Any, Any] | None = None
    python_scalar: bool = False
    from_sequence: bool = False  # a (nested) list or tuple read as an array
    device: str | None = None
    meta: bool = False
    native: bool = False  # values stay on their device; ``array`` is a shape/dtype stand-in
    labels: bool = False  # labels (a pandas Index): compared exactly, differences are structure
    sparse: Sparse | None = None  # stored elements of a sparse value; ``array`` is a stand-in
    # a format NumPy has no dtype for, held in the wider ``array.dtype`` (``"complex32"``); a
    # key of ``nearly._prim.dtypes.NARROW_FORMATS``
    format: str | None = None
    utf8: bool = False  # bytes that stand for text (a TF string tensor): read as UTF-8 to face str

    @property
    def stand_in(self) -> bool:
        """Whether ``array`` only stands in for the values (a device tensor, a meta tensor, a
        sparse value): its shape and dtype are right, its elements are not the values."""
        return self.native or self.meta or self.sparse is not None

    @property
    def dtype(self) -> np.dtype[Any] | None:
        return None if self.array is None else self.array.dtype

    @property
    def shape(self) -> tuple[int, ...] | None:
        return None if self.array is None else tuple(self.array.shape)


class Unreadable(TypeError):
    """A value a backend cannot read (a deleted array, a dtype with no defined layout): the
    core re-raises it naming the path. ``why`` says what to do instead."""

    def __init__(self, type_name: str, why: str) -> None:
        super().__init__(f"cannot compare the {type_name}: {why}")
        self.type_name = type_name
        self.why = why


#: A sparse value is densified only where a computation needs every element, and then never
#: beyond this many elements (1 GiB of float64).
DENSIFY_LIMIT = 1 << 27


@dataclass(frozen=True)
class Sparse:
    """The stored elements of a sparse value: their flat (C-order) indices, sorted and
    unique, and their values. Every other element is zero."""

    flat: np.ndarray[Any, Any]
    values: np.ndarray[Any, Any]


def sparse_leaf(
    obj: Any,
    shape: tuple[int, ...],
    coords: np.ndarray[Any, Any],
    values: np.ndarray[Any, Any],
    device: str | None = None,
) -> Leaf:
    """The leaf of a sparse value of ``shape`` storing ``values`` at ``coords`` (one row per
    dimension, in any order, repeats summed as every sparse format defines them). Nothing is
    densified: ``array`` is a zero-strided stand-in that carries the shape and dtype."""
    values = np.asarray(values).reshape(-1)
    coords = np.asarray(coords, dtype=np.int64).reshape(len(shape), -1)
    size = 1
    for n in shape:
        size *= int(n)
    if size >= 2**63:
        raise ValueError(
            f"cannot compare a sparse {type_name(obj)} of shape {tuple(shape)}: it has more "
            "elements than a 64-bit index can number"
        )
    flat: np.ndarray[Any, Any] = (
        np.asarray(np.ravel_multi_index(tuple(coords), shape), np.int64)
        if shape
        else np.zeros(values.size, np.int64)
    )
    order = np.argsort(flat, kind="stable")
    flat, values = flat[order], values[order]
    if flat.size > 1 and not (flat[1:] > flat[:-1]).all():
        starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
        flat, values = flat[starts], np.add.reduceat(values, starts)
    stand_in = np.broadcast_to(np.zeros((), values.dtype), tuple(shape))
    return Leaf(obj, "array", type_name(obj), stand_in, device=device, sparse=Sparse(flat, values))


class Labels:
    """Labels a backend expands a value into (an xarray DataArray's dims, its coordinates):
    read as a *labels* leaf, compared exactly, and a difference is a structure mismatch."""

    __slots__ = ("values",)

    def __init__(self, values: np.ndarray[Any, Any]) -> None:
        self.values = values


@dataclass(frozen=True)
class Attr:
    """A key of a container a backend expands into a dict (see ``Backend``'s ``expand``) that
    paths spell as an attribute: ``Attr("index")`` is ``.index``, where a plain key ``"a"`` is
    ``['a']``."""

    name: str

    def __repr__(self) -> str:
        return f".{self.name}"


_SHORT_ROOTS = {
    "tensorflow": "tf",
    "torch": "torch",
    "jax": "jax",
    "jaxlib": "jax",
    "pandas": "pandas",
}


def type_name(x: Any) -> str:
    """A short, recognisable name for a value's type: float, numpy.ndarray, torch.Tensor,
    tf.EagerTensor, jax.Array..."""
    t = type(x)
    mod = t.__module__
    if mod == "builtins":
        return t.__qualname__
    root = mod.split(".")[0]
    if root == "numpy" and t.__qualname__ == "MaskedArray":
        return "numpy.ma.MaskedArray"
    if root == "jaxlib" and t.__qualname__ == "ArrayImpl":
        return "jax.Array"
    if root == "torch" and t.__qualname__ == "Parameter":
        return "torch.nn.Parameter"
    if root in ("numpy", "ml_dtypes"):
        return f"{root}.{t.__qualname__}"
    if root in _SHORT_ROOTS:
        return f"{_SHORT_ROOTS[root]}.{t.__qualname__}"
    # the public spelling: scipy.sparse._csr.csr_matrix is scipy.sparse.csr_matrix
    parts = mod.split(".")
    public = next((i for i, part in enumerate(parts) if part.startswith("_")), len(parts))
    return f"{'.'.join(parts[: max(public, 1)])}.{t.__qualname__}"


class Backend(Protocol):
    """What a backend module provides. The registry (:func:`nearly.backends.register`) maps the
    top-level package of a value's type to one such module, imported on first sight of a value.

    Optional module attributes, looked up where used: ``expand(obj) -> list | dict | None`` (a
    value that is really a container: a RaggedTensor's rows as a list, a DataFrame's index and
    columns as a dict whose :class:`Attr` keys are spelled as attributes), ``MonitorOps`` (a
    subclass of
    :class:`nearly.backends._monitor_ops.MonitorOps`: what :class:`nearly.Monitor` runs on the
    framework's tensors, including the layer-by-layer ``replay``), and the functions of
    :class:`DeviceBackend` (values that stay on their device), :class:`GraphBackend` (symbolic
    tensors) and :class:`CompilerBackend` (compilers that trace Python).
    """

    def to_leaf(self, obj: Any) -> Leaf | None:
        """Read ``obj`` as a leaf, or None to hand it to the NumPy backend."""
        ...


class DeviceBackend(Backend, Protocol):
    """A backend whose leaves may stay where they live (``Leaf.native``): the core asks it for
    a host copy when it must, and for the rule's verdict run on the device."""

    def host_array(self, obj: Any) -> np.ndarray[Any, Any]:
        """The values of ``obj`` as a NumPy array on the host."""
        ...

    def device_verdict(self, actual: Any, expected: Any, rule: Rule) -> DeviceVerdict:
        """Run ``rule`` on the device (see :func:`nearly.backends._device.device_verdict`)."""
        ...


class CompilerBackend(Backend, Protocol):
    """A backend of a framework whose compiler traces Python bytecode (``torch.compile``):
    nearly's checks must then run outside the trace, on real values."""

    def compiling(self) -> bool:
        """Whether the framework's compiler is tracing now."""
        ...

    def run_eagerly(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` as the compiler runs it: outside the trace (a graph break), with real values."""
        ...


class GraphBackend(Backend, Protocol):
    """A backend whose leaves may be symbolic (``Leaf.kind == "symbolic"``: a tensor of a graph
    being traced, with no values yet). The core checks what is known now (shapes, dtypes) and
    has the backend add ops that check the values when the graph runs."""

    def tracing(self) -> bool:
        """Whether the framework is tracing a graph now (a failed check must then become an
        op that fails at run time)."""
        ...

    def as_tensor(self, x: Any) -> Any:
        """``x`` as a tensor of the framework."""
        ...

    def numpy_dtype(self, t: Any) -> np.dtype[Any]:
        """The NumPy dtype of a framework tensor."""
        ...

    def assert_close_in_graph(
        self,
        where: str,
        actual: Any,
        expected: Any,
        rule: Rule,
        tolerance_text: str,
        check: str,
        decide: Callable[[np.ndarray[Any, Any], np.ndarray[Any, Any]], np.ndarray[Any, Any]],
    ) -> None:
        """Add ops checking ``actual`` against ``expected`` under ``rule``; ``decide`` settles
        on the host the few elements the graph's float64 arithmetic cannot."""
        ...

    def assert_equal_in_graph(self, where: str, actual: Any, expected: Any) -> None: ...

    def assert_finite_in_graph(self, where: str, value: Any) -> None: ...

    def assert_in_range_in_graph(
        self, where: str, value: Any, lo: float | None, hi: float | None
    ) -> None: ...

    def pass_through(self, error: BaseException) -> None:
        """Mark an error raised while tracing (a static difference) so that it reaches the
        caller as itself, not wrapped by the tracer."""
        ...
