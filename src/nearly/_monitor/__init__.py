"""``nearly.Monitor``: numerics checks for training loops -- policies, the per-step recorder
and report (``monitor``), its plot (``plot``) and where a first non-finite value started
(``localize``: one algorithm over the layer records each backend's re-run gives). Framework work
goes through each backend's ``MonitorOps``.

May import: ``nearly._prim``, ``nearly.backends``. The Keras and PyTorch adapters
(:mod:`nearly.keras`, :mod:`nearly.torch`) build on it, never the other way round.
"""
