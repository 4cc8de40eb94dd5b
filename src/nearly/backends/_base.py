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
    "Attr",
    "Backend",
    "CompilerBackend",
    "DeviceBackend",
    "GraphBackend",
    "Leaf",
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

    @property
    def dtype(self) -> np.dtype[Any] | None:
        return None if self.array is None else self.array.dtype

    @property
    def shape(self) -> tuple[int, ...] | None:
        return None if self.array is None else tuple(self.array.shape)


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
    return f"{mod}.{t.__qualname__}"


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

    def fail_at_run_time(self, report: str) -> None:
        """Add an op that raises ``report`` when the graph runs."""
        ...
