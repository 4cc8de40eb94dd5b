"""ndarray subclasses are compared as their base arrays, unless they refuse the comparison;
meta tensors by shape and dtype only. compare() and assert_close() agree on each."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nearly
from agree import agree


class Units(np.ndarray):  # type: ignore[type-arg]
    """A toy units-carrying array: arithmetic between different units raises."""

    unit: str | None

    def __new__(cls, values: Any, unit: str) -> Units:
        out = np.asarray(values, dtype=float).view(cls)
        out.unit = unit
        return out

    def __array_finalize__(self, obj: Any) -> None:
        self.unit = getattr(obj, "unit", None)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        units = {i.unit for i in inputs if isinstance(i, Units)}
        if len(units) > 1:
            raise ValueError(f"incompatible units {sorted(map(str, units))}")
        plain = [i.view(np.ndarray) if isinstance(i, Units) else i for i in inputs]
        return getattr(ufunc, method)(*plain, **kwargs)


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_matrices_compare_as_two_dimensional_arrays() -> None:
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    assert agree(m, m.copy()).ok
    (found,) = agree(m, m + 1).mismatches
    assert found.count == 4
    assert found.index == (0, 0)


def test_a_subclass_that_refuses_the_comparison_is_a_type_mismatch_with_its_reason() -> None:
    assert agree(Units([1.0, 2.0], "m"), Units([1.0, 2.0], "m")).ok
    (m,) = agree(Units([1.0, 2.0], "m"), Units([1.0, 2.0], "s")).mismatches
    assert m.kind == "type"
    assert m.code == "type.refused"
    assert "incompatible units ['m', 's']" in m.detail
    # inside a structure, among small leaves decided together
    (m,) = agree(
        {"x": Units([1.0], "m"), "y": np.ones(2)}, {"x": Units([1.0], "s"), "y": np.ones(2)}
    ).mismatches
    assert m.path == "['x']"


def test_meta_tensors_compare_shape_and_dtype_only() -> None:
    torch = pytest.importorskip("torch")
    meta = torch.ones(3, device="meta")
    c = agree(meta, torch.zeros(3))
    assert c.ok
    assert "note.meta" in [n.code for n in c.notes]
    assert agree(meta, torch.ones(4, device="meta")).mismatches[0].kind == "shape"
    (m,) = nearly.compare(meta, torch.ones(3, dtype=torch.float64), check_dtype=True).mismatches
    assert m.kind == "dtype"
