"""Speed and peak memory of nearly.assert_close against the checks of NumPy, PyTorch, TensorFlow.

Run: python benchmarks/speed.py [--quick | --full] [--repeats N] [--out FILE.json]

* default: 1e4, 1e5, 1e6 and 1e7 elements × float64, float32, float16, bfloat16 (minutes);
* ``--quick``: 1e4 to 1e6 elements, float32 only, 3 repeats (a smoke run, under a minute);
* ``--full``: adds 1e8 elements (two float64 inputs are 1.6 GB; NumPy's check of them needs
  about 8 GB more when every element differs).

The Markdown tables go to stdout, progress to stderr, everything (every repeat, every setting)
to the JSON file.

Cases
-----
Inputs (``expected`` is standard normal, drawn in float32, or float64 for float64):

=========== =======================================================================
identical   ``actual`` is a copy of ``expected`` (a different array with equal bits)
close       every element one ULP apart (its bit pattern plus one)
fail 1%     1% of the elements, at random positions, increased by 1
fail 100%   every element increased by 1
=========== =======================================================================

Tools, each given the same pair of arrays (``actual``, ``expected``):

* ``nearly``: ``nearly.assert_close(actual, expected)`` on NumPy arrays (bfloat16 from
  ml_dtypes), with its per-dtype default tolerance;
* ``np.testing``: ``numpy.testing.assert_allclose(actual, expected, rtol, atol)``;
* ``torch.testing``: ``torch.testing.assert_close(actual, expected)`` on tensors sharing the
  arrays' memory, with its per-dtype default tolerance;
* ``nearly[torch]``: nearly.assert_close on those tensors;
* ``tf.assert_near``: ``tf.debugging.assert_near(actual, expected, rtol, atol)`` on
  ``tf.constant`` copies (it cannot build its default tolerance for bfloat16: ``numpy.finfo``
  rejects the type, even when rtol and atol are given, so those cells are n/a);
* ``nearly[tf]``: nearly.assert_close on those TF tensors;
* ``chex``: ``chex.assert_trees_all_close(actual, expected, rtol, atol)`` on JAX arrays, only
  where chex is importable (otherwise skipped, with a note).

All use one tolerance per dtype, the table in ``TOLERANCES`` (nearly's and torch's defaults,
passed explicitly to NumPy, TensorFlow and chex). NumPy's own defaults (rtol=1e-7, atol=0)
would reject the one-ULP inputs of float16 and bfloat16, and the comparison would then time a
failure against a pass. Each run records whether the tool passed or failed; a result other
than the expected one is marked ``!`` in the tables.

Also measured:

* the bandwidth floor: one read of both inputs, ``np.add.reduce`` over the raw bytes of
  each seen as uint64 words (a vectorised integer sum, the same bytes whatever the dtype,
  single-threaded like NumPy). No check that reads every element can be faster;
* a dict of 10,000 float32 leaves of shape (4,), identical and close: nearly.assert_close
  on the dicts, a loop of numpy.testing.assert_allclose over the keys, and
  torch.testing.assert_close on dicts of tensors.

Method
------
Each case runs in a process of its own, forked for it alone from a parent ("zygote") that has
only imported the libraries it needs (NumPy, ml_dtypes, every module of nearly, and torch,
tensorflow or jax; for torch also ``torch.distributed.tensor``, which
torch.testing.assert_close imports on its first call) and has run nothing; so no case sees
memory, caches or thread pools left by another, and starting a case does not cost the 2 to
5 s of importing torch or TensorFlow.
The zygote moves the objects of those imports out of the collector's sight (``gc.freeze``).
Cases run in order of size, dtype and input, the tools of one input next to each other in
time. Nothing else should run on the machine meanwhile: the load average before and after is
in the header, and a cell whose slowest repeat took more than 1.5 times its fastest is
marked ``~``.

In its process a case:

1. calls the tool once on a 1,000-element version of its inputs: the lazy imports and
   first-use set-up of every library happen here, outside what is measured;
2. builds its inputs (and converts them to tensors), untimed;
3. collects garbage and resets the peak resident set size (writing ``5`` to
   ``/proc/self/clear_refs``), then reads ``ru_maxrss`` from ``getrusage(RUSAGE_SELF)``;
4. warm-up: calls the tool once on the real inputs, untimed, and from its time picks a number
   of calls per repeat (1, or enough for a repeat to last 20 ms);
5. times ``--repeats`` repeats with ``time.perf_counter`` (garbage collected before each,
   collector left on during it) and reports the median time per call (min and max in the
   JSON);
6. reads ``ru_maxrss`` again: "peak extra MB" is its growth, the most memory the check held
   at once beyond its inputs, including the warm-up, whose temporaries come fresh from the
   operating system (later calls may reuse memory the C allocator kept);
7. for tools on NumPy arrays, calls the tool once more under ``tracemalloc`` and reports the
   peak traced (NumPy's allocations and Python objects; torch and TensorFlow allocate
   outside tracemalloc's sight, so their cells show only RSS).

A failing check is caught (``AssertionError``; ``InvalidArgumentError`` for TensorFlow) and
its message converted to ``str`` inside the timed call, so building the explanation counts.
Where ``/proc/self/clear_refs`` cannot be written, the peak is only the growth of the
process's high-water mark, which the building of the inputs may hide: the JSON says which.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib
import importlib.util
import json
import math
import os
import pkgutil
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent

SIZES = [10**4, 10**5, 10**6, 10**7]
FULL_SIZES = [*SIZES, 10**8]
QUICK_SIZES = [10**4, 10**5, 10**6]
DTYPES = ["float64", "float32", "float16", "bfloat16"]
INPUTS = ["identical", "close", "fail 1%", "fail 100%"]
EXPECTED_OUTCOME = {"identical": "pass", "close": "pass", "fail 1%": "fail", "fail 100%": "fail"}
# (rtol, atol) per dtype: nearly.tol.default and torch.testing's defaults.
TOLERANCES = {
    "float64": (1e-7, 1e-7),
    "float32": (1.3e-6, 1e-5),
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
}
NESTED_LEAVES = 10_000
NESTED_SHAPE = (4,)
NESTED_INPUTS = ["identical", "close"]
PRIME_SIZE = 1_000
MIN_REPEAT_S = 0.02
MAX_LOOPS = 10_000
NOISY = 1.5  # slowest repeat over fastest above which a time is marked ~


@dataclass(frozen=True)
class Tool:
    key: str  # identifier in the JSON
    label: str  # column header
    runtime: str  # the zygote it runs in: numpy, torch, tf or jax
    versus: str | None  # the nearly run on the same kind of inputs, for the ratio tool/nearly
    traced: bool  # inputs are NumPy arrays, so tracemalloc sees the allocations


ARRAY_TOOLS = [
    Tool("nearly", "nearly", "numpy", None, True),
    Tool("numpy", "np.testing", "numpy", "nearly", True),
    Tool("torch", "torch.testing", "torch", "nearly_torch", False),
    Tool("nearly_torch", "nearly[torch]", "torch", None, False),
    Tool("tf", "tf.assert_near", "tf", "nearly_tf", False),
    Tool("nearly_tf", "nearly[tf]", "tf", None, False),
    Tool("chex", "chex", "jax", "nearly", False),
]
FLOOR = Tool("floor", "floor", "numpy", None, True)
NESTED_TOOLS = [
    Tool("nearly", "nearly", "numpy", None, True),
    Tool("numpy_loop", "np.testing loop", "numpy", "nearly", True),
    Tool("torch", "torch.testing", "torch", "nearly", False),
]


# ---------------------------------------------------------------------------------------------
# Inside a case's process: inputs, the call, the measurement.


def numpy_dtype(name: str) -> np.dtype[Any]:
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def make_arrays(size: int, dtype: str, kind: str, seed: int = 0) -> tuple[Any, Any]:
    """(actual, expected) NumPy arrays of one input kind."""
    dt = numpy_dtype(dtype)
    rng = np.random.default_rng(seed)
    drawn = np.float64 if dt == np.float64 else np.float32
    expected = rng.standard_normal(size, dtype=drawn).astype(dt, copy=False)
    if kind == "identical":
        actual = expected.copy()
    elif kind == "close":
        bits = np.dtype(f"u{dt.itemsize}")
        actual = (expected.view(bits) + bits.type(1)).view(dt)
    elif kind == "fail 1%":
        actual = expected.copy()
        actual[rng.choice(size, max(1, size // 100), replace=False)] += dt.type(1)
    elif kind == "fail 100%":
        actual = expected + dt.type(1)
    else:
        raise ValueError(kind)
    return actual, expected


def make_tree(kind: str, leaves: int) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = np.random.default_rng(0)
    expected = {
        f"leaf{i:05d}": rng.standard_normal(NESTED_SHAPE, dtype=np.float32) for i in range(leaves)
    }
    if kind == "identical":
        actual = {k: v.copy() for k, v in expected.items()}
    else:
        actual = {
            k: (v.view(np.uint32) + np.uint32(1)).view(np.float32) for k, v in expected.items()
        }
    return actual, expected


def to_torch(a: Any) -> Any:
    import torch

    if a.dtype.name == "bfloat16":  # torch.from_numpy does not know ml_dtypes: share the bits
        return torch.from_numpy(a.view(np.uint16)).view(torch.bfloat16)
    return torch.from_numpy(a)


def outcome_of(check: Callable[[], object], fail: tuple[type[BaseException], ...]) -> Callable:
    """A call returning "pass" or "fail"; a failure's message is built inside the call."""

    def call() -> str:
        try:
            check()
        except fail as exc:
            str(exc)
            return "fail"
        return "pass"

    return call


def uint64_words(a: Any) -> Any:
    flat = np.ascontiguousarray(a).reshape(-1).view(np.uint8)
    return flat.view(np.uint64) if flat.size % 8 == 0 else flat


def array_call(tool: str, dtype: str, actual: Any, expected: Any) -> Callable[[], str]:
    """The timed call of one tool on one pair of NumPy arrays (converted here as needed)."""
    rtol, atol = TOLERANCES[dtype]
    if tool == "floor":
        wa, wb = uint64_words(actual), uint64_words(expected)

        def floor() -> str:
            np.add.reduce(wa)
            np.add.reduce(wb)
            return "n/a"

        return floor
    if tool == "numpy":
        return outcome_of(
            lambda: np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol),
            (AssertionError,),
        )
    import nearly

    if tool == "nearly":
        return outcome_of(lambda: nearly.assert_close(actual, expected), (AssertionError,))
    if tool in ("torch", "nearly_torch"):
        import torch

        ta, tb = to_torch(actual), to_torch(expected)
        if tool == "torch":
            return outcome_of(lambda: torch.testing.assert_close(ta, tb), (AssertionError,))
        return outcome_of(lambda: nearly.assert_close(ta, tb), (AssertionError,))
    if tool in ("tf", "nearly_tf"):
        import tensorflow as tf

        xa, xb = tf.constant(actual), tf.constant(expected)
        if tool == "tf":
            return outcome_of(
                lambda: tf.debugging.assert_near(xa, xb, rtol=rtol, atol=atol),
                (AssertionError, tf.errors.InvalidArgumentError),
            )
        return outcome_of(lambda: nearly.assert_close(xa, xb), (AssertionError,))
    if tool == "chex":
        import chex
        import jax.numpy as jnp

        ja, jb = jnp.asarray(actual), jnp.asarray(expected)
        return outcome_of(
            lambda: chex.assert_trees_all_close(ja, jb, rtol=rtol, atol=atol), (AssertionError,)
        )
    raise ValueError(tool)


def nested_call(tool: str, actual: dict[str, Any], expected: dict[str, Any]) -> Callable[[], str]:
    rtol, atol = TOLERANCES["float32"]
    if tool == "nearly":
        import nearly

        return outcome_of(lambda: nearly.assert_close(actual, expected), (AssertionError,))
    if tool == "numpy_loop":

        def loop() -> None:
            if actual.keys() != expected.keys():
                raise AssertionError("different keys")
            for key, value in expected.items():
                np.testing.assert_allclose(actual[key], value, rtol=rtol, atol=atol)

        return outcome_of(loop, (AssertionError,))
    if tool == "torch":
        import torch

        ta = {k: torch.from_numpy(v) for k, v in actual.items()}
        tb = {k: torch.from_numpy(v) for k, v in expected.items()}
        return outcome_of(lambda: torch.testing.assert_close(ta, tb), (AssertionError,))
    raise ValueError(tool)


def build_call(spec: dict[str, Any], small: bool) -> Callable[[], str]:
    if spec["group"] == "nested":
        actual, expected = make_tree(spec["input"], 10 if small else NESTED_LEAVES)
        return nested_call(spec["tool"], actual, expected)
    size = min(PRIME_SIZE, spec["size"]) if small else spec["size"]
    actual, expected = make_arrays(size, spec["dtype"], spec["input"])
    return array_call(spec["tool"], spec["dtype"], actual, expected)


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_rss_mb() -> float | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return None


def reset_peak_rss() -> bool:
    """Make the high-water mark the current RSS (Linux 4.0+); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    peak = maxrss_mb()  # read first: memory another thread takes meanwhile cannot fail this
    now = current_rss_mb()
    return now is not None and peak - now < 1.0


def run_case(spec: dict[str, Any]) -> dict[str, Any]:
    signal.alarm(spec["timeout"])  # the default action ends the process: the zygote reports it
    t_start = time.perf_counter()
    prime = build_call(spec, small=True)
    prime()
    del prime
    t_primed = time.perf_counter()
    call = build_call(spec, small=False)
    t_built = time.perf_counter()
    gc.collect()
    peak_reset = reset_peak_rss()
    rss_before = maxrss_mb()
    t0 = time.perf_counter()
    outcome = call()
    warm_s = time.perf_counter() - t0
    loops = max(1, min(MAX_LOOPS, math.ceil(MIN_REPEAT_S / max(warm_s, 1e-9))))
    times = []
    for _ in range(spec["repeats"]):
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(loops):
            outcome = call()
        times.append((time.perf_counter() - t0) / loops)
    peak_rss = maxrss_mb() - rss_before
    traced = None
    if spec["traced"]:
        gc.collect()
        tracemalloc.start()
        tracemalloc.reset_peak()
        call()
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    median = statistics.median(times)
    return {
        "outcome": outcome,
        "seconds": median,
        "min_s": min(times),
        "max_s": max(times),
        "times_s": times,
        "loops": loops,
        "warmup_s": warm_s,
        "peak_rss_mb": peak_rss,
        "peak_reset": peak_reset,
        "traced_mb": traced,
        "prime_s": t_primed - t_start,
        "build_s": t_built - t_primed,
    }


def probe(runtime: str) -> dict[str, Any]:
    """Versions and thread counts, read in a forked process so the zygote stays untouched."""
    import ml_dtypes

    import nearly

    info: dict[str, Any] = {
        "numpy": np.__version__,
        "ml_dtypes": ml_dtypes.__version__,
        "nearly": nearly.__version__,
    }
    for dtype, (rtol, atol) in TOLERANCES.items():
        tol = nearly.tol.default(numpy_dtype(dtype))
        if (float(tol.rtol), float(tol.atol)) != (rtol, atol):
            info.setdefault("tolerance_mismatch", {})[dtype] = str(tol)
    if runtime == "torch":
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    elif runtime == "tf":
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
        info["tf_intra_op_threads"] = tf.config.threading.get_intra_op_parallelism_threads()
    elif runtime == "jax":
        import chex
        import jax

        info["jax"] = jax.__version__
        info["chex"] = chex.__version__
    return info


def preload_nearly(runtime: str) -> None:
    """Import every module of nearly now, so that all cases run the code as it was at the start.

    nearly loads some modules on first use; a case process would otherwise read them from disk
    when it runs, and an edit made meanwhile would reach some cases and not others. The
    backends of frameworks this runtime does not import are left alone.
    """
    import nearly

    own = {"torch": "torch", "tf": "tensorflow", "jax": "jax"}.get(runtime)
    others = {"torch", "tensorflow", "jax"} - {own}
    skip = {f"nearly.backends.{name}" for name in others} | {"nearly.__main__"}
    for module in pkgutil.walk_packages(nearly.__path__, "nearly."):
        if module.name not in skip:
            importlib.import_module(module.name)


def zygote(runtime: str) -> None:
    """Import the libraries of one runtime, then fork one process per case read from stdin."""
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, not into the protocol
    import ml_dtypes  # noqa: F401

    if runtime == "torch":
        import torch

        if torch.distributed.is_available():
            # torch.testing.assert_close imports it on its first call (0.6 s in every case)
            import torch.distributed.tensor
    elif runtime == "tf":
        import tensorflow  # noqa: F401
    elif runtime == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)  # float64 stays float64
        import chex  # noqa: F401
    preload_nearly(runtime)
    # What the imports created is never garbage: set it aside, so that the collections the
    # cases run between repeats do not walk through a million objects of TensorFlow or torch.
    gc.freeze()
    for line in sys.stdin:
        spec = json.loads(line)
        read_end, write_end = os.pipe()
        forked = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            try:
                result = probe(runtime) if spec["group"] == "probe" else run_case(spec)
            except BaseException as exc:  # reported as the case's result
                result = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            with os.fdopen(write_end, "w") as f:
                f.write(json.dumps(result))
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end) as f:
            data = f.read()
        _, status = os.waitpid(pid, 0)
        if data:
            result = json.loads(data)
        elif os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGALRM:
            result = {"error": f"timed out after {spec.get('timeout')} s"}
        else:
            result = {"error": f"case process ended without a result (status {status})"}
        result["process_s"] = time.perf_counter() - forked
        protocol.write(json.dumps(result) + "\n")
        protocol.flush()


# ---------------------------------------------------------------------------------------------
# The harness: zygotes, the case list, the tables.


class Zygote:
    def __init__(self, runtime: str) -> None:
        self.runtime = runtime
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in close())
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--zygote", runtime],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
        )

    def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(spec) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            self.log.seek(0)
            tail = self.log.read()[-2000:]
            raise RuntimeError(f"the {self.runtime} process ended:\n{tail}")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.log.close()


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    try:
        with open("/proc/cpuinfo") as f:
            models = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        info["cpu"] = models[0] if models else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    try:
        with open("/proc/meminfo") as f:
            kib = next(int(ln.split()[1]) for ln in f if ln.startswith("MemTotal"))
        info["ram_gib"] = round(kib / 2**20, 1)
    except (OSError, StopIteration):
        info["ram_gib"] = None
    info["nearly_commit"], info["nearly_src_state"] = source_state()
    return info


def source_state() -> tuple[str | None, str | None]:
    """The commit of the checkout, and what identifies the content of src/: its tree in that
    commit and a digest of any uncommitted change (commits elsewhere leave it unchanged)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True
        ).stdout

    try:
        head = git("rev-parse", "--short", "HEAD").strip()
        tree = git("rev-parse", "--short", "HEAD:src").strip()
        diff = git("diff", "HEAD", "--", "src") + git(
            "ls-files", "--others", "--exclude-standard", "--", "src"
        )
    except (OSError, subprocess.CalledProcessError):
        return None, None
    if not diff:
        return head, tree
    digest = hashlib.sha1(diff.encode()).hexdigest()[:10]
    return f"{head} + uncommitted changes in src/", f"{tree}+{digest}"


def fmt_time(s: float | None) -> str:
    if s is None:
        return "n/a"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def fmt_ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.3g}"


def fmt_size(n: int) -> str:
    return f"1e{round(math.log10(n))}" if n >= 10 and 10 ** round(math.log10(n)) == n else str(n)


def seconds(r: dict[str, Any] | None) -> float | None:
    return None if r is None or "error" in r else r["seconds"]


def time_cell(r: dict[str, Any] | None, expected: str | None) -> str:
    if r is None:
        return "–"
    if "error" in r:
        return "n/a"
    mark = "" if expected is None or r["outcome"] == expected else " !"
    if r["max_s"] > NOISY * r["min_s"]:
        mark += " ~"
    return fmt_time(r["seconds"]) + mark


def memory_cell(r: dict[str, Any] | None) -> str:
    if r is None:
        return "–"
    if "error" in r:
        return "n/a"
    cell = f"{r['peak_rss_mb']:.1f}"
    if r["traced_mb"] is not None:
        cell += f" ({r['traced_mb']:.1f})"
    return cell


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def array_tables(
    results: dict[tuple[Any, ...], dict[str, Any]],
    sizes: list[int],
    dtypes: list[str],
    tools: list[Tool],
) -> tuple[str, str]:
    by_key = {t.key: t for t in tools}
    versus = [t for t in tools if t.versus is not None and t.versus in by_key]
    time_header = ["size", "dtype", "input", "floor", *(t.label for t in tools), "nearly/floor"]
    time_header += [f"{t.label}/{by_key[t.versus].label}" for t in versus]
    mem_header = ["size", "dtype", "input", "inputs MB", *(t.label for t in tools)]
    time_rows, mem_rows = [], []
    for size in sizes:
        for dtype in dtypes:
            floor = results.get(("floor", size, dtype))
            inputs_mb = 2 * size * numpy_dtype(dtype).itemsize / 2**20
            for kind in INPUTS:
                cells = {t.key: results.get(("array", t.key, size, dtype, kind)) for t in tools}
                expected = EXPECTED_OUTCOME[kind]
                row = [fmt_size(size), dtype, kind, time_cell(floor, None)]
                row += [time_cell(cells[t.key], expected) for t in tools]
                row.append(fmt_ratio(seconds(cells["nearly"]), seconds(floor)))
                row += [fmt_ratio(seconds(cells[t.key]), seconds(cells[t.versus])) for t in versus]
                time_rows.append(row)
                mem = [fmt_size(size), dtype, kind, f"{inputs_mb:.3g}"]
                mem_rows.append(mem + [memory_cell(cells[t.key]) for t in tools])
    return table(time_header, time_rows), table(mem_header, mem_rows)


def nested_table(results: dict[tuple[Any, ...], dict[str, Any]]) -> str:
    header = ["input", *(t.label for t in NESTED_TOOLS)]
    header += [f"{t.label}/nearly" for t in NESTED_TOOLS if t.versus]
    header += [f"{t.label} peak MB" for t in NESTED_TOOLS]
    rows = []
    for kind in NESTED_INPUTS:
        cells = {t.key: results.get(("nested", t.key, kind)) for t in NESTED_TOOLS}
        row = [kind, *(time_cell(cells[t.key], EXPECTED_OUTCOME[kind]) for t in NESTED_TOOLS)]
        row += [
            fmt_ratio(seconds(cells[t.key]), seconds(cells["nearly"]))
            for t in NESTED_TOOLS
            if t.versus
        ]
        row += [memory_cell(cells[t.key]) for t in NESTED_TOOLS]
        rows.append(row)
    return table(header, rows)


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(float(part)) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes such as 1e6,1e8, got {text!r}") from None
    if any(n < PRIME_SIZE for n in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be at least {PRIME_SIZE}")
    return sizes


def _dtypes(text: str) -> list[str]:
    names = text.split(",")
    unknown = [n for n in names if n not in DTYPES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown dtype(s) {unknown}; choose from {DTYPES}")
    return names


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="1e4..1e6, float32, 3 repeats")
    mode.add_argument("--full", action="store_true", help="add 1e8 elements")
    parser.add_argument(
        "--sizes", type=_sizes, help="comma-separated element counts, e.g. 1e8 (overrides the mode)"
    )
    parser.add_argument("--dtypes", type=_dtypes, help=f"comma-separated, from {','.join(DTYPES)}")
    parser.add_argument("--no-nested", action="store_true", help="skip the 10,000-leaf cases")
    parser.add_argument("--repeats", type=int, help="timed repeats per case (default 5)")
    parser.add_argument("--out", default="speed.json", help="JSON file (default speed.json)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per case")
    parser.add_argument("--zygote", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.zygote:
        zygote(args.zygote)
        return
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES if args.full else SIZES)
    dtypes = args.dtypes or (["float32"] if args.quick else DTYPES)
    repeats = args.repeats or (3 if args.quick else 5)
    notes = []
    have_chex = importlib.util.find_spec("chex") is not None
    tools = [t for t in ARRAY_TOOLS if t.key != "chex" or have_chex]
    if not have_chex:
        notes.append("chex is not importable here: chex.assert_trees_all_close was skipped.")

    started = time.perf_counter()
    load_before = os.getloadavg()
    runtimes = sorted({t.runtime for t in [*tools, *NESTED_TOOLS]})
    zygotes = {rt: Zygote(rt) for rt in runtimes}  # they import side by side
    info = machine()
    for rt, z in zygotes.items():
        probed = z.run({"group": "probe"})
        if "error" in probed:
            raise RuntimeError(f"{rt}: {probed['error']}")
        info.update({k: v for k, v in probed.items() if k != "process_s"})
    if "tolerance_mismatch" in info:
        notes.append(f"nearly's defaults differ from TOLERANCES: {info['tolerance_mismatch']}")

    cases: list[tuple[tuple[Any, ...], Tool, dict[str, Any]]] = []
    base = {"repeats": repeats, "timeout": args.timeout}
    for size in sizes:
        for dtype in dtypes:
            spec = {"group": "floor", "tool": "floor", "size": size, "dtype": dtype}
            spec.update(base, input="identical", traced=True)
            cases.append((("floor", size, dtype), FLOOR, spec))
            for kind in INPUTS:
                for t in tools:
                    spec = {"group": "array", "tool": t.key, "size": size, "dtype": dtype}
                    spec.update(base, input=kind, traced=t.traced)
                    cases.append((("array", t.key, size, dtype, kind), t, spec))
    for kind in [] if args.no_nested else NESTED_INPUTS:
        for t in NESTED_TOOLS:
            spec = {"group": "nested", "tool": t.key, "input": kind, "traced": t.traced, **base}
            cases.append((("nested", t.key, kind), t, spec))

    results: dict[tuple[Any, ...], dict[str, Any]] = {}
    records = []
    try:
        for i, (key, t, spec) in enumerate(cases, 1):
            r = zygotes[t.runtime].run(spec)
            results[key] = r
            records.append({**spec, "label": t.label, **r})
            what = " ".join(fmt_size(k) if isinstance(k, int) else str(k) for k in key[1:])
            shown = r["error"] if "error" in r else fmt_time(r["seconds"])
            elapsed = time.perf_counter() - started
            print(f"[{i}/{len(cases)} {elapsed:.0f} s] {what}: {shown}", file=sys.stderr)
    finally:
        for z in zygotes.values():
            z.close()

    errors = sorted({f"{r['label']}: {r['error']}" for r in records if "error" in r})
    notes += [f"n/a — {e}" for e in errors]
    unexpected = [
        f"{r['label']} {fmt_size(r['size']) if 'size' in r else ''} {r.get('dtype', 'float32')} "
        f"{r['input']}: {r['outcome']}"
        for r in records
        if "outcome" in r and r["group"] != "floor" and r["outcome"] != EXPECTED_OUTCOME[r["input"]]
    ]
    notes += [f"unexpected outcome (!): {u}" for u in unexpected]
    if not all(r.get("peak_reset", True) for r in records):
        notes.append("the peak RSS could not be reset in some cases: their peak MB may be low")
    time_md, mem_md = array_tables(results, sizes, dtypes, tools)
    nested_md = nested_table(results)
    total = time.perf_counter() - started
    if source_state()[1] != info["nearly_src_state"]:
        notes.append(
            "nearly's source changed during the run; every case ran the code as it was at the"
            " start (all of nearly's modules were imported before the first case)."
        )
    load_after = os.getloadavg()
    info["load_average_1_5_15_min"] = {"before": load_before, "after": load_after}

    threads = [
        f"torch intra-op threads {info.get('torch_threads')}",
        f"TF intra-op threads {info.get('tf_intra_op_threads') or 'default (all cores)'}",
        "NumPy single-threaded",
    ]
    header = [
        "# nearly speed benchmark",
        "",
        f"- CPU: {info['cpu']}; {info['cpu_count']} logical cores ({info['cpus_usable']} usable);"
        f" RAM {info['ram_gib']} GiB; {info['platform']}",
        f"- Python {info['python']}; numpy {info['numpy']}; ml_dtypes {info['ml_dtypes']};"
        f" torch {info.get('torch', 'n/a')}; tensorflow {info.get('tensorflow', 'n/a')};"
        f" nearly {info['nearly']} ({info['nearly_commit']})",
        f"- {'; '.join(threads)}",
        f"- load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after",
        f"- command: {' '.join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])])};"
        f" {repeats} repeats, median per call; {len(cases)} cases in {total:.0f} s",
    ]
    legend = (
        "Median time per call. `floor`: one read of both inputs (np.add.reduce over their"
        " bytes as uint64). `nearly/floor`: nearly on NumPy arrays over the floor."
        " `X/Y`: time of X over time of Y on the same inputs (above 1: nearly is faster)."
        " `!`: the tool passed where it should fail or the reverse. `~`: noisy (slowest"
        f" repeat over {NOISY}× the fastest). n/a: see the notes."
    )
    mem_legend = (
        "Peak extra MB: growth of the peak RSS over warm-up and timed calls; in parentheses,"
        " the peak traced by tracemalloc (NumPy inputs only; it can exceed the RSS growth"
        " where the C allocator reuses memory already resident). `inputs MB`: both inputs."
    )
    nested_title = (
        f"Nested: a dict of {NESTED_LEAVES:,} float32 leaves of shape {NESTED_SHAPE}"
        " (peak MB as above)"
    )
    report = "\n".join(
        [
            *header,
            "",
            "## Time",
            "",
            legend,
            "",
            time_md,
            "",
            "## Peak extra memory",
            "",
            mem_legend,
            "",
            mem_md,
            "",
            *([] if args.no_nested else ["## " + nested_title, "", nested_md, ""]),
            "## Notes",
            "",
            *(f"- {n}" for n in notes or ["none"]),
        ]
    )
    print(report)
    out = {
        "machine": info,
        "settings": {
            "sizes": sizes,
            "dtypes": dtypes,
            "inputs": INPUTS,
            "repeats": repeats,
            "min_repeat_s": MIN_REPEAT_S,
            "tolerances": TOLERANCES,
            "tools": [t.key for t in tools],
            "argv": argv or sys.argv[1:],
        },
        "total_s": total,
        "notes": notes,
        "results": records,
        "markdown": report,
    }
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"\nwritten: {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
