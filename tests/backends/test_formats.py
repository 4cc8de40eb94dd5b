"""Formats NumPy has no dtype for are compared in their own precision: torch's complex32
(held as complex64 on the host) counts ULPs in float16, gets float16's default tolerance and
is a dtype of its own."""

from __future__ import annotations

from typing import Any

import pytest

from agree import agree

pytestmark = pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental")


def _chalf_one_ulp_apart() -> tuple[Any, Any]:
    torch = pytest.importorskip("torch")
    a = torch.tensor([1 + 1j, 2 - 1j], dtype=torch.complex32)
    b = a.clone()
    parts = torch.view_as_real(b)
    parts[0, 0] = torch.nextafter(parts[0, 0], torch.tensor(5.0, dtype=torch.float16))
    return a, b


def test_complex32_counts_ulps_in_float16() -> None:
    a, b = _chalf_one_ulp_apart()
    (m,) = agree(a, b, rtol=0).mismatches
    assert m.worst_ulps is not None
    assert m.worst_ulps.value == 1.0  # not 8192: the ULP of float16, not of float32
    assert m.ulp_dtype == "float16"
    assert m.actual is not None
    assert m.actual.dtype == "complex32"
    assert agree(a, b, ulps=1).ok


def test_complex32_gets_the_float16_default_tolerance() -> None:
    torch = pytest.importorskip("torch")
    a, b = _chalf_one_ulp_apart()
    assert agree(a, b).ok
    near = a.to(torch.complex64) * (1 + 3e-4)  # within float16's default, not complex64's
    assert agree(a, near).ok
    assert not agree(a.to(torch.complex64), near).ok
    assert not agree(a, a.to(torch.complex64) * 1.01).ok


def test_complex32_is_a_dtype_of_its_own() -> None:
    torch = pytest.importorskip("torch")
    a, _ = _chalf_one_ulp_apart()
    wide = a.to(torch.complex64)
    (m,) = agree(a, wide, check_dtype=True).mismatches
    assert m.kind == "dtype"
    assert m.reason.params == {"actual": "complex32", "expected": "complex64"}
    assert m.diagnoses[0].params["identical"] is True
    assert "(complex32 vs complex64)" in str(agree(a, wide))


def test_tf_string_tensors_equal_text_by_its_utf8_encoding() -> None:
    tf = pytest.importorskip("tensorflow")
    c = agree(tf.constant("dé"), "dé")
    assert c.ok
    assert [n.code for n in c.notes] == ["note.utf8"]
    assert c.notes[0].finding.params == {"side": "actual"}
    assert agree(["abc", "dé"], tf.constant(["abc", "dé"])).ok
    (m,) = agree(tf.constant(["abc", "dé"]), ["abc", "de"]).mismatches
    assert (m.count, m.index) == (1, (1,))
    assert agree({"t": tf.constant(b"\x00\xff")}, {"t": b"\x00\xff"}).ok  # bytes as bytes
    (m,) = agree(tf.constant(b"\xff"), "\xff").mismatches  # not UTF-8: bytes, not text
    assert m.kind == "type"
    assert agree(tf.constant(["a", "b"]), tf.constant(["a", "b"])).ok
