"""Training-time numerics monitor: record on the device every step, read on the host rarely.

A :class:`Monitor` keeps each step's raw values (the loss, the global gradient norm, the global
weight norm and any named scalar) where they were computed: a 0-d tensor per value, stacked into
one small device vector per step. The host reads the pending vectors in one transfer every
``check_every`` steps (or at :meth:`Monitor.check` / :meth:`Monitor.close`), then replays the
policies over the raw series in step order. Nothing in :meth:`Monitor.step` waits for the device.

Policies (:class:`Threshold`, :class:`Spike`, :class:`Ratio`, :class:`KOfN`, and the non-finite
check that is always on) are host-side state machines over one series each; they fire
:class:`Event` records that the monitor acts on (raise, warn, stop, skip, record). ``skip`` also
works between reads: each policy exports the bounds it would enforce on the next value, frozen at
the last read, and :attr:`Monitor.step_factor` compares the current step against them on the
device (a 0/1 tensor, no sync).

Framework specifics (how a 0-d value is made, a norm computed, a vector read) live in small
``MonitorOps`` classes of the backends (:mod:`nearly.backends._monitor_ops`), picked from the
type of the first value seen; frameworks are imported only when a value of theirs arrives.
Where a non-finite value started is found by :mod:`nearly._monitor.localize` from the
layer-by-layer re-run of the model's backend.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np

from nearly._monitor.localize import localize
from nearly.backends._monitor_ops import MonitorOps, Ring, for_value

__all__ = [
    "Event",
    "KOfN",
    "Monitor",
    "NumericsAlarm",
    "NumericsWarning",
    "Policy",
    "Ratio",
    "Spike",
    "Threshold",
]

Action = Literal["raise", "warn", "stop", "skip", "record"]
ACTIONS: tuple[str, ...] = ("raise", "warn", "stop", "skip", "record")

LOSS, GRAD_NORM, WEIGHT_NORM = "loss", "grad_norm", "weight_norm"
DEFAULT_CHECK_EVERY = 100


# ----------------------------------------------------------------------------- errors


class NumericsAlarm(AssertionError):
    """A monitor policy fired with the ``"raise"`` action.

    ``.event`` is the first event that raised; ``.events`` every event found by the same read.
    """

    def __init__(self, message: str, event: Event, events: Sequence[Event]) -> None:
        super().__init__(message)
        self.event = event
        self.events = list(events)


class NumericsWarning(UserWarning):
    """A monitor policy fired with the ``"warn"`` action."""


# ----------------------------------------------------------------------------- events


@dataclass
class Event:
    """One policy firing at one step.

    ``threshold`` says what the policy allowed there (as text, with the statistics behind it);
    ``last_good_step`` is the latest earlier step at which no policy fired (None if none);
    ``localization`` is the layer-by-layer diagnosis of a non-finite value, when one was run.
    """

    step: int
    series: str
    value: float
    policy: str
    threshold: str
    action: str
    last_good_step: int | None = None
    localization: str | None = None

    def describe(self, *, localization: bool = True) -> str:
        """One line (plus the localisation, if any and asked for)."""
        good = "none" if self.last_good_step is None else str(self.last_good_step)
        text = (
            f"step {self.step}: {self.series} = {_fmt(self.value)} — {self.policy}: "
            f"{self.threshold}; last good step: {good}"
        )
        if localization and self.localization:
            text += "\n  " + self.localization.replace("\n", "\n  ")
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "series": self.series,
            "value": self.value,
            "policy": self.policy,
            "threshold": self.threshold,
            "action": self.action,
            "last_good_step": self.last_good_step,
            "localization": self.localization,
        }


def _fmt(x: float) -> str:
    return f"{x:.6g}"  # nan, inf and -inf print as such


# ----------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class _Fired:
    statistic: float
    threshold: str


def _check_action(action: object, *, skip_ok: bool, who: str) -> str:
    if not isinstance(action, str) or action not in ACTIONS:
        raise ValueError(
            f"{who}: action must be one of {', '.join(map(repr, ACTIONS))}, got {action!r}"
        )
    if action == "skip" and not skip_ok:
        raise ValueError(
            f"{who}: action='skip' needs a bound the device can test on each raw value; "
            "use it with Threshold on raw values, Spike or Ratio"
        )
    return action


def _check_series(on: object, who: str) -> str:
    if not isinstance(on, str) or not on:
        raise TypeError(f"{who}: on= must name a recorded series (e.g. 'loss'), got {on!r}")
    return on


def _positive_int(value: object, name: str, who: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{who}: {name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{who}: {name} must be >= {minimum}, got {value}")
    return int(value)


def _finite_float(value: object, name: str, who: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{who}: {name} must be a number, got {type(value).__name__}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{who}: {name} must be finite, got {value!r}")
    return out


class Policy:
    """Base of the monitor's policies: one series, one action, a state fed in step order."""

    on: str
    action: str

    def _reset(self) -> None:
        """Forget every value seen (called when a monitor takes the policy)."""

    def _feed(self, value: float) -> _Fired | None:
        """Consume the next finite value of the series; return why it fired, if it did."""
        raise NotImplementedError

    def _bounds(self) -> tuple[float, float]:
        """The (low, high) the next raw value must stay within for this policy not to fire."""
        return (-math.inf, math.inf)

    def _copy(self) -> Policy:
        import copy

        fresh = copy.deepcopy(self)
        fresh._reset()
        return fresh

    def __repr__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        raise NotImplementedError


class Threshold(Policy):
    """Fires when a value (raw, its EMA, or its windowed mean) leaves ``[min, max]``.

    Args:
        max: the largest value allowed (None: no upper bound).
        min: the smallest value allowed (None: no lower bound).
        on: the series watched (``"loss"``, ``"grad_norm"``, ``"weight_norm"`` or a name given
            to :meth:`Monitor.step`).
        ema: if given (0 < ema <= 1), compare the exponential moving average
            ``m = ema * value + (1 - ema) * m`` (started at the first value) instead.
        window: if given, compare the mean of the last ``window`` values (once that many have
            been seen) instead.
        action: what the monitor does when it fires (default ``"raise"``).
    """

    def __init__(
        self,
        max: float | None = None,
        *,
        min: float | None = None,
        on: str = LOSS,
        ema: float | None = None,
        window: int | None = None,
        action: Action = "raise",
    ) -> None:
        who = "Threshold"
        if max is None and min is None:
            raise ValueError("Threshold: give max=, min= or both")
        self.max = None if max is None else _finite_float(max, "max", who)
        self.min = None if min is None else _finite_float(min, "min", who)
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"Threshold: min={self.min} is above max={self.max}")
        if ema is not None and window is not None:
            raise ValueError("Threshold: give ema= or window=, not both")
        if ema is not None:
            ema = _finite_float(ema, "ema", who)
            if not 0.0 < ema <= 1.0:
                raise ValueError(f"Threshold: ema must be in (0, 1], got {ema}")
        self.ema = ema
        self.window = None if window is None else _positive_int(window, "window", who)
        self.on = _check_series(on, who)
        raw = ema is None and window is None
        self.action = _check_action(action, skip_ok=raw, who=who)
        self._reset()

    def _reset(self) -> None:
        self._m: float | None = None
        self._values: deque[float] = deque(maxlen=self.window or 1)
        self._sum = 0.0

    def _feed(self, value: float) -> _Fired | None:
        if self.ema is not None:
            self._m = value if self._m is None else self.ema * value + (1 - self.ema) * self._m
            stat, what = self._m, f"its EMA (ema={self.ema:g}) {_fmt(self._m)}"
        elif self.window is not None:
            self._values.append(value)
            if len(self._values) < self.window:
                return None
            stat = math.fsum(self._values) / self.window
            what = f"its mean over the last {self.window} steps {_fmt(stat)}"
        else:
            stat, what = value, "the value"
        if self.max is not None and stat > self.max:
            return _Fired(stat, f"{what} is above max={_fmt(self.max)}")
        if self.min is not None and stat < self.min:
            return _Fired(stat, f"{what} is below min={_fmt(self.min)}")
        return None

    def _bounds(self) -> tuple[float, float]:
        lo = -math.inf if self.min is None else self.min
        hi = math.inf if self.max is None else self.max
        return (lo, hi)

    def describe(self) -> str:
        parts = []
        if self.max is not None:
            parts.append(f"max={self.max:g}")
        if self.min is not None:
            parts.append(f"min={self.min:g}")
        if self.ema is not None:
            parts.append(f"ema={self.ema:g}")
        if self.window is not None:
            parts.append(f"window={self.window}")
        parts.append(f"on={self.on!r}")
        return f"Threshold({', '.join(parts)})"


class Spike(Policy):
    """Fires when a value is more than ``z`` standard deviations above the mean of the previous
    ``window`` values (a one-sided rolling z-score; falls never fire).

    It stays quiet until ``warmup`` values have been seen. The standard deviation is floored at
    ``min_rel_std * |mean|`` so a flat series does not turn rounding noise into alarms. Every
    finite value enters the window, spikes included, so a lasting change of level stops firing
    once the window has adapted (a skipped step never stays skipped for good).

    Defaults follow the large-model precedent: window 128, 6σ, warm-up 20.
    """

    def __init__(
        self,
        *,
        on: str = LOSS,
        window: int = 128,
        z: float = 6.0,
        warmup: int = 20,
        min_rel_std: float = 1e-3,
        action: Action = "raise",
    ) -> None:
        who = "Spike"
        self.on = _check_series(on, who)
        self.window = _positive_int(window, "window", who, minimum=2)
        self.z = _finite_float(z, "z", who)
        if self.z <= 0:
            raise ValueError(f"Spike: z must be > 0, got {z}")
        self.warmup = _positive_int(warmup, "warmup", who, minimum=2)
        if self.warmup > self.window:
            raise ValueError(f"Spike: warmup={warmup} exceeds window={window}")
        self.min_rel_std = _finite_float(min_rel_std, "min_rel_std", who)
        if self.min_rel_std < 0:
            raise ValueError(f"Spike: min_rel_std must be >= 0, got {min_rel_std}")
        self.action = _check_action(action, skip_ok=True, who=who)
        self._reset()

    def _reset(self) -> None:
        self._values: deque[float] = deque(maxlen=self.window)
        self._sum = self._sumsq = 0.0
        self._pushes = 0

    def _push(self, value: float) -> None:
        if len(self._values) == self.window:
            old = self._values[0]
            self._sum -= old
            self._sumsq -= old * old
        self._values.append(value)
        self._sum += value
        self._sumsq += value * value
        self._pushes += 1
        if self._pushes % self.window == 0:  # re-sum now and then: no drift from the updates
            self._sum = math.fsum(self._values)
            self._sumsq = math.fsum(v * v for v in self._values)

    def _stats(self) -> tuple[float, float, float] | None:
        n = len(self._values)
        if n < self.warmup:
            return None
        mean = self._sum / n
        var = self._sumsq / n - mean * mean
        if var < 1e-8 * mean * mean or var <= 0.0:  # cancellation: compute it exactly
            var = math.fsum((v - mean) ** 2 for v in self._values) / n
        std = math.sqrt(var)
        floor = self.min_rel_std * abs(mean)
        return mean, std, mean + self.z * max(std, floor, 1e-300)

    def _feed(self, value: float) -> _Fired | None:
        stats = self._stats()
        self._push(value)
        if stats is None:
            return None
        mean, std, limit = stats
        if value > limit:
            zscore = (value - mean) / max(std, 1e-300)
            return _Fired(
                value,
                f"more than z={self.z:g} standard deviations above the mean of the last "
                f"{len(self._values) - 1} steps: allowed up to {_fmt(limit)} "
                f"(mean {_fmt(mean)}, std {_fmt(std)}, z-score {zscore:.3g})",
            )
        return None

    def _bounds(self) -> tuple[float, float]:
        stats = self._stats()
        return (-math.inf, math.inf if stats is None else stats[2])

    def describe(self) -> str:
        return f"Spike(on={self.on!r}, window={self.window}, z={self.z:g}, warmup={self.warmup})"


class Ratio(Policy):
    """Fires when a value exceeds ``factor`` times the largest value seen before it (after
    ``warmup`` values). Meant for positive series such as a loss or a gradient norm; the
    large-model precedent is a 10× running-max rule for loss spikes."""

    def __init__(
        self,
        factor: float = 10.0,
        *,
        on: str = LOSS,
        warmup: int = 1,
        action: Action = "raise",
    ) -> None:
        who = "Ratio"
        self.factor = _finite_float(factor, "factor", who)
        if self.factor <= 0:
            raise ValueError(f"Ratio: factor must be > 0, got {factor}")
        self.on = _check_series(on, who)
        self.warmup = _positive_int(warmup, "warmup", who)
        self.action = _check_action(action, skip_ok=True, who=who)
        self._reset()

    def _reset(self) -> None:
        self._max = -math.inf
        self._seen = 0

    def _feed(self, value: float) -> _Fired | None:
        fired = None
        if self._seen >= self.warmup and value > self.factor * self._max:
            fired = _Fired(
                value,
                f"above {self.factor:g} × the running max {_fmt(self._max)} "
                f"(allowed up to {_fmt(self.factor * self._max)})",
            )
        self._max = max(self._max, value)
        self._seen += 1
        return fired

    def _bounds(self) -> tuple[float, float]:
        if self._seen < self.warmup:
            return (-math.inf, math.inf)
        return (-math.inf, self.factor * self._max)

    def describe(self) -> str:
        return f"Ratio(factor={self.factor:g}, on={self.on!r}, warmup={self.warmup})"


class KOfN(Policy):
    """Fires when ``policy`` would have fired on at least ``k`` of the last ``n`` steps.

    The inner policy's own action is ignored; this policy's ``action`` applies.
    """

    def __init__(self, policy: Policy, k: int, n: int, *, action: Action = "raise") -> None:
        who = "KOfN"
        if not isinstance(policy, Policy) or isinstance(policy, KOfN):
            raise TypeError(f"KOfN: policy must be a Threshold, Spike or Ratio, got {policy!r}")
        self.k = _positive_int(k, "k", who)
        self.n = _positive_int(n, "n", who)
        if self.k > self.n:
            raise ValueError(f"KOfN: k={k} exceeds n={n}")
        self.policy = policy._copy()
        self.on = policy.on
        self.action = _check_action(action, skip_ok=False, who=who)
        self._reset()

    def _reset(self) -> None:
        self.policy._reset()
        self._hits: deque[bool] = deque(maxlen=self.n)
        self._last: _Fired | None = None

    def _feed(self, value: float) -> _Fired | None:
        inner = self.policy._feed(value)
        self._hits.append(inner is not None)
        if inner is not None:
            self._last = inner
        count = sum(self._hits)
        if inner is not None and count >= self.k and self._last is not None:
            return _Fired(
                value,
                f"{self.policy.describe()} fired on {count} of the last {len(self._hits)} steps "
                f"(k={self.k}); this time: {self._last.threshold}",
            )
        return None

    def describe(self) -> str:
        return f"KOfN({self.policy.describe()}, k={self.k}, n={self.n})"


NONFINITE = "NonFinite (always on)"


# ----------------------------------------------------------------------------- monitor


Localizer = Callable[[Any, Any, Any], "str | None"]


@dataclass
class _Series:
    names: list[str]
    steps: list[np.ndarray[Any, Any]] = field(default_factory=list)
    rows: list[np.ndarray[Any, Any]] = field(default_factory=list)

    def array(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        if not self.rows:
            return np.empty(0, np.int64), np.empty((0, len(self.names)), np.float64)
        return np.concatenate(self.steps), np.concatenate(self.rows)


class Monitor:
    """Watches training numerics step by step without waiting for the device.

    ::

        monitor = nearly.Monitor(nearly.Spike(on="loss"), check_every=100)
        with monitor:
            for x, y in batches:
                with tf.GradientTape() as tape:
                    loss = loss_fn(y, model(x))
                grads = tape.gradient(loss, model.trainable_variables)
                monitor.step(loss=loss, grads=grads, weights=model.trainable_variables,
                             batch=(x, y), model=model)
                optimizer.apply_gradients(zip(grads, model.trainable_variables))

    Every step records the raw values on their device (no ``.item()``, ``.numpy()`` or
    ``float()``). Every ``check_every`` steps, and on :meth:`check` and :meth:`close`, the host
    reads what was recorded in one transfer and replays the policies over it in step order.
    Non-finite values are always checked (``nonfinite=`` sets the action); ``policies`` add
    :class:`Threshold`, :class:`Spike`, :class:`Ratio` and :class:`KOfN` rules.

    When a non-finite value is found, the message names the gradient (and, if recorded, weight)
    tensors that were non-finite at that step. If the batch of that step is still held (see
    ``keep_batches``) together with a PyTorch module or a Keras model, and the weights are still
    finite when the host reads (zero a bad step's update with :meth:`gate`, or check sooner),
    the batch is re-run layer by layer and the message names the first layer that produced the
    non-finite value from finite inputs.

    Inside ``tf.function``, :meth:`step` writes a ``tf.Variable`` ring buffer with assign ops
    (XLA included); the host cannot count steps there, so call :meth:`check` from the Python
    loop every so often. With JAX, call :meth:`step` outside ``jax.jit`` with the values the
    jitted step returns (the recording is one asynchronous jitted dispatch); with PyTorch,
    likewise outside a ``torch.compile``-d function.

    Args:
        *policies: the rules to apply (each monitor works on its own copy).
        check_every: how many :meth:`step` calls between host reads (default 100). Detection
            of a problem is delayed by at most this many steps; the step it reports is exact.
        nonfinite: the action for NaN/Inf in any recorded value (default ``"raise"``).
        keep_batches: how many of the latest batches (references, not copies) are held for the
            localisation pass (default 1). With ``keep_batches >= check_every`` the offending
            batch is always still held; each held batch stays alive in memory.
        capacity: inside ``tf.function``, the size of the device ring buffer (default
            ``max(4 * check_every, 1024)``); steps written beyond it between two reads are
            reported as lost, never silently dropped.
        name: a label used in messages and the report.

    Raises:
        NumericsAlarm: from :meth:`step`, :meth:`check` or :meth:`close`, when a policy with
            the ``"raise"`` action fired.
    """

    def __init__(
        self,
        *policies: Policy,
        check_every: int = DEFAULT_CHECK_EVERY,
        nonfinite: Action = "raise",
        keep_batches: int = 1,
        capacity: int | None = None,
        name: str = "Monitor",
    ) -> None:
        for p in policies:
            if not isinstance(p, Policy):
                raise TypeError(
                    f"Monitor: policies must be nearly policies (Threshold, Spike, Ratio, KOfN), "
                    f"got {type(p).__name__}; pass options such as check_every= by keyword"
                )
        self.check_every = _positive_int(check_every, "check_every", "Monitor")
        self.nonfinite = _check_action(nonfinite, skip_ok=True, who="Monitor(nonfinite=...)")
        self.keep_batches = _positive_int(keep_batches, "keep_batches", "Monitor", minimum=0)
        self.capacity = (
            max(4 * self.check_every, 1024)
            if capacity is None
            else _positive_int(capacity, "capacity", "Monitor")
        )
        if not isinstance(name, str):
            raise TypeError(f"Monitor: name must be a str, got {type(name).__name__}")
        self.name = name
        self.policies: list[Policy] = [p._copy() for p in policies]
        self.events: list[Event] = []
        self.should_stop = False
        self.lost_steps = 0
        self._ops: MonitorOps | None = None
        self._ring: Ring | None = None
        self._series: _Series | None = None
        self._pending: list[Any] = []
        self._steps = 0  # host-side count of eager step() calls
        self._checked_upto = 0  # steps already replayed through the policies
        self._last_good: int | None = None
        self._bad_steps: set[int] = set()
        self._last_vector: Any = None
        self._batches: deque[tuple[int, Any]] = deque(maxlen=max(self.keep_batches, 1))
        self._model: Any = None
        self._localized = False
        self._closed = False
        self._lo: np.ndarray[Any, Any] | None = None
        self._hi: np.ndarray[Any, Any] | None = None
        # adapters (Keras) may hand over a diagnosis made on the device side at the bad step
        self._captured: dict[int, str] = {}
        self._layout: list[tuple[str, list[str]]] = []
        self._cols: list[tuple[bool, int, int]] = []
        self._n_scalars = 0
        self._first_bad_detail: tuple[int, np.ndarray[Any, Any]] | None = None
        self._localizer: Localizer | None = None
        self._stop_hook: Callable[[], None] | None = None
        self._auto_check = True  # adapters that drive check() themselves turn this off
        self._grad_names: list[str] | None = None  # adapters that know the variables set this
        self._last_step_t: Any = None

    # -- recording ---------------------------------------------------------------------------

    # ------------------------------------------------------------ the adapters' interface
    # What nearly.keras and nearly.torch (and any other adapter) use to drive a Monitor. Stable:
    # adapters never touch the fields behind it.

    def bind(
        self,
        *,
        model: Any = None,
        localizer: Localizer | None = None,
        on_stop: Callable[[], None] | None = None,
        drives_checks: bool | None = None,
        grad_names: list[str] | None = None,
    ) -> None:
        """Tell the monitor what an adapter knows: the ``model`` being trained (for the
        layer-by-layer re-run), a ``localizer`` replacing the framework's own, what to call
        when a policy stops training (``on_stop``), whether the adapter calls :meth:`check`
        itself (``drives_checks``: step() then never checks), and the names of the gradients
        in the order step() receives them (``grad_names``). Only the arguments given change."""
        if model is not None:
            self._model = model
        if localizer is not None:
            self._localizer = localizer
        if on_stop is not None:
            self._stop_hook = on_stop
        if drives_checks is not None:
            self._auto_check = not drives_checks
        if grad_names is not None:
            self._grad_names = list(grad_names)

    def hold_localization(self, step: int, text: str) -> None:
        """Keep an adapter's own localisation of ``step`` (made while the step's inputs were
        still at hand); the report of that step's alarm shows it first."""
        self._captured[step] = text

    @property
    def localization_held(self) -> bool:
        """Whether an adapter has handed over a localisation (only the first is needed)."""
        return bool(self._captured)

    @property
    def steps_seen(self) -> int:
        """How many steps step() has been called for (eagerly counted on the host)."""
        return self._steps

    @property
    def series_known(self) -> bool:
        """Whether the series were fixed by a first step() (later steps must match them)."""
        return self._series is not None

    @property
    def last_vector(self) -> Any:
        """The packed values of the latest step, where they live (a device vector)."""
        return self._last_vector

    @property
    def last_step_tensor(self) -> Any:
        """Inside a graph: the step counter tensor of the latest step (else None)."""
        return self._last_step_t

    def step(
        self,
        loss: Any = None,
        *,
        grads: Iterable[Any] | None = None,
        weights: Iterable[Any] | None = None,
        grad_norm: Any = None,
        batch: Any = None,
        model: Any = None,
        **values: Any,
    ) -> None:
        """Record one training step. Never reads device values on the host, except every
        ``check_every``-th call, which runs :meth:`check`.

        Args:
            loss: the step's loss (a 0-d or one-element tensor or a number).
            grads: the gradients; their global L2 norm is recorded as ``grad_norm``.
            weights: the trainable weights; their global L2 norm is recorded as
                ``weight_norm``.
            grad_norm: an already computed global gradient norm (e.g. what
                ``torch.nn.utils.clip_grad_norm_`` returned), instead of ``grads``.
            batch: the step's input batch, held by reference for the localisation pass:
                ``x`` or ``(x, y)`` (or ``(args, kwargs)`` from :func:`nearly.torch.watch`).
            model: the model to re-run for localisation (a ``torch.nn.Module`` or Keras model).
            **values: any other scalars to record under their names.

        The set of recorded series is fixed by the first call; later calls must record the same.
        """
        if self._closed:
            raise RuntimeError(f"{self.name}: step() after close()")
        if grads is not None and grad_norm is not None:
            raise ValueError(f"{self.name}: give grads= or grad_norm=, not both")
        named: dict[str, Any] = {}
        if loss is not None:
            named[LOSS] = loss
        if grads is not None:
            named[GRAD_NORM] = _as_list(grads, "grads")
        elif grad_norm is not None:
            named[GRAD_NORM] = grad_norm
        if weights is not None:
            named[WEIGHT_NORM] = _as_list(weights, "weights")
        for key, val in values.items():
            if key in (LOSS, GRAD_NORM, WEIGHT_NORM):
                raise ValueError(f"{self.name}: {key!r} is a reserved series name")
            if val is None:
                raise ValueError(f"{self.name}: value {key!r} is None")
            named[key] = val
        if not named:
            raise ValueError(f"{self.name}: step() got nothing to record (give loss=, grads=, ...)")
        if model is not None:
            self._model = model
        if self._series is None:
            self._start(named)
        assert self._series is not None
        if list(named) != self._series.names:
            raise ValueError(
                f"{self.name}: step() must record the same series every step; the first step "
                f"recorded {', '.join(self._series.names)}, this one {', '.join(named)}"
            )
        assert self._ops is not None
        vector = self._pack(named)
        if self._ring is not None and self._ops.in_graph(vector):
            self._last_step_t = self._ring.write(vector)
            self._last_vector = vector
            return
        if self._ring is not None:
            raise RuntimeError(
                f"{self.name}: step() was first called inside tf.function; keep calling it "
                "there (or use a separate Monitor for eager steps)"
            )
        step = self._steps
        self._steps += 1
        self._pending.append(vector)
        self._last_vector = vector
        if batch is not None and self.keep_batches:
            self._batches.append((step, batch))
        if self._auto_check and self._steps % self.check_every == 0:
            self.check()

    def _start(self, named: dict[str, Any]) -> None:
        first = next(iter(named.values()))
        sample = first
        if isinstance(first, list):
            sample = next((t for t in first if t is not None), None)
        self._ops = for_value(sample)
        self._series = _Series(list(named))
        # the packed vector: scalar series first, then the norm of every tensor of every norm
        # series; _cols says where each series is, _layout names the tensors
        given = self._grad_names or []
        self._layout = [
            (
                key,
                given
                if key == GRAD_NORM and given and len(given) == len(val)
                else _tensor_names(val, named.get(WEIGHT_NORM), key, self._model),
            )
            for key, val in named.items()
            if isinstance(val, list)
        ]
        n_scalars = sum(1 for v in named.values() if not isinstance(v, list))
        self._n_scalars = n_scalars
        cols: list[tuple[bool, int, int]] = []
        scalar_at, tensor_at = 0, n_scalars
        for val in named.values():
            if isinstance(val, list):
                cols.append((True, tensor_at, tensor_at + len(val)))
                tensor_at += len(val)
            else:
                cols.append((False, scalar_at, scalar_at + 1))
                scalar_at += 1
        self._cols = cols
        if self._ops.in_graph(sample):
            self._ring = self._ops.ring(tensor_at, len(named), self.capacity)
        known = set(named)
        for p in self.policies:
            if p.on not in known:
                raise ValueError(
                    f"{self.name}: policy {p.describe()} watches {p.on!r}, which step() does "
                    f"not record (it records: {', '.join(named)})"
                )

    def _pack(self, named: dict[str, Any]) -> Any:
        assert self._ops is not None
        scalars: list[Any] = []
        tensors: list[Any] = []
        for (key, val), (is_norm, a, b) in zip(named.items(), self._cols, strict=True):
            if is_norm:
                if len(val) != b - a:
                    raise ValueError(
                        f"{self.name}: {key} was computed from {b - a} tensors at the first "
                        f"step and from {len(val)} now; pass the same tensors every step "
                        "(None for a missing gradient)"
                    )
                tensors.extend(val)
            else:
                scalars.append(val)
        return self._ops.pack(scalars, tensors)

    def _host_series(self, rows: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """The series values of packed rows; a global norm is computed here, in float64, from
        the per-tensor norms (so it cannot overflow where the tensors' norms do not)."""
        out = np.empty((rows.shape[0], len(self._cols)), dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            for j, (is_norm, a, b) in enumerate(self._cols):
                if is_norm:
                    out[:, j] = np.sqrt(np.sum(np.square(rows[:, a:b]), axis=1))
                else:
                    out[:, j] = rows[:, a]
        return out

    @property
    def step_factor(self) -> Any:
        """A 0-d device tensor: 1.0 if the latest step passes the non-finite check and every
        ``"skip"`` policy, else 0.0 — computed on the device, no sync. Multiply the update or the
        learning rate by it, or use :meth:`gate` on the gradients (multiplying a NaN by 0 still
        gives NaN). The skip policies' bounds (e.g. a Spike's mean + z·std) are those of the last
        host read, so they lag by at most ``check_every`` steps."""
        if self._last_vector is None or self._ops is None or self._series is None:
            raise RuntimeError(f"{self.name}: step_factor before the first step()")
        names = self._series.names
        if self._ring is not None:
            skipped = sorted({names.index(p.on) for p in self.policies if p.action == "skip"})
            spec = [(i, *self._cols[i]) for i in skipped]
            return self._ring.factor(self._last_vector, spec)
        lo, hi = self._skip_bounds()
        bounds = [
            (i, *self._cols[i], float(lo[i]), float(hi[i]))
            for i in range(len(names))
            if lo[i] > -np.inf or hi[i] < np.inf
        ]
        return self._ops.factor(self._last_vector, bounds)

    def gate(self, grads: Iterable[Any]) -> list[Any]:
        """The gradients, each replaced by zeros where :attr:`step_factor` is 0 (a select on the
        device, no sync). Plain SGD then leaves the weights unchanged; optimizers with momentum
        still decay their moments by one step."""
        if self._ops is None:
            raise RuntimeError(f"{self.name}: gate() before the first step()")
        return self._ops.gate(_as_list(grads, "grads"), self.step_factor)

    def _skip_bounds(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        if self._lo is None or self._hi is None:
            self._refresh_bounds()
        assert self._lo is not None and self._hi is not None
        return self._lo, self._hi

    def _refresh_bounds(self) -> None:
        """Recompute the skip bounds on the host (after a read) and hand them to the device."""
        assert self._series is not None
        names = self._series.names
        lo = np.full(len(names), -np.inf)
        hi = np.full(len(names), np.inf)
        for p in self.policies:
            if p.action != "skip":
                continue
            i = names.index(p.on)
            plo, phi = p._bounds()
            lo[i], hi[i] = max(lo[i], plo), min(hi[i], phi)
        self._lo, self._hi = lo, hi
        if self._ring is not None:
            self._ring.set_bounds(lo, hi)

    # -- reading -----------------------------------------------------------------------------

    def check(self) -> list[Event]:
        """Read every step recorded since the last read (one transfer), apply the policies, and
        act: raise :class:`NumericsAlarm` for a ``"raise"`` event, warn, set
        :attr:`should_stop`, or record. Returns the new events (when nothing raised)."""
        __tracebackhide__ = True
        if self._series is None:
            return []
        start, rows = self._read()
        new = self._replay(start, rows)
        self._act(new)
        return new

    def _read(self) -> tuple[int, np.ndarray[Any, Any]]:
        assert self._series is not None and self._ops is not None
        if self._ring is not None:
            start, rows, lost = self._ring.read()
            if lost:
                self._note_lost(lost, start)
            return start, rows
        if not self._pending:
            return self._checked_upto, np.empty((0, len(self._series.names)), np.float32)
        rows = self._ops.fetch(self._pending)
        start = self._checked_upto
        self._pending = []
        return start, rows

    def _note_lost(self, lost: int, start: int) -> None:
        self.lost_steps += lost
        warnings.warn(
            NumericsWarning(
                f"{self.name}: {lost} steps before step {start} were overwritten in the device "
                f"buffer before the host read them (capacity={self.capacity}); check more often "
                "or raise capacity="
            ),
            stacklevel=3,
        )

    def _replay(self, start: int, rows: np.ndarray[Any, Any]) -> list[Event]:
        assert self._series is not None
        names = self._series.names
        assert self._ops is not None
        rows = rows.astype(np.float64)
        if self._ops.halves:
            with np.errstate(over="ignore", invalid="ignore"):
                rows[:, self._n_scalars :] = np.sqrt(2.0 * rows[:, self._n_scalars :])
        details, rows = rows[:, self._n_scalars :], self._host_series(rows)
        if rows.shape[0]:
            self._series.steps.append(np.arange(start, start + rows.shape[0], dtype=np.int64))
            self._series.rows.append(rows)
        new: list[Event] = []
        by_series = {name: [p for p in self.policies if p.on == name] for name in names}
        watched = any(by_series.values())
        row_ok = np.isfinite(rows).all(axis=1)
        # without policies only the rows holding a non-finite value need a step-by-step look
        todo = range(rows.shape[0]) if watched else np.flatnonzero(~row_ok).tolist()
        for r in todo:
            step = start + r
            if not watched and r > 0 and row_ok[r - 1]:
                self._last_good = step - 1
            fired: list[Event] = []
            for j, name in enumerate(names):
                value = float(rows[r, j])
                if not math.isfinite(value):
                    fired.append(
                        Event(
                            step,
                            name,
                            value,
                            NONFINITE,
                            _nonfinite_text(name, value),
                            self.nonfinite,
                        )
                    )
                    continue
                for p in by_series[name]:
                    hit = p._feed(value)
                    if hit is not None:
                        fired.append(
                            Event(step, name, value, p.describe(), hit.threshold, p.action)
                        )
            for ev in fired:
                ev.last_good_step = self._last_good
            if fired:
                if self._first_bad_detail is None and any(e.policy == NONFINITE for e in fired):
                    self._first_bad_detail = (step, details[r])
                self._bad_steps.add(step)
                new.extend(fired)
            else:
                self._last_good = step
        if not watched and rows.shape[0] and row_ok[-1]:
            self._last_good = start + rows.shape[0] - 1
        self._checked_upto = start + rows.shape[0]
        if any(p.action == "skip" for p in self.policies):
            self._refresh_bounds()
        self._localize(new)
        self.events.extend(new)
        return new

    def _localize(self, new: list[Event]) -> None:
        first = next((e for e in new if e.policy == NONFINITE), None)
        if first is None or self._localized:
            return
        self._localized = True
        tensors, weights_bad = self._tensor_report(first.step)
        lines = [tensors] if tensors else []
        if first.step in self._captured:
            first.localization = "\n".join([self._captured[first.step], *lines])
            return
        if weights_bad:
            lines.append(
                "the weights were already non-finite when the step ran, so the first "
                "non-finite weight above is where to look (no re-run needed)"
            )
        elif self._localizer is not None:
            text = self._localizer(self._model, dict(self._batches).get(first.step), first)
            if text:
                lines.append(text)
        elif self._model is None:
            lines.append("not re-run layer by layer: pass model= and batch= to step() for that")
        elif first.step not in dict(self._batches):
            held = ", ".join(str(s) for s, _ in self._batches) or "none"
            lines.append(
                f"not re-run layer by layer: the batch of step {first.step} is no longer held "
                f"(keep_batches={self.keep_batches}; held: {held}); use keep_batches >= "
                "check_every"
            )
        else:
            localizer = _default_localizer(self._model)
            if localizer is None:
                lines.append(
                    f"not re-run layer by layer: no re-run for a {type(self._model).__name__} "
                    "(PyTorch modules and Keras models are supported)"
                )
            else:
                try:
                    text = localizer(self._model, dict(self._batches)[first.step], first)
                except Exception as exc:  # the diagnosis must never hide the alarm itself
                    text = f"the layer-by-layer re-run failed: {type(exc).__name__}: {exc}"
                if text:
                    lines.insert(0, text)
        first.localization = "\n".join(lines) if lines else None

    def _tensor_report(self, step: int) -> tuple[str | None, bool]:
        """Which weight and gradient tensors were non-finite at ``step`` (from the per-tensor
        norms recorded with it), and whether any weight was."""
        if self._first_bad_detail is None or self._first_bad_detail[0] != step:
            return None, False
        row = self._first_bad_detail[1]
        parts: list[str] = []
        weights_bad = False
        offset = 0
        found: list[tuple[str, list[str], list[str]]] = []
        for key, names in self._layout:
            norms = row[offset : offset + len(names)]
            offset += len(names)
            bad = [n for n, v in zip(names, norms, strict=True) if not math.isfinite(float(v))]
            if bad:
                found.append((key, names, bad))
        # weights first: a non-finite weight is a cause, a non-finite gradient often an effect
        found.sort(key=lambda f: f[0] != WEIGHT_NORM)
        for key, names, bad in found:
            what = "weights" if key == WEIGHT_NORM else ("gradients" if key == GRAD_NORM else key)
            weights_bad = weights_bad or key == WEIGHT_NORM
            shown = ", ".join(bad[:6]) + (", ..." if len(bad) > 6 else "")
            owner = _owner(bad[0])
            parts.append(f"non-finite {what} in {len(bad)} of {len(names)} tensors ({shown})")
            if key == WEIGHT_NORM:
                parts[-1] += f", the first in layer/module {owner!r}"
        if not parts:
            return None, False
        return f"at step {step} (as recorded, before its update): " + "; ".join(parts), weights_bad

    def _act(self, new: list[Event]) -> None:
        __tracebackhide__ = True
        if not new:
            return
        warn = [e for e in new if e.action == "warn"]
        if warn:
            warnings.warn(NumericsWarning(_message(self.name, warn)), stacklevel=3)
        if any(e.action == "stop" for e in new):
            self.should_stop = True
            if self._stop_hook is not None:
                self._stop_hook()
        raising = [e for e in new if e.action == "raise"]
        if raising:
            raise NumericsAlarm(_message(self.name, raising), raising[0], new)

    def close(self) -> None:
        """Do the final read and check (raising like :meth:`check`); later calls do nothing."""
        __tracebackhide__ = True
        if self._closed:
            return
        self._closed = True
        self.check()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        __tracebackhide__ = True
        if exc_type is None:
            self.close()
            return
        # an error is already on its way: record what happened, but let that error through
        with contextlib.suppress(Exception):
            self.close()

    # -- results -----------------------------------------------------------------------------

    @property
    def steps(self) -> int:
        """How many steps the host has read so far."""
        return self._checked_upto

    def history(self) -> dict[str, np.ndarray[Any, Any]]:
        """The recorded series read so far: ``{"step": ..., "loss": ..., ...}`` (NumPy)."""
        if self._series is None:
            return {"step": np.empty(0, np.int64)}
        steps, rows = self._series.array()
        out: dict[str, np.ndarray[Any, Any]] = {"step": steps}
        for j, name in enumerate(self._series.names):
            out[name] = rows[:, j]
        return out

    def report(self) -> str:
        """A text summary: steps read, percentiles of every series, the events."""
        from nearly._monitor.plot import render_report

        return render_report(self)

    def plot(self, path: str | Path) -> Path:
        """Save a PNG of the loss and the gradient norm over the steps, with events marked.
        Needs matplotlib (``pip install 'nearly[plot]'``)."""
        from nearly._monitor.plot import plot

        return plot(self, path)

    def __repr__(self) -> str:
        pols = ", ".join(p.describe() for p in self.policies)
        return (
            f"{self.name}({pols}{', ' if pols else ''}check_every={self.check_every}, "
            f"nonfinite={self.nonfinite!r}; {self.steps} steps read, {len(self.events)} events)"
        )


def _as_list(values: Iterable[Any], what: str) -> list[Any]:
    if isinstance(values, str | bytes):
        raise TypeError(f"{what}= must be an iterable of tensors, got {type(values).__name__}")
    try:
        return list(values)
    except TypeError:
        raise TypeError(
            f"{what}= must be an iterable of tensors (e.g. a list), got {type(values).__name__}"
        ) from None


def _nonfinite_text(series: str, value: float) -> str:
    kind = "NaN" if math.isnan(value) else "Inf"
    extra = ""
    if series in (GRAD_NORM, WEIGHT_NORM) and not math.isnan(value):
        extra = " (a tensor holds Inf, or its sum of squares overflowed float32)"
    return f"the value is {kind}, never allowed{extra}"


def _message(name: str, events: Sequence[Event]) -> str:
    first = events[0]
    lines = [f"{name}: {first.describe(localization=False)}"]
    same = [e for e in events[1:] if e.step == first.step]
    if same:
        lines.append(
            "  same step: "
            + "; ".join(
                f"{e.series} = {_fmt(e.value)} ({e.policy.split('(')[0].strip()})" for e in same
            )
        )
    if first.localization:
        lines.append("  " + first.localization.replace("\n", "\n  "))
    later = [e for e in events if e.step > first.step]
    if later:
        steps = sorted({e.step for e in later})
        lines.append(
            f"  then {len(later)} more events at {len(steps)} later steps "
            f"({steps[0]}..{steps[-1]}); see report()"
        )
    return "\n".join(lines)


def _owner(name: str) -> str:
    """The layer or module a parameter name belongs to ('2.weight' -> '2',
    'sequential/dense_1/kernel' -> 'dense_1')."""
    if "/" in name:
        parts = name.split("/")
        return parts[-2] if len(parts) > 1 else name
    if "." in name:
        return name.rsplit(".", 1)[0]
    return name


def _tensor_names(tensors: list[Any], weights: Any, key: str, model: Any) -> list[str]:
    """Names for the tensors of a norm series: parameter names where the model tells them,
    the names the tensors carry (variable paths), else positions."""
    label = "grads" if key == GRAD_NORM else ("weights" if key == WEIGHT_NORM else key)
    if key == GRAD_NORM and isinstance(weights, list) and len(weights) == len(tensors):
        return _tensor_names(weights, None, WEIGHT_NORM, model)
    by_id = {} if model is None else for_value(model).parameter_names(model)
    if by_id and key == GRAD_NORM and len(by_id) == len(tensors):
        return list(by_id.values())
    return [
        by_id.get(id(t)) or for_value(t).tensor_name(t) or f"{label}[{i}]"
        for i, t in enumerate(tensors)
    ]


def _default_localizer(model: Any) -> Localizer | None:
    """The layer-by-layer re-run of ``model``'s framework, or None where it has none."""
    return None if for_value(model).replay is None else localize
