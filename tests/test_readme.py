"""The README tells the truth: its examples run and its printed outputs are what nearly prints."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import nearly
from nearly import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _block_after(heading: str, lang: str = "") -> str:
    start = README.index(heading)
    match = re.compile(rf"```{lang}\n(.*?)```", re.S).search(README, start)
    assert match is not None, f"no code block after {heading!r}"
    return match.group(1)


def test_quick_tour_runs(capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(_block_after("## A quick tour", "python"), "README quick tour", "exec"), {})
    assert capsys.readouterr().out.startswith("False ")


def test_compare_example_output_is_as_shown(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    command = _block_after("### Compare two saved outputs", "bash").split()
    assert command[0] == ".venv/bin/nearly"
    shown = _block_after("prints:")
    assert cli.main(command[1:]) == 0
    assert capsys.readouterr().out == shown


def test_audit_excerpt_verdicts_are_what_the_audit_finds(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The Quick start shows rows of the built-in audit: the same cases, run now, get the
    verdicts shown (the figures depend on the machine; the verdicts must not)."""
    pytest.importorskip("torch")
    pytest.importorskip("tensorflow")
    pytest.importorskip("jax")
    shown = _block_after("Among its rows")
    rows = [line for line in shown.splitlines() if ": mean (n, 5), axis 0, offset " in line]
    rows = [line for line in rows if not line.startswith(" ")]
    assert len(rows) == 4
    args = ["audit", "--only", "mean (n, 5), axis 0, offset", "--dtypes", "float32"]
    args += ["--no-plot", "--no-progress", "--out", str(tmp_path)]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    for row in rows:
        case, verdict = re.split(r"\s{2,}", row)[0], re.split(r"\s{2,}", row)[2]
        ran = next(line for line in printed.splitlines() if line.startswith(case + " "))
        assert re.split(r"\s{2,}", ran)[2] == verdict, (row, ran)


def test_audit_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code = _block_after("From Python:", "python")
    exec(compile(code, "README audit example", "exec"), {})
    shown = re.search(r"# (\{.*\})", code)
    assert shown is not None
    assert capsys.readouterr().out.strip() == shown.group(1)


def test_two_setup_commands_are_given() -> None:
    block = _block_after("## Quick start", "bash")
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci.splitlines()


def test_why_section_report_is_what_assert_equal_raises() -> None:
    pred = np.array([0.0, np.nextafter(np.float32(1), np.float32(2)), 1.0, 0.0], np.float32)
    labels = np.array([0, 1, 1, 0])
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_equal((pred,), (labels,))
    block = _block_after("the exact\nversion tells you", "python")
    shown = block.split("nearly.errors.NotClose: ", 1)[1]
    assert shown == str(info.value) + "\n"
    nearly.assert_close((pred,), (labels,))
