"""The xarray backend: labels are structure, values are compared in their own dtypes.

A ``DataArray`` is walked as ``.name`` (where set), ``.coords`` (one entry per coordinate),
``.dims`` and ``.values``; a ``Dataset`` as ``.coords`` and one entry per data variable (its
``.dims`` and ``.values``). Names, dims and coordinate values are *labels*: compared exactly,
whatever the tolerance, and a difference is a structure mismatch naming them (a coordinate
missing on one side is a key difference under ``.coords``). ``attrs`` are metadata and are not
compared.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from nearly.backends._base import Attr, Labels

__all__ = ["expand", "to_leaf"]


def _labels(values: Any) -> Labels:
    arr = np.asarray(values)
    if arr.dtype.kind in "OUS" and arr.ndim == 0:
        arr = arr.reshape(1)
    return Labels(arr)


def _names(names: Any) -> Labels:
    out = np.empty(len(names), dtype=object)
    out[:] = [str(n) for n in names]
    return Labels(out)


def _coords(obj: xr.DataArray | xr.Dataset) -> dict[Any, Any]:
    return {str(name): _labels(c.values) for name, c in obj.coords.items()}


def _variable(v: xr.Variable | xr.DataArray) -> dict[Any, Any]:
    return {Attr("dims"): _names(v.dims), Attr("values"): v.data}


def expand(obj: Any) -> dict[Any, Any] | None:
    if isinstance(obj, xr.DataArray):
        # named on one side only is a key difference; unnamed adds nothing to compare
        named = {} if obj.name is None else {Attr("name"): _names([obj.name])}
        return {**named, Attr("coords"): _coords(obj), **_variable(obj)}
    if isinstance(obj, xr.Dataset):
        variables = {str(k): _variable(v.variable) for k, v in obj.data_vars.items()}
        return {Attr("coords"): _coords(obj), **variables}
    if isinstance(obj, xr.Variable):
        return _variable(obj)
    return None


def to_leaf(obj: Any) -> None:
    return None  # an xarray value is always expanded; its values are NumPy (or Dask) arrays
