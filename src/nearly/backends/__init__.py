"""Backends turn a user's leaf value into a :class:`Leaf` the framework-free core can compare.

One module per array library. A backend is imported the first time a value of its library's
type is seen (looked up by the top-level module of the value's type), so ``import nearly``
imports NumPy only. Values of any other type go to the NumPy backend, which reads NumPy arrays
and scalars, Python numbers, strings, None, array-likes and, failing all else, plain objects
compared with ``==``.

Adding a framework is one module with a ``to_leaf(obj) -> Leaf | None`` function and one line
in ``_BACKENDS``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any, Literal

import numpy as np

__all__ = ["Leaf", "backend_of", "expand", "is_array_leaf", "normalize_device", "to_leaf"]

# top-level module of a value's type -> the backend module that reads it
_BACKENDS: dict[str, str] = {
    "torch": "nearly.backends.torch",
    "jax": "nearly.backends.jax",
    "jaxlib": "nearly.backends.jax",
    "tensorflow": "nearly.backends.tensorflow",
    "keras": "nearly.backends.tensorflow",
}


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

    @property
    def dtype(self) -> np.dtype[Any] | None:
        return None if self.array is None else self.array.dtype

    @property
    def shape(self) -> tuple[int, ...] | None:
        return None if self.array is None else tuple(self.array.shape)


@lru_cache(maxsize=512)
def _backend_for(cls: type) -> ModuleType:
    root = cls.__module__.partition(".")[0]
    name = _BACKENDS.get(root, "nearly.backends.numpy")
    return importlib.import_module(name)


def to_leaf(obj: Any) -> Leaf:
    """Read ``obj`` as a leaf, with the backend of its library."""
    backend = _backend_for(type(obj))  # type: ignore[arg-type]
    leaf: Leaf | None = backend.to_leaf(obj)
    if leaf is None:
        from nearly.backends import numpy as np_backend

        leaf = np_backend.to_leaf(obj)
        assert leaf is not None
    return leaf


def normalize_device(name: str) -> str:
    """One spelling per device across frameworks: "cpu" for host memory, "gpu:0" for the first
    GPU (torch "cuda:0", TensorFlow "/job:localhost/replica:0/task:0/device:GPU:0", JAX
    "cuda:0"), anything else as given."""
    low = name.lower()
    tail = low.rsplit("device:", 1)[-1]
    kind, _, index = tail.partition(":")
    kind = kind.removeprefix("tfrt_")
    if kind.startswith("cpu"):
        return "cpu"
    if kind in ("gpu", "cuda", "rocm"):
        return f"gpu:{index or 0}"
    return name


def backend_of(obj: Any) -> ModuleType:
    """The backend module that reads values of ``obj``'s type."""
    return _backend_for(type(obj))  # type: ignore[arg-type]


def expand(obj: Any) -> list[Any] | None:
    """The items of a framework value that is really a container (a TensorFlow
    RaggedTensor: its rows), or None. Only libraries already imported are asked."""
    root = type(obj).__module__.partition(".")[0]
    if root not in _BACKENDS:
        return None
    backend = _backend_for(type(obj))  # type: ignore[arg-type]
    items: list[Any] | None = getattr(backend, "expand", lambda _: None)(obj)
    return items


def is_array_leaf(obj: Any) -> bool:
    """Whether a non-container value is array-like or a number (so a list facing it is read
    as an array)."""
    if isinstance(obj, (bool, int, float, complex, np.generic, np.ndarray)):
        return True
    root = type(obj).__module__.partition(".")[0]
    if root in _BACKENDS:
        return True
    return hasattr(obj, "__array__") or hasattr(obj, "__array_interface__")
