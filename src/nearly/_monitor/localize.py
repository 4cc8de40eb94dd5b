"""Where the first non-finite value started: one algorithm for every framework.

A backend re-runs the offending batch layer by layer and records each layer's call
(:class:`~nearly.backends._monitor_ops.Replay`); this module reads those records. The producer
is the first layer whose output is non-finite while its inputs were finite, as opposed to the
layers that only propagated a non-finite input; when every output is finite, the value arose
after the forward pass (the loss or the backward pass).
"""

from __future__ import annotations

from typing import Any

from nearly.backends._monitor_ops import LayerCall, NonFinite, Replay, for_value

__all__ = ["explain", "localize", "producer"]


def producer(replay: Replay) -> tuple[LayerCall | None, LayerCall | None]:
    """The producer (first call with a non-finite output from finite inputs) and the first
    call with a non-finite output at all; either may be None."""
    producing = next((c for c in replay.calls if c.bad_outputs and c.inputs_finite), None)
    first = next((c for c in replay.calls if c.bad_outputs), None)
    return producing, first


def _counts(found: NonFinite) -> str:
    where = ", ".join(map(str, found.first_index))
    return f"{found.count} of {found.total} ({found.first_value} at [{where}])"


def _shown(names: tuple[str, ...]) -> str:
    return ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")


def _name(call: LayerCall) -> str:
    return repr(call.name) if call.name else "(the model itself)"


def explain(replay: Replay, step: int) -> str:
    """The lines that say where the non-finite value of ``step`` started."""
    unit = replay.unit
    head = f"where it started (re-ran the batch of step {step} {unit} by {unit}):"
    notes: list[str] = []
    if replay.bad_weights:
        notes.append(
            f"not re-run: the weights have become non-finite since that step "
            f"({_shown(replay.bad_weights)}), so the batch cannot be replayed as it ran; gate "
            "the update (monitor.gate, or a 'skip' action) or use check_every=1 to keep the "
            "weights finite until the read"
        )
    else:
        producing, first = producer(replay)
        if producing is not None:
            why = ""
            if producing.bad_weights:
                why = f"; its own weights are non-finite: {', '.join(producing.bad_weights)}"
            notes.append(
                f"{unit} {_name(producing)} ({producing.type}) produced the first non-finite "
                f"output from finite inputs: {producing.bad_outputs} of {producing.outputs} "
                f"output elements{why}"
            )
        elif first is not None:
            notes.append(
                f"first {unit} with a non-finite output: {_name(first)} ({first.type}), which "
                "propagated it from its inputs"
            )
        else:
            notes.append(f"every {unit}'s output is finite on this batch" + _after(replay.loss))
    if replay.inputs is not None:
        notes.append(f"the input batch already holds non-finite values: {_counts(replay.inputs)}")
    if replay.targets is not None:
        notes.append(f"the targets hold non-finite values: {_counts(replay.targets)}")
    if replay.bad_gradients:
        notes.append(f"weights with non-finite gradients: {_shown(replay.bad_gradients)}")
    return head + "\n  " + "\n  ".join(notes)


def _after(loss: str | None) -> str:
    if loss is None:
        return (
            ": the non-finite value arises after the forward pass (the loss or the backward pass)"
        )
    if loss == "nonfinite":
        return ": the loss computation produced the non-finite value"
    if loss == "finite":
        return " and so is the loss: it arises in the backward pass"
    return f" (the loss could not be recomputed: {loss})"


def localize(model: Any, batch: Any, event: Any) -> str:
    """Re-run ``batch`` through ``model`` layer by layer (through its framework's backend) and
    say which layer produced the first non-finite value of ``event``'s step."""
    replay = for_value(model).replay
    if replay is None:
        raise TypeError(
            f"localize: a {type(model).__qualname__} is not a model nearly can re-run layer by "
            "layer (PyTorch modules and Keras models are)"
        )
    return explain(replay(model, batch), event.step)
