"""The JAX backend: concrete jax.Array values. Traced values (inside jit, vmap, grad) have no
values to compare, so they raise a clear error instead of passing silently."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nearly._prim import dtypes as _dtypes
from nearly.backends import _monitor_ops
from nearly.backends._base import Attr, Leaf, Unreadable, type_name

__all__ = [
    "MonitorOps",
    "device_verdict",
    "expand",
    "float64_context",
    "host_array",
    "pytree_children",
    "to_leaf",
    "upcast",
]


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
    if obj.is_deleted():
        raise Unreadable(
            f"{type_name(obj)} of shape {tuple(obj.shape)}",
            "it was deleted (its buffer was donated to a jitted call, or .delete() was called); "
            "compare a copy kept before the call",
        )
    device = ",".join(sorted(str(d) for d in obj.devices()))
    if is_native(obj):
        # no host copy: a zero-strided stand-in carries the shape and dtype
        stand_in = np.broadcast_to(np.zeros((), np.dtype(obj.dtype)), tuple(obj.shape))
        return Leaf(obj, "array", type_name(obj), stand_in, device=device, native=True)
    return Leaf(obj, "array", type_name(obj), np.asarray(obj), device=device)


def _is_key(obj: Any) -> bool:
    return isinstance(obj, jax.Array) and jnp.issubdtype(obj.dtype, jax.dtypes.prng_key)


def expand(obj: Any) -> dict[Any, Any] | None:
    """A typed PRNG key array (``jax.random.key``) is its implementation's name and its key
    data: two keys are equal when both are. Any other registered pytree node: its children."""
    if _is_key(obj):
        impl = str(jax.random.key_impl(obj))
        return {Attr("impl"): impl, Attr("key_data"): jax.random.key_data(obj)}
    if isinstance(obj, jax.Array):
        return None
    return pytree_children(obj)


def pytree_children(obj: Any) -> dict[Any, Any] | None:
    """The children of a node registered with ``jax.tree_util`` (a class registered with
    ``register_pytree_node_class``, ``register_pytree_with_keys``...) under their key paths:
    an attribute key is ``.name``, a dict key or index is ``[key]``. None for a leaf."""
    flat, _ = jax.tree_util.tree_flatten_with_path(obj, is_leaf=lambda x: x is not obj)
    if len(flat) == 1 and not flat[0][0]:
        return None  # not a registered node: a leaf of its own
    children: dict[Any, Any] = {}
    for path, child in flat:
        (entry,) = path
        if isinstance(entry, jax.tree_util.GetAttrKey):
            children[Attr(entry.name)] = child
        elif isinstance(entry, jax.tree_util.SequenceKey):
            children[entry.idx] = child
        else:  # DictKey, FlattenedIndexKey
            children[entry.key] = child
    return children


# --------------------------------------------------------------------- on-device verdicts

#: Arrays on the CPU are read as NumPy views (free); arrays elsewhere are checked where they
#: live. Tests set this to exercise the on-device path on the CPU.
NATIVE_ON_CPU = False


def is_native(obj: Any) -> bool:
    if not isinstance(obj, jax.Array):
        return False
    return NATIVE_ON_CPU or any(d.platform != "cpu" for d in obj.devices())


def host_array(obj: Any) -> np.ndarray[Any, Any]:
    return np.asarray(obj)


class _JaxOps:
    """The handful of array operations the shared on-device kernel needs."""

    def __init__(self) -> None:
        self.f64 = bool(getattr(jax.config, "jax_enable_x64", False))

    def flat_pair(self, x: Any, y: Any) -> tuple[jax.Array, jax.Array]:
        ref = next(v for v in (x, y) if isinstance(v, jax.Array))
        device = next(iter(ref.devices()))
        a, e = (
            v if isinstance(v, jax.Array) else jax.device_put(np.asarray(v), device) for v in (x, y)
        )
        a, e = jnp.broadcast_arrays(a, e)
        return a.reshape(-1), e.reshape(-1)

    def work(self, x: jax.Array, complex_: bool) -> jax.Array:
        if complex_:
            return x.astype(jnp.complex128 if self.f64 else jnp.complex64)
        return x.astype(jnp.float64 if self.f64 else jnp.float32)

    def is_complex(self, x: jax.Array) -> bool:
        return bool(jnp.iscomplexobj(x))

    def is_float(self, x: jax.Array) -> bool:
        return bool(jnp.issubdtype(x.dtype, jnp.inexact))

    def itemsize(self, x: Any) -> int:
        return int(x.dtype.itemsize)

    def same_dtype(self, x: jax.Array, y: jax.Array) -> bool:
        return bool(x.dtype == y.dtype)

    def count(self, mask: jax.Array) -> int:
        return int(jnp.count_nonzero(mask))

    def nonzero(self, mask: jax.Array) -> jax.Array:
        return jnp.nonzero(mask)[0]

    def concat(self, parts: list[jax.Array]) -> jax.Array:
        return jnp.concatenate(parts) if parts else jnp.zeros(0, dtype=jnp.int32)

    def take(self, x: Any, index: Any) -> Any:
        return x[index]

    def maximum(self, x: jax.Array, y: jax.Array) -> jax.Array:
        return jnp.maximum(x, y)

    def to_host(self, x: jax.Array) -> np.ndarray[Any, Any]:
        return np.asarray(x)


def device_verdict(actual: Any, expected: Any, rule: Any) -> Any:
    """The tolerance rule run on the arrays' device (see :mod:`nearly.backends._device`)."""
    from nearly.backends._device import device_verdict as kernel

    return kernel(_JaxOps(), actual, expected, rule)


# ----------------------------------------------------------------- for nearly.Monitor


class MonitorOps(_monitor_ops.MonitorOps):
    """JAX: one jitted dispatch per step (compiled once per structure), async like the rest."""

    name = "jax"

    def __init__(self) -> None:
        import jax
        import jax.numpy as jnp

        self.jax, self.jnp = jax, jnp

        def pack(scalars: list[Any], tensors: list[Any]) -> Any:
            parts = [jnp.reshape(jnp.asarray(s, jnp.float32), ()) for s in scalars]
            parts += [jnp.sqrt(jnp.sum(jnp.square(jnp.asarray(t, jnp.float32)))) for t in tensors]
            return jnp.stack(parts)

        self._pack = jax.jit(pack)

    def pack(self, scalars: Sequence[Any], tensors: Sequence[Any]) -> Any:
        jax, jnp = self.jax, self.jnp
        for v in [*scalars, *tensors]:
            if isinstance(v, jax.core.Tracer):
                raise TypeError(
                    "Monitor.step() got a traced JAX value: call it outside jax.jit with the "
                    "values your jitted step returns (dispatch stays asynchronous)"
                )
        for s in scalars:
            if jnp.size(s) != 1:
                raise ValueError(
                    f"a recorded value must hold one element, got shape {jnp.shape(s)}"
                )
        filled = [jnp.zeros((), jnp.float32) if t is None else t for t in tensors]
        return self._pack(list(scalars), filled)

    def fetch(self, vectors: Sequence[Any]) -> np.ndarray[Any, Any]:
        return np.asarray(self.jax.device_get(self.jnp.stack(list(vectors))), dtype=np.float32)

    def factor(self, vector: Any, bounds: Sequence[_monitor_ops.Bound]) -> Any:
        jnp = self.jnp
        ok = jnp.all(jnp.isfinite(vector))
        for _, is_norm, a, b, lo, hi in bounds:
            x = jnp.sqrt(jnp.sum(jnp.square(vector[a:b]))) if is_norm else vector[a]
            ok = ok & (x >= lo) & (x <= hi)
        return ok.astype(jnp.float32)

    def gate(self, grads: Sequence[Any], factor: Any) -> list[Any]:
        jnp = self.jnp
        return [None if g is None else jnp.where(factor > 0, g, jnp.zeros_like(g)) for g in grads]


def upcast(x: Any) -> Any:
    """A float array cast up to float64 and put back on its device. The cast is made on the
    host (exact): a device-side cast would compile a kernel for every shape."""
    if hasattr(x, "devices") and _dtypes.family(np.dtype(x.dtype)) == "float":
        wide = np.asarray(x).astype(np.float64)
        with jax.enable_x64(True):
            return jax.device_put(wide, next(iter(x.devices())))
    return x


def float64_context() -> AbstractContextManager[Any]:
    """JAX computes in float64 only with 64-bit types enabled: a reference run in float64 is
    made inside this context."""
    return jax.enable_x64(True)  # type: ignore[no-any-return]
