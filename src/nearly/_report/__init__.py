"""Comparison records and their wording: the result types users hold (``records``:
:class:`~nearly.Comparison`, :class:`~nearly.Mismatch`, and the :class:`Finding` codes with
parameters they carry), the one sentence for each finding code (``messages``) and the pure
functions that lay them out as report text and plain dicts (``text``). The layers below record
codes and data; every word of a comparison report is here.

May import: ``nearly._prim``.
"""
