"""The numeric engine: decide, count and measure element-wise differences between two arrays.

Framework-free and string-free. Work happens in chunks of ``CHUNK`` elements so memory stays
flat however large the inputs: a passing comparison allocates a few chunk-sized temporaries and
nothing proportional to the input. Two passes:

* :func:`count_failures` -- the verdict. An exact-equality test first (cheap, native dtype), then
  the tolerance rule in float64 with a bound on its own rounding error; the rare elements inside
  that bound are decided in exact arithmetic (:mod:`nearly._prim.exact`).
* :func:`measure` -- run only when something failed: counts by cause, the worst absolute,
  relative and ULP differences among failing elements with their indices, and a few examples.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from nearly._prim import dtypes as _dtypes
from nearly._prim.exact import as_fraction, exact_close_complex, exact_close_real
from nearly._prim.rule import Extreme, Rule, band, unit_roundoff

__all__ = [
    "CHUNK",
    "Extreme",
    "Rule",
    "ValueStats",
    "count_failures",
    "failure_mask",
    "measure",
    "measure_each",
    "quick_measurable",
    "quick_pass",
    "quick_pass_number",
    "quick_unequal",
]

CHUNK = 1 << 16
EXAMPLES = 5
#: Verdicts on small arrays are first tried by :func:`quick_pass` (a few vectorised
#: operations, no plan). ``NEARLY_FAST_PATH=0`` turns it off: the full engine then decides
#: everything, with the same verdicts (the test suite runs both ways).
QUICK = os.environ.get("NEARLY_FAST_PATH", "1") != "0"
QUICK_MAX = 1 << 14  # elements

Array = np.ndarray[Any, Any]


@dataclass
class ValueStats:
    """What :func:`measure` found. Flat indices are converted to tuples by the caller."""

    failed: int = 0
    total: int = 0
    nan_only_actual: int = 0
    nan_only_expected: int = 0
    nonfinite_other: int = 0  # inf vs finite, +inf vs -inf, NaN with equal_nan=False
    mask_differs: int = 0
    worst_abs: Extreme | None = None
    worst_rel: Extreme | None = None
    worst_ulps: Extreme | None = None
    examples: list[tuple[tuple[int, ...], Any, Any]] = field(default_factory=list)
    first_failure: tuple[int, ...] | None = None


# ------------------------------------------------------------------------- chunked iteration


def _blocks(arrays: Sequence[Array], chunk: int) -> Iterator[list[Array]]:
    """Yield flat chunks of same-shaped arrays in C order, copying at most a chunk at a time."""
    first = arrays[0]
    if first.ndim == 0 or first.size <= chunk:
        yield [np.ascontiguousarray(x).reshape(-1) for x in arrays]
        return
    if all(x.flags.c_contiguous for x in arrays):
        flats = [x.reshape(-1) for x in arrays]
        for start in range(0, first.size, chunk):
            yield [f[start : start + chunk] for f in flats]
        return
    row = first.size // first.shape[0]
    if row <= chunk:
        step = max(1, chunk // max(row, 1))
        for i in range(0, first.shape[0], step):
            yield [np.ascontiguousarray(x[i : i + step]).reshape(-1) for x in arrays]
    else:
        for i in range(first.shape[0]):
            yield from _blocks([x[i] for x in arrays], chunk)


def _chunks(
    arrays: Sequence[Array | None], chunk: int = CHUNK
) -> Iterator[tuple[int, list[Array | None]]]:
    present = [x for x in arrays if x is not None]
    start = 0
    for parts in _blocks(present, chunk):
        it = iter(parts)
        yield start, [None if x is None else next(it) for x in arrays]
        start += len(parts[0])


# ------------------------------------------------------------------------------ the verdict


@dataclass
class _Chunk:
    """The failing elements of one chunk: their positions in it and, when asked for, what
    the rule saw at each of them (the arrays line up with ``idx``)."""

    idx: Array
    d: Array | None = None  # |a - e| in the work dtype (finite pairs)
    t: Array | None = None  # atol + rtol*|e|
    mag: Array | None = None  # |e|
    finite: Array | None = None
    nan_a: Array | None = None
    nan_e: Array | None = None


def _chunk_rule(
    ac: Array,
    ec: Array,
    rc: Array | None,
    tc: Array | None,
    mac: Array | None,
    mec: Array | None,
    rule: Rule,
    plan: _Plan,
    transform: Callable[[Array], Array] | None,
    need_detail: bool,
    *,
    cheap: bool = True,
) -> _Chunk | _Open | None:
    """The failing elements of one chunk, or None when every element certainly passes, or
    the few elements a cheap test left open (to be decided with those of other chunks)."""
    work, lossy = plan.work, plan.lossy
    plain = transform is None and mac is None
    cheap = cheap and rc is None and tc is None and mac is None
    cheap_own = cheap and plain and plan.own_rtol is not None
    cheap_work = cheap and not cheap_own and plan.work_rtol is not None
    # identical chunks are common, so try `==` first while they keep coming; after the first
    # chunk that differs, try the cheap tolerance test first instead
    if plan.native_eq and plain and (plan.streak[0] or not (cheap_own or cheap_work)):
        if _identical(ac, ec, plan):
            return None
        plan.streak[0] = False
    if rule.exact_only and plan.native_eq and plain and rc is None and tc is None:
        return _unequal(ac, ec, rule, plan, need_detail)
    if cheap_own:
        with np.errstate(invalid="ignore", over="ignore", under="ignore"):
            x, y = ac, ec
            own = plan.own_dtype
            if own is not None and own != ac.dtype:  # 8- and 16-bit formats: in float32
                x, y = plan.buffer(own, ac.size, 3), plan.buffer(own, ac.size, 4)
                np.copyto(x, ac, casting="unsafe")
                np.copyto(y, ec, casting="unsafe")
            # most often atol alone covers every difference: three passes decide that
            tried = plan.atol_wait[0] == 0
            if tried and _within_atol(x, y, plan):
                return None
            clear = _certain_pass(x, y, plan.own_rtol, plan.own_atol, plan)
            all_clear = bool(clear.all())
        if tried:
            # missed: rtol was needed (stop trying atol alone), or this chunk holds failures
            # (try again some chunks later)
            plan.atol_wait[0] = -1 if all_clear else 8
        elif plan.atol_wait[0] > 0:
            plan.atol_wait[0] -= 1
        if all_clear:
            return None
        rest = np.flatnonzero(~clear)
        if rest.size <= ac.size // 4:
            return _Open(rest)
    with np.errstate(invalid="ignore", over="ignore", under="ignore", divide="ignore"):
        aw = ac.astype(work)
        ew = ec.astype(work)
        if transform is not None:
            aw = transform(aw)
        if cheap_work:
            clear = _certain_pass(aw, ew, plan.work_rtol, plan.work_atol, plan)
            if clear.all():
                return None
            rest = np.flatnonzero(~clear)
            if rest.size <= ac.size // 4:
                return _Open(rest)
        nan_a = np.isnan(aw)
        nan_e = np.isnan(ew)
        finite = np.isfinite(aw) & np.isfinite(ew)
        fail = np.zeros(ac.shape, dtype=bool)
        if not finite.all():
            both_nan = nan_a & nan_e
            ok = (both_nan & rule.equal_nan) | (~nan_a & ~nan_e & (aw == ew))
            fail |= ~finite & ~ok
        if plan.int_exact and transform is None:
            d = _int_absdiff(ac, ec).astype(np.float64)  # exact, then one rounding
            lossy = False
        else:
            d = np.abs(aw - ew)
        mag = np.abs(ew)
        rt = rule.rtol if rc is None else rc
        at = rule.atol if tc is None else tc
        t = at + rt * mag
        # A bound on the rounding error of d and t in the work dtype (plus, for 64-bit
        # integers, of converting them): outside it the float verdict is certain.
        u, sub = unit_roundoff(_dtypes.component(work))
        margin = band(
            d, t, u=u, subnormal=sub, maximum=np.maximum, lossy=np.abs(aw) + mag if lossy else None
        )
        over = d - t
        fin_fail = finite & (over > margin)
        clear_pass = over <= -margin
        if not lossy:
            # no conversion rounded, so d == 0 means the values are equal: always a pass
            clear_pass |= d == 0
        # NaN in `over` (inf - inf after an overflow) lands here too: decided exactly
        unsure = finite & ~fin_fail & ~clear_pass
        fail |= fin_fail
        if rule.ulps is not None:
            cand = fail | unsure
            if cand.any():
                idx = np.flatnonzero(cand)
                ulp_ok = _dtypes.ulp_distance_exact_ok(
                    aw[idx] if transform is not None else ac[idx],
                    ec[idx],
                    rule.ulp_dtype,
                    rule.ulps,
                )
                # a NaN/inf mismatch never passes by ULPs unless the values are equal
                ulp_ok &= finite[idx]
                fail[idx[ulp_ok]] = False
                unsure[idx[ulp_ok]] = False
        if unsure.any() and plan.atol_down is not None and rc is None and tc is None:
            _settle_pure_atol(ac, ec, aw, ew, fail, unsure, plan, transform is None)
        if unsure.any():
            for i in np.flatnonzero(unsure):
                a_i = aw[i] if transform is not None else ac[i]
                ok_i = _exact_element(
                    a_i,
                    ec[i],
                    rule,
                    None if rc is None else rc[i],
                    None if tc is None else tc[i],
                    work.kind == "c",
                )
                fail[i] = not ok_i
        if mac is not None and mec is not None:
            both = mac & mec
            one = mac ^ mec
            fail = (fail & ~both) | one
    idx = np.flatnonzero(fail)
    if not need_detail:
        return _Chunk(idx)
    return _Chunk(idx, d[idx], t[idx], mag[idx], finite[idx], nan_a[idx], nan_e[idx])


@dataclass
class _Open:
    """Positions in a chunk that a cheap test could not settle (all others passed)."""

    rest: Array


@dataclass
class _Found:
    """Failing elements of a stretch of the inputs: their flat positions (ascending), their
    values, what the rule saw at each (``res``), and for masked inputs how many positions
    of the stretch have different masks and which failing elements neither side masks."""

    pos: Array
    a: Array
    e: Array
    res: _Chunk
    mask_differs: int = 0
    unmasked: Array | None = None


def _scan(
    a: Array,
    e: Array,
    rule: Rule,
    plan: _Plan,
    masks: tuple[Array, Array] | None,
    transform: Callable[[Array], Array] | None,
    need_detail: bool,
    batch: int = CHUNK,
) -> Iterator[_Found]:
    """Apply the rule chunk by chunk and yield the failing elements in order of position.

    Elements left open by a chunk's cheap test are gathered across chunks and decided once
    ``batch`` of them are waiting, so a sparse failure costs a few large operations instead
    of dozens of tiny ones per chunk (``batch=1``: decide them at once, to stop early)."""
    ma, me = masks if masks is not None else (None, None)
    pos: list[Array] = []
    va: list[Array] = []
    ve: list[Array] = []

    def flush() -> Iterator[_Found]:
        if not pos:
            return
        p, x, y = (np.concatenate(v) for v in (pos, va, ve))
        for v in (pos, va, ve):
            v.clear()
        res = _chunk_rule(
            x, y, None, None, None, None, rule, plan, transform, need_detail, cheap=False
        )
        assert not isinstance(res, _Open)
        if res is not None and res.idx.size:
            yield _Found(p[res.idx], x[res.idx], y[res.idx], res)

    pending = 0
    for start, (ac, ec, rc, tc, mac, mec) in _chunks([a, e, plan.rt, plan.at, ma, me]):
        assert ac is not None and ec is not None
        res = _chunk_rule(ac, ec, rc, tc, mac, mec, rule, plan, transform, need_detail)
        if res is None:
            continue
        if isinstance(res, _Open):
            pos.append(start + res.rest)
            va.append(ac[res.rest])
            ve.append(ec[res.rest])
            pending += res.rest.size
            if pending >= batch:
                yield from flush()
                pending = 0
            continue
        yield from flush()
        pending = 0
        if res.idx.size == 0:
            continue
        found = _Found(start + res.idx, ac[res.idx], ec[res.idx], res)
        if mac is not None and mec is not None:
            found.mask_differs = int(np.count_nonzero(mac ^ mec))
            found.unmasked = ~(mac[res.idx] | mec[res.idx])
        yield found
    yield from flush()


def _exact_element(a: Any, e: Any, rule: Rule, r_i: Any, t_i: Any, cplx: bool) -> bool:
    rtol = rule.rtol_exact if r_i is None else as_fraction(float(r_i))
    atol = rule.atol_exact if t_i is None else as_fraction(float(t_i))
    assert rtol is not None and atol is not None
    if cplx:
        return exact_close_complex(a, e, rtol, atol)
    return exact_close_real(a, e, rtol, atol)


@dataclass(frozen=True)
class _Plan:
    """How a pair of arrays is compared, decided once from their dtypes."""

    work: np.dtype[Any]  # the fast path's dtype
    lossy: bool  # converting to `work` may round (64-bit integers)
    native_eq: bool  # `==` in the arrays' own dtypes is exact
    int_exact: bool  # both integers of one signedness: differences formed exactly
    rt: Array | None  # per-element rtol/atol, broadcast to the compared shape
    at: Array | None
    # with rtol == 0 and a scalar atol: the largest float64 and the largest integer that
    # are <= atol (exactly), so boundary elements are settled without Fractions
    atol_down: float | None = None
    atol_floor: int | None = None
    # same float dtype on both sides with scalar tolerances: a cheap test in that dtype
    # (float32 for the 8- and 16-bit formats, which it holds exactly and computes faster)
    # with shrunken tolerances (see _certain_pass) passes most chunks outright
    own_rtol: Any = None
    own_atol: Any = None
    own_dtype: np.dtype[Any] | None = None
    # equal bit patterns are equal values (NaN payloads included, with equal_nan): identical
    # chunks of floats are found by comparing their bits as unsigned integers
    bits: np.dtype[Any] | None = None
    # the same test in the work dtype (float64), on converted or transformed values
    work_rtol: Any = None
    work_atol: Any = None
    streak: list[bool] = field(default_factory=lambda: [True])  # chunks identical so far
    # chunks to go before atol alone is tried again (-1: never, rtol is needed)
    atol_wait: list[int] = field(default_factory=lambda: [0])
    # chunk-sized work arrays, reused from chunk to chunk: allocating and freeing them for
    # every chunk costs more than the arithmetic (the allocator hands the pages back to the
    # system and they fault in again)
    scratch: dict[tuple[np.dtype[Any], int], Array] = field(default_factory=dict)

    def buffer(self, dtype: np.dtype[Any], n: int, slot: int = 0) -> Array:
        """A work array of ``n`` elements of ``dtype``; ``slot`` tells apart two in use at
        once. Its contents are whatever the previous user left."""
        buf = self.scratch.get((dtype, slot))
        if buf is None or buf.size < n:
            buf = self.scratch[dtype, slot] = np.empty(max(n, CHUNK), dtype=dtype)
        return buf[:n]


def _prepare(a: Array, e: Array, rule: Rule) -> _Plan:
    work = _dtypes.work_dtype(a.dtype, e.dtype)
    lossy = _dtypes.inexact_in_work(a.dtype, work) or _dtypes.inexact_in_work(e.dtype, work)
    ints = _dtypes.family(a.dtype) in ("int", "bool") and _dtypes.family(e.dtype) in ("int", "bool")
    native_eq = ints or (a.dtype == e.dtype and not lossy)
    signs = {_dtypes.signedness(a.dtype), _dtypes.signedness(e.dtype)} if ints else set()
    int_exact = ints and (len(signs) == 1 or "bool" in signs)
    rt = np.broadcast_to(rule.rtol, a.shape) if isinstance(rule.rtol, np.ndarray) else None
    at = np.broadcast_to(rule.atol, a.shape) if isinstance(rule.atol, np.ndarray) else None
    atol_down = atol_floor = None
    if rule.rtol_exact == 0 and rule.atol_exact is not None and rt is None and at is None:
        q = rule.atol_exact
        atol_floor = min(q.numerator // q.denominator, 2**64 - 1)
        down = float(q)
        if Fraction(down) > q:
            down = float(np.nextafter(down, -np.inf))
        atol_down = down
    own_rtol = own_atol = work_rtol = work_atol = own_dtype = bits = None
    scalar = rt is None and at is None and rule.rtol_exact is not None and not rule.exact_only
    same_float = a.dtype == e.dtype and _dtypes.family(a.dtype) == "float"
    if scalar and same_float:
        own_dtype = a.dtype if a.dtype.itemsize >= 4 else np.dtype(np.float32)
        own_rtol, own_atol = _shrunken(rule.rtol_exact, rule.atol_exact, own_dtype)
    if scalar and work == np.dtype(np.float64) and not lossy:
        work_rtol, work_atol = _shrunken(rule.rtol_exact, rule.atol_exact, work)
    if rule.equal_nan and a.dtype == e.dtype and _dtypes.family(a.dtype) in ("float", "complex"):
        size = a.dtype.itemsize
        bits = np.dtype(f"u{size}") if size in (1, 2, 4, 8) else None
        bits = np.dtype(np.uint64) if size % 8 == 0 and bits is None else bits
    return _Plan(
        work,
        lossy,
        native_eq,
        int_exact,
        rt,
        at,
        atol_down,
        atol_floor,
        own_rtol,
        own_atol,
        own_dtype,
        bits,
        work_rtol,
        work_atol,
    )


def _unequal(ac: Array, ec: Array, rule: Rule, plan: _Plan, need_detail: bool) -> _Chunk | None:
    """The exact rule where ``==`` is exact (one dtype, or integers): the failing elements are
    the unequal ones, less the NaN pairs where NaN equals NaN; nothing else to decide."""
    with np.errstate(invalid="ignore"):  # a signalling NaN is just unequal
        idx = np.flatnonzero(np.not_equal(ac, ec))
    if idx.size == 0:
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        aw, ew = ac[idx].astype(plan.work), ec[idx].astype(plan.work)
        nan_a, nan_e = np.isnan(aw), np.isnan(ew)
        if rule.equal_nan:
            keep = ~(nan_a & nan_e)
            if not keep.all():
                idx, aw, ew, nan_a, nan_e = idx[keep], aw[keep], ew[keep], nan_a[keep], nan_e[keep]
                if idx.size == 0:
                    return None
        if not need_detail:
            return _Chunk(idx)
        # for integers of one signedness exact, then one rounding
        d = _int_absdiff(ac[idx], ec[idx]).astype(np.float64) if plan.int_exact else abs(aw - ew)
        finite = np.isfinite(aw) & np.isfinite(ew)
    return _Chunk(idx, d, np.zeros(idx.size), np.abs(ew), finite, nan_a, nan_e)


def _identical(x: Array, y: Array, plan: _Plan) -> bool:
    """Whether every element of ``x`` equals its partner (NaN never does, unless their bits
    agree and NaN equals NaN)."""
    if plan.bits is not None and x.flags.c_contiguous and y.flags.c_contiguous:
        xb, yb = x.reshape(-1).view(plan.bits), y.reshape(-1).view(plan.bits)
        if bool(np.equal(xb, yb, out=plan.buffer(np.dtype(bool), xb.size)).all()):
            return True
    with np.errstate(invalid="ignore"):  # a signalling NaN is just unequal
        return bool(np.equal(x, y, out=plan.buffer(np.dtype(bool), x.size)).all())


def _shrunken(rtol: Fraction | None, atol: Fraction | None, dt: np.dtype[Any]) -> tuple[Any, Any]:
    # (keyed by integers: hashing a Fraction costs a modular inverse)
    assert rtol is not None and atol is not None  # scalar tolerances only
    return _shrunken_of(rtol.numerator, rtol.denominator, atol.numerator, atol.denominator, dt)


@lru_cache(maxsize=256)
def _shrunken_of(rn: int, rd: int, an: int, ad: int, dt: np.dtype[Any]) -> tuple[Any, Any]:
    """rtol·(1 − 32u) and atol·(1 − 32u) − 4·s, rounded down into ``dt`` (s: its smallest
    subnormal). With these, ``fl(|a − e|) <= fl(|e|·rtol' + atol')`` computed in ``dt``
    implies ``|a − e| <= atol + rtol·|e|`` exactly: each of the four roundings moves a side by
    at most u relatively (or by s/2 in the subnormal range), and the margin covers them all."""
    rtol, atol = Fraction(rn, rd), Fraction(an, ad)
    fi = np.finfo(dt)
    u = float(fi.eps) / 2
    s = float(fi.smallest_subnormal)

    def down(x: Fraction) -> Any:
        # beyond the dtype's range the largest finite value stands in (smaller is safe)
        v = dt.type(min(float(x), float(fi.max)))
        while Fraction(float(v)) > x:
            v = np.nextafter(v, dt.type(-np.inf))
        return v

    margin = Fraction(1) - 32 * Fraction(u)
    r = down(rtol * margin) if rtol > 0 else dt.type(0)
    a_exact = atol * margin - 4 * Fraction(s)
    a = down(a_exact) if a_exact > 0 else dt.type(-s)
    return r, a


def _within_atol(x: Array, y: Array, plan: _Plan) -> bool:
    """Whether every ``fl(|x − y|)`` is at most the shrunken atol: then each element passes
    on atol alone (NaN and infinite differences make this False)."""
    if not plan.own_atol > 0:
        return False
    d = plan.buffer(x.dtype, x.size, 1)
    np.subtract(x, y, out=d)
    np.abs(d, out=d)
    return bool(np.maximum.reduce(d) <= plan.own_atol)


def _certain_pass(x: Array, y: Array, rtol: Any, atol: Any, plan: _Plan) -> Array:
    """The elements that certainly pass, tested in the arrays' own float dtype with
    tolerances shrunk by :func:`_shrunken` for it (NaN, infinities and overflow all give
    False; the full rule then decides those). The mask returned lives in ``plan``'s scratch
    space: valid until the next call."""
    d = plan.buffer(x.dtype, x.size, 1)
    t = plan.buffer(x.dtype, x.size, 2)
    np.subtract(x, y, out=d)
    np.abs(d, out=d)
    np.abs(y, out=t)
    t *= rtol
    t += atol
    big = np.finfo(t.dtype).max
    out = plan.buffer(np.dtype(bool), x.size)
    if rtol < 0.25 and atol < big / 4:
        # t is finite for every finite y, and infinite only where y is: the strict test
        # then fails there (an infinite or NaN difference is never below it)
        return np.less(d, t, out=out)
    # an allowance that overflowed to inf would pass anything, even an infinite difference
    np.minimum(t, big, out=t)
    return np.less_equal(d, t, out=out)


def _settle_pure_atol(
    ac: Array,
    ec: Array,
    aw: Array,
    ew: Array,
    fail: Array,
    unsure: Array,
    plan: _Plan,
    untransformed: bool,
) -> None:
    """Decide boundary elements of ``|a - e| <= atol`` (rtol = 0) exactly and vectorised:
    integer differences are exact in uint64; a float64 difference is exact when its TwoSum
    error term is zero, and then compares exactly with the largest float64 <= atol."""
    idx = np.flatnonzero(unsure)
    if plan.int_exact and untransformed:
        assert plan.atol_floor is not None
        fail[idx] = _int_absdiff(ac[idx], ec[idx]) > np.uint64(plan.atol_floor)
        unsure[idx] = False
    elif plan.work == np.dtype(np.float64) and not plan.lossy:
        x, y = aw[idx], -ew[idx]
        total = x + y
        bv = total - x
        err = (x - (total - bv)) + (y - bv)
        exact = (err == 0) & np.isfinite(total)
        settled = idx[exact]
        fail[settled] = np.abs(total[exact]) > plan.atol_down
        unsure[settled] = False


def failure_mask(a: Array, e: Array, rule: Rule) -> Array:
    """Which elements of two same-shaped arrays break ``rule``, decided exactly (a boolean
    array of their shape). For the few elements a graph backend hands to the host."""
    out = np.zeros(a.size, dtype=bool)
    for found in _scan(a, e, rule, _prepare(a, e, rule), None, None, False):
        out[found.pos] = True
    return out.reshape(a.shape)


def _int_absdiff(x: Array, y: Array) -> Array:
    """|x - y| for integers of one signedness, exact as uint64 (the true difference is below
    2**64, and unsigned subtraction modulo 2**64 then gives it exactly)."""
    unsigned = "unsigned" in (_dtypes.signedness(x.dtype), _dtypes.signedness(y.dtype))
    wide = np.dtype(np.uint64 if unsigned else np.int64)
    xi, yi = x.astype(wide), y.astype(wide)
    ux, uy = xi.astype(np.uint64), yi.astype(np.uint64)
    return np.asarray(np.where(xi >= yi, ux - uy, uy - ux))


def count_failures(
    a: Array,
    e: Array,
    rule: Rule,
    *,
    transform: Callable[[Array], Array] | None = None,
    masks: tuple[Array, Array] | None = None,
    limit: int | None = None,
) -> int:
    """How many elements of two same-shaped numeric arrays break ``rule``.

    ``transform`` is applied to each chunk of ``a`` (in the work dtype) first; diagnoses use
    it to ask "would they match after ...?". ``limit`` stops counting early.
    """
    quick = QUICK and limit is not None and transform is None and masks is None
    if quick and a.size <= QUICK_MAX and quick_pass(a, e, rule):
        return 0
    failed = 0
    batch = CHUNK if limit is None else 1
    for found in _scan(a, e, rule, _prepare(a, e, rule), masks, transform, False, batch):
        failed += int(found.pos.size)
        if limit is not None and failed >= limit:
            break
    return failed


_QUICK_FLOATS = frozenset(np.dtype(t) for t in ("float16", "float32", "float64"))
_QUICK_INTS = frozenset(
    np.dtype(t) for t in ("int8", "int16", "int32", "uint8", "uint16", "uint32")
)
_WIDE_INTS = frozenset(np.dtype(t) for t in ("int64", "uint64"))


def _exact_in_work(x: Array) -> bool:
    """Whether every value of ``x`` converts exactly to float64 (complex128 for complex)."""
    dx = x.dtype
    if dx in _QUICK_FLOATS or (dx.kind == "c" and dx.itemsize <= 16) or dx in _QUICK_INTS:
        return True
    # 64-bit integers: those below 2**52 in magnitude
    return dx in _WIDE_INTS and (not x.size or float(np.abs(x.astype(np.float64)).max()) < 2**52)


def quick_pass_number(p: float, q: float, rule: Rule) -> bool:
    """:func:`quick_pass` for two numbers held as Python floats (IEEE float64 arithmetic,
    so float64's shrunken tolerances apply; float16/float32 values are exact in it)."""
    if p == q:
        return True
    if math.isnan(p) or math.isnan(q):
        return rule.equal_nan and math.isnan(p) and math.isnan(q)
    r64, t64 = _shrunken(rule.rtol_exact, rule.atol_exact, _FLOAT64)
    r, t = float(r64), float(t64)
    return r < 0.25 and t < 4.0e307 and abs(p - q) < abs(q) * r + t


_FLOAT64 = np.dtype(np.float64)


def quick_pass(a: Array, e: Array, rule: Rule) -> bool:
    """Whether every element certainly passes, settled with a few whole-array operations:
    equal elements (NumPy's ``==`` compares float and integer values exactly where the cast
    to the common type is exact, which is checked), NaN pairs under ``equal_nan``, and the
    rule in float32/float64 with tolerances shrunk by :func:`_shrunken`. False means "not
    settled here": the full engine decides (the boundary, ULPs, complex magnitudes...)."""
    if rule.rtol_exact is None or rule.atol_exact is None or a.shape != e.shape:
        return False
    if isinstance(a, np.ma.MaskedArray) or isinstance(e, np.ma.MaskedArray):
        return False  # (masks are the caller's: ``masks=``)
    da, de = a.dtype, e.dtype
    fa, fe = da in _QUICK_FLOATS, de in _QUICK_FLOATS
    if not (fa or da.kind == "c") and not (fe or de.kind == "c"):
        return False  # two integer arrays (exact rules of their own), or other kinds
    if not (_exact_in_work(a) and _exact_in_work(e)):
        return False
    if a.size <= 16 and fa and fe:  # a few numbers: in Python floats, one by one
        return all(
            quick_pass_number(p, q, rule)
            for p, q in zip(a.reshape(-1).tolist(), e.reshape(-1).tolist(), strict=True)
        )
    with np.errstate(all="ignore"):
        if fa and fe:
            wide = np.float64 in (da.type, de.type)
            work: np.dtype[Any] = np.dtype(np.float64 if wide else np.float32)
            x: Array = a.astype(work, copy=False)
            y: Array = e.astype(work, copy=False)
            r, t = _shrunken(rule.rtol_exact, rule.atol_exact, work)
            if r < 0.25 and t < np.finfo(work).max / 4:
                # t is finite for every finite y: the strict test fails any non-finite case
                ok = np.abs(x - y) < np.abs(y) * r + t
            else:
                ok = np.zeros(a.shape, bool)
            if ok.all():
                return True
            ok |= x == y
        else:
            ok = np.asarray(a == e)
        if rule.equal_nan and not ok.all():
            ok |= np.isnan(a) & np.isnan(e)
        return bool(ok.all())


def quick_measurable(a: Array, e: Array) -> bool:
    """Whether :func:`quick_unequal` takes this pair: small arrays of one shape, float or
    complex on at least one side, every value exact in float64/complex128, no masks."""
    inexact = {"f", "c"}
    return (
        QUICK
        and a.size <= QUICK_MAX
        and a.shape == e.shape
        and (a.dtype.kind in inexact or e.dtype.kind in inexact)
        and not isinstance(a, np.ma.MaskedArray)
        and not isinstance(e, np.ma.MaskedArray)
        and _exact_in_work(a)
        and _exact_in_work(e)
    )


def quick_unequal(a: Array, e: Array, rule: Rule) -> ValueStats | None:
    """For a small pair of float arrays that passed: how many elements differ, by how much at
    most (absolute, and in ULPs of ``rule.ulp_dtype``) — the "close but not identical" note,
    from a few whole-array operations. None where :func:`measure` must do it."""
    if not quick_measurable(a, e):
        return None
    complex_ = "c" in (a.dtype.kind, e.dtype.kind)
    work: np.dtype[Any] = np.dtype(np.complex128 if complex_ else np.float64)
    with np.errstate(all="ignore"):
        x: Array = a.astype(work, copy=False)
        y: Array = e.astype(work, copy=False)
        nan_x, nan_y = np.isnan(x), np.isnan(y)
        if complex_ and (nan_x.any() or nan_y.any()):
            return None  # (complex NaN pairs: measure decides)
        differ = x != y
        if rule.equal_nan:
            differ &= ~(nan_x & nan_y)
        where = np.flatnonzero(differ)
        stats = ValueStats(failed=int(where.size), total=int(a.size))
        if not where.size:
            return stats
        xs, ys = x.reshape(-1)[where], y.reshape(-1)[where]
        d = np.abs(xs - ys)  # (float64: the exact differences rounded once, as measure does)
        if not np.isfinite(d).all():
            return None
        if a.dtype in _WIDE_INTS or e.dtype in _WIDE_INTS:
            # measure recomputes the differences of values beyond 2**53 exactly: leave it those
            big = (np.abs(xs) >= 2.0**53) | (np.abs(ys) >= 2.0**53) | (d >= 2.0**53)
            if big.any():
                return None
        j = int(np.argmax(d))
        stats.worst_abs = Extreme(float(d[j]), _unravel(int(where[j]), a.shape), 0.0)
        ud = _dtypes.ulp_distance(a.reshape(-1)[where], e.reshape(-1)[where], rule.ulp_dtype)
        k = int(np.argmax(ud))
        stats.worst_ulps = Extreme(float(ud[k]), _unravel(int(where[k]), a.shape), None)
    return stats


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The index of a flat position in C order (as ``np.unravel_index``, for one)."""
    if len(shape) == 1:
        return (flat,)
    out = []
    for n in reversed(shape):
        flat, i = divmod(flat, n)
        out.append(i)
    return tuple(reversed(out))


def _better(cur: Extreme | None, value: float) -> bool:
    if cur is None:
        return True
    if np.isnan(value):
        return False
    return value > cur.value


def _exact_gap(x: Any, y: Any) -> tuple[float, float]:
    """|x − y| and |y| from the stored values, in exact arithmetic, then rounded once (the
    modulus for complex values)."""
    dr = as_fraction(np.real(x)) - as_fraction(np.real(y))
    di = as_fraction(np.imag(x)) - as_fraction(np.imag(y))
    yr, yi = as_fraction(np.real(y)), as_fraction(np.imag(y))
    if di == 0 and yi == 0:
        return float(abs(dr)), float(abs(yr))
    return math.hypot(float(dr), float(di)), math.hypot(float(yr), float(yi))


def measure(
    a: Array, e: Array, rule: Rule, *, masks: tuple[Array, Array] | None = None
) -> ValueStats:
    """Counts, worst differences and examples of the failing elements of two arrays."""
    plan = _prepare(a, e, rule)
    stats = ValueStats(total=int(a.size))
    for found in _scan(a, e, rule, plan, masks, None, True):
        _tally(stats, found, a.shape, rule, plan)
    return stats


def measure_each(
    a: Array, e: Array, rule: Rule, shapes: Sequence[tuple[int, ...]]
) -> list[ValueStats]:
    """:func:`measure` of many pairs laid end to end in two flat arrays of one float dtype
    (pair ``i`` is the next ``prod(shapes[i])`` elements, none empty): the same statistics,
    from one scan over all of them and a few whole-array operations."""
    sizes = [math.prod(shape) for shape in shapes]
    starts = np.cumsum([0, *sizes[:-1]])
    out = [ValueStats(total=n) for n in sizes]
    plan = _prepare(a, e, rule)
    assert not plan.lossy and a.dtype == e.dtype
    found = list(_scan(a, e, rule, plan, None, None, True))
    if not found:
        return out

    def joined(x: Callable[[_Found], Array | None]) -> Array:
        return np.concatenate([x(f) for f in found])

    pos, va, ve = joined(lambda f: f.pos), joined(lambda f: f.a), joined(lambda f: f.e)
    d, t, mag = joined(lambda f: f.res.d), joined(lambda f: f.res.t), joined(lambda f: f.res.mag)
    finite = joined(lambda f: f.res.finite)
    nan_a, nan_e = joined(lambda f: f.res.nan_a), joined(lambda f: f.res.nan_e)
    pair = np.searchsorted(starts, pos, side="right") - 1
    lo = _group_starts(pair)
    ids, counts = pair[lo].tolist(), np.diff([*lo.tolist(), pair.size]).tolist()
    only_a = np.add.reduceat(nan_a & ~nan_e, lo).tolist()
    only_e = np.add.reduceat(nan_e & ~nan_a, lo).tolist()
    other = np.add.reduceat(~finite & ~(nan_a ^ nan_e), lo).tolist()
    offsets = starts.tolist()
    for k, i in enumerate(ids):
        st, shape, first = out[i], shapes[i], int(lo[k])
        st.failed, st.nan_only_actual, st.nan_only_expected = counts[k], only_a[k], only_e[k]
        st.nonfinite_other = other[k]
        st.first_failure = _unravel(int(pos[first]) - offsets[i], shape)
        st.examples = [
            (_unravel(int(pos[j]) - offsets[i], shape), va[j], ve[j])
            for j in range(first, first + min(EXAMPLES, counts[k]))
        ]
    sel = np.flatnonzero(finite)
    if sel.size == 0:
        return out
    fpair, fpos, d, t, mag = pair[sel], pos[sel], d[sel], t[sel], mag[sel]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rel = np.where(mag > 0, d / mag, np.inf)
        rel_allowed = np.where(mag > 0, t / mag, np.inf)
    ulps = None
    if _dtypes.family(rule.ulp_dtype) in ("float", "complex"):
        ulps = _dtypes.ulp_distance(va[sel], ve[sel], rule.ulp_dtype)
    allowed_ulps = None if rule.ulps is None else float(rule.ulps)
    for name, values, allowed in (
        ("worst_abs", d, t),
        ("worst_rel", rel, rel_allowed),
        ("worst_ulps", ulps, None),
    ):
        if values is None:
            continue
        for i, j in _first_max(values, fpair):
            limit = allowed_ulps if allowed is None else float(allowed[j])
            where = _unravel(int(fpos[j]) - offsets[i], shapes[i])
            setattr(out[i], name, Extreme(float(values[j]), where, limit))
    return out


def _group_starts(groups: Array) -> Array:
    """Where each run of equal values of a sorted array begins."""
    return np.flatnonzero(np.concatenate(([True], groups[1:] != groups[:-1])))


def _first_max(values: Array, groups: Array) -> list[tuple[int, int]]:
    """For each group (a sorted array of group numbers, one per value): the group and the
    position of its greatest value, the first one where several are greatest, as
    ``argmax`` finds it. NaN is never greatest; a group of NaN only: its first value (as
    :func:`measure` reports it)."""
    lo = _group_starts(groups)
    nan = np.isnan(values)
    top = np.fmax.reduceat(values, lo)
    ends = np.diff([*lo.tolist(), values.size])
    hit = np.flatnonzero((values == np.repeat(top, ends)) & ~nan)
    first = hit[_group_starts(groups[hit])] if hit.size else hit
    found = dict(zip(groups[first].tolist(), first.tolist(), strict=True))
    # groups whose values are all NaN
    for g, start in zip(groups[lo].tolist(), lo.tolist(), strict=True):
        found.setdefault(g, start)
    return sorted(found.items())


def _tally(
    stats: ValueStats, found: _Found, shape: tuple[int, ...], rule: Rule, plan: _Plan
) -> None:
    """Add one stretch of failing elements to what :func:`measure` found so far."""
    res, pos, va, ve = found.res, found.pos, found.a, found.e
    stats.failed += int(pos.size)
    assert res.nan_a is not None and res.nan_e is not None and res.finite is not None
    assert res.d is not None and res.t is not None and res.mag is not None
    stats.mask_differs += found.mask_differs
    unmasked = np.ones(pos.shape, dtype=bool) if found.unmasked is None else found.unmasked
    nan_a, nan_e = res.nan_a & unmasked, res.nan_e & unmasked
    stats.nan_only_actual += int(np.count_nonzero(nan_a & ~nan_e))
    stats.nan_only_expected += int(np.count_nonzero(nan_e & ~nan_a))
    stats.nonfinite_other += int(
        np.count_nonzero(unmasked & ~res.finite & ~(res.nan_a ^ res.nan_e))
    )
    if stats.first_failure is None:
        stats.first_failure = _unravel(int(pos[0]), shape)
    for k in range(min(pos.size, max(0, EXAMPLES - len(stats.examples)))):
        stats.examples.append((_unravel(int(pos[k]), shape), va[k], ve[k]))
    sel = np.flatnonzero(res.finite & unmasked)
    if sel.size == 0:
        return
    fpos, fa, fe = pos[sel], va[sel], ve[sel]
    d, t, mag = res.d[sel], res.t[sel], res.mag[sel]
    if plan.lossy and not plan.int_exact and plan.work.kind in "fc":
        # a 64-bit integer against a float or complex: the float64 differences may be off
        d, mag = d.copy(), mag.copy()
        with np.errstate(invalid="ignore"):
            big = (np.abs(fa.astype(plan.work)) >= 2.0**53) | (mag >= 2.0**53)
        for i in np.flatnonzero(big):
            d[i], mag[i] = _exact_gap(fa[i], fe[i])
    j = int(np.argmax(d))
    if _better(stats.worst_abs, float(d[j])):
        stats.worst_abs = Extreme(float(d[j]), _unravel(int(fpos[j]), shape), float(t[j]))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rel = np.where(mag > 0, d / mag, np.inf)
        rel_allowed = np.where(mag > 0, t / mag, np.inf)
    j = int(np.argmax(rel))
    if _better(stats.worst_rel, float(rel[j])):
        stats.worst_rel = Extreme(
            float(rel[j]), _unravel(int(fpos[j]), shape), float(rel_allowed[j])
        )
    if _dtypes.family(rule.ulp_dtype) in ("float", "complex"):
        ud = _dtypes.ulp_distance(fa, fe, rule.ulp_dtype)
        j = int(np.nanargmax(ud)) if not np.all(np.isnan(ud)) else 0
        if _better(stats.worst_ulps, float(ud[j])):
            stats.worst_ulps = Extreme(
                float(ud[j]),
                _unravel(int(fpos[j]), shape),
                None if rule.ulps is None else float(rule.ulps),
            )


# ------------------------------------------------------------- exact comparison of non-numbers


def _unequal_chunks(
    a: Array, e: Array, eq: Callable[[Array, Array], Array], masks: tuple[Array, Array] | None
) -> Iterator[tuple[int, Array, Array, Array]]:
    ma, me = masks if masks is not None else (None, None)
    for start, (ac, ec, mac, mec) in _chunks([a, e, ma, me]):
        assert ac is not None and ec is not None
        bad = ~eq(ac, ec)
        if mac is not None and mec is not None:
            bad = (bad & ~(mac & mec)) | (mac ^ mec)
        yield start, ac, ec, bad


def count_unequal(
    a: Array,
    e: Array,
    eq: Callable[[Array, Array], Array],
    masks: tuple[Array, Array] | None = None,
) -> int:
    """How many elements differ under an exact element-wise equality ``eq`` (dates, text,
    objects), chunk by chunk."""
    return sum(int(np.count_nonzero(bad)) for *_, bad in _unequal_chunks(a, e, eq, masks))


def measure_unequal(
    a: Array,
    e: Array,
    eq: Callable[[Array, Array], Array],
    masks: tuple[Array, Array] | None = None,
) -> ValueStats:
    stats = ValueStats(total=int(a.size))
    for start, ac, ec, bad in _unequal_chunks(a, e, eq, masks):
        idx = np.flatnonzero(bad)
        if idx.size == 0:
            continue
        stats.failed += int(idx.size)
        if stats.first_failure is None:
            stats.first_failure = _unravel(start + int(idx[0]), a.shape)
        for i in idx[: max(0, EXAMPLES - len(stats.examples))]:
            stats.examples.append((_unravel(start + int(i), a.shape), ac[i], ec[i]))
    return stats


def nonfinite_counts(a: Array) -> tuple[int, int, int]:
    """How many NaN, +inf and -inf elements ``a`` holds (complex: NaN if either part is NaN,
    else infinite by its real or imaginary part's sign), chunk by chunk."""
    nan = pos = neg = 0
    work = _dtypes.work_dtype(a.dtype, a.dtype)
    for _, (c,) in _chunks([a]):
        assert c is not None
        with np.errstate(invalid="ignore"):
            w = c.astype(work)
        isnan = np.isnan(w)
        nan += int(np.count_nonzero(isnan))
        parts = (np.real(w), np.imag(w)) if work.kind == "c" else (w,)
        inf_pos = np.zeros(w.shape, bool)
        inf_neg = np.zeros(w.shape, bool)
        for part in parts:
            inf_pos |= np.isposinf(part)
            inf_neg |= np.isneginf(part)
        pos += int(np.count_nonzero(inf_pos & ~isnan))
        neg += int(np.count_nonzero(inf_neg & ~inf_pos & ~isnan))
    return nan, pos, neg
