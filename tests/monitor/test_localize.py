"""Where a first non-finite value started: the one algorithm over a backend's layer records
(no framework needed; tests/monitor/test_monitor.py runs it on real torch and Keras models)."""

from __future__ import annotations

import numpy as np
import pytest

from nearly._monitor.localize import explain, localize, producer
from nearly.backends._monitor_ops import LayerCall, NonFinite, Replay, nonfinite_of


def _replay(*calls: LayerCall, **kw: object) -> Replay:
    found = {"unit": "layer", "inputs": None, "targets": None, "bad_weights": (), **kw}
    return Replay(calls=calls, **found)  # type: ignore[arg-type]


DENSE = LayerCall("dense", "Dense", True, 0, 32)
EXP = LayerCall("exp", "Activation", True, 5, 32, ("exp/w",))
AFTER = LayerCall("out", "Dense", False, 8, 8)


def test_the_producer_is_the_first_bad_output_from_finite_inputs() -> None:
    replay = _replay(DENSE, EXP, AFTER)
    assert producer(replay) == (EXP, EXP)
    text = explain(replay, 12)
    assert text.splitlines()[0] == "where it started (re-ran the batch of step 12 layer by layer):"
    assert (
        "layer 'exp' (Activation) produced the first non-finite output from finite inputs: "
        "5 of 32 output elements; its own weights are non-finite: exp/w"
    ) in text
    assert "'out'" not in text  # it only propagated the value


def test_without_a_producer_the_first_propagating_layer_is_named() -> None:
    bad_input = NonFinite(1, 32, (5, 0), "inf")
    replay = _replay(LayerCall("dense", "Dense", False, 3, 32), AFTER, inputs=bad_input)
    assert producer(replay)[0] is None
    text = explain(replay, 3)
    assert "first layer with a non-finite output: 'dense' (Dense), which propagated it" in text
    assert "the input batch already holds non-finite values: 1 of 32 (inf at [5, 0])" in text


@pytest.mark.parametrize(
    ("loss", "says"),
    [
        (None, "arises after the forward pass (the loss or the backward pass)"),
        ("nonfinite", "the loss computation produced the non-finite value"),
        ("finite", "and so is the loss: it arises in the backward pass"),
        ("ValueError", "(the loss could not be recomputed: ValueError)"),
    ],
)
def test_every_output_finite_says_what_the_loss_was(loss: str | None, says: str) -> None:
    replay = _replay(DENSE, loss=loss, unit="module", bad_gradients=("0.weight",))
    text = explain(replay, 1)
    assert "every module's output is finite on this batch" in text
    assert says in text
    assert "weights with non-finite gradients: 0.weight" in text


def test_non_finite_weights_are_not_replayed() -> None:
    names = tuple(f"w{i}" for i in range(7))
    text = explain(_replay(bad_weights=names), 4)
    assert "not re-run: the weights have become non-finite since that step" in text
    assert "(w0, w1, w2, w3, w4 ...)" in text


def test_the_model_itself_is_named_so() -> None:
    text = explain(_replay(LayerCall("", "Net", True, 1, 4)), 0)
    assert "layer (the model itself) (Net) produced" in text


def test_nonfinite_of_host_arrays() -> None:
    assert nonfinite_of([np.ones(3)]) is None
    found = nonfinite_of([np.ones(2), np.array([[1.0, -np.inf], [np.nan, 1.0]])])
    assert found == NonFinite(2, 6, (0, 1), "-inf")


def test_a_value_with_no_models_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="a dict is not a model nearly can re-run"):
        localize({}, None, None)
