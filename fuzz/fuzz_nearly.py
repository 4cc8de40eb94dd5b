"""Fuzz nearly: random nested structures through every public entry point, random and
mutated bytes through the command line's file readers.

Run it for a while::

    python fuzz/fuzz_nearly.py --minutes 10
    python fuzz/fuzz_nearly.py --examples 5000 --target cli

Each round runs the properties below with a fresh random seed; a failing round is shrunk by
Hypothesis, printed, recorded, and the run carries on. The summary at the end lists every
distinct failure and the misuse errors (TypeError/ValueError) seen, for review. The exit
status is 1 when anything failed.

Properties of every comparison:

* ``compare`` never raises on a mismatch; the only exceptions any entry point raises are
  ``TypeError``/``ValueError`` raised by nearly itself with a message, and ``CheckFailed``
  subclasses from the assertions;
* ``compare``, ``explain``, ``assert_close`` agree: the assertion raises ``NotClose`` exactly
  when the comparison is not ok, and carries an equal report; ``assert_equal`` agrees with
  ``compare(..., tol=Tolerance())``;
* the report renders, ``to_dict()`` is JSON (no NaN/inf numbers), every mismatch has a known
  kind and sane counts;
* no input is modified.

Properties of the command line: whatever the bytes, ``main`` returns 0, 1 or 2 and never
raises; 2 comes with exactly one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import io
import json
import os
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from collections import Counter, namedtuple
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import nearly
from nearly.cli import main as cli_main

NEARLY_DIR = Path(nearly.__file__).resolve().parent


def _optional(name: str) -> Any:
    """An optional library the test extra installs, or None where it is missing."""
    try:
        return importlib.import_module(name)
    except ImportError:  # pragma: no cover - the test extra installs it
        return None


ml_dtypes = _optional("ml_dtypes")
pd = _optional("pandas")
sparse = _optional("scipy.sparse")
xr = _optional("xarray")

# ------------------------------------------------------------------------------- dtypes

NUMERIC = [
    "bool",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float16",
    "float32",
    "float64",
    "longdouble",
    "complex64",
    "complex128",
]
ML = ["bfloat16", "float8_e4m3fn", "float8_e5m2"] if ml_dtypes is not None else []
# dates and durations in units whose pairs NumPy's own casts wrap or refuse ([s]/[ns],
# [D]/[as], [Y]/[fs]); timedelta64[M] against a linear unit is refused by nearly
OTHER = [
    "datetime64[s]",
    "datetime64[ns]",
    "datetime64[D]",
    "datetime64[as]",
    "datetime64[Y]",
    "timedelta64[ms]",
    "timedelta64[fs]",
    "timedelta64[M]",
    "<U3",
    "|S2",
]


def np_dtype(name: str) -> np.dtype[Any]:
    if name in ML:
        return np.dtype(getattr(ml_dtypes, name))
    return np.dtype(name)


def specials(dt: np.dtype[Any]) -> list[Any]:
    """Values worth planting: extremes, zeros of both signs, infinities, NaN with payloads,
    the smallest subnormal."""
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return [info.min, info.max, 0, 1, -1 if dt.kind == "i" else 2]
    if dt.kind == "b":
        return [True, False]
    if dt.kind in "fcV" or dt.name in ML:
        comp = np.dtype(dt.type(0).real.dtype) if dt.kind == "c" else dt
        fi: Any = ml_dtypes.finfo(comp) if comp.name in ML else np.finfo(comp)
        out = [0.0, -0.0, float(fi.max), -float(fi.max), float(fi.tiny), 1.0]
        sub = float(getattr(fi, "smallest_subnormal", 0.0) or 0.0)
        if sub:
            out += [sub, -sub]
        if comp.name not in ("float8_e4m3fn",):
            out += [np.inf, -np.inf]
        out.append(np.nan)
        if dt.kind == "c":
            out += [complex(np.nan, 1.0), complex(1.0, np.nan), complex(np.inf, 0.0)]
        return out
    return []


@st.composite
def np_arrays(draw: st.DrawFn) -> np.ndarray[Any, Any]:
    """Arrays of every dtype: raw random bytes (every bit pattern, NaN payloads and
    subnormals included) mixed with planted special values, in odd layouts."""
    name = draw(st.sampled_from(NUMERIC + ML + OTHER))
    dt = np_dtype(name)
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=3)))
    n = int(np.prod(shape)) if shape else 1
    raw = draw(st.binary(min_size=n * dt.itemsize, max_size=n * dt.itemsize))
    if dt.kind in "US":
        arr = np.array([raw[i : i + 2].hex()[:3] for i in range(n)], dtype=dt)
    elif dt.kind == "b":
        arr = np.frombuffer(raw, np.uint8).astype(bool)
    else:
        arr = np.frombuffer(raw, dtype=dt).copy()
    sp = specials(dt)
    if sp and n:
        for _ in range(draw(st.integers(0, min(n, 4)))):
            i = draw(st.integers(0, n - 1))
            with np.errstate(all="ignore"):
                arr[i] = dt.type(draw(st.sampled_from(sp)))
    # NaN with a payload and a sign: any exponent-all-ones pattern with a non-zero mantissa
    if name in ("float16", "float32", "float64") and n and draw(st.booleans()):
        bits = arr.view(f"u{dt.itemsize}")
        i = draw(st.integers(0, n - 1))
        bits[i] = ~np.array(0, bits.dtype) ^ np.array(draw(st.integers(0, 3)), bits.dtype)
    arr = arr.reshape(shape)
    layout = draw(st.sampled_from(["c", "f", "reversed", "bigendian", "readonly", "masked"]))
    if layout == "f":
        arr = np.asfortranarray(arr)
    elif layout == "reversed" and arr.ndim:
        arr = arr[::-1]
    elif layout == "bigendian" and dt.kind in "iufc" and dt.name not in ML:
        arr = arr.astype(arr.dtype.newbyteorder(">"))
    elif layout == "readonly":
        arr.setflags(write=False)
    elif layout == "masked" and dt.kind in "biufc":
        mask = np.frombuffer(draw(st.binary(min_size=n, max_size=n)), np.uint8) % 3 == 0
        return np.ma.array(arr, mask=mask.reshape(shape))
    return arr


def mutate(arr: Any, data: st.DataObject) -> Any:
    """A near copy of an array: a few elements nudged by one bit, swapped for a special
    value or negated; sometimes reshaped or cast."""
    if isinstance(arr, np.ma.MaskedArray):
        out: Any = arr.copy()
        if out.size and data.draw(st.booleans()):
            flat = np.ma.getmaskarray(out).reshape(-1).copy()
            flat[data.draw(st.integers(0, out.size - 1))] ^= True
            out.mask = flat.reshape(out.shape)
        return out
    out = np.array(arr, copy=True)
    dt = out.dtype
    how = data.draw(st.sampled_from(["nudge", "nudge", "special", "negate", "cast", "reshape"]))
    if (out.size and dt.kind in "iufc") or (out.size and dt.name in ML):
        flat = out.reshape(-1)
        for _ in range(data.draw(st.integers(1, 3))):
            i = data.draw(st.integers(0, out.size - 1))
            with np.errstate(all="ignore"):
                if how == "nudge" and dt.kind != "c":
                    if dt.itemsize <= 8:
                        bits = flat.view(f"u{dt.itemsize}")
                        one = bits.dtype.type(1)
                        bits[i] = bits[i] + one if data.draw(st.booleans()) else bits[i] - one
                elif how == "special" and specials(dt):
                    flat[i] = dt.type(data.draw(st.sampled_from(specials(dt))))
                elif how == "negate" and dt.kind != "u":
                    flat[i] = -flat[i]
    if how == "cast" and dt.kind in "iufc" and dt.name not in ML:
        target = np_dtype(data.draw(st.sampled_from(NUMERIC + ML)))
        # a cast to another kind on purpose: complex to real drops the imaginary part
        with np.errstate(all="ignore"), contextlib.suppress(Exception), warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            out = out.astype(target)
    elif how == "reshape" and out.size:
        out = out.reshape(-1) if out.ndim != 1 else out.reshape(1, -1)
    return out


# ------------------------------------------------------------------------------ frameworks


def to_framework(arr: Any, framework: str) -> Any | None:
    """The array in another framework with the same values, or None when it has no such
    dtype (masked arrays stay NumPy)."""
    if framework == "numpy" or isinstance(arr, np.ma.MaskedArray):
        return arr
    arr = np.ascontiguousarray(arr)
    arr = arr.astype(arr.dtype.newbyteorder("="))
    name = arr.dtype.name
    try:
        if framework == "torch":
            import torch

            if name in ML:
                target = getattr(torch, name, None)
                if target is None:
                    return None
                return torch.from_numpy(arr.astype(np.float32)).to(target)
            return torch.from_numpy(arr.copy())
        if framework == "tensorflow":
            import tensorflow as tf

            if name in ML:
                target = getattr(tf, name, None)
                if target is None:
                    return None
                return tf.cast(tf.constant(arr.astype(np.float32)), target)
            return tf.constant(arr)
        if framework == "jax":
            import jax
            import jax.numpy as jnp

            with jax.enable_x64(True):
                out = jnp.asarray(arr)
            return out if out.dtype == arr.dtype else None
    except Exception:  # a framework without this dtype: the leaf stays NumPy
        return None
    return None


def available_frameworks() -> list[str]:
    import importlib.util

    return ["numpy"] + [
        name for name in ("torch", "tensorflow", "jax") if importlib.util.find_spec(name)
    ]


# ------------------------------------------------------------------------------ structures

Point = namedtuple("Point", ["x", "y"])


@dataclasses.dataclass
class Pair:
    first: Any
    second: Any


py_leaves = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.integers(-3, 3),
    st.booleans(),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.binary(max_size=2),
    st.none(),
    st.fractions(max_denominator=10**6),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
)


class Refuses(np.ndarray):  # type: ignore[type-arg]
    """An array subclass that refuses arithmetic with other subclass values (as a units array
    does across units): a type mismatch, in compare and assert_close alike."""

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if sum(isinstance(i, Refuses) for i in inputs) > 1:
            raise ValueError("incompatible units")
        plain = [i.view(np.ndarray) if isinstance(i, Refuses) else i for i in inputs]
        return getattr(ufunc, method)(*plain, **kwargs)


@st.composite
def labelled(draw: st.DrawFn) -> Any:
    """pandas values: Series and DataFrames with random labels, of float, int, datetime,
    nullable and object columns."""
    assert pd is not None
    n = draw(st.integers(0, 4))
    floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
    index = draw(
        st.sampled_from(
            [
                pd.RangeIndex(n),
                pd.Index(list("abcd")[:n]),
                pd.date_range("2020-01-01", periods=n, tz=draw(st.sampled_from([None, "UTC"]))),
            ]
        )
    )
    columns = {
        "f": pd.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype="float64"),
        "i": pd.array(draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)), dtype="int64"),
        "n": pd.array(
            draw(st.lists(st.none() | st.integers(-3, 3), min_size=n, max_size=n)), dtype="Int64"
        ),
        "o": pd.array(
            draw(st.lists(floats | st.text(max_size=2), min_size=n, max_size=n)), dtype=object
        ),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(columns)), min_size=1, max_size=4, unique=True))
    frame = pd.DataFrame({c: columns[c] for c in chosen}, index=index)
    return frame[chosen[0]] if draw(st.booleans()) else frame


SPARSE_FORMATS = ["csr", "csc", "coo", "bsr", "dia", "dok", "lil"]


def as_sparse(arr: Any, fmt: str, kind: str) -> Any:
    """A 2-D numeric array as a scipy.sparse value of that format (``kind``: matrix or
    array); the array itself where scipy has no such sparse dtype (float16, big-endian...)."""
    assert sparse is not None
    if isinstance(arr, np.ma.MaskedArray) or arr.dtype.kind not in "biufc" or arr.ndim != 2:
        return arr
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(sparse, f"{fmt}_{kind}")(arr)
    except (TypeError, ValueError):
        return arr


@st.composite
def sparse_values(draw: st.DrawFn) -> Any:
    arr = draw(np_arrays())
    if arr.ndim != 2 and arr.size:
        arr = arr.reshape(1, -1) if draw(st.booleans()) else arr.reshape(-1, 1)
    fmt = draw(st.sampled_from(SPARSE_FORMATS))
    return as_sparse(arr, fmt, draw(st.sampled_from(["matrix", "array"])))


@st.composite
def xarrays(draw: st.DrawFn) -> Any:
    """xarray DataArrays with random dims, coordinates (sometimes) and a name (sometimes)."""
    assert xr is not None
    arr = draw(np_arrays())
    dims = tuple(draw(st.sampled_from(["x", "y", "t"])) + str(i) for i in range(arr.ndim))
    coords = {}
    if arr.ndim and draw(st.booleans()):
        coords[dims[0]] = draw(st.sampled_from([np.arange, lambda n: np.arange(n) * 0.5]))(
            arr.shape[0]
        )
    name = draw(st.sampled_from([None, None, "loss", "acc"]))
    if arr.dtype.kind not in "biufcU" or arr.dtype.name in ML:
        return arr  # (xarray converts dates to nanoseconds, and refuses ml_dtypes)
    return xr.DataArray(arr, dims=dims, coords=coords, name=name)


def leaves(frameworks: list[str]) -> st.SearchStrategy[Any]:
    families = [np_arrays(), np_arrays(), py_leaves, np_arrays().map(lambda a: a.view(Refuses))]
    if pd is not None:
        families.append(labelled())
    if sparse is not None:
        families.append(sparse_values())
    if xr is not None:
        families.append(xarrays())
    return st.one_of(*families)


def trees(frameworks: list[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves(frameworks),
        lambda kids: st.one_of(
            st.lists(kids, max_size=3),
            st.lists(kids, max_size=3).map(tuple),
            st.dictionaries(st.sampled_from(["a", "b", "c", 0, 1, (1, 2)]), kids, max_size=3),
            st.builds(Point, kids, kids),
            st.builds(Pair, kids, kids),
        ),
        max_leaves=6,
    )


def transform_tree(tree: Any, fn: Callable[[Any], Any]) -> Any:
    """``tree`` with every array leaf replaced by ``fn(leaf)``; a sparse value or a DataArray
    is rebuilt around ``fn`` of its values where that is still an array it can hold (else it
    becomes that value)."""
    if sparse is not None and sparse.issparse(tree):
        new = fn(tree.toarray())
        kind = "matrix" if isinstance(tree, sparse.spmatrix) else "array"
        return as_sparse(new, tree.format, kind) if isinstance(new, np.ndarray) else new
    if xr is not None and isinstance(tree, xr.DataArray):
        new = fn(tree.values)
        if type(new) is np.ndarray and new.shape == tree.shape:
            return tree.copy(data=new)
        return new
    if isinstance(tree, dict):
        return {k: transform_tree(v, fn) for k, v in tree.items()}
    if isinstance(tree, Point):
        return Point(transform_tree(tree.x, fn), transform_tree(tree.y, fn))
    if isinstance(tree, Pair):
        return Pair(transform_tree(tree.first, fn), transform_tree(tree.second, fn))
    if isinstance(tree, (list, tuple)):
        return type(tree)(transform_tree(v, fn) for v in tree)
    if isinstance(tree, np.ndarray):
        return fn(tree)
    return tree


@st.composite
def pairs(draw: st.DrawFn, frameworks: list[str]) -> tuple[Any, Any, list[str]]:
    """Two NumPy structures, usually the same one with a few leaves mutated, sometimes
    unrelated, and a plan: the framework each array leaf moves to (see :func:`moved`)."""
    expected = draw(trees(frameworks))
    data = draw(st.data())
    if draw(st.integers(0, 9)) == 0:
        actual = draw(trees(frameworks))
    else:
        actual = transform_tree(
            expected, lambda a: mutate(a, data) if data.draw(st.booleans()) else a
        )
    plan = draw(st.lists(st.sampled_from(frameworks), min_size=12, max_size=12))
    return actual, expected, plan


def moved(tree: Any, plan: list[str], start: int) -> Any:
    """``tree`` with its array leaves moved to the planned frameworks (done outside the
    strategies: converting runs framework code that Hypothesis must not see)."""
    counter = iter(range(start, start + 10**6))

    def move(a: Any) -> Any:
        converted = to_framework(a, plan[next(counter) % len(plan)])
        return a if converted is None else converted

    return transform_tree(tree, move)


decimal_tols = st.one_of(
    st.none(),
    st.sampled_from([0, 0.0, 1e-7, 1.3e-6, 0.1, 0.3, 1, 1e300]),
    st.floats(0, 10, allow_nan=False, allow_infinity=False),
)


@st.composite
def options(draw: st.DrawFn) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    kind = draw(st.sampled_from(["default", "rtol/atol", "ulps", "tol"]))
    if kind == "rtol/atol":
        for name in ("rtol", "atol"):
            value = draw(decimal_tols)
            if value is not None:
                opts[name] = value
    elif kind == "ulps":
        opts["ulps"] = draw(st.integers(0, 5))
    elif kind == "tol":
        opts["tol"] = draw(
            st.sampled_from([nearly.tol.ulps(1), nearly.Tolerance(rtol=1e-3), nearly.Tolerance()])
        )
    for flag in ("equal_nan", "check_dtype", "check_shape", "strict_types"):
        if draw(st.booleans()):
            opts[flag] = draw(st.booleans())
    return opts


# ------------------------------------------------------------------------------ properties

#: misuse messages seen (TypeError/ValueError raised by nearly), with how often
MISUSE: Counter[str] = Counter()
EXAMPLES = Counter[str]()

KINDS = {"structure", "type", "shape", "dtype", "value"}


def raised_by_nearly(err: BaseException) -> bool:
    """Whether the exception was raised by nearly's own code (its last frame lies in the
    package), rather than escaping from a library nearly called."""
    tb = err.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last is not None and Path(last).resolve().is_relative_to(NEARLY_DIR)


def check_misuse(err: BaseException) -> None:
    assert isinstance(err, (TypeError, ValueError)), f"undocumented exception: {err!r}"
    assert not isinstance(err, AssertionError)
    text = str(err)
    assert text.strip(), f"{type(err).__name__} without a message"
    assert raised_by_nearly(err), (
        f"{type(err).__name__} escaped from a library: {text}\n"
        + "".join(traceback.format_exception(err))
    )
    MISUSE[f"{type(err).__name__}: {text[:120]}"] += 1


def snapshot(tree: Any) -> list[Any]:
    """Bytes, dtypes, shapes, flags and masks of every NumPy leaf, and Python leaves as is."""
    out: list[Any] = []

    def visit(x: Any) -> Any:
        out.append(
            (
                x.dtype,
                x.shape,
                x.strides,
                x.flags.writeable,
                np.ascontiguousarray(np.ma.getdata(x)).tobytes(),
                None if not isinstance(x, np.ma.MaskedArray) else np.ma.getmaskarray(x).tobytes(),
            )
        )
        return x

    transform_tree(tree, visit)
    return out


def json_clean(x: Any) -> None:
    """``to_dict()`` output holds only JSON types and finite numbers."""
    json.dumps(x, allow_nan=False)


def check_comparison(actual: Any, expected: Any, opts: dict[str, Any]) -> None:
    """Every property of one comparison (see the module docstring); a warning nearly emits
    counts as a failure (test suites turn warnings into errors)."""
    EXAMPLES["compare"] += 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _check_comparison(actual, expected, opts)


def _check_comparison(actual: Any, expected: Any, opts: dict[str, Any]) -> None:
    before = (snapshot(actual), snapshot(expected))
    try:
        result = nearly.compare(actual, expected, **opts)
    except (TypeError, ValueError) as err:
        check_misuse(err)
        # the assertion refuses the same input the same way
        try:
            nearly.assert_close(actual, expected, **opts)
        except (TypeError, ValueError) as err2:
            assert type(err2) is type(err), (err, err2)  # noqa: PT017
        else:
            raise AssertionError(f"compare raised {err!r} but assert_close did not") from None
        return
    report = str(result)
    assert isinstance(report, str)
    assert report
    assert bool(result) is result.ok
    assert result.ok is (not result.mismatches)
    d = result.to_dict()
    json_clean(d)
    assert d["ok"] is result.ok
    for m in result.mismatches:
        assert m.kind in KINDS, m
        assert 0 <= m.count <= max(m.total, 1), m
        if m.kind == "value":
            assert m.count >= 1 or m.total == 0, m
        for v in (m.max_abs, m.max_rel, m.max_ulps):
            assert v is None or v >= 0 or v != v, m
        repr(m)
    assert nearly.explain(actual, expected, **opts) == report
    try:
        nearly.assert_close(actual, expected, **opts)
    except nearly.NotClose as err:
        assert not result.ok, "assert_close raised on a passing comparison"
        # (compare also describes passing leaves in notes; the mismatches are the same)
        raised = err.comparison.mismatches
        assert [(m.path, m.kind) for m in raised] == [(m.path, m.kind) for m in result.mismatches]
    else:
        assert result.ok, f"assert_close passed, compare says:\n{report}"
    flags = {k: v for k, v in opts.items() if k not in ("rtol", "atol", "ulps", "tol")}
    try:
        exact = nearly.compare(actual, expected, tol=nearly.Tolerance(), **flags)
    except (TypeError, ValueError) as err:
        check_misuse(err)
        return
    try:
        nearly.assert_equal(actual, expected, **flags)
    except nearly.NotClose:
        assert not exact.ok, "assert_equal raised where compare(tol=Tolerance()) passed"
    else:
        assert exact.ok, f"assert_equal passed, compare(tol=Tolerance()) says:\n{exact}"
    try:
        nearly.assert_finite(actual)
    except nearly.NotFinite as err:
        text = str(err)
        assert text
    except (TypeError, ValueError) as err:
        check_misuse(err)
    after = (snapshot(actual), snapshot(expected))
    assert before == after, "an input was modified"


# ----------------------------------------------------------------------------- the CLI


@st.composite
def npy_bytes(draw: st.DrawFn) -> tuple[str, bytes]:
    """A file's name and bytes: a valid .npy or .npz, then maybe mutated or cut."""
    arr = draw(np_arrays())
    if isinstance(arr, np.ma.MaskedArray) or arr.dtype.name in ML:
        data = np.asarray(np.ma.getdata(arr))
        # a deliberate, lossy cast: complex parts and out-of-range values are dropped quietly
        with np.errstate(all="ignore"):
            arr = (data.real if data.dtype.kind == "c" else data).astype(np.float32)
    buf = io.BytesIO()
    kind = draw(st.sampled_from(["npy", "npz", "npz-compressed", "object", "random"]))
    if kind == "npy":
        np.save(buf, arr)
    elif kind == "object":
        np.save(buf, np.array([1, "x", None], dtype=object), allow_pickle=True)
    elif kind == "random":
        buf.write(draw(st.binary(max_size=300)))
    else:
        with zipfile.ZipFile(
            buf, "w", zipfile.ZIP_DEFLATED if kind == "npz-compressed" else zipfile.ZIP_STORED
        ) as zf:
            for key in draw(st.lists(st.sampled_from(["x", "y", "z"]), max_size=2, unique=True)):
                member = io.BytesIO()
                np.save(member, arr)
                zf.writestr(key + ".npy", member.getvalue())
    raw = bytearray(buf.getvalue())
    how = draw(st.sampled_from(["keep", "flip", "cut", "insert", "header"]))
    if raw and how == "flip":
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(raw) - 1))
            raw[i] ^= 1 << draw(st.integers(0, 7))
    elif raw and how == "cut":
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    elif how == "insert":
        i = draw(st.integers(0, len(raw)))
        raw[i:i] = draw(st.binary(min_size=1, max_size=8))
    elif how == "header" and kind == "npy":
        # a header that promises something else: a huge or odd shape, another dtype
        text = raw[:128].decode("latin1")
        new_shape = draw(st.sampled_from(["(10**12,)", "(4611686018427387904, 4)", "(-1,)", "()"]))
        start, end = text.find("'shape': "), text.find(")", text.find("'shape': "))
        if start >= 0 and end > start:
            text = (
                text[: start + 9] + new_shape.replace("10**12", "1000000000000") + text[end + 1 :]
            )
            raw[:128] = text.encode("latin1")[:128].ljust(128, b" ")
    suffix = ".npz" if kind.startswith("npz") else ".npy"
    return suffix, bytes(raw)


def check_cli(file_a: tuple[str, bytes], file_b: tuple[str, bytes], flags: list[str]) -> None:
    EXAMPLES["cli"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        a = Path(tmp) / ("a" + file_a[0])
        b = Path(tmp) / ("b" + file_b[0])
        a.write_bytes(file_a[1])
        b.write_bytes(file_b[1])
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli_main(["compare", str(a), str(b), *flags])
        assert rc in (0, 1, 2), rc
        if rc == 2:
            lines = err.getvalue().splitlines()
            assert len(lines) == 1, err.getvalue()
            assert lines[0].startswith("nearly: error: "), lines
            assert out.getvalue() == ""
        else:
            assert err.getvalue() == "", err.getvalue()
            assert out.getvalue().strip()


cli_flags = st.lists(
    st.sampled_from(["--json", "--check-dtype", "--allow-pickle", "--ulps=1", "--rtol=0.1"]),
    max_size=2,
    unique=True,
)


# ------------------------------------------------------------------------------ the runner


def make_properties(
    frameworks: list[str], max_examples: int, seed: int | None
) -> dict[str, Callable[[], None]]:
    """The fuzz properties as Hypothesis tests with the given settings."""
    config = settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.target, Phase.shrink],
        print_blob=True,
    )

    @config
    @given(pairs(frameworks), options())
    def structures(pair: tuple[Any, Any, list[str]], opts: dict[str, Any]) -> None:
        actual, expected, plan = pair
        actual, expected = moved(actual, plan, 0), moved(expected, plan, 5)
        check_comparison(actual, expected, opts)
        check_comparison(expected, actual, opts)
        check_comparison(actual, actual, opts)

    @config
    @given(npy_bytes(), npy_bytes(), cli_flags)
    def cli(file_a: tuple[str, bytes], file_b: tuple[str, bytes], flags: list[str]) -> None:
        check_cli(file_a, file_b, flags)

    props: dict[str, Callable[[], None]] = {"structures": structures, "cli": cli}
    if seed is not None:
        from hypothesis import seed as with_seed

        props = {k: with_seed(seed)(v) for k, v in props.items()}
    return props


def run(
    minutes: float,
    examples: int | None,
    target: str,
    frameworks: list[str],
    log: str | None = None,
) -> int:
    deadline = time.monotonic() + 60 * minutes
    failures: Counter[str] = Counter()
    details: dict[str, str] = {}
    rounds = 0
    per_round = 200 if examples is None else min(200, examples)
    names = ["structures", "cli"] if target == "all" else [target]
    while True:
        for name in names:
            if (
                examples is not None
                and EXAMPLES["compare" if name == "structures" else "cli"] >= examples
            ):
                continue
            prop = make_properties(frameworks, per_round, seed=None)[name]
            rounds += 1
            try:
                prop()
            except Exception as err:  # a property failed: record it and carry on
                first = str(err).splitlines()[0][:160] if str(err) else ""
                key = f"{name}: {type(err).__name__}: {first}"
                failures[key] += 1
                details.setdefault(key, "".join(traceback.format_exception(err))[-4000:])
                print(f"\n=== FAILURE ({name}) ===\n{details[key]}", flush=True)
                if log is not None:
                    with open(log, "a") as fh:
                        fh.write(f"\n=== FAILURE ({name}) ===\n")
                        fh.write("".join(traceback.format_exception(err)))
        done_examples = examples is not None and all(
            EXAMPLES["compare" if n == "structures" else "cli"] >= examples for n in names
        )
        if time.monotonic() >= deadline if examples is None else done_examples:
            break
        if examples is None:
            print(
                f"[{time.strftime('%H:%M:%S')}] rounds {rounds}, comparisons "
                f"{EXAMPLES['compare']}, cli runs {EXAMPLES['cli']}, "
                f"failures {sum(failures.values())}",
                flush=True,
            )
    print("\n===== summary =====")
    print(f"frameworks: {', '.join(frameworks)}")
    print(
        f"rounds: {rounds}; comparisons checked: {EXAMPLES['compare']}; cli runs: {EXAMPLES['cli']}"
    )
    print(f"distinct failures: {len(failures)}")
    for key, n in failures.most_common():
        print(f"  {n}x {key}")
    print(f"misuse errors seen (TypeError/ValueError from nearly): {len(MISUSE)} distinct")
    for key, n in MISUSE.most_common(25):
        print(f"  {n}x {key}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="how long to run")
    parser.add_argument("--examples", type=int, help="stop after this many examples instead")
    parser.add_argument("--target", choices=["all", "structures", "cli"], default="all")
    parser.add_argument(
        "--frameworks",
        default="all",
        help="comma-separated subset of numpy,torch,tensorflow,jax (default: all installed)",
    )
    parser.add_argument("--log", help="append every failure, in full, to this file")
    args = parser.parse_args(argv)
    found = available_frameworks()
    frameworks = (
        found if args.frameworks == "all" else [f for f in args.frameworks.split(",") if f in found]
    )
    return run(args.minutes, args.examples, args.target, frameworks or ["numpy"], args.log)


if __name__ == "__main__":
    sys.exit(main())
