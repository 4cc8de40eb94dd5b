"""The ``nearly`` command's subcommands beyond the entry point in :mod:`nearly.cli`: ``audit``
(``nearly audit``).

May import: anything below the public facades.
"""
