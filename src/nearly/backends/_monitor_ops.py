"""What :class:`nearly.Monitor` needs from a framework: pack one step's values into one small
float32 vector where they live, read a batch of such vectors back, and compute a 0/1 step factor,
all without a host sync. This module holds the NumPy version and picks the one of a value's
framework (each backend module defines its own ``MonitorOps``); a framework is imported only when
a value of it arrives."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nearly.backends import backend_of

__all__ = ["Bound", "MonitorOps", "for_value", "root"]

# One bounded series for the step factor: (series index, is a norm, start, stop, low, high);
# a norm's value is the L2 norm of the per-tensor norms packed at [start, stop).
Bound = tuple[int, bool, int, int, float, float]


def root(obj: Any) -> str:
    """The top-level package of a value's type."""
    return type(obj).__module__.partition(".")[0]


def for_value(sample: Any) -> MonitorOps:
    """The ops of ``sample``'s framework: its backend's ``MonitorOps`` (NumPy's for anything
    else)."""
    ops_type: type[MonitorOps] = getattr(backend_of(sample), "MonitorOps", MonitorOps)
    return ops_type()


class MonitorOps:
    """How one framework packs a step into one small float32 device vector, reads vectors back,
    and computes a step factor, without a host sync. The vector holds the scalars first, then
    the L2 norm of every tensor of every norm series (a None tensor counts 0)."""

    name = "numpy"
    # Re-runs a batch through a model of this framework layer by layer and names the layer that
    # produced the first non-finite value: ``localize(model, batch, event) -> str``. None where
    # the framework has no models.
    localize: Callable[[Any, Any, Any], str] | None = None
    # True where the packed per-tensor entries are sum(t**2) / 2 instead of norms
    halves = False

    def pack(self, scalars: Sequence[Any], tensors: Sequence[Any]) -> Any:
        vals = []
        for s in scalars:
            arr = np.asarray(s, dtype=np.float64)
            if arr.size != 1:
                raise ValueError(f"a recorded value must hold one element, got shape {arr.shape}")
            vals.append(float(arr.reshape(())))
        for t in tensors:
            sq = 0.0 if t is None else float(np.sum(np.square(np.asarray(t, np.float64))))
            vals.append(math.sqrt(sq))
        return np.array(vals, dtype=np.float32)

    def fetch(self, vectors: Sequence[Any]) -> np.ndarray[Any, Any]:
        return np.stack([np.asarray(v, dtype=np.float32) for v in vectors])

    def factor(self, vector: Any, bounds: Sequence[Bound]) -> Any:
        v = np.asarray(vector, dtype=np.float64)
        ok = bool(np.all(np.isfinite(v)))
        for _, is_norm, a, b, lo, hi in bounds:
            x = float(np.sqrt(np.sum(np.square(v[a:b])))) if is_norm else float(v[a])
            ok = ok and lo <= x <= hi
        return np.float32(1.0 if ok else 0.0)

    def gate(self, grads: Sequence[Any], factor: Any) -> list[Any]:
        keep = np.asarray(factor) > 0
        return [None if g is None else np.where(keep, g, np.zeros_like(g)) for g in grads]
