"""``nearly.Monitor``: numerics checks for training loops -- policies, the per-step recorder
and report (``monitor``) and its plot (``plot``). Framework work goes through each backend's
``MonitorOps``.

May import: ``nearly._prim``, ``nearly.backends``. The Keras and PyTorch adapters
(:mod:`nearly.keras`, :mod:`nearly.torch`) build on it, never the other way round.
"""
