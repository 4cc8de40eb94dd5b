"""What :class:`nearly.Monitor` needs from a framework: pack one step's values into one small
float32 vector where they live, read a batch of such vectors back, and compute a 0/1 step factor,
all without a host sync; and, for the first non-finite value, re-run the batch layer by layer
and report what each layer did (a :class:`Replay` of :class:`LayerCall` records, which
:mod:`nearly._monitor.localize` reads). This module holds the NumPy version and picks the one of
a value's framework (each backend module defines its own ``MonitorOps``); a framework is
imported only when a value of it arrives."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from nearly.backends import backend_of

__all__ = [
    "Bound",
    "LayerCall",
    "MonitorOps",
    "NonFinite",
    "Replay",
    "Ring",
    "for_value",
    "root",
]

# One bounded series for the step factor: (series index, is a norm, start, stop, low, high);
# a norm's value is the L2 norm of the per-tensor norms packed at [start, stop).
Bound = tuple[int, bool, int, int, float, float]


@dataclass(frozen=True)
class NonFinite:
    """The non-finite elements of some tensors: how many of how many, and the first one (its
    index in its tensor and whether it is "nan", "inf" or "-inf")."""

    count: int
    total: int
    first_index: tuple[int, ...]
    first_value: Literal["nan", "inf", "-inf"]


def nonfinite_of(arrays: Sequence[np.ndarray[Any, Any]]) -> NonFinite | None:
    """The non-finite elements of host float arrays (None when every element is finite)."""
    count = total = 0
    first: tuple[tuple[int, ...], Literal["nan", "inf", "-inf"]] | None = None
    for arr in arrays:
        bad = ~np.isfinite(arr)
        total += arr.size
        n = int(np.count_nonzero(bad))
        if n and first is None:
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            first = index, word_of(complex(arr[index]).real)
        count += n
    return None if first is None else NonFinite(count, total, *first)


def word_of(value: float) -> Literal["nan", "inf", "-inf"]:
    """How a non-finite value is named."""
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


@dataclass(frozen=True)
class LayerCall:
    """One call of one layer (a Keras layer, a torch module) while a batch was re-run: its name
    (``""`` for the model itself) and class, whether its inputs were finite, how many of its
    output elements were not, and which of its own weights are non-finite."""

    name: str
    type: str
    inputs_finite: bool
    bad_outputs: int
    outputs: int
    bad_weights: tuple[str, ...] = ()


@dataclass(frozen=True)
class Replay:
    """What re-running one batch layer by layer found, as data.

    ``unit`` is what the framework calls a layer ("layer", "module"). ``bad_weights`` lists
    weights already non-finite before the re-run: then the batch was not re-run (``calls`` is
    empty). ``loss`` says whether the loss, recomputed from the re-run's output, was finite
    ("finite", "nonfinite"), could not be recomputed (the error's type name), or was not
    recomputed (None); ``bad_gradients`` names weights whose stored gradients are non-finite.
    """

    unit: str
    inputs: NonFinite | None
    targets: NonFinite | None
    bad_weights: tuple[str, ...]
    calls: tuple[LayerCall, ...] = ()
    loss: str | None = None
    bad_gradients: tuple[str, ...] = ()


class Ring(Protocol):
    """A ring buffer of per-step vectors on the device, for steps recorded inside a compiled
    graph (where the host cannot be reached): written by graph ops, read when the host checks.
    """

    def write(self, vector: Any) -> Any:
        """Record ``vector`` as the next step; returns the step index (a tensor)."""

    def factor(self, vector: Any, skipped: Sequence[tuple[int, bool, int, int]]) -> Any:
        """The 0/1 step factor of ``vector`` under the bounds held on the device."""

    def read(self) -> tuple[int, np.ndarray[Any, Any], int]:
        """(first step, rows, lost) for the steps written since the last read."""

    def set_bounds(self, lo: np.ndarray[Any, Any], hi: np.ndarray[Any, Any]) -> None:
        """The skip bounds the device uses from now on."""


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
    # Re-runs a batch through a model of this framework layer by layer and records what each
    # layer did: ``replay(model, batch) -> Replay``. None where the framework has no models.
    replay: Callable[[Any, Any], Replay] | None = None
    # True where the packed per-tensor entries are sum(t**2) / 2 instead of norms
    halves = False

    def in_graph(self, value: Any) -> bool:
        """Whether ``value`` is a symbolic tensor of a graph being traced (steps recorded there
        go to a device :class:`Ring`)."""
        return False

    def ring(self, width: int, series: int, capacity: int) -> Ring:
        """A device ring for steps recorded inside a graph."""
        raise TypeError(f"{self.name} has no graph mode to record steps in")

    def tensor_name(self, tensor: Any) -> str | None:
        """The name a tensor carries (a variable's path), or None."""
        name = getattr(tensor, "path", None) or getattr(tensor, "name", None)
        return name.removesuffix(":0") if isinstance(name, str) else None

    def parameter_names(self, model: Any) -> dict[int, str]:
        """The model's parameters' names by the ``id`` of each parameter (empty where the
        framework's models do not name them)."""
        return {}

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
