"""nearly.audit: verdicts and growth exponents come from running, and agree with theory.

Every number asserted here is measured when the test runs: synthetic functions whose error
growth is known from the analysis of their summation order, the built-in suite's seed case on
each installed framework, and the report's outputs. Seeds are fixed, so each run is the same.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nearly
from nearly._audit.measure import AuditError, fit_growth, parse_dtypes, parse_sizes
from nearly._audit.suite import run_suite
from nearly._cli.audit import ProgressBar, add_parser, run

Array = np.ndarray[Any, Any]


# ------------------------------------------------------------------------------- inputs


def offset_rows(n: int, dtype: np.dtype[Any], rng: np.random.Generator) -> Array:
    """(n, 8) values in [1000, 1001): all of one sign and about one size."""
    return (1000 + rng.random((n, 8), dtype=np.float32)).astype(dtype)


def centred_rows(n: int, dtype: np.dtype[Any], rng: np.random.Generator) -> Array:
    """(n, 8) values in [-1, 1)."""
    return (rng.random((n, 8), dtype=np.float32) * 2 - 1).astype(dtype)


def offset_cols(n: int, dtype: np.dtype[Any], rng: np.random.Generator) -> Array:
    """(8, n) values in [1000, 1001), each row contiguous."""
    return (1000 + rng.random((8, n), dtype=np.float32)).astype(dtype)


# --------------------------------------------------------------------- synthetic functions


def naive_sum(x: Array) -> Array:
    """Sequential (recursive) summation of each column: add.accumulate adds one row at a
    time, by definition, in the input's dtype."""
    return np.cumsum(x, axis=0, dtype=x.dtype)[-1]


def pairwise_sum(x: Array) -> Array:
    """NumPy's pairwise summation: the contiguous axis of a C-ordered array."""
    return x.sum(axis=1)


def kahan_sum(x: Array) -> Array:
    """Kahan's compensated summation of each column, vectorised across the columns."""
    s = np.zeros(x.shape[1], dtype=x.dtype)
    c = np.zeros(x.shape[1], dtype=x.dtype)
    for row in x:
        y = row - c
        t = s + y
        c = (t - s) - y
        s = t
    return s


def test_naive_sum_of_same_sign_data_grows_linearly() -> None:
    # Recursive summation of values in [1000, 1001): once the running sum S passes a power of
    # two, every addition rounds to a multiple of ulp(S), and for long stretches the data's
    # fraction of ulp(S) is the same, so the rounding errors share a sign and add up: the
    # relative error grows like n·u, as the worst-case bound γ_{n-1} does.
    report = nearly.audit(
        naive_sum,
        offset_rows,
        sizes="1e2..1e6",
        bound=lambda x: nearly.tol.sum(x, axis=0, order="recursive"),
        name="naive",
    )
    trend = report.trend("naive", "float32")
    assert report.verdicts[("naive", "float32")] == "linear"
    assert 0.75 <= trend.exponent <= 1.5, trend
    assert trend.within == ("recursive",)
    assert trend.beyond["pairwise"] > 100  # far beyond what a pairwise order allows
    assert "beyond the pairwise bound" in trend.note
    errors = [c.max_abs for c in report.cells_of("naive", "float32")]
    assert errors == sorted(errors)


def test_naive_sum_of_centred_data_is_a_random_walk() -> None:
    # The same order on zero-mean data: the running sum wanders like √k, its rounding errors
    # have random signs, and the total error grows like √n.
    report = nearly.audit(naive_sum, centred_rows, sizes="1e2..1e6", name="naive")
    trend = report.trend("naive", "float32")
    assert trend.verdict == "random-walk"
    assert 0.25 <= trend.exponent < 0.75
    assert trend.r2 > 0.8


def test_pairwise_sum_is_stable() -> None:
    # Pairwise summation: no element passes through more than ~log2 n additions, and the
    # relative error stays near u whatever n is (same-sign data included).
    report = nearly.audit(
        pairwise_sum,
        offset_cols,
        sizes="1e2..1e6",
        bound=lambda x: nearly.tol.sum(x, axis=1),
        name="pairwise",
    )
    trend = report.trend("pairwise", "float32")
    assert trend.verdict == "stable"
    assert abs(trend.exponent) < 0.25
    assert "pairwise" in trend.within
    assert max(c.max_ulps for c in report.cells_of("pairwise", "float32")) <= 4


def test_kahan_sum_is_stable_on_data_where_naive_summation_is_linear() -> None:
    # Compensated summation carries the rounding error of each addition forward: its bound
    # (2u + n·u²)·Σ|x| is flat until n·u ~ 1, on the data where the naive order is linear.
    report = nearly.audit(
        kahan_sum,
        offset_rows,
        sizes="1e2..1e5",
        seeds=2,
        bound=lambda x: nearly.tol.sum(x, axis=0, order="kahan"),
        name="kahan",
    )
    trend = report.trend("kahan", "float32")
    assert trend.verdict == "stable"
    assert abs(trend.exponent) < 0.25
    assert "kahan" in trend.within
    assert all(c.max_ulps <= 2 for c in report.cells_of("kahan", "float32"))


def test_planted_relative_bias_is_beyond_the_bound() -> None:
    # A relative bias of 1e-4 is ~1700 u: far above the pairwise bound (~30 u) at every size.
    # The float64 re-run of a function carries its bias too, so the exact result is given.
    def biased(x: Array) -> Array:
        return x.sum(axis=1) * np.float32(1 + 1e-4)

    report = nearly.audit(
        biased,
        offset_cols,
        sizes=[100, 1000, 10000],
        bound=lambda x: nearly.tol.sum(x, axis=1),
        reference=lambda x: x.astype(np.float64).sum(axis=1),
        name="biased",
    )
    trend = report.trend("biased", "float32")
    assert trend.verdict == "beyond-bound"
    assert "exceeds the derived bound" in trend.note
    for cell in report.cells_of("biased", "float32"):
        assert cell.ratio is not None
        assert cell.ratio > 10
        assert cell.max_rel == pytest.approx(1e-4, rel=0.01)
        assert cell.recommended_from.startswith("observed")
    # the same function against its own float64 re-run: only rounding is left
    rerun = nearly.audit(biased, offset_cols, sizes=[100, 1000], name="biased")
    assert max(c.max_rel for c in rerun.cells) < 1e-6


# ------------------------------------------------------------------- the built-in suite


SEED_CASE = "mean (n, 5), axis 0, offset"


@pytest.mark.parametrize(
    ("framework", "verdict"),
    [("numpy", "linear"), ("tensorflow", "linear"), ("torch", "stable")],
)
def test_suite_seed_case(framework: str, verdict: str) -> None:
    # The seed report: float32 mean along axis 0 of (1e6, 5) values in [1000, 1001] is off by
    # ~9.5 in NumPy and TensorFlow (rows added one at a time) and by ~2e-4 in PyTorch
    if framework != "numpy":
        pytest.importorskip(framework)
    report = run_suite(frameworks=[framework], only=SEED_CASE, dtypes="float32")
    name = f"{framework}: {SEED_CASE}"
    assert report.verdicts == {(name, "float32"): verdict}
    trend = report.trend(name, "float32")
    largest = report.cells_of(name, "float32")[-1]
    assert largest.n == 1_000_000
    if verdict == "linear":
        assert largest.max_abs == pytest.approx(9.5, rel=0.1)
        assert trend.within == ("recursive",)
        assert trend.beyond["pairwise"] > 100
        assert "within the recursive bound; beyond the pairwise bound" in trend.note
    else:
        assert largest.max_abs < 1e-3
        assert trend.beyond == {}
    assert largest.ratio is not None
    assert largest.ratio <= 1


def test_suite_covers_the_operations_and_skips_what_a_framework_cannot_run() -> None:
    report = run_suite(frameworks=["numpy"], sizes=[100, 1000], seeds=1, dtypes="float32")
    groups = {t.group for t in report.trends}
    for op in ("sum", "mean", "std"):
        for where in ("(n, 5), axis 0", "(5, n), axis 1"):
            for data in ("centred", "offset"):
                assert f"{op} {where}, {data}" in groups
    for other in ("standardize", "matmul", "softmax", "logsumexp", "MSE"):
        assert any(g.startswith(other) for g in groups), other
    assert set(report.verdicts.values()) <= set(nearly._audit.measure.VERDICTS)
    assert report.skipped == ()


# --------------------------------------------------------------- frameworks' references


def _dtypes_seen(calls: list[str]) -> set[str]:
    return {c.rsplit(".", 1)[-1] for c in calls}


def test_torch_reference_runs_in_float64() -> None:
    torch = pytest.importorskip("torch")
    seen: list[str] = []

    def fn(x: Any) -> Any:
        seen.append(str(x.dtype))
        return x.sum(dim=0)

    def make(n: int, dtype: np.dtype[Any], rng: np.random.Generator) -> Any:
        return torch.from_numpy(offset_rows(n, np.dtype(np.float32), rng)).to(
            getattr(torch, dtype.name)
        )

    report = nearly.audit(fn, make, sizes=[100, 1000], dtypes="float32,bfloat16", seeds=1)
    assert _dtypes_seen(seen) == {"float32", "bfloat16", "float64"}
    bf16 = report.cells_of(report.cases[0], "bfloat16")
    assert all(c.max_rel > 0 for c in bf16)  # a bfloat16 result is off by its rounding


def test_tensorflow_reference_runs_in_float64() -> None:
    tf = pytest.importorskip("tensorflow")
    seen: list[str] = []

    def fn(x: Any) -> Any:
        seen.append(x.dtype.name)
        return tf.reduce_sum(x, axis=0)

    report = nearly.audit(
        fn,
        lambda n, dtype, rng: tf.constant(offset_rows(n, dtype, rng)),
        sizes=[100, 1000],
        seeds=1,
    )
    assert set(seen) == {"float32", "float64"}
    assert report.cells[0].max_abs > 0


def test_jax_reference_runs_in_float64_with_x64_enabled() -> None:
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    seen: list[str] = []

    def fn(x: Any) -> Any:
        seen.append(str(x.dtype))
        return jnp.sum(x, axis=0)

    report = nearly.audit(
        fn,
        lambda n, dtype, rng: jnp.asarray(offset_rows(n, dtype, rng)),
        sizes=[100, 1000],
        seeds=1,
    )
    assert set(seen) == {"float32", "float64"}
    assert not jax.config.jax_enable_x64  # restored after the reference run
    assert report.cells[0].max_abs > 0


# ------------------------------------------------------------------------- misuse, errors


def test_sizes_syntax() -> None:
    assert parse_sizes("1e2..1e5") == (100, 1000, 10_000, 100_000)
    assert parse_sizes("100, 2000,2000") == (100, 2000)
    assert parse_sizes([1e3, 10]) == (10, 1000)
    assert parse_sizes("100..500") == (100, 500)


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ([1000], "at least two distinct sizes"),
        ([100, 100], "at least two distinct sizes"),
        ([100, -5], "positive integers"),
        ([100, 10.5], "positive integers"),
        ("1e6..1e2", "low < high"),
        ("a,b", "not a size"),
    ],
)
def test_bad_sizes_name_the_problem(sizes: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        nearly.audit(pairwise_sum, offset_cols, sizes=sizes)


@pytest.mark.parametrize(
    ("dtypes", "message"),
    [("int32", "floating-point"), ("float33", "unknown dtype"), ("", "empty")],
)
def test_bad_dtypes_name_the_problem(dtypes: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        nearly.audit(pairwise_sum, offset_cols, sizes=[10, 100], dtypes=dtypes)


def test_dtype_names_are_read() -> None:
    assert [d.name for d in parse_dtypes(["float16", np.float32, "float16"])] == [
        "float16",
        "float32",
    ]


def test_float64_needs_an_exact_reference() -> None:
    with pytest.raises(ValueError, match="float64 against a float64 reference"):
        nearly.audit(naive_sum, centred_rows, sizes=[10, 100], dtypes="float64")
    # full 53-bit values (float32 data would sum exactly in float64)
    report = nearly.audit(
        naive_sum,
        lambda n, dtype, rng: rng.random((n, 8)) * 2 - 1,
        sizes=[100, 1000],
        dtypes="float64",
        reference=lambda x: np.array([math.fsum(col) for col in x.T]),
        seeds=1,
    )
    assert 0 < report.cells[-1].max_rel < 1e-12


def test_function_raising_names_case_size_and_dtype() -> None:
    def broken(x: Array) -> Array:
        if x.shape[0] >= 1000:
            raise RuntimeError("boom")
        return x.sum(axis=0)

    with pytest.raises(AuditError, match=r"'broken' at n=1000, dtype=float16.*boom") as info:
        nearly.audit(broken, offset_rows, sizes=[10, 1000], dtypes="float16", name="broken")
    assert isinstance(info.value.__cause__, RuntimeError)


def test_inputs_factory_raising_is_named() -> None:
    def bad_inputs(n: int, dtype: np.dtype[Any], rng: np.random.Generator) -> Array:
        raise KeyError("no data")

    with pytest.raises(AuditError, match="make_inputs for 'f' at n=10"):
        nearly.audit(pairwise_sum, bad_inputs, sizes=[10, 100], name="f")


def test_a_function_that_ignores_its_dtype_is_no_reference() -> None:
    def fixed(x: Array) -> Array:
        return x.astype(np.float32).sum(axis=0)

    with pytest.raises(ValueError, match="returned float32, so it is no reference"):
        nearly.audit(fixed, offset_rows, sizes=[10, 100])


def test_bound_of_the_wrong_shape_is_named() -> None:
    with pytest.raises(ValueError, match="does not fit the output shape"):
        nearly.audit(
            pairwise_sum,
            offset_cols,
            sizes=[10, 100],
            bound=lambda x: nearly.tol.sum(x, axis=0),
        )


def test_overflow_is_beyond_bound() -> None:
    # float16 tops out at 65504: summing 100 values near 1000 overflows to inf
    report = nearly.audit(
        naive_sum,
        offset_rows,
        sizes=[10, 100],
        dtypes="float16",
        bound=lambda x: nearly.tol.sum(x, axis=0, order="recursive"),
        seeds=1,
    )
    trend = report.trends[0]
    assert trend.verdict == "beyond-bound"
    assert "NaN/Inf in the output where the reference is finite from n=100" in trend.note
    json.loads(report.to_json())  # infinities become strings, the JSON stays valid


def test_fit_growth() -> None:
    assert fit_growth([10, 100, 1000], [1.0, 10.0, 100.0]) == (1.0, 1.0)
    slope, r2 = fit_growth([10, 100, 1000, 10_000], [1.0, 3.0, 10.0, 30.0])
    assert slope == pytest.approx(0.5, abs=0.02)
    assert r2 > 0.99
    assert math.isnan(fit_growth([10, 100], [0.0, 1.0])[0])


# ------------------------------------------------------------------------------ outputs


@pytest.fixture(scope="module")
def small_report() -> nearly.AuditReport:
    return nearly.audit(
        naive_sum,
        offset_rows,
        sizes=[100, 1000, 10_000],
        dtypes="float32,float16",
        seeds=2,
        bound=lambda x: nearly.tol.sum(x, axis=0, order="recursive"),
        name="naive",
    )


def test_text_and_markdown(small_report: nearly.AuditReport) -> None:
    text = small_report.to_text()
    assert "naive" in text
    assert "float16" in text
    assert "verdicts:" in text
    assert "max abs" in text  # per-size rows for a small report
    for verdict in small_report.verdicts.values():
        assert verdict in text
    md = small_report.to_markdown(image="audit.png")
    assert md.startswith("# nearly audit")
    assert "| case | dtype | verdict |" in md
    assert "![relative error against n](audit.png)" in md
    assert str(small_report) == text


def test_json_round_trip(small_report: nearly.AuditReport) -> None:
    data = json.loads(small_report.to_json())
    verdicts = {(t["case"], t["dtype"]): t["verdict"] for t in data["trends"]}
    assert verdicts == small_report.verdicts
    assert len(data["cells"]) == 6
    assert data["thresholds"]["stable_below"] == nearly._audit.measure.STABLE_BELOW


def test_plot_writes_a_png(small_report: nearly.AuditReport, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = small_report.plot(tmp_path / "sub" / "audit.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_names_the_extra(
    small_report: nearly.AuditReport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'nearly\[plot\]'"):
        small_report.plot(tmp_path / "audit.png")


def test_import_nearly_imports_no_framework_nor_matplotlib() -> None:
    code = (
        "import sys, nearly\n"
        "print(sorted(m for m in ('matplotlib', 'torch', 'tensorflow', 'jax')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# ----------------------------------------------------------------------------------- CLI


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nearly")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["audit", *argv])


USER_MODULE = """
import numpy as np

def mean0(x):
    return x.mean(axis=0)

def inputs(n, dtype, rng):
    return (1000 + rng.random((n, 5), dtype=np.float32)).astype(dtype)

def bound(x):
    import nearly
    return nearly.tol.mean(x, axis=0)

def broken(x):
    raise ZeroDivisionError("oops")
"""


def test_cli_audits_a_user_function(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = tmp_path / "usermod.py"
    mod.write_text(USER_MODULE)
    out = tmp_path / "report"
    args = _parse(
        f"{mod}:mean0",
        "--inputs",
        f"{mod}:inputs",
        "--bound",
        f"{mod}:bound",
        "--sizes",
        "1e2..1e5",
        "--seeds",
        "2",
        "--out",
        str(out),
        "--no-progress",
    )
    assert run(args) == 0
    printed = capsys.readouterr().out
    assert "linear" in printed
    assert "beyond the pairwise bound" in printed
    assert (out / "audit.md").read_text().startswith("# nearly audit")
    assert json.loads((out / "audit.json").read_text())["sizes"] == [100, 1000, 10_000, 100_000]
    if "matplotlib" in sys.modules or _has("matplotlib"):
        assert (out / "audit.png").exists()


def _has(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_cli_suite_subset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _parse(
        "--frameworks",
        "numpy",
        "--only",
        "numpy: sum (5, n)",
        "--quick",
        "--dtypes",
        "float32",
        "--out",
        str(tmp_path),
        "--no-plot",
        "--no-progress",
    )
    assert run(args) == 0
    printed = capsys.readouterr().out
    assert "numpy: sum (5, n), axis 1, offset" in printed
    assert "report written to" in printed
    assert not (tmp_path / "audit.png").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["mod_without_colon"], "MODULE:NAME"),
        (["nearly_no_such_module_x:f", "--inputs", "a:b"], "cannot import"),
        (["numpy:not_there", "--inputs", "numpy:ones"], "has no attribute"),
        (["numpy:sum"], "needs --inputs"),
        (["--inputs", "numpy:ones"], "needs a MODULE:FUNCTION"),
        (["--frameworks", "cupy"], "unknown framework"),
        (["--only", "no such case"], "no suite case matches"),
    ],
)
def test_cli_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(_parse(*argv, "--no-progress")) == 2
    assert message in capsys.readouterr().err


def test_cli_bad_sizes_are_a_parse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse("--sizes", "1e3")
    assert "at least two distinct sizes" in capsys.readouterr().err


def test_cli_function_raising_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = tmp_path / "usermod2.py"
    mod.write_text(USER_MODULE)
    args = _parse(
        f"{mod}:broken", "--inputs", f"{mod}:inputs", "--sizes", "10,100", "--no-progress"
    )
    assert run(args) == 2
    err = capsys.readouterr().err
    assert "n=10, dtype=float32" in err
    assert "ZeroDivisionError: oops" in err


def test_progress_bar_draws_and_clears() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, force=True)
    bar(5, 10, "numpy: sum")
    assert "[############............]  50% 5/10" in stream.getvalue()
    bar(10, 10, "done")
    assert stream.getvalue().endswith("\r")
    silent = io.StringIO()
    ProgressBar(silent)(1, 2, "x")  # not a terminal: draws nothing
    assert silent.getvalue() == ""
