"""The pandas backend: labels are structure, values are compared column by column.

A DataFrame is walked as a mapping: ``.index`` (its row labels) and one entry per column
label (and ``.index_names``/``.columns_name`` where the axes are named), so a missing or
extra column is a key difference naming it, reordered columns match by label, and each column
is compared in its own dtype (a float column gets the float tolerance). A Series is ``.index``
and ``.values`` (and ``.name``, ``.index_names`` where set). An Index is a *labels* leaf: compared
exactly, a difference is a structure mismatch (a shifted DatetimeIndex, a reindexed Series).

Column values are read without a copy where pandas holds a NumPy array; nullable columns
(``Int64``, ``Float64``, ``boolean``) become masked arrays (``NA`` equals ``NA`` at the same
rows, as masked elements), timezone-aware datetimes become UTC ``datetime64`` (``NaT`` equals
``NaT`` under ``equal_nan``), anything else an object array compared element by element.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nearly.backends._base import Attr, Labels, Leaf, type_name

__all__ = ["expand", "to_leaf"]

Array = np.ndarray[Any, Any]


def _values(x: pd.Series | pd.Index) -> Array:
    """The values of a column or an index as NumPy holds them (see the module docstring)."""
    dtype = x.dtype
    if isinstance(dtype, np.dtype) and dtype.kind != "O":
        return np.asarray(x.to_numpy())
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = x.tz_convert("UTC") if isinstance(x, pd.Index) else x.dt.tz_convert("UTC")
        naive = utc.tz_localize(None) if isinstance(x, pd.Index) else utc.dt.tz_localize(None)
        return np.asarray(naive.to_numpy())
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "biuf":
        numpy_dtype = np.dtype(getattr(dtype, "numpy_dtype", np.float64))
        missing = np.asarray(x.isna())
        filled = x.to_numpy(dtype=numpy_dtype, na_value=numpy_dtype.type(0))
        return np.ma.masked_array(filled, mask=missing)  # masked whether or not any is missing
    return np.asarray(x.to_numpy(dtype=object, na_value=None))


def expand(obj: Any) -> dict[Any, Any] | None:
    if isinstance(obj, pd.DataFrame):
        labels = list(obj.columns)
        if len(set(labels)) != len(labels):
            repeated = sorted({repr(c) for c in labels if labels.count(c) > 1})
            raise ValueError(
                f"cannot compare a DataFrame with repeated column labels ({', '.join(repeated)}):"
                " its columns are matched by label"
            )
        columns = {label: _values(obj.iloc[:, i]) for i, label in enumerate(labels)}
        names = _names(index_names=obj.index.names, columns_name=[obj.columns.name])
        return {**names, Attr("index"): obj.index, **columns}
    if isinstance(obj, pd.Series):
        names = _names(name=[obj.name], index_names=obj.index.names)
        return {**names, Attr("index"): obj.index, Attr("values"): _values(obj)}
    return None


def _names(**names: Any) -> dict[Attr, Labels]:
    """The names of a value and its axes, where any is set (unnamed is the common case and
    adds nothing to compare; named on one side only is a key difference)."""
    out = {}
    for what, values in names.items():
        if any(v is not None for v in values):
            held = np.empty(len(values), dtype=object)
            held[:] = list(values)
            out[Attr(what)] = Labels(held)
    return out


def to_leaf(obj: Any) -> Leaf | None:
    if isinstance(obj, pd.Index):
        if isinstance(obj, pd.MultiIndex):
            labels = np.empty(len(obj), dtype=object)
            labels[:] = list(obj)
        else:
            labels = _values(obj)
        return Leaf(obj, "array", type_name(obj), np.ma.getdata(labels), labels=True)
    if obj is pd.NA:  # missing: equal to another NA, a difference against anything else
        return Leaf(obj, "array", "pandas.NA", np.array(None, object), mask=np.array(True))
    if obj is pd.NaT:
        return Leaf(obj, "array", "pandas.NaT", np.array("NaT", "datetime64[ns]"))
    if isinstance(obj, pd.Timestamp):
        utc = obj if obj.tz is None else obj.tz_convert("UTC").tz_localize(None)
        return Leaf(obj, "array", type_name(obj), np.array(utc.to_datetime64()))
    if isinstance(obj, pd.Timedelta):
        return Leaf(obj, "array", type_name(obj), np.array(obj.to_timedelta64()))
    return None  # other pandas values are read by the NumPy backend
