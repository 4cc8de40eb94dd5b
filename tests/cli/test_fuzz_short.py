"""A short, seeded run of the fuzz harness (fuzz/fuzz_nearly.py) on every test run: the same
properties the long runs check, with few examples."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_nearly.py"


@pytest.fixture(scope="module")
def fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_nearly", HARNESS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_nearly"] = module  # dataclasses and namedtuples look their module up
    spec.loader.exec_module(module)
    return module


def test_structures_in_every_framework(fuzz: ModuleType) -> None:
    props = fuzz.make_properties(fuzz.available_frameworks(), max_examples=60, seed=1)
    props["structures"]()
    assert fuzz.EXAMPLES["compare"] >= 60


def test_numpy_structures(fuzz: ModuleType) -> None:
    fuzz.make_properties(["numpy"], max_examples=80, seed=2)["structures"]()


def test_cli_readers_on_damaged_files(fuzz: ModuleType) -> None:
    before = fuzz.EXAMPLES["cli"]
    fuzz.make_properties(["numpy"], max_examples=80, seed=3)["cli"]()
    assert fuzz.EXAMPLES["cli"] - before >= 80


def test_the_runner(fuzz: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert fuzz.main(["--examples", "10", "--frameworks", "numpy"]) == 0
    out = capsys.readouterr().out
    assert "distinct failures: 0" in out
