"""xarray: names, dims and coordinates are labels (structure, compared exactly); values are
compared in their own dtypes; attrs are not compared."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from agree import agree

xr = pytest.importorskip("xarray")


def _array(**changes: Any) -> Any:
    values = changes.pop("values", np.arange(6.0).reshape(2, 3))
    coords = {"x": [10, 20], "y": ["a", "b", "c"], **changes.pop("coords", {})}
    return xr.DataArray(values, dims=changes.pop("dims", ("x", "y")), coords=coords, **changes)


def test_identical_arrays_pass_and_values_get_their_dtypes_tolerance() -> None:
    assert agree(_array(), _array()).ok
    near = np.arange(6.0).reshape(2, 3) * (1 + 1e-12)
    assert agree(_array(), _array(values=near)).ok
    (m,) = agree(_array(), _array(values=np.arange(6.0).reshape(2, 3) + 1)).mismatches
    assert m.path == ".values"
    assert m.kind == "value"


def test_different_coordinates_fail_as_labels_whatever_the_tolerance() -> None:
    (m,) = agree(_array(), _array(coords={"x": [10, 21]}), rtol=0.5).mismatches
    assert m.path == ".coords['x']"
    assert m.kind == "structure"
    assert m.code == "structure.labels"


def test_dims_names_and_missing_coordinates() -> None:
    renamed = _array().rename(y="z")
    (keys, dims) = agree(_array(), renamed).mismatches
    assert (keys.path, keys.code) == (".coords", "structure.keys")
    assert keys.reason.params["missing"] == ["'z'"]
    assert (dims.path, dims.kind) == (".dims", "structure")
    plain = xr.DataArray(np.zeros(2), dims=("x",))
    (m,) = agree(plain, xr.DataArray(np.zeros(2), dims=("t",))).mismatches
    assert (m.path, m.kind) == (".dims", "structure")
    (m,) = agree(_array(name="loss"), _array(name="acc")).mismatches
    assert (m.path, m.kind) == (".name", "structure")
    (m,) = agree(_array(name="loss"), _array()).mismatches
    assert m.code == "structure.keys"


def test_attrs_are_metadata() -> None:
    assert agree(_array(attrs={"units": "m"}), _array(attrs={"units": "km"})).ok


def test_datasets_compare_coordinates_and_each_variable() -> None:
    ds = xr.Dataset(
        {"t": (("x",), np.array([1.0, 2.0], np.float32)), "n": (("x",), np.array([1, 2]))},
        coords={"x": [0, 1]},
    )
    assert agree(ds, ds.copy(deep=True)).ok
    (m,) = agree(ds, ds.assign(n=("x", np.array([1, 3])))).mismatches
    assert m.path == "['n'].values"
    (m,) = agree(ds, ds.drop_vars("n")).mismatches
    assert m.code == "structure.keys"
    (m,) = agree(ds, ds.assign_coords(x=[0, 2])).mismatches
    assert m.path == ".coords['x']"


def test_datetime_coordinates_and_values_inside_structures() -> None:
    times = np.array(["2020-01-01", "2020-01-02"], "datetime64[ns]")
    a = xr.DataArray([1.0, 2.0], dims=("time",), coords={"time": times})
    shifted = a.assign_coords(time=times + np.timedelta64(1, "h"))
    (m,) = agree({"obs": a}, {"obs": shifted}).mismatches
    assert m.path == "['obs'].coords['time']"
    assert agree([a], [a.copy()]).ok
