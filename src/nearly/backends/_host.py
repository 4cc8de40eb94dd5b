"""Shared by the framework backends: NumPy views of framework dtypes that NumPy lacks."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ml_dtype"]


def ml_dtype(name: str) -> np.dtype[Any]:
    """The ml_dtypes NumPy dtype called ``name`` (bfloat16, float8_e4m3fn, ...).

    Low-precision framework tensors are read as these dtypes, bit for bit, so ULPs and default
    tolerances follow the framework's own format; nothing is upcast.
    """
    try:
        import ml_dtypes
    except ImportError:  # pragma: no cover - every framework extra installs it
        raise TypeError(
            f"comparing {name} tensors needs the ml_dtypes package: pip install ml_dtypes"
        ) from None
    dt: np.dtype[Any] = np.dtype(getattr(ml_dtypes, name))
    return dt
