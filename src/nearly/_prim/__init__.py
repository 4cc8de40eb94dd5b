"""Primitives: floating-point formats and dtypes (``dtypes``), exact rational arithmetic
(``exact``), the tolerance rule's record types and its certainty band (``rule``), the JSON rule for
non-finite numbers (``jsonable``), compensated float64 sums (``compensated``) and the internal
error helpers (``failures``).

May import: NumPy and the standard library only. Everything else in nearly builds on this.
"""
