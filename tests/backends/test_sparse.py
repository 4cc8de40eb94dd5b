"""Sparse values are compared by value without being densified: scipy.sparse (every format,
matrix and array), torch sparse layouts and tf.SparseTensor in any index order. Explicit zeros
equal implicit ones; findings are reported at their N-d coordinates."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nearly
from agree import agree

_FORMATS = ["csr", "csc", "coo", "bsr", "dia", "dok", "lil"]


def _dense() -> np.ndarray[Any, Any]:
    d = np.zeros((4, 6))
    d[0, 1], d[2, 3], d[3, 5] = 1.5, -2.0, 7.0
    return d


@pytest.mark.parametrize("fmt", _FORMATS)
@pytest.mark.parametrize("kind", ["matrix", "array"])
def test_scipy_every_format_compares_by_value(fmt: str, kind: str) -> None:
    sp = pytest.importorskip("scipy.sparse")
    make = getattr(sp, f"{fmt}_{kind}")
    a = make(_dense())
    assert agree(a, make(_dense())).ok
    assert agree(a, sp.csr_array(_dense())).ok  # another format, the same values
    changed = _dense()
    changed[2, 3] += 1e-3
    (m,) = agree(a, make(changed)).mismatches
    assert m.kind == "value"
    assert (m.count, m.total) == (1, 24)
    assert m.index == (2, 3)
    assert [x.index for x in m.examples] == [(2, 3)]


def test_explicit_zeros_equal_implicit_ones_and_repeats_are_summed() -> None:
    sp = pytest.importorskip("scipy.sparse")
    explicit = sp.coo_array(([0.0, 1.0], ([0, 1], [0, 1])), shape=(2, 2))
    implicit = sp.coo_array(([1.0], ([1], [1])), shape=(2, 2))
    assert agree(explicit, implicit).ok
    repeated = sp.coo_array(([0.25, 0.75], ([1, 1], [1, 1])), shape=(2, 2))  # sums to 1.0
    assert agree(repeated, implicit).ok


def test_a_value_stored_on_one_side_only_is_found_at_its_coordinates() -> None:
    sp = pytest.importorskip("scipy.sparse")
    a = sp.csr_array(([3.0], ([1], [2])), shape=(3, 4))
    e = sp.csr_array(([3.0], ([2], [1])), shape=(3, 4))
    (m,) = agree(a, e).mismatches
    assert (m.count, m.total) == (2, 12)
    assert sorted(x.index for x in m.examples) == [(1, 2), (2, 1)]
    assert not any(d.code == "hint.reordered" for d in m.diagnoses)


def test_sparse_against_dense_and_the_default_tolerance_of_its_dtype() -> None:
    sp = pytest.importorskip("scipy.sparse")
    a = sp.csr_array(_dense().astype(np.float32))
    assert agree(a, _dense().astype(np.float32)).ok
    near = _dense().astype(np.float32)
    near[0, 1] = np.nextafter(near[0, 1], np.float32(2))  # one float32 ulp
    assert agree(a, near).ok
    (m,) = agree(a, np.zeros((4, 6), np.float32)).mismatches
    assert m.count == 3


def test_shape_differences_are_shape_mismatches() -> None:
    sp = pytest.importorskip("scipy.sparse")
    (m,) = agree(sp.csr_array((3, 4)), sp.csr_array((4, 3))).mismatches
    assert m.kind == "shape"


def test_a_huge_sparse_value_is_never_densified() -> None:
    sp = pytest.importorskip("scipy.sparse")
    n = 100_000  # 1e10 elements dense
    a = sp.coo_array(([1.0, 2.0], ([0, n - 1], [5, n - 1])), shape=(n, n))
    e = sp.coo_array(([1.0, 2.5], ([0, n - 1], [5, n - 1])), shape=(n, n))
    assert agree(a, a.tocsr()).ok
    (m,) = agree(a, e).mismatches
    assert (m.count, m.total, m.index) == (1, n * n, (n - 1, n - 1))
    with pytest.raises(ValueError, match="without densifying 10,000,000,000 elements"):
        nearly.compare({"w": a}, {"w": 0.0}, check_shape=False)


@pytest.mark.filterwarnings("ignore:Sparse (CSR|BSR|CSC|BSC) tensor support is in beta")
@pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled")
def test_torch_sparse_layouts() -> None:
    torch = pytest.importorskip("torch")
    dense = torch.tensor(_dense())
    for sparse in (
        dense.to_sparse(),
        dense.to_sparse_csr(),
        dense.to_sparse_csc(),
        dense.to_sparse_bsr((2, 2)),
        dense.to_sparse_bsc((2, 3)),
    ):
        assert agree(sparse, dense.to_sparse()).ok, sparse.layout
        assert agree(sparse, dense).ok
        (m,) = agree(sparse, (dense * 2).to_sparse()).mismatches
        assert (m.count, m.total) == (3, 24)
    uncoalesced = torch.sparse_coo_tensor([[1, 1], [2, 2]], [0.5, 0.5], (3, 3))
    assert agree(uncoalesced, torch.sparse_coo_tensor([[1], [2]], [1.0], (3, 3))).ok


def test_tf_sparse_tensors_in_any_index_order() -> None:
    tf = pytest.importorskip("tensorflow")
    ordered = tf.SparseTensor([[0, 1], [2, 3]], [1.0, 2.0], [3, 4])
    unordered = tf.SparseTensor([[2, 3], [0, 1]], [2.0, 1.0], [3, 4])
    assert agree(unordered, ordered).ok
    assert agree(unordered, tf.sparse.to_dense(ordered)).ok
    (m,) = agree(unordered, tf.SparseTensor([[0, 1], [2, 3]], [1.0, 2.5], [3, 4])).mismatches
    assert m.index == (2, 3)
    big = tf.SparseTensor([[0, 0], [99_999, 99_999]], [1.0, 2.0], [100_000, 100_000])
    assert agree(big, big).ok  # 1e10 elements: compared by value, never densified


def test_scipy_and_torch_sparse_against_each_other() -> None:
    sp = pytest.importorskip("scipy.sparse")
    torch = pytest.importorskip("torch")
    c = agree(sp.csr_array(_dense()), torch.tensor(_dense()).to_sparse_csr())
    assert c.ok


def test_value_checks_read_a_sparse_values() -> None:
    sp = pytest.importorskip("scipy.sparse")
    with pytest.raises(nearly.NotFinite):
        nearly.assert_finite(sp.csr_array(([np.nan], ([1], [1])), shape=(2, 2)))
    nearly.assert_finite(sp.csr_array(_dense()))
    with pytest.raises(nearly.OutOfRange):
        nearly.assert_in_range(sp.csr_array(_dense()), 0.0, 10.0)  # holds -2.0
    huge = sp.coo_array(([1.0], ([0], [0])), shape=(100_000, 100_000))
    with pytest.raises(ValueError, match="more than nearly densifies"):
        nearly.assert_finite(huge)


def test_meta_tensors_have_no_values_to_check() -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"meta torch\.Tensor holds none"):
        nearly.assert_in_range(torch.empty(3, device="meta"), 0.0, 1.0)
