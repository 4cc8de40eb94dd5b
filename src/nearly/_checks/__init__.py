"""The public assertions: closeness, equality and finiteness (``close``) and the statistical
checks -- sums, ranges, standardisation (``stats``). Each turns core records into the
user's exception.

May import: ``nearly._prim``, ``nearly.backends``, ``nearly._tolerance``, ``nearly._report``,
``nearly._core``, ``nearly.errors``.
"""
