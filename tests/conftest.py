"""Shared helpers: every leaf semantic is checked in every container shape.

``rewrap(actual, expected)`` yields each pair re-wrapped four ways, with the path at which a
difference of the leaf must be reported:

=========  ======================  =================
name       wrapping                path of the leaf
=========  ======================  =================
tuple      ``(leaf,)``             ``[0]``
list       ``[leaf]``              ``[0]``
dict       ``{"x": leaf}``         ``['x']``
nested     ``{"a": [(leaf,)]}``    ``['a'][0][0]``
=========  ======================  =================

The ``wrap`` fixture runs a test once per wrapping; ``wrap.passes`` and ``wrap.fails`` compare a
wrapped pair and check where (and as what) a difference is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import nearly

# Machines are shared and noisy: property tests judge correctness, never speed.
settings.register_profile("nearly", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("nearly")


@dataclass(frozen=True)
class Wrapping:
    """One way of putting a leaf into a container, and the path of the leaf inside it."""

    name: str
    path: str
    build: Callable[[Any], Any]

    def __call__(self, leaf: Any) -> Any:
        return self.build(leaf)

    def compare(self, actual: Any, expected: Any, **options: Any) -> nearly.Comparison:
        """``nearly.compare`` of the wrapped pair."""
        return nearly.compare(self(actual), self(expected), **options)

    def passes(self, actual: Any, expected: Any, **options: Any) -> nearly.Comparison:
        """Assert the wrapped pair is close (and that assert_close agrees); return the result."""
        result = self.compare(actual, expected, **options)
        assert result.ok, str(result)
        assert bool(result) is True
        assert result.mismatches == []
        nearly.assert_close(self(actual), self(expected), **options)
        return result

    def fails(self, actual: Any, expected: Any, kind: str, **options: Any) -> nearly.Mismatch:
        """Assert the wrapped pair fails with exactly one Mismatch of ``kind`` at the leaf's
        path (and that assert_close raises NotClose carrying it); return that Mismatch."""
        result = self.compare(actual, expected, **options)
        assert not result.ok, f"expected a {kind} mismatch, got: {result}"
        assert len(result.mismatches) == 1, str(result)
        (mismatch,) = result.mismatches
        assert mismatch.path == self.path, str(result)
        assert mismatch.kind == kind, str(result)
        with pytest.raises(nearly.NotClose) as info:
            nearly.assert_close(self(actual), self(expected), **options)
        assert [(m.path, m.kind) for m in info.value.comparison.mismatches] == [(self.path, kind)]
        return mismatch


WRAPPINGS = (
    Wrapping("tuple", "[0]", lambda x: (x,)),
    Wrapping("list", "[0]", lambda x: [x]),
    Wrapping("dict", "['x']", lambda x: {"x": x}),
    Wrapping("nested", "['a'][0][0]", lambda x: {"a": [(x,)]}),
)


def rewrap(actual: Any, expected: Any) -> Iterator[tuple[Any, Any, str]]:
    """Yield ``(wrapped_actual, wrapped_expected, path_of_the_leaf)`` for every wrapping."""
    for w in WRAPPINGS:
        yield w(actual), w(expected), w.path


@pytest.fixture(params=WRAPPINGS, ids=[w.name for w in WRAPPINGS])
def wrap(request: pytest.FixtureRequest) -> Wrapping:
    """Each of the four wrappings in turn."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="session", name="rewrap")
def rewrap_fixture() -> Callable[[Any, Any], Iterator[tuple[Any, Any, str]]]:
    """The :func:`rewrap` helper, for tests that loop over the wrappings themselves."""
    return rewrap
