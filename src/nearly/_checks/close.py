"""The public checks: compare, explain, assert_close, assert_equal, assert_finite."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from nearly._checks import stats as _stat_checks
from nearly._core.compare import run, run_finite
from nearly._core.options import (
    CLOSE_OPTIONS,
    EQUAL_OPTIONS,
    Options,
    check_msg,
    make_options,
    reject_unknown,
)
from nearly._report.records import Comparison
from nearly._tolerance.tolerance import Tolerance
from nearly.backends import compiling_backend, tracing_backend
from nearly.errors import BadSums, CheckFailed, NotClose, NotFinite, NotStandardized, OutOfRange

__all__ = [
    "assert_close",
    "assert_equal",
    "assert_finite",
    "assert_in_range",
    "assert_standardized",
    "assert_sums_to",
    "compare",
    "explain",
]

_F = TypeVar("_F", bound=Callable[..., Any])


def compare(
    actual: Any,
    expected: Any,
    *,
    rtol: Any = None,
    atol: Any = None,
    ulps: int | None = None,
    tol: Any = None,
    equal_nan: bool = True,
    check_dtype: bool = False,
    check_shape: bool = True,
    check_device: bool = False,
    strict_types: bool = False,
    **unknown: Any,
) -> Comparison:
    """Compare two values or nested structures and return everything that differs.

    Never raises on a mismatch (only on misuse). ``bool(result)`` tells whether they are
    close; ``str(result)`` is the report; ``result.mismatches`` has one record per failing leaf.

    An element passes when ``|actual - expected| <= atol + rtol * |expected|`` or when the two
    are within ``ulps`` units in the last place of the lower-precision dtype. Give any of
    ``rtol``/``atol``/``ulps`` and the others are 0; give none and each pair uses
    :func:`nearly.tol.default` of its lower-precision dtype; or pass ``tol=`` a Tolerance.

    Args:
        actual, expected: values or nested tuples/lists/dicts/namedtuples/dataclasses of them.
        equal_nan: NaN at the same position counts as equal (default True).
        check_dtype: fail when dtypes differ (by default a difference is only noted).
        check_shape: shapes must match exactly (default); False allows NumPy broadcasting.
        check_device: require the same device (meaningful for framework tensors; NumPy
            values all live on the host).
        strict_types: tuple vs list, list vs array and leaf subclasses count as differences.

    >>> import numpy as np, nearly
    >>> bool(nearly.compare((np.float32(0.1),), [0.1]))
    True
    """
    reject_unknown("compare", unknown, CLOSE_OPTIONS)
    options = make_options(
        "compare",
        rtol=rtol,
        atol=atol,
        ulps=ulps,
        tol=tol,
        equal_nan=equal_nan,
        check_dtype=check_dtype,
        check_shape=check_shape,
        check_device=check_device,
        strict_types=strict_types,
        describe_passing=True,
    )
    return run(actual, expected, options)


def explain(actual: Any, expected: Any, **options: Any) -> str:
    """The report text for ``compare(actual, expected, **options)``."""
    return str(compare(actual, expected, **options))


def _raise(
    comparison: Comparison,
    msg: str | Callable[[str], str] | None,
    error: type[CheckFailed],
) -> None:
    __tracebackhide__ = True
    report = str(comparison)
    if msg is None:
        text = report
    elif isinstance(msg, str):
        text = f"{msg}\n\n{report}"
    else:
        text = str(msg(report))
    failure = error(text, comparison)
    graph = tracing_backend()
    if graph is not None:  # inside tf.function: what is known while tracing fails now
        graph.pass_through(failure)
    raise failure


def _check_tree(actual: Any, expected: Any, options: Options, msg: Any) -> None:
    """Compare; on failure raise the report :func:`explain` prints. A passing check decides
    without describing its passing leaves; a failing one is run again describing them, so
    that the report's notes ("close but not identical", ...) are there too."""
    __tracebackhide__ = True
    comparison = run(actual, expected, options)
    if comparison.ok:
        return
    if tracing_backend() is None:  # (inside a graph a second run would add its ops twice)
        describe = dataclasses.replace(options, describe_passing=True, stop_at_failure=False)
        comparison = run(actual, expected, describe)
    _raise(comparison, msg, NotClose)


def assert_close(
    actual: Any,
    expected: Any,
    *,
    rtol: Any = None,
    atol: Any = None,
    ulps: int | None = None,
    tol: Any = None,
    equal_nan: bool = True,
    check_dtype: bool = False,
    check_shape: bool = True,
    check_device: bool = False,
    strict_types: bool = False,
    msg: str | Callable[[str], str] | None = None,
    **unknown: Any,
) -> None:
    """Assert that two values or nested structures are close; raise :class:`nearly.NotClose`
    explaining every failing leaf otherwise.

    Options are those of :func:`compare`; ``msg`` is a string put before the report, or a
    callable that receives the report and returns the message.

    >>> import numpy as np, nearly
    >>> nearly.assert_close({"w": np.ones(3)}, {"w": np.ones(3) + 1e-9})
    """
    __tracebackhide__ = True
    reject_unknown("assert_close", unknown, (*CLOSE_OPTIONS, "msg"))
    msg = check_msg("assert_close", msg)
    options = make_options(
        "assert_close",
        rtol=rtol,
        atol=atol,
        ulps=ulps,
        tol=tol,
        equal_nan=equal_nan,
        check_dtype=check_dtype,
        check_shape=check_shape,
        check_device=check_device,
        strict_types=strict_types,
        in_graph=True,
        stop_at_failure=True,
    )
    _check_tree(actual, expected, options, msg)


def assert_equal(
    actual: Any,
    expected: Any,
    *,
    equal_nan: bool = True,
    check_dtype: bool = False,
    check_shape: bool = True,
    check_device: bool = False,
    strict_types: bool = False,
    msg: str | Callable[[str], str] | None = None,
    **unknown: Any,
) -> None:
    """Assert exact equality (NaN equals NaN unless ``equal_nan=False``; -0.0 equals 0.0);
    raise :class:`nearly.NotClose` explaining every difference otherwise."""
    __tracebackhide__ = True
    reject_unknown("assert_equal", unknown, (*EQUAL_OPTIONS, "msg"))
    msg = check_msg("assert_equal", msg)
    options = make_options(
        "assert_equal",
        equal_nan=equal_nan,
        check_dtype=check_dtype,
        check_shape=check_shape,
        check_device=check_device,
        strict_types=strict_types,
        exact=True,
        in_graph=True,
        stop_at_failure=True,
    )
    _check_tree(actual, expected, options, msg)


def assert_finite(
    tree: Any, *, msg: str | Callable[[str], str] | None = None, **unknown: Any
) -> None:
    """Assert that every number in ``tree`` is finite (no NaN, no ±inf); raise
    :class:`nearly.NotFinite` naming each offending leaf, with counts and positions.

    Leaves that are not numbers (strings, None, integer arrays) are finite by definition.
    """
    __tracebackhide__ = True
    reject_unknown("assert_finite", unknown, ("msg",))
    msg = check_msg("assert_finite", msg)
    comparison = run_finite(tree)
    if not comparison.ok:
        _raise(comparison, msg, NotFinite)


def assert_in_range(
    tree: Any,
    lo: float | None,
    hi: float | None,
    *,
    msg: str | Callable[[str], str] | None = None,
    **unknown: Any,
) -> None:
    """Assert every number in ``tree`` lies in ``[lo, hi]`` (None: unbounded), with the
    bounds read in each value's own dtype: float32 values clipped to 0.01 pass
    ``assert_in_range(y, 0.01, 0.99)`` although float32(0.01) < 0.01 as a Python float.
    NaN is never in range. Raises :class:`nearly.OutOfRange` naming each leaf, the count, the
    extremes found and the bounds as the dtype holds them.

    >>> import numpy as np, nearly
    >>> y = np.clip(np.array([0.0, 0.5, 1.0], np.float32), 0.01, 0.99)
    >>> nearly.assert_in_range(y, 0.01, 0.99)
    """
    __tracebackhide__ = True
    reject_unknown("assert_in_range", unknown, ("msg",))
    msg = check_msg("assert_in_range", msg)
    for name, bound in (("lo", lo), ("hi", hi)):
        if bound is not None and (not isinstance(bound, int | float) or bound != bound):
            raise TypeError(f"assert_in_range(): {name} must be a number or None, got {bound!r}")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"assert_in_range(): lo={lo} is above hi={hi}")
    comparison = _stat_checks.run_in_range(tree, lo, hi)
    if not comparison.ok:
        _raise(comparison, msg, OutOfRange)


def assert_standardized(
    x: Any,
    axis: int = 0,
    *,
    ddof: int = 0,
    stats: str = "dtype",
    kappa: float | None = None,
    dtype: Any = None,
    msg: str | Callable[[str], str] | None = None,
    **unknown: Any,
) -> None:
    """Assert standardized data has mean ≈ 0 and std ≈ 1 along ``axis`` (per column).

    The bounds are those of the rounding error of the standardization, for statistics
    computed as ``stats`` says, with u the dtype's unit roundoff and κ the raw data's
    |mean|/std:

    * ``"dtype"`` (the default): in the data's dtype, in any summation order (NumPy, TensorFlow,
      PyTorch, ``keras.layers.Normalization.adapt``). With γ = n·u/(1 − n·u):
      ``|mean| <= (4 + κ)·u + γ·(1 + κ)`` and ``|std − 1| <= γ_(n+2)/2 + (γ·(1 + κ))²/2 + 4u``;
      κ defaults to 1 (well-conditioned data).
    * ``"pairwise"``: in the dtype by pairwise summation; the same with γ of ⌈log2 n⌉ + 1
      terms.
    * ``"float64"``: accurately (float64, any order, rounded to the dtype):
      ``|mean| <= (4 + κ)·u + γ64·(1 + κ)`` and ``|std − 1| <= 8u + 2γ64``; κ defaults to 1/√u
      (4096 for float32), so offset data passes.

    Pass ``kappa=`` when you know the raw data's conditioning. Wrong statistics (a shift,
    variance instead of std, stale ones, or float32 statistics of offset data) fail, and the
    message says which it looks like. The ``"dtype"`` bound grows with n: once n·u nears 1
    (n ≈ 8e6 for float32) it guarantees nothing, and says so on failure; state ``"pairwise"``
    or ``"float64"`` when your statistics are computed so. Raises
    :class:`nearly.NotStandardized`.

    >>> import numpy as np, nearly
    >>> x = np.random.default_rng(0).uniform(-10, 10, (100_000, 5)).astype(np.float32)
    >>> nearly.assert_standardized((x - x.mean(0)) / x.std(0))
    """
    __tracebackhide__ = True
    reject_unknown("assert_standardized", unknown, ("ddof", "stats", "kappa", "dtype", "msg"))
    msg = check_msg("assert_standardized", msg)
    comparison = _stat_checks.run_standardized(x, axis, ddof, kappa, dtype, stats)
    if not comparison.ok:
        _raise(comparison, msg, NotStandardized)


def assert_sums_to(
    x: Any,
    total: float = 1.0,
    axis: int | None = -1,
    *,
    tol: Any = None,
    msg: str | Callable[[str], str] | None = None,
    **unknown: Any,
) -> None:
    """Assert the values of ``x`` sum to ``total`` along ``axis`` (e.g. softmax rows), within
    the rounding bound of a row normalised by its own sum (``(γ_{n+2} + 2u)·Σ|x|``), or within
    ``tol`` when given. The sums are formed exactly (float64, compensated), so the check
    measures ``x``, not its own arithmetic. Raises :class:`nearly.BadSums`.

    >>> import numpy as np, nearly
    >>> z = np.exp(np.array([[1.0, 2.0, 3.0]], np.float32))
    >>> nearly.assert_sums_to(z / z.sum(axis=-1, keepdims=True))
    """
    __tracebackhide__ = True
    reject_unknown("assert_sums_to", unknown, ("tol", "msg"))
    msg = check_msg("assert_sums_to", msg)
    if tol is not None and not isinstance(tol, Tolerance):
        raise TypeError(
            f"assert_sums_to(): tol must be a nearly.Tolerance, got {type(tol).__name__}"
        )
    comparison = _stat_checks.run_sums_to(x, total, axis, tol)
    if not comparison.ok:
        _raise(comparison, msg, BadSums)


def _compiler_aware(fn: _F) -> _F:
    """Make a public function safe inside compilers that trace Python.

    * A compiler that traces Python bytecode (``torch.compile``) would trace into nearly's
      NumPy code: while one is tracing, the call goes to a twin its backend makes
      (:class:`~nearly.backends._base.CompilerBackend`), which runs outside the trace.
    * ``tf.function``: AutoGraph would try to rewrite nearly's Python control flow; graph
      tensors are handled explicitly, so the function is marked as already converted.

    Neither touches an unimported framework.
    """
    twins: dict[int, Callable[..., Any]] = {}  # by id of the compiler's backend module

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        compiler = compiling_backend()
        if compiler is not None:
            twin = twins.get(id(compiler))
            if twin is None:
                twin = twins[id(compiler)] = compiler.run_eagerly(fn)
            return twin(*args, **kwargs)
        return fn(*args, **kwargs)

    wrapper.autograph_info__ = {}  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


compare = _compiler_aware(compare)
explain = _compiler_aware(explain)
assert_close = _compiler_aware(assert_close)
assert_equal = _compiler_aware(assert_equal)
assert_finite = _compiler_aware(assert_finite)
assert_in_range = _compiler_aware(assert_in_range)
assert_standardized = _compiler_aware(assert_standardized)
assert_sums_to = _compiler_aware(assert_sums_to)
