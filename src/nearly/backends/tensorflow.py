"""The TensorFlow backend: eager tensors, variables, ragged and sparse tensors, and symbolic
(graph) tensors inside ``tf.function`` and Keras.

Eager values are read as NumPy views and compared by the core engine. A symbolic tensor has no
values while the graph is traced, so a check on it becomes graph ops: the tolerance rule runs
in the graph (float64), the rare elements whose verdict float64 rounding could flip are
decided exactly on the host, and a failure raises ``tf.errors.InvalidArgumentError`` at run
time with the path, the failing count, the worst difference with its index and the
tolerance allowed there. Under XLA (``jit_compile=True``) TensorFlow drops assertion ops, so a
check there raises at trace time instead of passing silently.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.python.framework import ops
from tensorflow.python.ops import control_flow_util

from nearly._prim import dtypes as _dtypes
from nearly._prim.rule import Rule, band, unit_roundoff
from nearly.backends import _monitor_ops
from nearly.backends._base import Leaf, sparse_leaf, type_name

__all__ = [
    "GraphRing",
    "MonitorOps",
    "as_tensor",
    "assert_close_in_graph",
    "assert_equal_in_graph",
    "assert_finite_in_graph",
    "assert_in_range_in_graph",
    "device_verdict",
    "expand",
    "host_array",
    "numpy_dtype",
    "pass_through",
    "replay",
    "to_leaf",
    "tracing",
    "upcast",
]


def tracing() -> bool:
    """Whether TensorFlow is tracing a graph (inside tf.function) now."""
    return not tf.executing_eagerly()


def _symbolic(x: Any) -> bool:
    return isinstance(x, tf.Tensor) and tf.is_symbolic_tensor(x)


#: Eager tensors on the CPU are read as NumPy views; tensors elsewhere are checked where they
#: live. Tests set this to exercise the on-device path on the CPU.
NATIVE_ON_CPU = False


def _eager_leaf(obj: Any, tensor: tf.Tensor, name: str) -> Leaf:
    device = tensor.device
    if NATIVE_ON_CPU or "CPU" not in device.upper():
        stand_in = np.broadcast_to(np.zeros((), numpy_dtype(tensor)), tuple(tensor.shape))
        return Leaf(tensor, "array", name, stand_in, device=device, native=True)
    text = tensor.dtype == tf.string
    return Leaf(obj, "array", name, _host_view(tensor), device=device, utf8=text)


def _host_view(tensor: tf.Tensor) -> np.ndarray[Any, Any]:
    """A read-only NumPy view of a host tensor's buffer. ``Tensor.numpy()`` copies (so
    that writing to the result cannot change the tensor); nearly only reads, and a copy
    of a large tensor costs more than the comparison."""
    view = getattr(tensor, "_numpy", None)
    arr = np.asarray(view() if callable(view) else tensor.numpy())
    if arr.flags.writeable:
        arr = arr.view()
        arr.flags.writeable = False
    return arr


def host_array(obj: Any) -> np.ndarray[Any, Any]:
    return _host_view(as_tensor(obj))


def to_leaf(obj: Any) -> Leaf | None:
    name = type_name(obj)
    if isinstance(obj, tf.SparseTensor):
        if _symbolic(obj.values):  # in a graph: densified there, in any index order
            return Leaf(tf.sparse.to_dense(tf.sparse.reorder(obj)), "symbolic", name)
        shape = tuple(int(n) for n in obj.dense_shape.numpy())
        indices = obj.indices.numpy().T
        return sparse_leaf(obj, shape, indices, _host_view(obj.values), obj.values.device)
    if isinstance(obj, tf.TensorArray):  # by its stacked value
        stacked = to_leaf(obj.stack())
        assert stacked is not None
        return dataclasses.replace(stacked, type_name="tf.TensorArray")
    if isinstance(obj, tf.Variable):
        if _symbolic(obj.value()):
            return Leaf(obj.value(), "symbolic", name)
        return _eager_leaf(obj, obj.value(), name)
    if isinstance(obj, tf.Tensor):
        if _symbolic(obj):
            return Leaf(obj, "symbolic", name)
        return _eager_leaf(obj, obj, name)
    value = getattr(obj, "value", None)  # a Keras variable wraps a tf.Variable
    if isinstance(value, tf.Variable | tf.Tensor):
        leaf = to_leaf(value)
        assert leaf is not None
        return Leaf(
            leaf.obj if leaf.native else obj,
            leaf.kind,
            name,
            leaf.array,
            device=leaf.device,
            native=leaf.native,
        )
    if type(obj).__module__.startswith("keras") and type(obj).__name__ == "KerasTensor":
        raise TypeError(
            "nearly cannot check a KerasTensor: it is a placeholder used while a functional "
            "model is built. Put the check in a layer's call(), where tensors are real."
        )
    return None


def expand(obj: Any) -> list[Any] | None:
    """A RaggedTensor is compared row by row. Rows one level deep of numbers on the host are
    slices of one NumPy view of the values, cut at the row starts (reading each row as a
    tensor costs an op per row: minutes for 1e5 rows); other ragged tensors are indexed
    row by row."""
    if not isinstance(obj, tf.RaggedTensor):
        return None
    values = obj.flat_values
    on_host = not NATIVE_ON_CPU and not _symbolic(values) and "CPU" in values.device.upper()
    if obj.ragged_rank == 1 and on_host and values.dtype != tf.string:
        flat = _host_view(values)
        starts = obj.row_splits.numpy().tolist()
        return [flat[i:j] for i, j in itertools.pairwise(starts)]
    return [obj[i] for i in range(int(obj.nrows()))]


# --------------------------------------------------------------------- on-device verdicts


class _TFOps:
    """The handful of array operations the shared on-device kernel needs."""

    f64 = True

    def __init__(self, device: str) -> None:
        self.device = device

    def flat_pair(self, x: Any, y: Any) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.device(self.device):
            a, e = as_tensor(x), as_tensor(y)
            shape = tf.broadcast_dynamic_shape(tf.shape(a), tf.shape(e))
            a, e = tf.broadcast_to(a, shape), tf.broadcast_to(e, shape)
            return tf.reshape(a, [-1]), tf.reshape(e, [-1])

    def work(self, x: tf.Tensor, complex_: bool) -> tf.Tensor:
        return tf.cast(x, tf.complex128 if complex_ else tf.float64)

    def is_complex(self, x: tf.Tensor) -> bool:
        return bool(x.dtype.is_complex)

    def is_float(self, x: tf.Tensor) -> bool:
        return bool(x.dtype.is_floating or x.dtype.is_complex)

    def itemsize(self, x: tf.Tensor) -> int:
        return int(x.dtype.size)

    def same_dtype(self, x: tf.Tensor, y: tf.Tensor) -> bool:
        return bool(x.dtype == y.dtype)

    def count(self, mask: tf.Tensor) -> int:
        return int(tf.math.count_nonzero(mask))

    def nonzero(self, mask: tf.Tensor) -> tf.Tensor:
        return tf.reshape(tf.where(mask), [-1])

    def concat(self, parts: list[tf.Tensor]) -> tf.Tensor:
        return tf.concat(parts, 0) if parts else tf.zeros([0], tf.int64)

    def take(self, x: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
        return tf.gather(x, index)

    def maximum(self, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        return tf.maximum(x, y)

    def to_host(self, x: tf.Tensor) -> np.ndarray[Any, Any]:
        return np.asarray(x.numpy())


def device_verdict(actual: Any, expected: Any, rule: Any) -> Any:
    """The tolerance rule run on the tensors' device (see :mod:`nearly.backends._device`)."""
    from nearly.backends._device import device_verdict as kernel

    device = next(x.device for x in (actual, expected) if isinstance(x, tf.Tensor))
    return kernel(_TFOps(device), actual, expected, rule)


# ------------------------------------------------------------------------------ graph mode


def refuse_xla(what: str) -> None:
    if control_flow_util.GraphOrParentsInXlaContext(ops.get_default_graph()):
        raise TypeError(
            f"nearly.{what} cannot run inside an XLA-compiled function (jit_compile=True): XLA "
            "drops TensorFlow's assertion ops, so the check would pass silently. Compile this "
            "function without XLA (tf.function(jit_compile=False); in Keras "
            "model.compile(..., jit_compile=False)), or check its outputs outside it."
        )


def as_tensor(x: Any) -> tf.Tensor:
    if isinstance(x, tf.Tensor):
        return x
    if isinstance(x, tf.Variable):
        return x.value()
    return tf.constant(np.asarray(x))


def numpy_dtype(t: tf.Tensor) -> np.dtype[Any]:
    dt: np.dtype[Any] = np.dtype(t.dtype.as_numpy_dtype)
    return dt


def _fmt_path(where: str) -> str:
    # tf.strings.format reads "{}" as a placeholder, and Assert escapes quotes when it prints
    return (where or "(top level)").replace("{", "(").replace("}", ")").replace("'", "")


HostDecider = Callable[[np.ndarray[Any, Any], np.ndarray[Any, Any]], np.ndarray[Any, Any]]


def assert_close_in_graph(
    where: str,
    actual: Any,
    expected: Any,
    rule: Rule,
    tolerance_text: str,
    check: str,
    decide: HostDecider,
) -> None:
    """Add ops that check ``actual`` against ``expected`` under ``rule`` at run time;
    ``check`` names the public function in messages."""
    refuse_xla(check)
    a, e = as_tensor(actual), as_tensor(expected)
    path = _fmt_path(where)
    same_shape = tf.debugging.assert_equal(
        tf.shape(a, out_type=tf.int64),
        tf.shape(e, out_type=tf.int64),
        message=f"nearly: {path}: shapes differ",
    )
    # the value ops must wait for the shape check: run side by side, an element-wise op on
    # mismatched shapes could fail first, with TensorFlow's message instead of ours
    with tf.control_dependencies([] if same_shape is None else [same_shape]):
        a, e = tf.identity(a), tf.identity(e)
    # work on flat views (0-d included); indices are unravelled for the message
    shape = tf.shape(a, out_type=tf.int64)
    a, e = tf.reshape(a, [-1]), tf.reshape(e, [-1])
    fam = {_dtypes.family(numpy_dtype(a)), _dtypes.family(numpy_dtype(e))}
    work = tf.complex128 if "complex" in fam else tf.float64
    aw, ew = tf.cast(a, work), tf.cast(e, work)
    nan_a, nan_e = tf.math.is_nan(tf.abs(aw)), tf.math.is_nan(tf.abs(ew))
    finite = tf.math.is_finite(tf.abs(aw)) & tf.math.is_finite(tf.abs(ew))
    same = tf.equal(aw, ew)
    nonfinite_ok = (nan_a & nan_e & rule.equal_nan) | (~nan_a & ~nan_e & same)
    d = tf.abs(aw - ew)
    mag = tf.abs(ew)
    t = tf.constant(float(rule.atol), tf.float64) + tf.constant(float(rule.rtol), tf.float64) * mag
    # the same certainty band as the host engine: outside it the float64 verdict is exact
    u, sub = unit_roundoff(np.dtype(np.float64))
    lossy = any(_dtypes.inexact_in_work(numpy_dtype(x), np.dtype(np.float64)) for x in (a, e))
    margin = band(
        d,
        t,
        u=u,
        subnormal=sub,
        maximum=tf.maximum,
        lossy=tf.abs(tf.math.real(aw)) + mag if lossy else None,
    )
    over = d - t
    fail = (~finite & ~nonfinite_ok) | (finite & (over > margin))
    clear_pass = over <= -margin
    if not lossy:
        clear_pass = clear_pass | tf.equal(d, 0.0)
    unsure = finite & ~(over > margin) & ~clear_pass
    # elements the host must decide: the unsure ones, and with a ULP allowance the failing
    # ones too (ULP distances are counted on the host, in the inputs' own formats)
    cand = unsure | fail if rule.ulps is not None else unsure
    idx = tf.where(cand)
    decided = tf.numpy_function(
        decide, [tf.gather_nd(a, idx), tf.gather_nd(e, idx)], tf.bool, stateful=False
    )
    decided = tf.reshape(decided, [-1])
    fail = tf.tensor_scatter_nd_update(fail, idx, decided)

    count = tf.math.count_nonzero(fail)
    total = tf.size(fail, out_type=tf.int64)
    flat_fail = tf.reshape(fail & finite, [-1])
    flat_d = tf.reshape(d, [-1])
    flat_t = tf.reshape(t, [-1])
    scored = tf.where(flat_fail, flat_d, tf.constant(-1.0, tf.float64))
    j = tf.argmax(scored, output_type=tf.int64)
    has_finite = tf.reduce_any(flat_fail)
    worst = tf.where(has_finite, tf.gather(scored, j), tf.constant(np.nan, tf.float64))
    allowed = tf.gather(flat_t, j)
    index = tf.cond(
        tf.size(shape) > 0,
        lambda: tf.unravel_index(j, shape),
        lambda: tf.zeros([0], tf.int64),
    )
    only_a = tf.math.count_nonzero(fail & nan_a & ~nan_e)
    only_e = tf.math.count_nonzero(fail & nan_e & ~nan_a)
    message = tf.strings.format(
        f"nearly.{check}: {path}: values differ at {{}} of {{}} elements; greatest "
        f"absolute difference among them {{}} at index {{}} ({{}} allowed there; "
        f"tolerance {tolerance_text}); NaN only in actual: {{}}, only in expected: {{}}",
        [count, total, worst, index, allowed, only_a, only_e],
        summarize=-1,
    )
    tf.debugging.Assert(tf.equal(count, 0), [message], summarize=1, name="nearly_assert_close")


def pass_through(error: BaseException) -> None:
    """AutoGraph rewraps an exception raised in converted code as a StagingError unless the
    exception says to pass it through: a static difference then reaches the caller as the
    NotClose (or other check failure) it is, at trace time."""
    error.ag_pass_through = True  # type: ignore[attr-defined]


def assert_equal_in_graph(where: str, actual: tf.Tensor, expected: tf.Tensor) -> None:
    """Strings, bools and other non-numbers in a graph: exact equality, checked at run time."""
    refuse_xla("assert_equal")
    tf.debugging.assert_equal(
        actual, expected, message=f"nearly: {_fmt_path(where)}: values differ", summarize=5
    )


def assert_finite_in_graph(where: str, value: Any) -> None:
    """Add ops that fail at run time when ``value`` holds NaN or infinity."""
    refuse_xla("assert_finite")
    x = as_tensor(value)
    if _dtypes.family(numpy_dtype(x)) not in ("float", "complex"):
        return
    xw = tf.cast(x, tf.complex128 if x.dtype.is_complex else tf.float64)
    bad = ~tf.math.is_finite(tf.abs(xw)) | tf.math.is_nan(tf.abs(xw))
    count = tf.math.count_nonzero(bad)
    nan = tf.math.count_nonzero(tf.math.is_nan(tf.abs(xw)))
    first = tf.cond(
        count > 0,
        lambda: tf.where(bad)[0],
        lambda: tf.zeros([tf.rank(bad)], tf.int64),
    )
    message = tf.strings.format(
        f"nearly.assert_finite: {_fmt_path(where)}: non-finite values at {{}} of {{}} "
        "elements ({} NaN); the first at index {}",
        [count, tf.size(bad, out_type=tf.int64), nan, first],
        summarize=-1,
    )
    tf.debugging.Assert(tf.equal(count, 0), [message], summarize=1, name="nearly_assert_finite")


def assert_in_range_in_graph(where: str, value: Any, lo: float | None, hi: float | None) -> None:
    """Add ops that fail at run time when ``value`` leaves ``[lo, hi]`` (bounds in its dtype;
    NaN is never in range)."""
    refuse_xla("assert_in_range")
    x = as_tensor(value)
    inside = tf.ones_like(x, dtype=tf.bool)
    if lo is not None:
        inside &= x >= tf.cast(lo, x.dtype)
    if hi is not None:
        inside &= x <= tf.cast(hi, x.dtype)
    count = tf.math.count_nonzero(~inside)
    first = tf.cond(
        count > 0,
        lambda: tf.where(~inside)[0],
        lambda: tf.zeros([tf.rank(inside)], tf.int64),
    )
    message = tf.strings.format(
        f"nearly.assert_in_range: {_fmt_path(where)}: {{}} of {{}} values outside "
        f"[{lo}, {hi}] (in {x.dtype.name}); the first at index {{}}",
        [count, tf.size(inside, out_type=tf.int64), first],
        summarize=-1,
    )
    tf.debugging.Assert(tf.equal(count, 0), [message], summarize=1, name="nearly_assert_in_range")


# ----------------------------------------------------------------- for nearly.Monitor


class _Missing:
    pass


_MISSING = _Missing()


# ----------------------------------------------------------------------------- localisation


def _host(t: Any) -> np.ndarray[Any, Any] | None:
    try:
        # variables and eager tensors read themselves; np.asarray(variable) is deprecated
        arr = np.asarray(t.numpy() if callable(getattr(t, "numpy", None)) else t)
    except Exception:
        return None
    if arr.dtype.kind not in "fc":
        return None
    return arr


def _leaves(obj: Any) -> list[Any]:
    if obj is None:
        return []
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in _leaves(v)]
    if isinstance(obj, list | tuple):
        return [t for v in obj for t in _leaves(v)]
    return [obj] if hasattr(obj, "shape") and hasattr(obj, "dtype") else []


def _nonfinite(obj: Any) -> _monitor_ops.NonFinite | None:
    """The non-finite elements over every float tensor in ``obj`` (None: all finite)."""
    return _monitor_ops.nonfinite_of([a for a in map(_host, _leaves(obj)) if a is not None])


def upcast(x: Any) -> Any:
    """A float or complex tensor cast up to float64/complex128 where it lives (exact)."""
    dtype = getattr(x, "dtype", None)
    if dtype is not None and getattr(dtype, "is_floating", False):
        return tf.cast(x, tf.float64)
    if dtype is not None and getattr(dtype, "is_complex", False):
        return tf.cast(x, tf.complex128)
    return x


def replay(model: Any, batch: Any) -> _monitor_ops.Replay:
    """Re-run ``batch`` (``x`` or ``(x, y)``) through a Keras model layer by layer, recording
    each layer's call (see :class:`~nearly.backends._monitor_ops.Replay`), then the loss where
    there are targets. Non-trainable variables (e.g. BatchNormalization statistics) are
    restored afterwards."""
    if isinstance(batch, tuple | list) and len(batch) == 2:
        x, y = batch
    else:
        x, y = batch, None
    inputs, targets = _nonfinite(x), _nonfinite(y)
    bad_weights = tuple(v.path for v in model.trainable_variables if _nonfinite(v))
    if bad_weights:
        return _monitor_ops.Replay("layer", inputs, targets, bad_weights)

    calls: list[_monitor_ops.LayerCall] = []
    layers = list(model._flatten_layers(include_self=False))
    patched: list[tuple[Any, Any]] = []

    def wrap(layer: Any, call: Callable[..., Any]) -> Callable[..., Any]:
        def checked(*args: Any, **kwargs: Any) -> Any:
            out = call(*args, **kwargs)
            bad_out = _nonfinite(out)
            own = tuple(v.path for v in layer.trainable_variables if _nonfinite(v))
            calls.append(
                _monitor_ops.LayerCall(
                    layer.name,
                    type(layer).__name__,
                    _nonfinite(list(args) + list(kwargs.values())) is None,
                    0 if bad_out is None else bad_out.count,
                    sum(a.size for a in map(_host, _leaves(out)) if a is not None),
                    own,
                )
            )
            return out

        return checked

    saved = [(v, np.array(v.numpy())) for v in model.non_trainable_variables]
    try:
        for layer in layers:
            patched.append((layer, layer.__dict__.get("call", _MISSING)))
            object.__setattr__(layer, "call", wrap(layer, layer.call))
        y_pred = model(x, training=True)
    finally:
        for layer, before in patched:
            if before is _MISSING:
                layer.__dict__.pop("call", None)
            else:
                object.__setattr__(layer, "call", before)
        for var, value in saved:
            var.assign(value)
    loss = None
    if y is not None and not any(c.bad_outputs for c in calls):
        try:
            value = model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
            loss = "nonfinite" if _nonfinite(value) else "finite"
        except Exception as exc:
            loss = type(exc).__name__
    return _monitor_ops.Replay("layer", inputs, targets, (), tuple(calls), loss=loss)


class MonitorOps(_monitor_ops.MonitorOps):
    """TensorFlow, eager or inside ``tf.function`` (the same ops become graph ops)."""

    name = "tensorflow"
    replay = staticmethod(replay)
    halves = True

    def __init__(self) -> None:
        import tensorflow as tf

        self.tf = tf

    def in_graph(self, value: Any) -> bool:
        return not self.tf.executing_eagerly()

    def ring(self, width: int, series: int, capacity: int) -> GraphRing:
        return GraphRing(self, width, series, capacity)

    def _f32(self, value: Any) -> Any:
        tf = self.tf
        t = value if isinstance(value, tf.Tensor) else tf.convert_to_tensor(value)
        return t if t.dtype == tf.float32 else tf.cast(t, tf.float32)

    def pack(self, scalars: Sequence[Any], tensors: Sequence[Any]) -> Any:
        tf = self.tf
        parts = []
        for s in scalars:
            t = self._f32(s)
            if t.shape.rank != 0:
                if t.shape.num_elements() not in (None, 1):
                    raise ValueError(
                        f"a recorded value must hold one element, got shape {tuple(t.shape)}"
                    )
                t = tf.reshape(t, [])
            parts.append(t)
        # one fused op per tensor (l2_loss is sum(t**2) / 2) and one stack; the host takes
        # the square roots
        parts.extend(
            tf.zeros([], tf.float32) if t is None else tf.nn.l2_loss(self._f32(t)) for t in tensors
        )
        return tf.stack(parts)

    def fetch(self, vectors: Sequence[Any]) -> np.ndarray[Any, Any]:
        return np.asarray(self.tf.stack(list(vectors)).numpy(), dtype=np.float32)

    def value(self, vector: Any, is_norm: bool, a: int, b: int) -> Any:
        tf = self.tf
        return tf.sqrt(2.0 * tf.reduce_sum(vector[a:b])) if is_norm else vector[a]

    def factor(self, vector: Any, bounds: Sequence[_monitor_ops.Bound]) -> Any:
        tf = self.tf
        ok = tf.reduce_all(tf.math.is_finite(vector))
        for _, is_norm, a, b, lo, hi in bounds:
            x = self.value(vector, is_norm, a, b)
            if hi < math.inf:
                ok = tf.logical_and(ok, x <= hi)
            if lo > -math.inf:
                ok = tf.logical_and(ok, x >= lo)
        return tf.cast(ok, tf.float32)

    def gate(self, grads: Sequence[Any], factor: Any) -> list[Any]:
        tf = self.tf
        keep = factor > 0
        return [None if g is None else tf.where(keep, g, tf.zeros_like(g)) for g in grads]


class GraphRing:
    """A device ring buffer of per-step vectors in ``tf.Variable``s, written with assign ops, so
    that :meth:`Monitor.step` works inside ``tf.function`` (and XLA) and the host reads the
    buffer only when it checks. The skip bounds live in variables too, so a new read changes
    them without re-tracing."""

    def __init__(self, ops: MonitorOps, width: int, series: int, capacity: int) -> None:
        import tensorflow as tf

        self.tf, self.ops = tf, ops
        self.width, self.series, self.capacity = width, series, capacity
        with tf.init_scope():
            self.buffer = tf.Variable(
                tf.zeros([capacity, width], tf.float32), trainable=False, name="nearly_monitor_ring"
            )
            self.count = tf.Variable(
                tf.constant(0, tf.int64), trainable=False, name="nearly_monitor_count"
            )
            self.lo = tf.Variable(
                tf.fill([series], -np.inf), trainable=False, name="nearly_monitor_lo"
            )
            self.hi = tf.Variable(
                tf.fill([series], np.inf), trainable=False, name="nearly_monitor_hi"
            )
        self.read_upto = 0

    def write(self, vector: Any) -> Any:
        """Record ``vector`` as the next step; returns the step index (a tensor)."""
        tf = self.tf
        step = self.count.read_value()
        slot = tf.math.floormod(step, self.capacity)
        self.buffer.scatter_nd_update(tf.reshape(slot, [1, 1]), tf.reshape(vector, [1, self.width]))
        self.count.assign_add(1)
        return step

    def factor(self, vector: Any, skipped: Sequence[tuple[int, bool, int, int]]) -> Any:
        tf = self.tf
        ok = tf.reduce_all(tf.math.is_finite(vector))
        for i, is_norm, a, b in skipped:
            x = self.ops.value(vector, is_norm, a, b)
            ok = tf.logical_and(ok, tf.logical_and(x >= self.lo[i], x <= self.hi[i]))
        return tf.cast(ok, tf.float32)

    def read(self) -> tuple[int, np.ndarray[Any, Any], int]:
        """(first step, rows, lost) for the steps written since the last read."""
        total = int(self.count.numpy())
        start = self.read_upto
        lost = 0
        if total - start > self.capacity:
            lost = total - start - self.capacity
            start = total - self.capacity
        if total == start:
            return start, np.empty((0, self.width), np.float32), lost
        buf = self.buffer.numpy()
        idx = np.arange(start, total) % self.capacity
        self.read_upto = total
        return start, np.asarray(buf[idx], dtype=np.float32), lost

    def set_bounds(self, lo: np.ndarray[Any, Any], hi: np.ndarray[Any, Any]) -> None:
        self.lo.assign(lo.astype(np.float32))
        self.hi.assign(hi.astype(np.float32))
