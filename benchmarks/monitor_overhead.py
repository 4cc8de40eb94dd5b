"""Step-time overhead of the training monitor against the existing guards.

Keras ``fit`` of a small MLP (TensorFlow backend, CPU) and a plain PyTorch loop on CPU, each run
with no guard, with ``nearly``'s monitor (default and with Spike policies), and with the usual
alternatives: ``keras.callbacks.TerminateOnNaN``, ``tf.debugging.enable_check_numerics``, a
per-step ``torch.isfinite(loss).item()`` check and ``torch.autograd.detect_anomaly``.

The Spike policies record rather than raise here: the MLP learns random labels, where the
gradient norm trends upwards, and the cost is the same either way.

Steady-state step time: every configuration is warmed up (tracing, allocator), then measured
``--repeats`` times, interleaved with the others so that drifting machine load hits them all
alike. Each measurement is cut into chunks of 25 steps (one Keras epoch each; the first epoch
of a ``fit`` call, which traces, is left out); the table reports the median and the lower
quartile of the chunks' step times, each against the unguarded figure of the same run. On a
shared machine the lower quartile is the steadier of the two.

    python benchmarks/monitor_overhead.py                 # both frameworks
    python benchmarks/monitor_overhead.py --only torch --repeats 9
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

Runner = Callable[[], list[float]]  # one measurement: seconds per step of each chunk
# process CPU time by default: on a shared machine other people's work stretches wall time but
# not the CPU this process spends (--clock wall for wall time)
CLOCK: list[Callable[[], float]] = [time.process_time]
CHUNK = 25  # steps per timed chunk (an epoch in Keras): many short samples resist load bursts


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average {os.getloadavg()[0]:.2f}"
    return f"{cpu}, {os.cpu_count()} logical cores{load}, Python {platform.python_version()}"


# ----------------------------------------------------------------------------- Keras


def keras_runners(steps: int, batch: int, width: int, threads: int) -> dict[str, Runner]:
    import numpy as np
    import tensorflow as tf
    from tensorflow import keras

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)

    import nearly
    import nearly.keras

    rng = np.random.default_rng(0)
    n = CHUNK * batch
    x = rng.standard_normal((n, 32)).astype("float32")
    y = rng.integers(0, 10, size=(n,)).astype("int64")

    def build() -> Any:
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((32,)),
                keras.layers.Dense(width, activation="relu"),
                keras.layers.Dense(width, activation="relu"),
                keras.layers.Dense(10),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        return model

    class EpochTimer(keras.callbacks.Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._t = CLOCK[0]()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.times.append(CLOCK[0]() - self._t)

    def runner(make_callbacks: Callable[[], list[Any]], numerics: bool = False) -> Runner:
        if numerics:
            tf.debugging.enable_check_numerics()
        model = build()
        # each epoch is one chunk; the first one traces (a monitor re-traces once per fit
        # call), so it is left out
        epochs = 1 + max(1, steps // CHUNK)

        def run() -> list[float]:
            if numerics:
                tf.debugging.enable_check_numerics()
            timer = EpochTimer()
            model.fit(
                x,
                y,
                batch_size=batch,
                epochs=epochs,
                shuffle=False,
                verbose=0,
                callbacks=[*make_callbacks(), timer],
            )
            if numerics:
                tf.debugging.disable_check_numerics()
            return [t / CHUNK for t in timer.times[1:]]

        if numerics:
            tf.debugging.disable_check_numerics()
        return run

    return {
        "no guard": runner(list),
        "nearly NumericsMonitor (default)": runner(lambda: [nearly.keras.NumericsMonitor()]),
        "nearly NumericsMonitor + Spike(loss, grad_norm)": runner(
            lambda: [
                nearly.keras.NumericsMonitor(
                    nearly.Spike(on="loss", action="record"),
                    nearly.Spike(on="grad_norm", action="record"),
                )
            ]
        ),
        "keras TerminateOnNaN": runner(lambda: [keras.callbacks.TerminateOnNaN()]),
        "tf.debugging.enable_check_numerics": runner(list, numerics=True),
    }


# ----------------------------------------------------------------------------- PyTorch


def torch_runners(steps: int, batch: int, width: int, threads: int) -> dict[str, Runner]:
    import torch

    if threads:
        torch.set_num_threads(threads)

    import nearly
    import nearly.torch

    g = torch.Generator().manual_seed(0)
    data = [
        (torch.randn(batch, 32, generator=g), torch.randint(0, 10, (batch,), generator=g))
        for _ in range(steps)
    ]

    def build() -> tuple[Any, Any]:
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            torch.nn.Linear(32, width),
            torch.nn.ReLU(),
            torch.nn.Linear(width, width),
            torch.nn.ReLU(),
            torch.nn.Linear(width, 10),
        )
        return model, torch.optim.Adam(model.parameters(), lr=1e-3)

    def runner(kind: str) -> Runner:
        model, opt = build()
        loss_fn = torch.nn.CrossEntropyLoss()

        def run() -> list[float]:
            monitor: Any = None
            if kind == "default":
                monitor = nearly.torch.watch(model, opt)
            elif kind == "spike":
                monitor = nearly.torch.watch(
                    model,
                    opt,
                    nearly.Spike(on="loss", action="record"),
                    nearly.Spike(on="grad_norm", action="record"),
                )
            chunks: list[float] = []
            start = CLOCK[0]()
            for i, (x, y) in enumerate(data):
                if i and i % CHUNK == 0:
                    now = CLOCK[0]()
                    chunks.append((now - start) / CHUNK)
                    start = now
                opt.zero_grad(set_to_none=True)
                if kind == "anomaly":
                    with torch.autograd.detect_anomaly(check_nan=True):
                        loss = loss_fn(model(x), y)
                        loss.backward()
                else:
                    loss = loss_fn(model(x), y)
                    loss.backward()
                if monitor is not None:
                    monitor.step(loss=loss)
                elif kind == "item" and not torch.isfinite(loss).item():
                    raise FloatingPointError("non-finite loss")
                opt.step()
            if monitor is not None:
                monitor.close()  # the final read counts in the last chunk
            chunks.append((CLOCK[0]() - start) / CHUNK)
            return chunks

        return run

    import warnings

    # detect_anomaly warns that it is a debugging mode each time it is entered
    warnings.filterwarnings("ignore", message=".*Anomaly Detection has been enabled.*")
    return {
        "no guard": runner("none"),
        "nearly.torch.watch (default)": runner("default"),
        "nearly.torch.watch + Spike(loss, grad_norm)": runner("spike"),
        "per-step torch.isfinite(loss).item()": runner("item"),
        "torch.autograd.detect_anomaly": runner("anomaly"),
    }


# ----------------------------------------------------------------------------- driver


def measure(runners: dict[str, Runner], repeats: int) -> dict[str, list[float]]:
    for run in runners.values():  # warm-up
        run()
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            times[name].extend(run())
    return times


def table(title: str, times: dict[str, list[float]]) -> str:
    base, base_q1 = statistics.median(times["no guard"]), _quartile(times["no guard"])
    lines: list[str] = [
        f"**{title}**",
        "",
        "| guard | median step (ms) | vs. no guard | lower-quartile step (ms) | vs. no guard |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, ts in times.items():
        med, q1 = statistics.median(ts), _quartile(ts)
        if name == "no guard":
            lines.append(f"| {name} | {1e3 * med:.3f} | — | {1e3 * q1:.3f} | — |")
            continue
        lines.append(
            f"| {name} | {1e3 * med:.3f} | {_rel(med, base)} | {1e3 * q1:.3f} | "
            f"{_rel(q1, base_q1)} |"
        )
    n = len(times["no guard"])
    return "\n".join([*lines, "", f"({n} chunks of {CHUNK} steps per guard.)"])


def _quartile(ts: list[float]) -> float:
    return statistics.quantiles(ts, n=4)[0] if len(ts) > 1 else ts[0]


def _rel(t: float, base: float) -> str:
    return f"{t / base:.3f}× ({1e6 * (t - base):+.0f} µs, {100 * (t / base - 1):+.1f}%)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["keras", "torch"], default=None)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=200, help="steps per measurement")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--width", type=int, default=256, help="hidden width of the MLP")
    parser.add_argument(
        "--clock",
        choices=["cpu", "wall"],
        default="cpu",
        help="process CPU time (steady under shared load; the default) or wall time",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="intra-op threads per framework (0: the framework's default); one thread keeps "
        "timings steady on a shared machine",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.steps < 1:
        parser.error("--repeats and --steps must be >= 1")
    CLOCK[0] = time.process_time if args.clock == "cpu" else time.perf_counter

    out = [
        "Machine: " + _machine(),
        "Command: python benchmarks/monitor_overhead.py " + " ".join(sys.argv[1:]),
        f"Model: MLP 32-{args.width}-{args.width}-10, batch {args.batch}, Adam, CPU; "
        f"{args.steps} steps per measurement, {args.repeats} interleaved repeats after a "
        f"warm-up; {args.threads or 'default'} intra-op thread(s); {args.clock} time per step.",
        "",
    ]
    print("\n".join(out), flush=True)
    if args.only in (None, "keras"):
        times = measure(
            keras_runners(args.steps, args.batch, args.width, args.threads), args.repeats
        )
        print(table("Keras 3 `fit` (TensorFlow backend)", times) + "\n", flush=True)
    if args.only in (None, "torch"):
        import torch

        times = measure(
            torch_runners(args.steps, args.batch, args.width, args.threads), args.repeats
        )
        print(table(f"PyTorch loop ({torch.get_num_threads()} threads)", times) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
