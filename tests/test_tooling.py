"""The code base stays ruff- and mypy-clean: checked as part of the suite so CI enforces it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_check_is_clean() -> None:
    res = _run(
        _tool("ruff"), "check", "src", "tests", "examples", "benchmarks", "fuzz", "conftest.py"
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_ruff_format_is_clean() -> None:
    res = _run(
        _tool("ruff"),
        "format",
        "--check",
        "src",
        "tests",
        "examples",
        "benchmarks",
        "fuzz",
        "conftest.py",
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy_strict_is_clean() -> None:
    res = _run(_tool("mypy"))
    assert res.returncode == 0, res.stdout + res.stderr
