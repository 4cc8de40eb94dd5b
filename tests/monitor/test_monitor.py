"""The training monitor: policies on crafted series, actions, host reads, and the adapters
(custom TensorFlow loops, the Keras callback, PyTorch watch, JAX) on small real models."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nearly import KOfN, Monitor, NumericsAlarm, NumericsWarning, Ratio, Spike, Threshold

# ----------------------------------------------------------------------------- helpers


def feed(monitor: Monitor, values: list[float], **other: list[float]) -> None:
    for i, v in enumerate(values):
        monitor.step(loss=v, **{k: vals[i] for k, vals in other.items()})


def noise(n: int, seed: int = 0, level: float = 1.0, scale: float = 0.05) -> list[float]:
    rng = np.random.default_rng(seed)
    return [float(v) for v in level + scale * rng.standard_normal(n)]


def alarm(policies: tuple[Any, ...], values: list[float], **kw: Any) -> NumericsAlarm:
    mon = Monitor(*policies, **kw)

    def run() -> None:
        feed(mon, values)
        mon.close()

    with pytest.raises(NumericsAlarm) as info:
        run()
    return info.value


def quiet(policies: tuple[Any, ...], values: list[float], **kw: Any) -> Monitor:
    mon = Monitor(*policies, **kw)
    feed(mon, values)
    mon.close()
    assert mon.events == []
    return mon


# ----------------------------------------------------------------------------- policies


def test_nonfinite_is_always_on_and_names_step_value_and_last_good_step() -> None:
    values = [1.0, 0.9, 0.8, math.nan, 0.7]
    err = alarm((), values, check_every=2)
    assert err.event.step == 3
    assert err.event.series == "loss"
    assert err.event.last_good_step == 2
    text = str(err)
    assert "step 3: loss = nan" in text
    assert "NonFinite" in text
    assert "last good step: 2" in text
    assert isinstance(err, AssertionError)


def test_inf_is_reported_as_inf() -> None:
    err = alarm((), [1.0, math.inf], check_every=5)
    assert "loss = inf" in str(err)
    assert "Inf, never allowed" in str(err)


def test_threshold_on_raw_values() -> None:
    quiet((Threshold(max=2.0),), [1.0, 1.5, 2.0, 1.9])
    err = alarm((Threshold(max=2.0),), [1.0, 1.5, 2.5, 1.0])
    assert err.event.step == 2
    assert "Threshold(max=2, on='loss')" in str(err)
    assert "above max=2" in str(err)
    err = alarm((Threshold(min=0.5),), [1.0, 0.4])
    assert "below min=0.5" in str(err)


def test_threshold_on_ema_ignores_a_single_outlier_but_not_a_trend() -> None:
    policy = Threshold(max=2.0, ema=0.1)
    quiet((policy,), [1.0] * 10 + [5.0] + [1.0] * 10)  # EMA peaks at 1.4
    err = alarm((policy,), [1.0] * 10 + [5.0] * 10)
    assert err.event.step == 12  # EMA 1 + 4 * (1 - 0.9**k) passes 2 at the 3rd high value
    assert "its EMA" in str(err)


def test_threshold_on_window_mean_waits_for_a_full_window() -> None:
    policy = Threshold(max=2.0, window=4)
    quiet((policy,), [9.0, 9.0, 9.0])  # never a full window
    err = alarm((policy,), [1.0, 1.0, 1.0, 1.0, 4.0, 4.0, 4.0])
    # windows: [1,1,1,4] = 1.75, [1,1,4,4] = 2.5 -> fires at step 5
    assert err.event.step == 5
    assert "mean over the last 4 steps" in str(err)


def test_threshold_window_first_full_window_can_fire() -> None:
    err = alarm((Threshold(max=2.0, window=3),), [3.0, 3.0, 3.0])
    assert err.event.step == 2


def test_spike_is_quiet_on_noise_and_fires_on_a_spike() -> None:
    values = noise(600)
    quiet((Spike(),), values, check_every=50)
    values[400] = 1.0 + 0.05 * 12  # 12 sigma
    err = alarm((Spike(),), values, check_every=50)
    assert err.event.step == 400
    msg = str(err)
    assert "Spike(on='loss', window=128, z=6, warmup=20)" in msg
    assert "z-score" in msg
    assert "allowed up to" in msg
    assert "last good step: 399" in msg


def test_spike_respects_warmup_and_is_one_sided() -> None:
    values = noise(60)
    values[10] = 100.0  # before warm-up: not judged
    values[40] = -100.0  # a fall: never a spike
    quiet((Spike(warmup=20),), values)


def test_spike_floor_keeps_a_flat_series_quiet() -> None:
    values = [1.0] * 50 + [1.0 + 1e-6] * 5
    quiet((Spike(),), values)
    err = alarm((Spike(),), [1.0] * 50 + [1.01])
    assert err.event.step == 50


def test_ratio_to_running_max() -> None:
    quiet((Ratio(10.0),), [1.0, 5.0, 9.0, 80.0])  # 80 < 10 * 9
    err = alarm((Ratio(10.0),), [1.0, 5.0, 2.0, 51.0])
    assert err.event.step == 3
    assert "running max 5" in str(err)


def test_k_of_n_needs_k_hits_within_n_steps() -> None:
    policy = KOfN(Threshold(max=2.0), k=3, n=5)
    quiet((policy,), [3.0, 1.0, 1.0, 1.0, 3.0, 1.0, 1.0, 1.0, 3.0])  # never 3 within 5
    err = alarm((policy,), [3.0, 1.0, 3.0, 1.0, 3.0, 1.0])
    assert err.event.step == 4
    assert "fired on 3 of the last 5 steps" in str(err)


def test_policies_on_named_series_and_norm_series() -> None:
    mon = Monitor(Threshold(max=1.0, on="lr"), check_every=3)
    mon.step(loss=1.0, lr=0.1)
    mon.step(loss=1.0, lr=0.2)
    with pytest.raises(NumericsAlarm, match=r"step 2: lr = 5"):
        mon.step(loss=1.0, lr=5.0)
    mon = Monitor(Threshold(max=10.0, on="grad_norm"))
    mon.step(loss=1.0, grads=[np.array([3.0, 4.0]), np.array([12.0])])  # norm 13
    with pytest.raises(NumericsAlarm, match=r"grad_norm = 13"):
        mon.check()


def test_each_monitor_gets_its_own_policy_state() -> None:
    shared = Spike(warmup=2, window=4)
    a, b = Monitor(shared), Monitor(shared)
    feed(a, [1.0, 1.0, 1.0, 1.0])
    a.check()
    b.step(loss=1.0)
    b.check()  # b has not seen a's values: still warming up
    assert b.events == []


# ----------------------------------------------------------------------------- actions


def test_action_warn_warns_and_goes_on() -> None:
    mon = Monitor(Threshold(max=1.0, action="warn"), check_every=2)
    with pytest.warns(NumericsWarning, match=r"step 1: loss = 3"):
        feed(mon, [0.5, 3.0])
    feed(mon, [0.5, 0.5])
    mon.close()
    assert [e.step for e in mon.events] == [1]


def test_action_stop_sets_should_stop() -> None:
    mon = Monitor(nonfinite="stop", check_every=1)
    mon.step(loss=1.0)
    assert not mon.should_stop
    mon.step(loss=math.nan)
    assert mon.should_stop
    mon.close()


def test_action_record_only_records() -> None:
    mon = Monitor(Threshold(max=1.0, action="record"), nonfinite="record", check_every=2)
    feed(mon, [2.0, math.inf, 0.5])
    mon.close()
    assert [(e.step, e.action) for e in mon.events] == [(0, "record"), (1, "record")]
    report = mon.report()
    assert "2 events" in report
    assert "NonFinite" in report


def test_action_skip_step_factor_and_gate() -> None:
    mon = Monitor(Threshold(max=5.0, action="skip"), nonfinite="skip", check_every=100)
    mon.step(loss=1.0)
    assert float(mon.step_factor) == 1.0
    mon.step(loss=9.0)
    assert float(mon.step_factor) == 0.0
    mon.step(loss=math.nan)
    assert float(mon.step_factor) == 0.0
    grads = mon.gate([np.array([math.nan, 1.0])])
    assert np.array_equal(grads[0], [0.0, 0.0])
    mon.close()  # skip events never raise
    assert [e.action for e in mon.events] == ["skip", "skip"]


def test_skip_factor_of_a_spike_uses_the_bounds_of_the_last_read() -> None:
    mon = Monitor(Spike(warmup=5, window=10, action="skip"), check_every=10)
    feed(mon, noise(10))  # the 10th step reads: the spike bound is now known
    mon.step(loss=1.02)
    assert float(mon.step_factor) == 1.0
    mon.step(loss=50.0)
    assert float(mon.step_factor) == 0.0


def test_skip_is_refused_where_the_device_cannot_test_it() -> None:
    with pytest.raises(ValueError, match="action='skip'"):
        Threshold(max=1.0, ema=0.5, action="skip")
    with pytest.raises(ValueError, match="action='skip'"):
        KOfN(Spike(), k=2, n=3, action="skip")


# ----------------------------------------------------------------------------- reads


def test_check_every_reads_on_the_nth_step_and_reports_the_exact_step() -> None:
    mon = Monitor(check_every=5)
    mon.step(loss=1.0)
    mon.step(loss=1.0)
    mon.step(loss=math.nan)  # recorded, not read yet
    mon.step(loss=1.0)
    assert mon.steps == 0
    with pytest.raises(NumericsAlarm, match=r"step 2: loss = nan"):
        mon.step(loss=1.0)  # the 5th step reads
    assert mon.steps == 5


def test_close_and_with_block_do_the_final_check() -> None:
    mon = Monitor(check_every=1000)

    def run() -> None:
        with mon:
            mon.step(loss=1.0)
            mon.step(loss=math.inf)
            assert mon.events == []  # nothing read before the block ends

    with pytest.raises(NumericsAlarm, match="step 1"):
        run()
    mon.close()  # closing twice is a no-op
    with pytest.raises(RuntimeError, match="after close"):
        mon.step(loss=1.0)


def test_with_block_lets_the_users_error_through() -> None:
    mon = Monitor(check_every=1000)

    def run() -> None:
        with mon:
            mon.step(loss=math.nan)
            raise KeyError("boom")

    with pytest.raises(KeyError):
        run()
    assert [e.step for e in mon.events] == [0]  # still read and recorded


def test_history_and_report() -> None:
    mon = Monitor(Spike(), check_every=7)
    feed(mon, noise(30), grad_norm=noise(30, seed=1, level=3.0))
    mon.close()
    hist = mon.history()
    assert list(hist) == ["step", "loss", "grad_norm"]
    assert hist["step"].tolist() == list(range(30))
    report = mon.report()
    assert "30 steps read" in report
    for col in ("p50", "p90", "p99", "loss", "grad_norm", "no events"):
        assert col in report


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    mon = Monitor(Threshold(max=1.1, action="record"), check_every=10)
    values = noise(40)
    values[25] = 2.0
    feed(mon, values, grad_norm=noise(40, seed=3))
    mon.close()
    out = mon.plot(tmp_path / "monitor.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mon = Monitor()
    mon.step(loss=1.0)
    mon.close()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'nearly\[plot\]'"):
        mon.plot(tmp_path / "x.png")


# ----------------------------------------------------------------------------- misuse


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: Monitor(check_every=0), ValueError, "check_every must be >= 1"),
        (lambda: Monitor(check_every=2.5), TypeError, "check_every must be an int"),
        (lambda: Monitor(nonfinite="explode"), ValueError, "action must be one of"),
        (lambda: Monitor(Spike, check_every=1), TypeError, "policies must be nearly policies"),
        (lambda: Monitor(keep_batches=-1), ValueError, "keep_batches must be >= 0"),
        (lambda: Threshold(), ValueError, "give max=, min= or both"),
        (lambda: Threshold(max=1.0, min=2.0), ValueError, "above max"),
        (lambda: Threshold(max=math.inf), ValueError, "max must be finite"),
        (lambda: Threshold(max="1"), TypeError, "max must be a number"),
        (lambda: Threshold(max=1.0, ema=0.5, window=3), ValueError, "not both"),
        (lambda: Threshold(max=1.0, ema=1.5), ValueError, r"ema must be in \(0, 1\]"),
        (lambda: Spike(z=0), ValueError, "z must be > 0"),
        (lambda: Spike(window=10, warmup=20), ValueError, "exceeds window"),
        (lambda: Spike(window=1), ValueError, "window must be >= 2"),
        (lambda: Spike(on=""), TypeError, "on= must name"),
        (lambda: Ratio(0.0), ValueError, "factor must be > 0"),
        (lambda: KOfN(Spike(), k=4, n=3), ValueError, "exceeds n"),
        (lambda: KOfN("Spike", k=1, n=3), TypeError, "policy must be"),
        (lambda: Spike(action="panic"), ValueError, "action must be one of"),
    ],
)
def test_bad_arguments_fail_clearly(make: Callable[[], Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        make()


def test_bad_steps_fail_clearly() -> None:
    mon = Monitor(Spike(on="lss"))
    with pytest.raises(ValueError, match=r"watches 'lss'.*records: loss"):
        mon.step(loss=1.0)
    mon = Monitor()
    with pytest.raises(ValueError, match="nothing to record"):
        mon.step()
    mon.step(loss=1.0)
    with pytest.raises(ValueError, match="same series every step"):
        mon.step(loss=1.0, lr=0.1)
    with pytest.raises(ValueError, match="reserved"):
        Monitor().step(loss=1.0, grad_norm=None, **{"weight_norm": 1.0})
    with pytest.raises(ValueError, match="grads= or grad_norm="):
        Monitor().step(grads=[np.ones(2)], grad_norm=1.0)
    with pytest.raises(TypeError, match="iterable of tensors"):
        Monitor().step(grads=3.0)
    with pytest.raises(RuntimeError, match="before the first step"):
        _ = Monitor().step_factor


# ----------------------------------------------------------------------------- PyTorch


def _torch() -> Any:
    return pytest.importorskip("torch")


def _torch_mlp() -> Any:
    torch = _torch()
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 8), torch.nn.Linear(8, 1)
    )


def _torch_batches(n: int) -> Iterator[tuple[Any, Any]]:
    torch = _torch()
    g = torch.Generator().manual_seed(1)
    for _ in range(n):
        x = torch.randn(32, 4, generator=g)
        yield x, x.sum(1, keepdim=True)


def test_torch_watch_names_the_layer_whose_weights_hold_nan() -> None:
    torch = _torch()
    import nearly.torch

    model = _torch_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    mon = nearly.torch.watch(model, opt, Spike(), check_every=10, weights=True)

    def train() -> None:
        with mon:
            for i, (x, y) in enumerate(_torch_batches(40)):
                if i == 13:
                    with torch.no_grad():
                        model[2].weight[3, 5] = math.nan
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(model(x), y)
                loss.backward()
                mon.step(loss=loss)
                opt.step()

    with pytest.raises(NumericsAlarm) as info:
        train()
    msg = str(info.value)
    assert info.value.event.step == 13
    assert "non-finite weights in 1 of 6 tensors (2.weight)" in msg
    assert "module '2'" in msg
    assert mon.hooks == 0


def test_torch_watch_takes_its_hooks_off_on_close() -> None:
    torch = _torch()
    import nearly.torch

    model = _torch_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    mon = nearly.torch.watch(model, opt, Spike(action="skip"), capture_inputs=True)
    assert mon.hooks == 2  # the inputs kept for a re-run, the gradients gated before a step
    with mon:
        x, y = next(_torch_batches(1))
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        mon.step(loss=loss)
        opt.step()
    assert mon.hooks == 0


def test_torch_rerun_names_the_module_that_produced_inf() -> None:
    torch = _torch()
    import nearly.torch

    class _Exp(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            return torch.exp(x)

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), _Exp(), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    # check_every=1 reads before optimizer.step(): the weights are still those of the step
    mon = nearly.torch.watch(model, opt, check_every=1, capture_inputs=True)

    def train() -> None:
        for i, (x, y) in enumerate(_torch_batches(10)):
            if i == 4:
                x = x * 1e4
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            mon.step(loss=loss)
            opt.step()

    with pytest.raises(NumericsAlarm) as info:
        train()
    msg = str(info.value)
    assert "step 4" in msg
    assert "module '1' (_Exp) produced the first non-finite output from finite inputs" in msg


def test_torch_skip_keeps_the_weights_finite() -> None:
    torch = _torch()
    import nearly.torch

    model = _torch_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    mon = nearly.torch.watch(model, opt, nonfinite="skip", check_every=4)
    for i, (x, y) in enumerate(_torch_batches(12)):
        if i == 5:
            x = x.clone()
            x[0, 0] = math.inf
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        mon.step(loss=loss)
        opt.step()
    mon.close()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert {e.step for e in mon.events} == {5}
    assert all(e.action == "skip" for e in mon.events)


def test_torch_steps_never_read_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = _torch()
    import nearly.torch

    model = _torch_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    mon = nearly.torch.watch(
        model, opt, Spike(), check_every=1000, weights=True, capture_inputs=True
    )
    batches = list(_torch_batches(30))
    reads: list[str] = []
    counting = [False]
    for name in ("item", "cpu", "numpy", "tolist", "__bool__", "__float__", "__int__"):
        original = getattr(torch.Tensor, name)

        def counted(self: Any, *a: Any, _n: str = name, _f: Any = original, **k: Any) -> Any:
            if counting[0]:
                reads.append(_n)
            return _f(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, counted)
    for x, y in batches:
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        counting[0] = True  # only the monitor's own work is counted
        mon.step(loss=loss)
        _ = mon.step_factor
        counting[0] = False
        opt.step()
    assert reads == [], f"step() read the device: {reads}"
    counting[0] = True
    mon.check()
    assert reads, "check() should read the recorded steps"
    assert len(reads) <= 2  # one transfer for all 30 steps
    monkeypatch.undo()
    assert mon.steps == 30


# ----------------------------------------------------------------------------- JAX


def test_jax_arrays_are_recorded_and_checked() -> None:
    jnp = pytest.importorskip("jax.numpy")
    mon = Monitor(Threshold(max=10.0, on="grad_norm"), check_every=4)
    grads = [jnp.ones((3,)), jnp.zeros(())]
    for v in (1.0, 0.5, math.nan):
        mon.step(loss=jnp.asarray(v), grads=grads)
    with pytest.raises(NumericsAlarm, match=r"step 2: loss = nan"):
        mon.step(loss=jnp.asarray(0.2), grads=grads)
    assert mon.history()["grad_norm"][0] == pytest.approx(math.sqrt(3))


# ----------------------------------------------------------------------------- TensorFlow

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _tfk() -> tuple[Any, Any]:
    return pytest.importorskip("tensorflow"), pytest.importorskip("keras")


def _seed_loop(
    steps: int,
    *,
    boost_at: int | None = None,
    plant: tuple[int, float] | None = None,
    check_every: int = 10,
) -> tuple[Monitor, list[float]]:
    """The seed's first example: a Dense(1) regression trained with GradientTape, Adam and
    clip_by_value on batches of 32 drawn from 100,000 rows, with its `assert loss < 1.0`
    replaced by a monitor."""
    tf, keras = _tfk()
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, name="dense")])
    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    n = 100_000
    x_train = tf.random.normal((n, 1))
    y_train = x_train * 2 + tf.random.normal((n, 1), stddev=0.1)
    monitor = Monitor(
        Spike(on="loss"), Spike(on="grad_norm"), check_every=check_every, keep_batches=check_every
    )
    losses: list[float] = []

    def training_step(x: Any, y: Any) -> None:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(y - model(x)))
        grads = tape.gradient(loss, model.trainable_variables)
        monitor.step(
            loss=loss, grads=grads, weights=model.trainable_variables, batch=(x, y), model=model
        )
        grads = monitor.gate(grads)  # a non-finite step is not applied (no sync)
        grads = [tf.clip_by_value(g, -10.0, 10.0) for g in grads]
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))

    with monitor:
        for i in range(steps):
            idx = tf.random.uniform((32,), maxval=n, dtype=tf.int32)
            x, y = tf.gather(x_train, idx), tf.gather(y_train, idx)
            if plant is not None and i == plant[0]:
                x = tf.tensor_scatter_nd_update(x, [[5, 0]], [plant[1]])
            if boost_at is not None and i == boost_at:
                optimizer.learning_rate.assign(0.01 * 1000)
            training_step(x, y)
    losses = monitor.history()["loss"].tolist()
    return monitor, losses


def test_seed_loop_spike_policy_has_no_false_alarm() -> None:
    monitor, losses = _seed_loop(300)
    assert monitor.events == []
    assert monitor.steps == 300
    assert max(losses) > 1.0  # the seed's `assert loss < 1.0` would have failed here


def test_seed_loop_fires_within_a_few_steps_of_divergence() -> None:
    with pytest.raises(NumericsAlarm) as info:
        _seed_loop(300, boost_at=150)
    assert 150 <= info.value.event.step <= 155
    assert "Spike" in str(info.value)


def test_seed_loop_inf_in_one_batch_fires_at_that_step_and_names_the_layer() -> None:
    with pytest.raises(NumericsAlarm) as info:
        _seed_loop(300, plant=(77, math.inf))
    msg = str(info.value)
    assert info.value.event.step == 77
    assert "the input batch already holds non-finite values: 1 of 32 (inf at [5, 0])" in msg
    assert "first layer with a non-finite output: 'dense' (Dense)" in msg


def test_tf_function_loop_records_into_a_device_ring() -> None:
    tf, keras = _tfk()
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    opt = keras.optimizers.SGD(0.01)
    mon = Monitor(Threshold(max=1e6, on="grad_norm"), capacity=8)

    @tf.function
    def train_step(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(y - model(x)))
        grads = tape.gradient(loss, model.trainable_variables)
        mon.step(loss=loss, grads=grads)
        grads = mon.gate(grads)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return mon.step_factor

    x = tf.random.normal((16, 3))
    for i in range(6):
        xb = x if i != 3 else x * math.nan
        factor = train_step(xb, tf.reduce_sum(x, axis=1, keepdims=True))
        assert float(factor) == (0.0 if i == 3 else 1.0)
    with pytest.raises(NumericsAlarm, match=r"step 3: loss = nan"):
        mon.check()
    assert mon.steps == 6
    assert all(np.isfinite(v.numpy()).all() for v in model.trainable_variables)
    # more steps between two reads than the ring holds: reported, never silently dropped
    for _ in range(10):
        train_step(x, tf.reduce_sum(x, axis=1, keepdims=True))
    with pytest.warns(NumericsWarning, match="2 steps before step 8 were overwritten"):
        mon.check()
    assert mon.lost_steps == 2


# ----------------------------------------------------------------------------- Keras callback


def _keras_model(*, exp: bool = False, **compile_kw: Any) -> Any:
    _, keras = _tfk()
    keras.utils.set_random_seed(3)
    layers = [keras.Input((4,)), keras.layers.Dense(8, name="dense")]
    if exp:
        layers.append(keras.layers.Activation("exponential", name="exp"))
    layers.append(keras.layers.Dense(1, name="out"))
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse", **compile_kw)
    return model


def _keras_data(bad_row: int | None = None, value: float = math.nan) -> tuple[Any, Any]:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((320, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    if bad_row is not None:
        x[bad_row] = value
    return x, y


# Keras's own weight saving (BackupAndRestore) converts variables with np.array(), which NumPy 2
# deprecates for objects whose __array__ lacks a copy argument; not the monitor's doing.
@pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)
def test_keras_callback_raises_on_a_planted_nan_and_keeps_the_backup(tmp_path: Path) -> None:
    _, keras = _tfk()
    import nearly.keras

    model = _keras_model()
    x, y = _keras_data(bad_row=6 * 32 + 3)  # in batch 6 of every epoch
    backup = tmp_path / "backup"
    monitor = nearly.keras.NumericsMonitor(Spike(), check_every=4)
    callbacks = [monitor, keras.callbacks.BackupAndRestore(str(backup), save_freq=2)]
    with pytest.raises(NumericsAlarm) as info:
        model.fit(x, y, batch_size=32, epochs=2, shuffle=False, callbacks=callbacks, verbose=0)
    msg = str(info.value)
    assert info.value.event.step == 6
    assert "step 6: loss = nan" in msg
    assert "the input batch already holds non-finite values: 4 of 128" in msg
    assert "first layer with a non-finite output: 'dense' (Dense)" in msg
    assert any(backup.iterdir()), "the exception must leave BackupAndRestore's backup intact"
    assert "train_step" not in model.__dict__  # the model is left as it was


def test_keras_callback_names_the_producing_layer_with_steps_per_execution() -> None:
    _tfk()
    import nearly.keras

    model = _keras_model(exp=True, steps_per_execution=3)
    x, y = _keras_data(bad_row=4 * 32, value=1e4)
    monitor = nearly.keras.NumericsMonitor(check_every=6)
    with pytest.raises(NumericsAlarm) as info:
        model.fit(x, y, batch_size=32, epochs=1, shuffle=False, callbacks=[monitor], verbose=0)
    msg = str(info.value)
    assert info.value.event.step == 4
    assert "layer 'exp' (Activation) produced the first non-finite output from finite" in msg
    assert monitor.monitor.steps >= 5


def test_keras_callback_run_eagerly_localises_before_the_update() -> None:
    _tfk()
    import nearly.keras

    model = _keras_model(exp=True, run_eagerly=True)
    x, y = _keras_data(bad_row=2 * 32, value=1e4)
    monitor = nearly.keras.NumericsMonitor(check_every=50)
    with pytest.raises(NumericsAlarm) as info:
        model.fit(x, y, batch_size=32, epochs=1, shuffle=False, callbacks=[monitor], verbose=0)
    msg = str(info.value)
    assert info.value.event.step == 2
    assert "layer 'exp' (Activation) produced the first non-finite output" in msg
    assert "sequential" in msg  # gradient tensors are named by their variables' paths


def test_keras_callback_under_jit_compile_records_and_says_it_cannot_localise() -> None:
    _tfk()
    import nearly.keras

    model = _keras_model(jit_compile=True)
    x, y = _keras_data(bad_row=2 * 32)
    monitor = nearly.keras.NumericsMonitor(check_every=100)
    with pytest.raises(NumericsAlarm) as info:
        model.fit(x, y, batch_size=32, epochs=1, shuffle=False, callbacks=[monitor], verbose=0)
    msg = str(info.value)
    assert info.value.event.step == 2
    assert "jit_compile=True" in msg


def test_keras_callback_clean_run_then_stop_action(tmp_path: Path) -> None:
    _tfk()
    import nearly.keras

    model = _keras_model()
    x, y = _keras_data()
    monitor = nearly.keras.NumericsMonitor(Spike(), check_every=3, weights=True)
    model.fit(x, y, batch_size=32, epochs=2, callbacks=[monitor], verbose=0)
    assert monitor.events == []
    assert monitor.monitor.steps == 20
    hist = monitor.monitor.history()
    assert set(hist) == {"step", "loss", "grad_norm", "weight_norm"}
    # the raw per-batch loss, not Keras's running epoch mean
    assert not np.allclose(np.diff(hist["loss"][:10]), 0)
    assert "train_step" not in model.__dict__
    # a second fit with a stop action: training ends normally (and so runs on_train_end)
    x, y = _keras_data(bad_row=5)
    stop = nearly.keras.NumericsMonitor(nonfinite="stop", check_every=2)
    model.fit(x, y, batch_size=32, epochs=3, shuffle=False, callbacks=[stop], verbose=0)
    assert stop.events
    assert stop.events[0].step == 0
    assert model.stop_training
    assert stop.monitor.steps < 30


def test_keras_callback_says_when_a_custom_train_step_records_nothing() -> None:
    _, keras = _tfk()
    import nearly.keras

    class Manual(keras.Sequential):  # type: ignore[misc]
        def train_step(self, data: Any) -> dict[str, Any]:
            for v in self.trainable_variables:
                v.assign(v * 0.5)  # updates without the optimizer
            return {"n": 0.0}

    model = Manual([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = _keras_data()
    monitor = nearly.keras.NumericsMonitor(check_every=2)
    with pytest.raises(RuntimeError, match=r"never called optimizer\.apply"):
        model.fit(x, y, batch_size=32, epochs=1, callbacks=[monitor], verbose=0)
    assert "train_step" not in model.__dict__


def test_keras_callback_bad_arguments() -> None:
    _tfk()
    import nearly.keras

    with pytest.raises(ValueError, match="check_every must be >= 1"):
        nearly.keras.NumericsMonitor(check_every=0)
    with pytest.raises(TypeError, match="weights must be a bool"):
        nearly.keras.NumericsMonitor(weights="yes")  # type: ignore[arg-type]


def test_import_nearly_imports_no_framework() -> None:
    import subprocess

    code = (
        "import sys, nearly\n"
        "m = nearly.Monitor(nearly.Spike())\n"
        "bad = [n for n in ('tensorflow', 'torch', 'jax', 'keras', 'matplotlib') "
        "if n in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
