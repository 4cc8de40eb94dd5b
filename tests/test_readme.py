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


def test_first_command_output_is_as_shown(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    shown = _block_after("The first prints:")
    code = cli.main(["compare", "examples/seed/model_outputs.npz", "examples/seed/expected.npz"])
    assert code == 0
    assert capsys.readouterr().out == shown


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
