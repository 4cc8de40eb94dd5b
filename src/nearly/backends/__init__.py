"""Backends turn a user's leaf value into a :class:`Leaf` the framework-free core can compare.

One module per array library. A backend is imported the first time a value of its library's
type is seen (looked up by the top-level module of the value's type), so ``import nearly``
imports NumPy only. Values of any other type go to the NumPy backend, which reads NumPy arrays
and scalars, Python numbers, strings, None, array-likes and, failing all else, plain objects
compared with ``==``.

Adding a framework, or any third-party type, is one module satisfying the
:class:`~nearly.backends._base.Backend` protocol (``to_leaf(obj) -> Leaf | None``, plus the
optional parts it documents) and one registration: a line in ``_BACKENDS`` for the backends
shipped here, :func:`register` for any other.

May import: ``nearly._prim`` and the backend's own framework; never the core above it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping, Sequence
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from nearly.backends._base import (
    DENSIFY_LIMIT,
    Backend,
    CompilerBackend,
    DeviceBackend,
    GraphBackend,
    Leaf,
    Unreadable,
)

if TYPE_CHECKING:  # mypy checks each shipped backend module against its protocol
    from nearly.backends import jax as _jax
    from nearly.backends import numpy as _numpy
    from nearly.backends import tensorflow as _tensorflow
    from nearly.backends import torch as _torch

    _jax_backend: DeviceBackend = _jax
    _tensorflow_backend: DeviceBackend = _tensorflow
    _tensorflow_graph: GraphBackend = _tensorflow
    _torch_backend: DeviceBackend = _torch
    _torch_compiler: CompilerBackend = _torch
    _host_backend: Backend = _numpy

__all__ = [
    "DENSIFY_LIMIT",
    "Backend",
    "CompilerBackend",
    "DeviceBackend",
    "GraphBackend",
    "Leaf",
    "Unreadable",
    "backend_of",
    "compiling_backend",
    "expand",
    "graph_backend",
    "host_values",
    "is_array_leaf",
    "loaded_versions",
    "normalize_device",
    "register",
    "to_leaf",
    "tracing_backend",
]

# top-level module of a value's type -> the backend module that reads it
_BACKENDS: dict[str, str] = {
    "torch": "nearly.backends.torch",
    "jax": "nearly.backends.jax",
    "jaxlib": "nearly.backends.jax",
    "tensorflow": "nearly.backends.tensorflow",
    "keras": "nearly.backends.tensorflow",
    "pandas": "nearly.backends.pandas",
    "scipy": "nearly.backends.scipy",
    "xarray": "nearly.backends.xarray",
}
# dtype libraries whose values the NumPy backend reads
_HOST_LIBRARIES = ("ml_dtypes",)
# frameworks whose pytree registries name containers of their own (asked, once imported, about
# values of types defined elsewhere: a user class registered as a pytree node); their backends
# provide ``pytree_children(obj) -> dict | None``
_PYTREES: dict[str, str] = {"jax": "nearly.backends.jax", "torch": "nearly.backends.torch"}
# packages whose values are never pytree nodes of their own
_NEVER_PYTREES = frozenset({"builtins", "numpy", "ml_dtypes", "nearly", "fractions", "decimal"})
# packages whose compiler traces Python bytecode, and their backends (CompilerBackend)
_COMPILERS: dict[str, str] = {"torch": "nearly.backends.torch"}


def register(package: str, backend: str, *, compiler: bool = False) -> None:
    """Have values whose type is defined in the top-level package ``package`` read by the
    backend module ``backend`` (a dotted module name satisfying
    :class:`~nearly.backends._base.Backend`), imported the first time such a value is seen.
    ``compiler=True``: the package has a compiler that traces Python, and the backend
    satisfies :class:`~nearly.backends._base.CompilerBackend` (asked once the package is
    imported).

    >>> register("mylib", "mylib_nearly_backend")  # doctest: +SKIP
    """
    if not (isinstance(package, str) and package.isidentifier()):
        raise ValueError(f"register: package must be a top-level package name, got {package!r}")
    if not (isinstance(backend, str) and all(p.isidentifier() for p in backend.split("."))):
        raise ValueError(f"register: backend must be a dotted module name, got {backend!r}")
    _BACKENDS[package] = backend
    if compiler:
        _COMPILERS[package] = backend
    else:
        _COMPILERS.pop(package, None)
    _backend_for.cache_clear()


@lru_cache(maxsize=512)
def _backend_for(cls: type) -> Backend:
    root = cls.__module__.partition(".")[0]
    name = _BACKENDS.get(root, "nearly.backends.numpy")
    module: ModuleType = importlib.import_module(name)
    if not callable(getattr(module, "to_leaf", None)):
        raise TypeError(f"backend module {name!r} (registered for {root!r}) has no to_leaf()")
    return cast(Backend, module)


def to_leaf(obj: Any) -> Leaf:
    """Read ``obj`` as a leaf, with the backend of its library."""
    backend = _backend_for(type(obj))  # type: ignore[arg-type]
    leaf: Leaf | None = backend.to_leaf(obj)
    if leaf is None:
        from nearly.backends import numpy as np_backend

        leaf = np_backend.to_leaf(obj)
        assert leaf is not None
    return leaf


def host_values(leaf: Leaf, what: str, limit: int | None = DENSIFY_LIMIT) -> np.ndarray[Any, Any]:
    """The values of a leaf as a NumPy array on the host: a device tensor copied, a sparse
    value densified (refused beyond ``limit`` elements), a meta tensor refused (it has none).
    ``what`` names the caller in the errors."""
    if leaf.meta:
        raise TypeError(f"{what} needs values, and a meta {leaf.type_name} holds none")
    if leaf.native:
        return np.asarray(backend_of(leaf.obj).host_array(leaf.obj))
    arr = leaf.array
    assert arr is not None
    if leaf.sparse is None:
        return arr
    if limit is not None and arr.size > limit:
        raise ValueError(
            f"{what} needs the values of the sparse {leaf.type_name} of shape {arr.shape} "
            f"densified, and {arr.size:,} elements is more than nearly densifies ({limit:,})"
        )
    out = np.zeros(arr.size, arr.dtype)
    out[leaf.sparse.flat] = leaf.sparse.values
    return out.reshape(arr.shape)


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


def backend_of(obj: Any) -> Any:
    """The backend module that reads values of ``obj``'s type (its optional parts, such as
    ``host_array`` or ``MonitorOps``, are looked up by the caller)."""
    return _backend_for(type(obj))  # type: ignore[arg-type]


def expand(obj: Any) -> list[Any] | dict[Any, Any] | None:
    """The items of a framework value that is really a container (a TensorFlow
    RaggedTensor: its rows; a pandas DataFrame: its index and columns), or None. Only
    libraries already imported are asked."""
    root = type(obj).__module__.partition(".")[0]
    if root not in _BACKENDS:
        if root in _NEVER_PYTREES or isinstance(obj, Mapping | Sequence):
            return None
        # a class registered as a pytree node by a framework already imported
        for package, name in _PYTREES.items():
            if package in sys.modules:
                module = sys.modules.get(name) or importlib.import_module(name)
                found: dict[Any, Any] | None = module.pytree_children(obj)
                if found is not None:
                    return found
        return None
    backend = _backend_for(type(obj))  # type: ignore[arg-type]
    items: list[Any] | dict[Any, Any] | None = getattr(backend, "expand", lambda _: None)(obj)
    return items


def is_array_leaf(obj: Any) -> bool:
    """Whether a non-container value is array-like or a number (so a list facing it is read
    as an array)."""
    if isinstance(obj, (bool, int, float, complex, np.generic, np.ndarray)):
        return True
    root = type(obj).__module__.partition(".")[0]
    if root in _BACKENDS:
        if isinstance(obj, Mapping):  # a leaf only where its backend reads it as one (a
            # scipy dok array), not a container of a framework (Keras' tracked dicts)
            return _backend_for(type(obj)).to_leaf(obj) is not None
        return True
    return hasattr(obj, "__array__") or hasattr(obj, "__array_interface__")


def graph_backend(obj: Any) -> GraphBackend:
    """The backend of a symbolic leaf (one whose ``to_leaf`` gave ``kind == "symbolic"``)."""
    backend = backend_of(obj)
    if not callable(getattr(backend, "assert_close_in_graph", None)):
        raise TypeError(f"{type(obj).__name__} is symbolic but its backend has no graph ops")
    return cast(GraphBackend, backend)


def loaded_versions() -> dict[str, str]:
    """The version of every library nearly reads that is imported now (none is imported
    here)."""
    found = {}
    for package in (*_BACKENDS, *_HOST_LIBRARIES):
        module = sys.modules.get(package)
        if module is not None:
            found[package] = str(getattr(module, "__version__", "?"))
    return found


def compiling_backend() -> CompilerBackend | None:
    """The backend of a framework whose compiler is tracing Python right now, if any. Only
    frameworks already imported are asked, so this costs a dictionary lookup per compiler."""
    for package, name in _COMPILERS.items():
        if package in sys.modules:
            module = sys.modules.get(name) or importlib.import_module(name)
            if module.compiling():
                return cast(CompilerBackend, module)
    return None


def tracing_backend() -> GraphBackend | None:
    """The backend of a framework that is tracing a graph right now, if any. Only backends
    already imported are asked (a framework never seen cannot be tracing nearly's checks)."""
    for name in dict.fromkeys(_BACKENDS.values()):
        module = sys.modules.get(name)
        tracing = getattr(module, "tracing", None)
        if callable(tracing) and tracing():
            return cast(GraphBackend, module)
    return None
