"""The one JSON rule for numbers, shared by every ``to_dict``/``to_json`` in nearly
(:class:`~nearly.Comparison`, :class:`~nearly.stats.Summary`, :class:`~nearly.AuditReport`):
JSON has no NaN or infinity, so those become the strings ``"nan"``, ``"inf"`` and ``"-inf"``
(which keeps them apart, unlike ``null``); finite floats, ints, strings and None pass as they
are, NumPy scalars and arrays become Python numbers and lists."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["json_number", "jsonable"]


def json_number(x: float | None) -> float | str | None:
    """A float as JSON can hold it: itself if finite, else "nan", "inf" or "-inf"."""
    if x is None:
        return None
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def jsonable(value: Any) -> Any:
    """``value`` with every float made JSON-safe by :func:`json_number`, recursively through
    dicts (keys become strings), lists, tuples and NumPy arrays."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, float | np.floating):
        return json_number(float(value))
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value] if value.ndim else jsonable(value.item())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
