"""Build the same array in NumPy, PyTorch, TensorFlow and JAX.

Each converter takes anything ``numpy.asarray`` reads (and an optional dtype name such as
``"float32"``, ``"bfloat16"`` or ``"float8_e4m3fn"``) and returns that framework's array with
exactly those values and that dtype. A framework that is not installed, or that has no such
dtype, skips the calling test through ``pytest.importorskip`` / ``pytest.skip``.

JAX arrays are created with 64-bit types enabled, so ``int64``/``float64``/``complex128``
stay what they say instead of being narrowed to 32 bits.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__all__ = [
    "CONVERTERS",
    "FRAMEWORKS",
    "TYPE_NAMES",
    "convert",
    "import_framework",
    "ml_dtypes",
    "needs_ml_dtypes",
    "numpy_dtype",
    "to_jax",
    "to_numpy",
    "to_tf",
    "to_torch",
    "with_ml_dtypes",
]

FRAMEWORKS = ["numpy", "torch", "tensorflow", "jax"]

# how nearly names each framework's array type in its reports
TYPE_NAMES = {
    "numpy": "numpy.ndarray",
    "torch": "torch.Tensor",
    "tensorflow": "tf.EagerTensor",
    "jax": "jax.Array",
}

_MODULES = {"numpy": "numpy", "torch": "torch", "tensorflow": "tensorflow", "jax": "jax"}


def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


#: ml_dtypes (bfloat16, float8 formats) where installed, else None: tests of those formats are
#: marked ``needs_ml_dtypes`` (parameters: ``with_ml_dtypes(...)``) and skip in a NumPy-only run
ml_dtypes = _optional("ml_dtypes")
needs_ml_dtypes = pytest.mark.skipif(ml_dtypes is None, reason="needs ml_dtypes (bfloat16, float8)")


def with_ml_dtypes(*values: Any, id: str | None = None) -> Any:
    """A parameter set that uses an ml_dtypes format (skipped without ml_dtypes)."""
    return pytest.param(*values, marks=needs_ml_dtypes, id=id)


def import_framework(framework: str) -> ModuleType:
    """The framework's top-level module; skips the test when it is not installed."""
    return pytest.importorskip(_MODULES[framework])


def numpy_dtype(name: str | None) -> np.dtype[Any] | None:
    """A NumPy dtype from its name, including the ml_dtypes formats (bfloat16, float8_*)."""
    if name is None:
        return None
    try:
        return np.dtype(name)
    except TypeError:
        ml_dtypes = pytest.importorskip("ml_dtypes")
        return np.dtype(getattr(ml_dtypes, name))


def to_numpy(x: Any, dtype: str | None = None) -> np.ndarray[Any, Any]:
    """A fresh NumPy array (never a view of ``x``)."""
    return np.array(x, dtype=numpy_dtype(dtype))


# dtypes NumPy has through ml_dtypes only
_ML_NAMES = {
    "bfloat16",
    "float8_e4m3fn",
    "float8_e4m3fnuz",
    "float8_e5m2",
    "float8_e5m2fnuz",
}


def to_torch(x: Any, dtype: str | None = None) -> Any:
    torch = import_framework("torch")
    arr = to_numpy(x, dtype)
    name = arr.dtype.name
    if name in _ML_NAMES:
        target = getattr(torch, name, None)
        if target is None:
            pytest.skip(f"torch has no {name}")
        # every value of these formats is exact in float32
        return torch.from_numpy(arr.astype(np.float32)).to(target)
    return torch.from_numpy(arr.copy())


def to_tf(x: Any, dtype: str | None = None) -> Any:
    tf = import_framework("tensorflow")
    arr = to_numpy(x, dtype)
    name = arr.dtype.name
    if name in _ML_NAMES:
        target = getattr(tf, name, None)
        if target is None:
            pytest.skip(f"tensorflow has no {name}")
        return tf.cast(tf.constant(arr.astype(np.float32)), target)
    return tf.constant(arr)


def to_jax(x: Any, dtype: str | None = None) -> Any:
    jax = import_framework("jax")
    import jax.numpy as jnp

    arr = to_numpy(x, dtype)
    with jax.enable_x64(True):
        out = jnp.asarray(arr)
    assert out.dtype == arr.dtype, (out.dtype, arr.dtype)
    return out


CONVERTERS: dict[str, Callable[..., Any]] = {
    "numpy": to_numpy,
    "torch": to_torch,
    "tensorflow": to_tf,
    "jax": to_jax,
}


def convert(framework: str, x: Any, dtype: str | None = None) -> Any:
    """``x`` as an array of ``framework``."""
    return CONVERTERS[framework](x, dtype)
