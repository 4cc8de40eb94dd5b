"""The JAX backend: concrete jax.Array values. Traced values (inside jit, vmap, grad) have no
values to compare, so they raise a clear error instead of passing silently."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from nearly._tree import type_name
from nearly.backends import Leaf

__all__ = ["to_leaf"]


def to_leaf(obj: Any) -> Leaf | None:
    if isinstance(obj, jax.core.Tracer):
        raise TypeError(
            f"nearly cannot check a traced JAX value ({type(obj).__name__}): inside jax.jit, "
            "vmap or grad there are no values yet, and a check there would be silently "
            "skipped. Check concrete arrays outside the transformation, or run the check on "
            "the host with jax.debug.callback(lambda a, e: nearly.assert_close(a, e), a, e)."
        )
    if not isinstance(obj, jax.Array):
        return None
    devices = obj.devices()
    device = ",".join(sorted(str(d) for d in devices))
    return Leaf(obj, "array", type_name(obj), np.asarray(obj), device=device)
