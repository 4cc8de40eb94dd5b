"""Keras 3 integration of the training monitor: the :class:`NumericsMonitor` callback.

Import it explicitly (``import nearly.keras``); ``import nearly`` never imports Keras. Inside
this module ``import keras`` is the Keras package (imports are absolute).

::

    monitor = nearly.keras.NumericsMonitor(nearly.Spike(on="loss"), check_every=100)
    model.fit(x, y, callbacks=[monitor, keras.callbacks.BackupAndRestore(backup_dir)])
    print(monitor.report())

How it sees each batch. Keras's own logs are no use for this: ``logs["loss"]`` is the running
mean of the epoch (a one-batch spike is diluted, a NaN never leaves it) and batch hooks fire
once per ``steps_per_execution`` batches. So the callback wraps the model's own train step for
the duration of ``fit``: ``compute_loss`` hands over the raw batch loss and ``optimizer.apply``
the gradients, and the step writes the loss and every gradient tensor's sum of squares (the
weights' too with ``weights=True``) into a ``tf.Variable`` ring buffer with assign ops. That
runs inside ``tf.function``, inside the ``steps_per_execution`` loop and under
``jit_compile=True`` (XLA) alike; the host reads the buffer every ``check_every`` steps.
Keras's TensorFlow trainer already converts the logs to Python floats after every batch, so
the callback adds no sync of its own.

On a non-finite value the step also hands the offending batch to the host once (a
``tf.py_function`` inside a ``tf.cond`` that only runs on that step, before the update is
applied), where the model is re-run layer by layer to name the first layer that produced the
non-finite value from finite inputs. XLA cannot compile a host callback: under
``jit_compile=True`` this re-run is left out and the message says so (recording and the
policies still work). With ``run_eagerly=True`` the step is looked at on the host
before its update instead (eager execution is synchronous anyway).

A ``"raise"`` action raises :class:`nearly.NumericsAlarm` out of ``fit``. Unlike a graceful
stop, an exception skips ``on_train_end``, so ``BackupAndRestore`` keeps its backup; the
``"stop"`` action sets ``model.stop_training`` (which ends training normally and so lets
``BackupAndRestore`` delete its backup).

Only the TensorFlow backend of Keras is supported; for a custom loop on any framework use
:class:`nearly.Monitor`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

try:
    import keras
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "nearly.keras needs Keras 3 with TensorFlow: pip install 'nearly[tensorflow]'"
    ) from exc

from nearly._monitor.localize import localize
from nearly._monitor.monitor import (
    DEFAULT_CHECK_EVERY,
    LOSS,
    Action,
    Event,
    Monitor,
    NumericsAlarm,
    Policy,
)

__all__ = ["NumericsMonitor", "localize"]


class _StepContext:
    """Trace-time state of one train step: what the patched methods handed over."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.loss: Any = None
        self.recorded = False


class NumericsMonitor(keras.callbacks.Callback):  # type: ignore[misc]
    """A Keras callback that watches every batch's raw loss and global gradient norm (and, with
    ``weights=True``, the global weight norm) from inside the train step, with
    :class:`nearly.Monitor`'s policies.

    Args:
        *policies: :class:`nearly.Threshold`, :class:`nearly.Spike`, :class:`nearly.Ratio`,
            :class:`nearly.KOfN` rules (series ``"loss"``, ``"grad_norm"``, ``"weight_norm"``).
        check_every: training steps between host reads (default 100).
        nonfinite: the action for NaN/Inf (default ``"raise"``).
        weights: also record the global weight norm every step (default False: one more
            reduction per weight tensor per step).
        localize: re-run the offending batch layer by layer on the first non-finite value
            (default True; not available under ``jit_compile=True``).
        name: a label used in messages and the report.

    ``"skip"`` zeroes the gradients of a flagged step inside the train step (a select on the
    device); ``"stop"`` sets ``model.stop_training``; ``"warn"`` and ``"record"`` let
    training go on. :attr:`monitor` is the underlying :class:`nearly.Monitor`.
    """

    def __init__(
        self,
        *policies: Policy,
        check_every: int = DEFAULT_CHECK_EVERY,
        nonfinite: Action = "raise",
        weights: bool = False,
        localize: bool = True,
        name: str = "NumericsMonitor",
    ) -> None:
        super().__init__()
        for flag, label in ((weights, "weights"), (localize, "localize")):
            if not isinstance(flag, bool):
                raise TypeError(f"NumericsMonitor: {label} must be a bool, got {flag!r}")
        self._policies = policies
        self._options: dict[str, Any] = {
            "check_every": check_every,
            "nonfinite": nonfinite,
            "name": name,
        }
        # validate now, so a bad argument fails where the callback is made
        self.monitor = Monitor(*policies, **self._options)
        self.track_weights = weights
        self.localize_nonfinite = localize
        self._ctx: _StepContext | None = None
        self._installed: list[tuple[Any, str, Any]] = []
        self._since = 0
        self._batches_seen = 0
        self._done = False
        self._jit = False

    # -- keras hooks ---------------------------------------------------------------------

    def on_train_begin(self, logs: Any = None) -> None:
        if keras.backend.backend() != "tensorflow":
            raise RuntimeError(
                f"NumericsMonitor records inside the TensorFlow train step; the Keras backend "
                f"is {keras.backend.backend()!r}. Use nearly.Monitor in a custom loop instead."
            )
        model = self.model
        if model.optimizer is None:
            raise RuntimeError("NumericsMonitor: compile the model with an optimizer first")
        self.monitor = Monitor(*self._policies, **self._options)
        self.monitor.bind(model=model, on_stop=self._stop, drives_checks=True)
        self._jit = bool(getattr(model, "jit_compile", False)) and not model.run_eagerly
        if self._jit or not self.localize_nonfinite:
            reason = (
                "the train step is XLA-compiled (jit_compile=True), and XLA cannot hand the "
                "batch to the host; compile with jit_compile=False to localise"
                if self._jit
                else "localize=False"
            )
            self.monitor.bind(localizer=lambda m, b, e: f"not re-run layer by layer: {reason}")
        spe = int(getattr(model, "steps_per_execution", 1) or 1)
        self.monitor.capacity = max(self.monitor.capacity, 4 * (self.monitor.check_every + spe))
        self._since = 0
        self._batches_seen = 0
        self._done = False
        self._install(model)

    def on_train_batch_end(self, batch: Any, logs: Any = None) -> None:
        spe = int(getattr(self.model, "steps_per_execution", 1) or 1)
        self._since += spe
        self._batches_seen += spe
        if self._since >= self.monitor.check_every:
            self._since = 0
            self._check()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self._check()

    def on_train_end(self, logs: Any = None) -> None:
        try:
            self._check()
        finally:
            self._uninstall()

    # -- results -------------------------------------------------------------------------

    @property
    def events(self) -> list[Event]:
        return self.monitor.events

    def report(self) -> str:
        """The monitor's text summary (see :meth:`nearly.Monitor.report`)."""
        return self.monitor.report()

    def plot(self, path: Any) -> Any:
        """A PNG of the loss and gradient norm (see :meth:`nearly.Monitor.plot`)."""
        return self.monitor.plot(path)

    # -- internals -----------------------------------------------------------------------

    def _stop(self) -> None:
        self.model.stop_training = True

    def _check(self) -> None:
        __tracebackhide__ = True
        if self._done:
            return
        try:
            self.monitor.check()
            if not self.monitor.series_known and self._batches_seen:
                raise RuntimeError(
                    f"{self.monitor.name}: {self._batches_seen} training batches ran but none "
                    "was recorded: the model's train_step never called optimizer.apply / "
                    "apply_gradients (a custom train_step?); use nearly.Monitor in that step"
                )
        except (NumericsAlarm, RuntimeError):
            # leave the model as it was: an exception skips on_train_end
            self._done = True
            self._uninstall()
            raise

    def _install(self, model: Any) -> None:
        self._uninstall()
        stale = getattr(model, "_nearly_numerics_monitor", None)
        if stale is not None and stale is not self:
            stale._uninstall()
        optimizer = model.optimizer
        original_step = model.train_step
        original_loss = model.compute_loss
        original_apply = optimizer.apply

        def train_step(data: Any) -> Any:
            self._ctx = _StepContext(data)
            try:
                return original_step(data)
            finally:
                self._ctx = None

        def compute_loss(*args: Any, **kwargs: Any) -> Any:
            loss = original_loss(*args, **kwargs)
            if self._ctx is not None and self._ctx.loss is None:
                self._ctx.loss = loss
            return loss

        def apply(grads: Any, trainable_variables: Any = None) -> Any:
            import tensorflow as tf

            ctx = self._ctx
            after: list[Any] = []
            if ctx is not None and not ctx.recorded:
                ctx.recorded = True
                variables = (
                    list(trainable_variables)
                    if trainable_variables is not None
                    else list(optimizer._trainable_variables)
                )
                grads, after = self._record(ctx, list(grads), variables)
            # the update waits for the capture: the re-run needs this step's weights
            with tf.control_dependencies(after):
                if trainable_variables is None:
                    return original_apply(grads)
                return original_apply(grads, trainable_variables)

        for owner, attr, fn in (
            (model, "train_step", train_step),
            (model, "compute_loss", compute_loss),
            (optimizer, "apply", apply),
        ):
            self._installed.append((owner, attr, owner.__dict__.get(attr, _MISSING)))
            object.__setattr__(owner, attr, fn)
        object.__setattr__(model, "_nearly_numerics_monitor", self)
        # the train function may have been traced (by an earlier fit) without the wrappers
        model.make_train_function(force=True)

    def _uninstall(self) -> None:
        if not self._installed:
            return
        for owner, attr, before in reversed(self._installed):
            if before is _MISSING:
                owner.__dict__.pop(attr, None)
            else:
                object.__setattr__(owner, attr, before)
        model = self._installed[0][0]
        self._installed = []
        if model.__dict__.get("_nearly_numerics_monitor") is self:
            object.__delattr__(model, "_nearly_numerics_monitor")
        # drop the traced function that holds the wrappers; the next fit traces a clean one
        model.train_function = None

    def _record(
        self, ctx: _StepContext, grads: list[Any], variables: list[Any]
    ) -> tuple[list[Any], list[Any]]:
        """Runs at trace time inside the train step: write this step's values to the ring;
        return the gradients to apply (gated when a 'skip' action is configured) and the ops
        the update must wait for."""
        import tensorflow as tf

        monitor = self.monitor
        loss = ctx.loss
        if loss is not None:
            loss = keras.ops.convert_to_tensor(loss)
        if not monitor.series_known:
            monitor.bind(grad_names=[str(getattr(v, "path", v.name)) for v in variables])
        monitor.step(
            loss=loss,
            grads=grads,
            weights=variables if self.track_weights else None,
            model=self.model,
        )
        vector = monitor.last_vector
        if tf.executing_eagerly():
            # run_eagerly=True: eager execution is synchronous anyway, so the step is looked
            # at here, before its update, and a bad batch is re-run at once
            if (
                self.localize_nonfinite
                and not monitor.localization_held
                and not np.all(np.isfinite(vector.numpy()))
            ):
                step = monitor.steps_seen - 1
                x, y = _unpack(ctx.data)
                monitor.hold_localization(step, _diagnose(self.model, (x, y), step))
            return self._gate(grads), []
        if self.localize_nonfinite and not self._jit:
            return self._gate(grads), [
                self._capture_in_graph(ctx, vector, monitor.last_step_tensor)
            ]
        return self._gate(grads), []

    def _gate(self, grads: list[Any]) -> list[Any]:
        monitor = self.monitor
        if monitor.nonfinite != "skip" and not any(p.action == "skip" for p in monitor.policies):
            return grads
        return monitor.gate(grads)

    def _capture_in_graph(self, ctx: _StepContext, vector: Any, step: Any) -> Any:
        import tensorflow as tf

        x, y = _unpack(ctx.data)
        x_leaves = [t for t in tf.nest.flatten(x) if t is not None]
        y_leaves = [t for t in tf.nest.flatten(y) if t is not None] if y is not None else []
        x_struct, y_struct = x, y
        n_x = len(x_leaves)

        def on_host(step_t: Any, *leaves: Any) -> bool:
            if self.monitor.localization_held:  # only the first non-finite step is diagnosed
                return False
            xs = tf.nest.pack_sequence_as(x_struct, list(leaves[:n_x])) if n_x else None
            ys = (
                tf.nest.pack_sequence_as(y_struct, list(leaves[n_x:]))
                if y_struct is not None and len(leaves) > n_x
                else None
            )
            step = int(step_t.numpy())
            self.monitor.hold_localization(step, _diagnose(self.model, (xs, ys), step))
            return True

        bad = tf.logical_not(tf.reduce_all(tf.math.is_finite(vector)))

        def capture() -> Any:
            return tf.py_function(on_host, [step, *x_leaves, *y_leaves], Tout=tf.bool)

        return tf.cond(bad, capture, lambda: tf.constant(False))


class _Missing:
    pass


_MISSING = _Missing()


def _diagnose(model: Any, batch: tuple[Any, Any], step: int) -> str:
    event = Event(step, LOSS, math.nan, "", "", "raise")
    try:
        return localize(model, batch, event)
    except Exception as exc:  # the diagnosis must never break training
        return f"the layer-by-layer re-run failed: {type(exc).__name__}: {exc}"


def _unpack(data: Any) -> tuple[Any, Any]:
    x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
    return x, y
