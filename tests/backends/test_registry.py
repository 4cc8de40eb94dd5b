"""A new backend is one module and one registration: a test-only array library (a package of
its own, unknown to nearly) is read natively once its backend is registered."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import nearly
from nearly import backends

LIBRARY = '''
class Tape:
    """A toy array type: values in a plain list, no __array__ (NumPy cannot read it)."""

    def __init__(self, values):
        self.values = list(values)

    def __eq__(self, other):
        raise TypeError("Tape does not compare with ==")
'''

BACKEND = """
import numpy as np

from nearly.backends._base import Leaf, type_name

# a toy compiler that traces Python: while TRACING, nearly's checks must run outside it
TRACING = False
EAGER_CALLS = []


def to_leaf(obj):
    if type(obj).__name__ != "Tape":
        return None
    return Leaf(obj, "array", type_name(obj), np.asarray(obj.values, dtype=np.float32))


def compiling():
    return TRACING


def run_eagerly(fn):
    def eager(*args, **kwargs):
        EAGER_CALLS.append(fn.__name__)
        return fn(*args, **kwargs)

    return eager
"""


@pytest.fixture
def tapelib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    (tmp_path / "tapelib.py").write_text(textwrap.dedent(LIBRARY))
    (tmp_path / "tapelib_nearly.py").write_text(textwrap.dedent(BACKEND))
    monkeypatch.syspath_prepend(str(tmp_path))
    import tapelib

    yield tapelib.Tape
    backends._BACKENDS.pop("tapelib", None)
    backends._COMPILERS.pop("tapelib", None)
    backends._backend_for.cache_clear()
    for name in ("tapelib", "tapelib_nearly"):
        sys.modules.pop(name, None)


def test_unregistered_type_is_an_object_compared_with_eq(tapelib: type) -> None:
    with pytest.raises(TypeError, match="Tape does not compare"):
        nearly.compare(tapelib([1.0]), tapelib([1.0]))


def test_registered_backend_reads_the_type_as_an_array(tapelib: type) -> None:
    backends.register("tapelib", "tapelib_nearly")
    assert "tapelib_nearly" not in sys.modules  # imported on first sight of a value, not before
    nearly.assert_close(tapelib([1.0, 2.0]), tapelib([1.0, 2.0 + 1e-7]))
    assert "tapelib_nearly" in sys.modules
    c = nearly.compare({"w": tapelib([1.0, 2.0, 3.0])}, {"w": np.array([1.0, 2.5, 3.0])})
    assert not c.ok
    (m,) = c.mismatches
    assert m.path == "['w']"
    assert m.count == 1
    assert m.index == (1,)
    assert m.actual is not None
    assert m.actual.type == "tapelib.Tape"
    assert "tapelib.Tape" in str(c)
    # the leaf was read as float32: the default tolerance is float32's
    assert nearly.compare(tapelib([1.0]), np.array([1.0 + 1e-6])).ok


def test_register_refuses_names_that_cannot_be_modules() -> None:
    with pytest.raises(ValueError, match="package must be a top-level package name"):
        backends.register("tape.lib", "tapelib_nearly")
    with pytest.raises(ValueError, match="backend must be a dotted module name"):
        backends.register("tapelib", "not a module")


def test_a_backend_without_to_leaf_is_named_in_the_error(tapelib: type, tmp_path: Path) -> None:
    (tmp_path / "tapelib_broken.py").write_text("x = 1\n")
    backends.register("tapelib", "tapelib_broken")
    try:
        with pytest.raises(TypeError, match=r"'tapelib_broken' .* has no to_leaf"):
            nearly.compare(tapelib([1.0]), tapelib([1.0]))
    finally:
        sys.modules.pop("tapelib_broken", None)


def test_a_registered_compiler_runs_the_checks_outside_its_trace(tapelib: type) -> None:
    backends.register("tapelib", "tapelib_nearly", compiler=True)
    import tapelib_nearly  # type: ignore[import-not-found]

    nearly.assert_close(tapelib([1.0]), tapelib([1.0]))
    assert tapelib_nearly.EAGER_CALLS == []  # not compiling: the plain call
    tapelib_nearly.TRACING = True
    nearly.assert_close(tapelib([1.0]), tapelib([1.0]))
    with pytest.raises(nearly.NotClose):
        nearly.assert_close(tapelib([1.0]), tapelib([2.0]))
    assert tapelib_nearly.EAGER_CALLS == ["assert_close", "assert_close"]
    tapelib_nearly.TRACING = False
    # registered again without compiler=True, it is no longer asked
    backends.register("tapelib", "tapelib_nearly")
    tapelib_nearly.TRACING = True
    nearly.assert_close(tapelib([1.0]), tapelib([1.0]))
    assert len(tapelib_nearly.EAGER_CALLS) == 2
