"""``nearly.audit``: measure how a computation's rounding error grows with size and precision
(``measure``), render the findings (``render``) and the built-in suite of cases (``suite``).

May import: ``nearly._prim``, ``nearly.backends``, ``nearly._tolerance``. Imported lazily,
when :func:`nearly.audit` is first called.
"""
