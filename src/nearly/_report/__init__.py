"""Comparison records and their wording: the result types users hold (``records``:
:class:`~nearly.Comparison`, :class:`~nearly.Mismatch`) and the pure functions that turn them
into report text and plain dicts (``text``).

May import: ``nearly._prim``.
"""
