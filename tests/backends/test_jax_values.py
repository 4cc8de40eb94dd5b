"""JAX values beyond plain arrays: typed PRNG keys (a training state holds one) and deleted
arrays."""

from __future__ import annotations

import pytest

import nearly

jax = pytest.importorskip("jax")


def test_typed_prng_keys_compare_by_implementation_and_key_data() -> None:
    key = jax.random.key(0)
    assert nearly.compare(key, key).ok
    nearly.assert_close({"rng": jax.random.split(key, 3)}, {"rng": jax.random.split(key, 3)})
    (m,) = nearly.compare({"rng": key}, {"rng": jax.random.key(1)}).mismatches
    assert m.path == "['rng'].key_data"
    with pytest.raises(nearly.NotClose):
        nearly.assert_close(key, jax.random.key(1))
    found = nearly.compare(jax.random.key(0, impl="rbg"), key).mismatches
    assert [m.path for m in found] == [".impl", ".key_data"]
    assert found[0].examples[0].actual == "'rbg'"


def test_a_deleted_array_is_refused_clearly() -> None:
    x = jax.numpy.ones(3)
    x.delete()
    with pytest.raises(TypeError, match=r"jax.Array of shape \(3,\) at \['w'\]: it was deleted"):
        nearly.compare({"w": x}, {"w": jax.numpy.ones(3)})
