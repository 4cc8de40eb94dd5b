"""Accurate, mergeable summary statistics of arrays and of streams of batches.

``summarize(x)`` reports count, sum, mean, variance, standard deviation, min, max, the sum of
absolute values and how many NaN/±inf values were left out, for an array of any dtype from any
framework, or for an iterable of batches (a generator, a ``tf.data.Dataset``, a
``torch.utils.data.DataLoader``), in memory that does not grow with the data.

Why not ``x.mean()``: NumPy and TensorFlow add the rows of a non-contiguous reduction one at a
time in the input's precision. The float32 mean along axis 0 of a (1e6, 5) array of values in
[1000, 1001] is off by about 9.5, and its standard deviation comes out near 9.5 instead of 0.29.
Here every value is read as float64 (exactly, whatever its dtype), sums are compensated and the
variance is merged from per-chunk two-pass results, so the statistics are accurate to a few
float64 roundings:

>>> import numpy as np
>>> from nearly.stats import summarize
>>> x = np.full((100_000, 2), 1000.1, dtype=np.float32)
>>> s = summarize(x, axis=0)
>>> s.mean.tolist() == [float(np.float32(1000.1))] * 2
True
>>> s.std.tolist()
[0.0, 0.0]
>>> s = summarize([1.0, 2.0, float("nan"), 4.0])
>>> s.count, s.mean, s.nan_count
(3, 2.3333333333333335, 1)

How the numbers are computed
----------------------------
* The reduced axes are walked in slabs of about ``CHUNK`` elements (a slab is converted to
  float64, so the extra memory is a few chunk-sized buffers, never a float64 copy of the input),
  plus the running state: about a dozen numbers per element of the result.
* Within a slab, sums are pairwise with an error-free transformation (TwoSum) at every addition,
  giving a (hi, lo) pair; slabs and :meth:`Summary.merge` add those pairs with TwoSum again, so a
  sum is accurate to about one float64 rounding of the exact sum, whatever the order of merges.
  64-bit integers are split into two exactly representable halves first, so their sums are exact
  too.
* Variance: each slab's sum of squared deviations from its own mean (the corrected two-pass
  algorithm, ``sum(d**2) - sum(d)**2 / n``, which cancels the rounding of the slab's mean),
  combined with the parallel formula of Chan, Golub and LeVeque:
  ``M2 = M2_a + M2_b + (mean_b - mean_a)**2 * n_a * n_b / n``, where the difference of the means
  is taken from the (hi, lo) sums in double-float64 precision. The textbook
  ``sum(x**2) - sum(x)**2 / n`` is never used: it cancels catastrophically when the mean is large
  compared with the spread (for 1e8 plus unit-variance noise in float64 it can return 0).

Semantics
---------
* NaN, +inf and -inf are counted (``nan_count``, ``posinf_count``, ``neginf_count``;
  ``excluded`` is their total) and left out of every other statistic: ``count`` is the number of
  finite values, ``mean`` the mean of the finite values, and so on. Masked elements of a NumPy
  masked array are ignored altogether (neither counted nor excluded).
* ``var``/``std`` divide by ``count`` (population, ddof=0); ``var_sample``/``std_sample`` by
  ``count - 1`` (ddof=1).
* With no finite values (e.g. empty input) ``count`` is 0, ``sum`` and ``sum_abs`` are 0.0, and
  ``mean``, ``var``, ``std``, ``min`` and ``max`` are NaN, without a warning. ``var_sample`` and
  ``std_sample`` are NaN when ``count < 2``.
* With ``axis=None`` every statistic is a Python scalar; with an int or a tuple of ints they are
  NumPy arrays (float64, counts int64) with the shape of the axes not reduced.
* Values are read as float64: exactly for every float format up to float64 (float16, bfloat16,
  float8 included), bool and integers up to 32 bits; 64-bit integers are summed exactly (see
  above) but their mean/min/max are rounded to float64; ``longdouble`` is rounded to float64.
  Complex, string, date and object arrays raise ``TypeError``. A sum that overflows float64 is
  ``inf``.
* Tensors that live on a device (a GPU) are copied to the host in slabs along axis 0 when axis 0
  is reduced (bounded memory), and as a whole otherwise. Symbolic TensorFlow tensors (inside
  ``tf.function``) and traced JAX values have no values and raise ``TypeError``.

Streaming
---------
An iterable that is not an array, tensor, list or tuple (a generator, an iterator, a
``tf.data.Dataset``, a ``torch.utils.data.DataLoader``...) is read as a stream of batches; each
batch is summarized and merged, one batch in memory at a time. ``axis`` refers to the axes of a
batch and must include the batch axis 0 (``axis=None`` reduces everything). With an axis, every
batch must have the trailing shape of the first. A batch that is a tuple or list holding arrays
(``(features, labels)``) is read as its element 0; pass ``select=`` (a callable taking a batch and
returning the array to summarize) to pick another, e.g. ``select=lambda b: b["image"]``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeAlias

import numpy as np

from nearly._prim import dtypes as _dtypes
from nearly._prim.compensated import add_pair as _add_pair
from nearly._prim.compensated import sum2 as _sum2
from nearly._prim.compensated import two_sum as _two_sum
from nearly._prim.compensated import value as _value
from nearly._prim.jsonable import jsonable as _jsonable
from nearly.backends import backend_of, to_leaf

__all__ = ["Summary", "summarize"]

#: Elements per slab converted to float64 at a time (a few buffers of this size are live).
CHUNK = 1 << 17
#: Elements copied to the host per slab when reading a tensor that lives on a device.
HOST_CHUNK = 1 << 22

F64 = np.float64
Array: TypeAlias = np.ndarray[Any, Any]
#: A statistic: a Python float with ``axis=None``, else a float64 array.
Stat: TypeAlias = "float | np.ndarray[Any, np.dtype[np.float64]]"
#: A count: a Python int with ``axis=None``, else an int64 array.
Count: TypeAlias = "int | np.ndarray[Any, np.dtype[np.int64]]"

_SPLIT = float(2**32)


# ----------------------------------------------------------------------------- the arithmetic


def _psum(x: Array) -> Array:
    """Column sums of ``x`` (m >= 1 rows) by plain pairwise summation: relative error about
    log2(m) roundings for terms of one sign (used for sums of squares)."""
    side: Array | None = None
    while x.shape[0] > 1:
        m = x.shape[0]
        h = m // 2
        if m % 2:
            side = x[-1].copy() if side is None else side + x[-1]
        x = x[:h] + x[h : 2 * h]
    total: Array = x[0] if side is None else x[0] + side
    return total


def _normalize(hi: Array, lo: Array) -> tuple[Array, Array]:
    """(fl(hi + lo), the rounding error): the value first, what it lacks second."""
    s, t = _two_sum(hi, lo)
    finite = np.isfinite(s)
    return np.where(finite, s, hi), np.where(finite, t, 0.0)


def _divide(num: Array, den: Array, min_den: int = 1) -> Array:
    """num / den where den >= min_den, else NaN (no warning)."""
    ok = den >= min_den
    if ok.all():
        out: Array = num / den
        return out
    return np.where(ok, num / np.where(ok, den, 1), np.nan)


def _two_prod(a: Array, b: Array) -> tuple[Array, Array]:
    """``p = fl(a * b)`` and the exact error ``a * b - p`` (Dekker, with Veltkamp splits)."""
    p = a * b
    c = 134217729.0 * a  # 2**27 + 1
    ah = c - (c - a)
    al = a - ah
    c = 134217729.0 * b
    bh = c - (c - b)
    bl = b - bh
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, err


def _mean2(n: Array, s_hi: Array, s_lo: Array) -> tuple[Array, Array]:
    """The mean (s_hi + s_lo) / n as an unevaluated (hi, lo) pair: the low part keeps what
    float64 rounding of the mean loses (needed to subtract two close means accurately)."""
    nf = np.where(n > 0, n, 1).astype(F64)
    q = s_hi / nf
    p, e = _two_prod(q, nf)
    lo = (((s_hi - p) - e) + s_lo) / nf
    return q, np.where(np.isfinite(lo), lo, 0.0)


def _m2_merge(
    n_a: Array,
    sum_a: tuple[Array, Array],
    m2_a: Array,
    n_b: Array,
    sum_b: tuple[Array, Array],
    m2_b: Array,
) -> Array:
    """Chan, Golub and LeVeque's merge of two sums of squared deviations.

    ``sum_a``/``sum_b`` are the (hi, lo) sums: the difference of the two means is taken in
    double-float64 precision, so a large mean with a small spread (1e8 + noise) does not
    bring the mean's rounding error into the merged variance.
    """
    n = n_a + n_b
    both = (n_a > 0) & (n_b > 0)
    qa, la = _mean2(n_a, *sum_a)
    qb, lb = _mean2(n_b, *sum_b)
    delta = np.where(both, (qb - qa) + (lb - la), 0.0)
    w = np.where(both, n_a / np.where(n > 0, n, 1), 0.0)
    m2: Array = m2_a + m2_b + delta * delta * w * n_b
    return m2


# --------------------------------------------------------------------------- the accumulator


class _Acc:
    """Running statistics for K positions (the flattened axes not reduced)."""

    def __init__(self, k: int) -> None:
        self.n = np.zeros(k, np.int64)
        self.nan = np.zeros(k, np.int64)
        self.posinf = np.zeros(k, np.int64)
        self.neginf = np.zeros(k, np.int64)
        self.s_hi = np.zeros(k)
        self.s_lo = np.zeros(k)
        self.a_hi = np.zeros(k)
        self.a_lo = np.zeros(k)
        self.m2 = np.zeros(k)
        self.mn = np.full(k, np.inf)
        self.mx = np.full(k, -np.inf)
        self.fresh = True  # nothing added yet

    # --- feeding
    def add_array(self, arr: Array, mask: Array | None, axes: tuple[int, ...]) -> None:
        """Add the values of ``arr`` reduced over ``axes`` (its other axes flatten to K)."""
        with np.errstate(all="ignore"):
            self._add_array(arr, mask, axes)

    def _add_array(self, arr: Array, mask: Array | None, axes: tuple[int, ...]) -> None:
        front = list(axes)
        view = np.moveaxis(arr, front, list(range(len(front))))
        mview = None if mask is None else np.moveaxis(mask, front, list(range(len(front))))
        k = math.prod(view.shape[len(front) :])
        for block, mblock in _slabs(view, mview, len(front), k):
            self._add_block(block, mblock)

    def _add_block(self, block: Array, mblock: Array | None) -> None:
        m, k = block.shape
        if m == 0 or k == 0:
            return
        if m * k <= CHUNK:
            self._add_columns(slice(0, k), block, mblock, self.fresh)
        else:
            # tiles of about CHUNK elements, as many rows as possible (fewer merges)
            rstep = min(m, CHUNK)
            cstep = max(1, CHUNK // rstep)
            for r0 in range(0, m, rstep):
                rows = slice(r0, r0 + rstep)
                for c0 in range(0, k, cstep):
                    cols = slice(c0, min(k, c0 + cstep))
                    msub = None if mblock is None else mblock[rows, cols]
                    self._add_columns(cols, block[rows, cols], msub, self.fresh and r0 == 0)
        self.fresh = False

    def _add_columns(self, sl: slice, sub: Array, masked: Array | None, fresh: bool) -> None:
        """Add a tile; ``fresh``: nothing was added to these columns yet (no merge needed)."""
        fam = _dtypes.family(sub.dtype)
        m, c = sub.shape
        valid: Array | None = None if masked is None or not masked.any() else ~masked
        # a tall, narrow tile is laid out column by column (Fortran order), so that reductions
        # along the rows and broadcasts over them run along contiguous memory
        order: Literal["C", "F"] = "F" if m > c else "C"
        if fam == "int" and sub.dtype.itemsize == 8 and not _dtypes._is_ml_dtype(sub.dtype):
            # two halves exact in float64: value == hi + lo
            hi32 = (sub >> 32).astype(F64, order=order)
            hi32 *= _SPLIT
            parts = [hi32, (sub & 0xFFFFFFFF).astype(F64, order=order)]
        else:
            parts = [sub.astype(F64, order=order)]
        if valid is not None:
            for p in parts:
                p[~valid] = 0.0
        hi, lo = _sum2(parts[0])
        if fam == "float" and not np.isfinite(hi).all():
            # a non-finite value (or an overflowing sum): find them, leave them out, sum again
            w = parts[0]
            finite = np.isfinite(w)
            self._count_nonfinite(sl, w, valid)
            valid = finite if valid is None else finite & valid
            w[~valid] = 0.0
            hi, lo = _sum2(w)
        if len(parts) == 2:
            hi, lo = _add_pair(hi, lo, *_sum2(parts[1]))
        count = np.full(c, m, np.int64) if valid is None else valid.sum(axis=0, dtype=np.int64)
        vals = parts[0] if len(parts) == 1 else parts[0] + parts[1]  # rounded once: min/max

        # min / max over valid values
        if valid is None:
            mn, mx = vals.min(axis=0), vals.max(axis=0)
        else:
            mn = np.where(valid, vals, np.inf).min(axis=0)
            mx = np.where(valid, vals, -np.inf).max(axis=0)

        # sum of |x|: equal to ±sum when a chunk has one sign
        if not (mn < 0).any():
            ahi, alo = hi, lo
        elif not (mx > 0).any():
            ahi, alo = -hi, -lo
        else:
            neg = vals < 0
            ahi, alo = _sum2(np.where(neg, -parts[0], parts[0]))
            if len(parts) == 2:
                ahi, alo = _add_pair(ahi, alo, *_sum2(np.where(neg, -parts[1], parts[1])))

        # two-pass M2 of the chunk about its own mean (the buffers are not needed any more)
        mean_c = _divide(hi + lo, count)
        d = parts[0]
        d -= mean_c
        if len(parts) == 2:
            d += parts[1]
        if valid is not None:
            d[~valid] = 0.0
        # corrected two-pass: sum(d*d) - sum(d)**2 / n removes the effect of the rounding of
        # mean_c (it matters for 64-bit integers, whose mean float64 cannot hold)
        dsum = _psum(d)
        d *= d
        m2_c = np.maximum(_psum(d) - _divide(dsum * dsum, count), 0.0)
        m2_c[count == 0] = 0.0

        if fresh:
            self.n[sl], self.s_hi[sl], self.s_lo[sl], self.m2[sl] = count, hi, lo, m2_c
            self.a_hi[sl], self.a_lo[sl], self.mn[sl], self.mx[sl] = ahi, alo, mn, mx
            return
        # merge into the running state
        n_a = self.n[sl]
        sum_a = (self.s_hi[sl], self.s_lo[sl])
        self.m2[sl] = _m2_merge(n_a, sum_a, self.m2[sl], count, (hi, lo), m2_c)
        self.n[sl] = n_a + count
        self.s_hi[sl], self.s_lo[sl] = _add_pair(self.s_hi[sl], self.s_lo[sl], hi, lo)
        self.a_hi[sl], self.a_lo[sl] = _add_pair(self.a_hi[sl], self.a_lo[sl], ahi, alo)
        np.minimum(self.mn[sl], mn, out=self.mn[sl])
        np.maximum(self.mx[sl], mx, out=self.mx[sl])

    def _count_nonfinite(self, sl: slice, w: Array, keep: Array | None) -> None:
        for target, hit in (
            (self.nan, np.isnan(w)),
            (self.posinf, w == np.inf),
            (self.neginf, w == -np.inf),
        ):
            if keep is not None:
                hit &= keep
            target[sl] += hit.sum(axis=0, dtype=np.int64)

    # --- reading out
    def summary(self, axis: tuple[int, ...] | None, shape: tuple[int, ...]) -> Summary:
        with np.errstate(all="ignore"):
            s_hi, s_lo = _normalize(self.s_hi, self.s_lo)
            a_hi, a_lo = _normalize(self.a_hi, self.a_lo)
        return _make(
            axis,
            shape,
            n=self.n,
            s_hi=s_hi,
            s_lo=s_lo,
            a_hi=a_hi,
            a_lo=a_lo,
            m2=self.m2,
            mn=self.mn,
            mx=self.mx,
            nan=self.nan,
            posinf=self.posinf,
            neginf=self.neginf,
        )


def _slabs(
    view: Array, mview: Array | None, nred: int, k: int
) -> Iterator[tuple[Array, Array | None]]:
    """(rows, k) blocks of ``view`` whose first ``nred`` axes are reduced and whose other axes
    flatten to ``k`` columns. A block holds about ``CHUNK`` elements (a single row may be
    larger: the result itself has that many elements); copies happen only per block."""
    if view.size == 0:
        return
    if nred == 0:
        yield view.reshape(1, k), None if mview is None else mview.reshape(1, k)
        return
    n0 = view.shape[0]
    row = math.prod(view.shape[1:])
    if row <= CHUNK:
        step = max(1, CHUNK // max(row, 1))
        for i in range(0, n0, step):
            block = view[i : i + step].reshape(-1, k)
            yield block, None if mview is None else mview[i : i + step].reshape(-1, k)
    elif nred == 1 and _mergeable(view) and (mview is None or _mergeable(mview)):
        # long rows whose kept axes flatten without a copy: one 2-D view, tiled by the caller
        yield view.reshape(n0, k), None if mview is None else mview.reshape(n0, k)
    else:
        for i in range(n0):
            sub = None if mview is None else mview[i]
            if nred == 1:  # a copy of at most one row: as many elements as the result has
                yield view[i].reshape(1, k), None if sub is None else sub.reshape(1, k)
            else:
                yield from _slabs(view[i], sub, nred - 1, k)


def _mergeable(view: Array) -> bool:
    """Whether the axes after the first flatten into one without a copy."""
    dims = [(n, st) for n, st in zip(view.shape[1:], view.strides[1:], strict=True) if n != 1]
    return all(a[1] == b[1] * b[0] for a, b in itertools.pairwise(dims))


# ------------------------------------------------------------------------------ the result


def _as_stat(x: Array, scalar: bool) -> Any:
    return float(x.reshape(-1)[0]) if scalar else x


def _as_count(x: Array, scalar: bool) -> Any:
    return int(x.reshape(-1)[0]) if scalar else x


def _make(
    axis: tuple[int, ...] | None,
    shape: tuple[int, ...],
    *,
    n: Array,
    s_hi: Array,
    s_lo: Array,
    a_hi: Array,
    a_lo: Array,
    m2: Array,
    mn: Array,
    mx: Array,
    nan: Array,
    posinf: Array,
    neginf: Array,
) -> Summary:
    """A Summary from flat state arrays (one entry per result position)."""
    scalar = axis is None
    with np.errstate(all="ignore"):
        mean = _divide(_value(s_hi, s_lo), n)
        var = _divide(m2, n)
        var_s = _divide(m2, n - 1, min_den=1)
        var_s = np.where(n >= 2, var_s, np.nan)
        mn = np.where(n > 0, mn, np.nan)
        mx = np.where(n > 0, mx, np.nan)

    def stat(x: Array) -> Any:
        return _as_stat(np.asarray(x, F64).reshape(shape), scalar)

    def cnt(x: Array) -> Any:
        return _as_count(np.asarray(x, np.int64).reshape(shape), scalar)

    return Summary(
        count=cnt(n),
        sum=stat(s_hi),
        mean=stat(mean),
        var=stat(var),
        var_sample=stat(var_s),
        std=stat(np.sqrt(var)),
        std_sample=stat(np.sqrt(var_s)),
        min=stat(mn),
        max=stat(mx),
        sum_abs=stat(a_hi),
        nan_count=cnt(nan),
        posinf_count=cnt(posinf),
        neginf_count=cnt(neginf),
        axis=axis,
        shape=shape,
        _sum_lo=stat(s_lo),
        _sum_abs_lo=stat(a_lo),
        _m2=stat(m2),
    )


_EXCLUDED = ("nan_count", "posinf_count", "neginf_count")
_PUBLIC = (
    "count",
    "sum",
    "mean",
    "var",
    "var_sample",
    "std",
    "std_sample",
    "min",
    "max",
    "sum_abs",
    "nan_count",
    "posinf_count",
    "neginf_count",
)


@dataclass(frozen=True, eq=False)
class Summary:
    """Statistics of the finite values of an array, along ``axis`` (see :mod:`nearly.stats`).

    Each statistic is a Python scalar when ``axis`` is None, else a NumPy array of shape
    ``shape`` (float64; the counts int64). ``count`` counts finite values; NaN and ±inf are
    counted in ``nan_count``/``posinf_count``/``neginf_count`` (``excluded`` is their total) and
    left out of everything else. ``var``/``std`` are population (ddof=0) statistics,
    ``var_sample``/``std_sample`` sample (ddof=1) ones. With no finite values, mean, var, std,
    min and max are NaN.

    ``a.merge(b)`` is the summary of both inputs together; ``==`` compares every statistic
    (NaN equal to NaN).
    """

    count: Count
    sum: Stat
    mean: Stat
    var: Stat
    var_sample: Stat
    std: Stat
    std_sample: Stat
    min: Stat
    max: Stat
    sum_abs: Stat
    nan_count: Count
    posinf_count: Count
    neginf_count: Count
    axis: tuple[int, ...] | None = None
    shape: tuple[int, ...] = ()
    # exact-merge state: the low parts of the (hi, lo) sums, and the sum of squared deviations
    _sum_lo: Stat = field(default=0.0, repr=False)
    _sum_abs_lo: Stat = field(default=0.0, repr=False)
    _m2: Stat = field(default=0.0, repr=False)

    @property
    def excluded(self) -> Count:
        """How many values were left out as NaN or ±inf."""
        total: Count = self.nan_count + self.posinf_count + self.neginf_count
        return total

    def merge(self, other: Summary) -> Summary:
        """The summary of this summary's values and ``other``'s together.

        Sums are added as (hi, lo) pairs with an error-free transformation and the variance
        with Chan, Golub and LeVeque's formula, so merging in any order gives the summary of
        the concatenated data to within a few float64 roundings.

        Raises:
            TypeError: ``other`` is not a Summary.
            ValueError: the two were taken along different axes or have different shapes.
        """
        if not isinstance(other, Summary):
            raise TypeError(f"Summary.merge takes a Summary, not {type(other).__name__}")
        if self.axis != other.axis or self.shape != other.shape:
            raise ValueError(
                f"cannot merge a summary along axis={self.axis} with result shape {self.shape} "
                f"and one along axis={other.axis} with result shape {other.shape}: summarize "
                "both along the same axis of arrays with the same remaining shape"
            )
        a, b = self._state(), other._state()
        with np.errstate(all="ignore"):
            sum_a, sum_b = (a["s_hi"], a["s_lo"]), (b["s_hi"], b["s_lo"])
            m2 = _m2_merge(a["n"], sum_a, a["m2"], b["n"], sum_b, b["m2"])
            s_hi, s_lo = _normalize(*_add_pair(a["s_hi"], a["s_lo"], b["s_hi"], b["s_lo"]))
            a_hi, a_lo = _normalize(*_add_pair(a["a_hi"], a["a_lo"], b["a_hi"], b["a_lo"]))
        return _make(
            self.axis,
            self.shape,
            n=a["n"] + b["n"],
            s_hi=s_hi,
            s_lo=s_lo,
            a_hi=a_hi,
            a_lo=a_lo,
            m2=m2,
            mn=np.fmin(a["mn"], b["mn"]),
            mx=np.fmax(a["mx"], b["mx"]),
            nan=a["nan"] + b["nan"],
            posinf=a["posinf"] + b["posinf"],
            neginf=a["neginf"] + b["neginf"],
        )

    def _state(self) -> dict[str, Array]:
        def f(x: Any) -> Array:
            return np.asarray(x, F64).reshape(-1)

        def i(x: Any) -> Array:
            return np.asarray(x, np.int64).reshape(-1)

        return {
            "n": i(self.count),
            "s_hi": f(self.sum),
            "s_lo": f(self._sum_lo),
            "a_hi": f(self.sum_abs),
            "a_lo": f(self._sum_abs_lo),
            "m2": f(self._m2),
            "mn": f(self.min),
            "mx": f(self.max),
            "nan": i(self.nan_count),
            "posinf": i(self.posinf_count),
            "neginf": i(self.neginf_count),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict: scalars, or nested lists with ``axis``; non-finite numbers
        become the strings "nan", "inf", "-inf"."""
        out: dict[str, Any] = {
            "axis": None if self.axis is None else list(self.axis),
            "shape": list(self.shape),
        }
        for name in (*_PUBLIC, "excluded"):
            out[name] = _jsonable(getattr(self, name))
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Summary):
            return NotImplemented
        if self.axis != other.axis or self.shape != other.shape:
            return False
        return all(
            np.array_equal(getattr(self, f.name), getattr(other, f.name), equal_nan=True)
            for f in fields(self)
            if f.name not in ("axis", "shape")
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        names = ("count", "mean", "std", "min", "max", "sum", "sum_abs", *_EXCLUDED)
        head = [] if self.axis is None else [f"axis={self.axis}", f"shape={self.shape}"]
        body = [f"{n}={_fmt(getattr(self, n), 17)}" for n in names]
        return f"Summary({', '.join(head + body)})"

    def __str__(self) -> str:
        where = (
            "all values"
            if self.axis is None
            else f"axis {self.axis[0] if len(self.axis) == 1 else self.axis}, "
            f"result shape {self.shape}"
        )
        lines = [f"Summary over {where}"]
        rows = [
            ("count", self.count),
            ("mean", self.mean),
            ("std", self.std),
            ("std (ddof=1)", self.std_sample),
            ("var", self.var),
            ("var (ddof=1)", self.var_sample),
            ("min", self.min),
            ("max", self.max),
            ("sum", self.sum),
            ("sum |x|", self.sum_abs),
            ("NaN", self.nan_count),
            ("+inf", self.posinf_count),
            ("-inf", self.neginf_count),
        ]
        width = max(len(r[0]) for r in rows)
        lines += [f"  {name:<{width}}  {_fmt(value, 10)}" for name, value in rows]
        lines.append("  (NaN and ±inf are counted and left out of the other statistics)")
        return "\n".join(lines)


def _fmt(value: Any, digits: int) -> str:
    if isinstance(value, np.ndarray):
        opts: dict[str, Any] = {"separator": ", ", "threshold": 8, "edgeitems": 3}
        if value.dtype.kind == "f":
            opts["precision"] = digits
        return np.array2string(value, max_line_width=10_000, **opts)
    if isinstance(value, float):
        return repr(value) if digits >= 17 else f"{value:.{digits}g}"
    return repr(value)


# ---------------------------------------------------------------------------- reading input


def _normalize_axis(axis: Any, ndim: int) -> tuple[int, ...] | None:
    if axis is None:
        return None
    items = axis if isinstance(axis, tuple) else (axis,)
    out: list[int] = []
    for a in items:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
            raise TypeError(
                f"axis must be None, an int or a tuple of ints, not {type(a).__name__} ({a!r})"
            )
        if not -ndim <= int(a) < ndim:
            raise np.exceptions.AxisError(
                f"axis {int(a)} is out of range for an array of {ndim} dimension"
                f"{'' if ndim == 1 else 's'} (valid: {-ndim} to {ndim - 1}, or None for all)"
                if ndim
                else f"axis {int(a)} is out of range for a 0-d value: use axis=None"
            )
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"axis {axis!r} repeats an axis")
    return tuple(out)


class _Input:
    """One array to summarize: a host array (with an optional mask), or a device tensor."""

    def __init__(self, obj: Any, what: str) -> None:
        leaf = to_leaf(obj)
        if leaf.kind == "symbolic":
            raise TypeError(
                f"summarize needs values, but {what} is a symbolic TensorFlow tensor (inside "
                "tf.function or a Keras functional model) with none yet. Summarize eager "
                "tensors, or run it on the values with tf.py_function."
            )
        if leaf.kind != "array" or leaf.array is None:
            raise TypeError(
                f"summarize reads numeric arrays, tensors and numbers, not {what} of type "
                f"{type(obj).__name__} (an iterable of batches, such as a generator, a "
                "tf.data.Dataset or a torch DataLoader, is summarized batch by batch)"
            )
        if leaf.meta:
            raise TypeError(f"{what} is a meta tensor: it has a shape and dtype but no values")
        dt = leaf.array.dtype
        fam = _dtypes.family(dt)
        if fam == "complex":
            raise TypeError(
                f"summarize does not take complex values ({what} is "
                f"{_dtypes.dtype_label(dt)}): summarize the real and imaginary parts "
                "separately, e.g. summarize(x.real) and summarize(x.imag)"
            )
        if fam not in ("bool", "int", "float"):
            raise TypeError(
                f"summarize reads numbers, but {what} holds {_dtypes.dtype_label(dt)} values"
            )
        self.obj = leaf.obj
        self.array = leaf.array
        self.mask = leaf.mask
        self.native = leaf.native
        self.shape: tuple[int, ...] = tuple(leaf.array.shape)

    def feed(self, acc: _Acc, axes: tuple[int, ...]) -> None:
        if not self.native:
            acc.add_array(self.array, self.mask, axes)
            return
        host = backend_of(self.obj).host_array
        if self.shape and 0 in axes:
            row = math.prod(self.shape[1:])
            step = max(1, HOST_CHUNK // max(row, 1))
            for s in range(0, self.shape[0], step):
                acc.add_array(np.asarray(host(self.obj[s : s + step])), None, axes)
        else:
            acc.add_array(np.asarray(host(self.obj)), None, axes)


def _summarize_input(inp: _Input, axis: Any) -> Summary:
    ndim = len(inp.shape)
    axes = _normalize_axis(axis, ndim)
    reduced = tuple(range(ndim)) if axes is None else axes
    kept = tuple(s for i, s in enumerate(inp.shape) if i not in reduced)
    acc = _Acc(math.prod(kept))
    inp.feed(acc, reduced)
    return acc.summary(axes, kept)


def _is_stream(x: Any) -> bool:
    if isinstance(x, (str, bytes, list, tuple, Mapping, np.ndarray, np.generic)):
        return False
    if not isinstance(x, Iterable):
        return False
    return to_leaf(x).kind in ("object", "none")


def _holds_arrays(batch: tuple[Any, ...] | list[Any]) -> bool:
    return any(
        not isinstance(v, (bool, int, float, np.generic, list, tuple)) and v is not None
        for v in batch
    )


def _summarize_stream(
    batches: Iterable[Any], axis: Any, select: Callable[[Any], Any] | None
) -> Summary:
    acc: _Acc | None = None
    axes: tuple[int, ...] | None = None
    first: tuple[int, ...] = ()
    for i, raw in enumerate(batches):
        batch = raw
        if select is not None:
            batch = select(raw)
        elif isinstance(raw, (tuple, list)) and raw and _holds_arrays(raw):
            batch = raw[0]
        elif isinstance(raw, Mapping):
            raise TypeError(
                f"batch {i} is a {type(raw).__name__}: pass select= to pick the array to "
                "summarize, e.g. summarize(batches, axis=0, select=lambda b: b['x'])"
            )
        inp = _Input(batch, f"batch {i}")
        if acc is None:
            if axis is None:
                acc = _Acc(1)
            else:
                if not inp.shape:
                    raise ValueError(
                        f"batch {i} is 0-d: streamed batches are summarized along their batch "
                        "axis 0 (use axis=None to summarize all values)"
                    )
                axes = _normalize_axis(axis, len(inp.shape))
                assert axes is not None
                if 0 not in axes:
                    raise ValueError(
                        f"axis={axis!r} leaves out the batch axis 0: streamed batches are "
                        "merged along axis 0, so axis must include it (or be None)"
                    )
                first = inp.shape
                acc = _Acc(math.prod(s for j, s in enumerate(first) if j not in axes))
        if axes is not None and inp.shape[1:] != first[1:]:
            raise ValueError(
                f"batch {i} has shape {inp.shape} but batch 0 had {first}: with axis={axis!r} "
                "every batch must have the same trailing shape (only the batch axis 0 may "
                "differ)"
            )
        inp.feed(acc, tuple(range(len(inp.shape))) if axes is None else axes)
    if axis is None:
        return (acc or _Acc(1)).summary(None, ())
    if acc is None or axes is None:
        raise ValueError(
            f"no batches to summarize: with axis={axis!r} the result shape comes from the "
            "first batch (use axis=None to get an empty summary)"
        )
    return acc.summary(axes, tuple(s for j, s in enumerate(first) if j not in axes))


def summarize(
    x: Any,
    axis: int | tuple[int, ...] | None = None,
    *,
    select: Callable[[Any], Any] | None = None,
) -> Summary:
    """Accurate count, sum, mean, variance, std, min, max and sum of |x| of ``x``.

    Args:
        x: a NumPy array or scalar, a (nested) list of numbers, a PyTorch, TensorFlow (eager)
            or JAX tensor; or an iterable of batches (a generator, an iterator, a
            ``tf.data.Dataset``, a ``torch.utils.data.DataLoader``), summarized one batch at a
            time and merged.
        axis: None for every value (scalar statistics), or the axis or axes to reduce
            (statistics are float64 arrays over the remaining axes). For a stream, axes of a
            batch, including the batch axis 0.
        select: for a stream, a callable picking the array to summarize from each batch
            (default: the batch itself, or element 0 of a tuple/list batch holding arrays).

    Returns:
        A :class:`Summary`. NaN and ±inf are counted and left out of the other statistics.

    Raises:
        TypeError: ``x`` (or a batch) is not numeric (strings, complex, objects) or is a
            symbolic TensorFlow tensor; ``axis`` is not an int or tuple of ints.
        numpy.exceptions.AxisError: an axis is out of range (a ValueError and an IndexError).
        ValueError: repeated axes; for a stream, an axis leaving out axis 0, or batches whose
            trailing shapes differ (the message names the batch).

    >>> summarize([[1, 2], [3, 5]], axis=0).mean
    array([2. , 3.5])
    """
    if _is_stream(x):
        return _summarize_stream(x, axis, select)
    if select is not None:
        raise TypeError("select= applies to streams of batches, not to a single array")
    return _summarize_input(_Input(x, "the input"), axis)
