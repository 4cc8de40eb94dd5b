"""The tolerance rule run where a tensor lives (a GPU), written once for every framework.

A backend hands over a small ``ops`` object (casts, counts, nonzero, host transfer). The
kernel works through the flattened inputs in device-sized chunks and returns a
:class:`~nearly._core.engine.DeviceVerdict`: how many elements fail for certain, how many differ at
all, and the elements whose verdict rounding in the device arithmetic could flip, which the
host then decides exactly. A passing comparison moves only those few elements.
"""

from __future__ import annotations

from typing import Any

from nearly._prim.rule import DeviceVerdict, Rule, band

__all__ = ["CHUNK", "device_verdict"]

CHUNK = 1 << 24


def _exact_in_work(ops: Any, x: Any) -> bool:
    """Whether every value of ``x`` converts to the work dtype without rounding."""
    size = ops.itemsize(x)
    if ops.is_complex(x):
        return bool(size <= (16 if ops.f64 else 8))
    if ops.is_float(x):
        return bool(size <= (8 if ops.f64 else 4))
    return bool(size <= (4 if ops.f64 else 2))


def device_verdict(ops: Any, actual: Any, expected: Any, rule: Rule) -> DeviceVerdict:
    fa, fe = ops.flat_pair(actual, expected)
    cplx = ops.is_complex(fa) or ops.is_complex(fe)
    u, sub = (2.0**-53, 2.0**-1074) if ops.f64 else (2.0**-24, 2.0**-149)
    # `==` in the inputs' own dtypes is exact unless one side is promoted to a float
    exact_eq = ops.same_dtype(fa, fe) or not (ops.is_float(fa) or ops.is_float(fe))
    lossy = not (_exact_in_work(ops, fa) and _exact_in_work(ops, fe))
    atol, rtol = float(rule.atol), float(rule.rtol)
    clear_fail = unequal = 0
    asked = []
    n = fa.shape[0]
    for s in range(0, n, CHUNK):
        ac, ec = fa[s : s + CHUNK], fe[s : s + CHUNK]
        aw, ew = ops.work(ac, cplx), ops.work(ec, cplx)
        nan_a, nan_e = aw != aw, ew != ew
        finite = ~nan_a & ~nan_e & (abs(aw) < float("inf")) & (abs(ew) < float("inf"))
        unequal += ops.count(ac != ec) if exact_eq else ops.count((aw != ew) & ~(nan_a & nan_e))
        d = abs(aw - ew)
        mag = abs(ew)
        t = atol + rtol * mag
        margin = band(
            d, t, u=u, subnormal=sub, maximum=ops.maximum, lossy=abs(aw) + mag if lossy else None
        )
        over = d - t
        nonfinite_ok = (nan_a & nan_e & rule.equal_nan) | (~nan_a & ~nan_e & (aw == ew))
        fails = (~finite & ~nonfinite_ok) | (finite & (over > margin))
        settled = fails | (finite & (over <= -margin)) | (~finite & nonfinite_ok)
        if not lossy:
            settled = settled | (finite & (d == 0))
        # with a ULP allowance an element failing the tolerance may still pass: ask the host
        ask = ~settled | fails if rule.ulps is not None else ~settled
        clear_fail += ops.count(fails & ~ask)
        asked.append(ops.nonzero(ask) + s)
    index = ops.concat(asked)
    return DeviceVerdict(
        clear_fail=clear_fail,
        unequal=unequal,
        index=ops.to_host(index),
        actual=ops.to_host(ops.take(fa, index)),
        expected=ops.to_host(ops.take(fe, index)),
    )
