"""Tolerances: what "close" means for one comparison.

An element passes when ``|actual - expected| <= atol + rtol * |expected|``, or when the two
are at most ``ulps`` units in the last place apart (counted in the lower-precision dtype).

Default tolerances, used when none of ``rtol``/``atol``/``ulps``/``tol`` is given, come from
the lower-precision dtype of each compared pair:

==========================  ==========  ========  ======
dtype                       rtol        atol      ulps
==========================  ==========  ========  ======
float8_* / float6_* / float4_* (ml_dtypes)  0  0    1
bfloat16                    1.6e-2      1e-5      -
float16                     1e-3        1e-5      -
float32                     1.3e-6      1e-5      -
float64, longdouble         1e-7        1e-7      -
complex                     the row of its component
int, uint, bool, other      0           0         -
==========================  ==========  ========  ======

The float rows match ``torch.testing.assert_close``, so tests moving over keep their
verdicts. For results of long reductions use a derived tolerance instead of a wider constant.
"""

from nearly._tolerance import (
    Tolerance,
    default,
    dot,
    logsumexp,
    matmul,
    mean,
    norm,
    softmax,
    std,
    sum,
    ulps,
    var,
)

__all__ = [
    "Tolerance",
    "default",
    "dot",
    "logsumexp",
    "matmul",
    "mean",
    "norm",
    "softmax",
    "std",
    "sum",
    "ulps",
    "var",
]
