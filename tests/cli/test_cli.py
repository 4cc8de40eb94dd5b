"""Tests for the ``nearly`` command line (``nearly.cli`` and ``python -m nearly``)."""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nearly
from nearly.cli import main

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed"
MODEL_OUTPUTS = SEED / "model_outputs.npz"
EXPECTED = SEED / "expected.npz"


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc: int, out: str, err: str) -> str:
    assert rc == 2
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nearly: error: ")
    assert "usage:" not in err
    return lines[0]


def save_npy(path: Path, value: object) -> Path:
    np.save(path, np.asarray(value))
    return path


def save_npz(path: Path, **arrays: object) -> Path:
    np.savez(path, **{k: np.asarray(v) for k, v in arrays.items()})
    return path


def _record_unpickle(sentinel: str) -> str:
    Path(sentinel).write_text("unpickled")
    return "unpickled"


class _Payload:
    """Unpickling this object creates the sentinel file."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = str(sentinel)

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (_record_unpickle, (self.sentinel,))


# --- exit status 0 and 1 ----------------------------------------------------


def test_identical_npy_is_close(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save_npy(tmp_path / "a.npy", np.array([1.0, 2.0, 3.0], dtype=np.float32))
    b = save_npy(tmp_path / "b.npy", np.array([1.0, 2.0, 3.0], dtype=np.float32))
    rc, out, err = run(capsys, "compare", a, b)
    assert rc == 0
    assert out.strip()
    assert err == ""


def test_different_npy_is_not_close(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save_npy(tmp_path / "a.npy", [1.0, 2.0, 3.0])
    b = save_npy(tmp_path / "b.npy", [1.0, 2.5, 3.0])
    rc, out, err = run(capsys, "compare", a, b)
    assert rc == 1
    assert out.strip()
    assert err == ""


def test_shape_mismatch_is_not_close(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save_npy(tmp_path / "a.npy", np.zeros((2, 3)))
    b = save_npy(tmp_path / "b.npy", np.zeros((3, 2)))
    rc, _, _ = run(capsys, "compare", a, b)
    assert rc == 1


def test_npy_against_npz_is_not_close(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save_npy(tmp_path / "a.npy", [1.0, 2.0])
    b = save_npz(tmp_path / "b.npz", x=[1.0, 2.0])
    rc, out, _ = run(capsys, "compare", a, b)
    assert rc == 1
    assert out.strip()


def test_nan_equals_nan_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save_npy(tmp_path / "a.npy", [np.nan, 1.0])
    b = save_npy(tmp_path / "b.npy", [np.nan, 1.0])
    rc, _, _ = run(capsys, "compare", a, b)
    assert rc == 0


# --- npz key by key ---------------------------------------------------------


def test_npz_difference_reported_by_key_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = save_npz(tmp_path / "a.npz", alpha=[1.0, 2.0], beta=[3.0, 4.0])
    b = save_npz(tmp_path / "b.npz", alpha=[1.0, 2.0], beta=[3.0, 9.0])
    rc, out, _ = run(capsys, "compare", a, b)
    assert rc == 1
    assert "['beta']" in out


def test_identical_npz_is_close(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save_npz(tmp_path / "a.npz", alpha=[1.0, 2.0], beta=[[3.0]])
    b = save_npz(tmp_path / "b.npz", alpha=[1.0, 2.0], beta=[[3.0]])
    rc, _, _ = run(capsys, "compare", a, b)
    assert rc == 0


def test_npz_missing_key_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save_npz(tmp_path / "a.npz", logits=[1.0], extra_head=[2.0])
    b = save_npz(tmp_path / "b.npz", logits=[1.0])
    rc, out, _ = run(capsys, "compare", a, b)
    assert rc == 1
    assert "extra_head" in out


# --- options ----------------------------------------------------------------


def test_atol_is_passed_through(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save_npy(tmp_path / "a.npy", [1.0, 2.0])
    b = save_npy(tmp_path / "b.npy", [1.0, 2.4])
    assert run(capsys, "compare", a, b, "--atol", "0.5")[0] == 0
    assert run(capsys, "compare", a, b, "--atol", "0.1")[0] == 1


def test_rtol_alone_sets_atol_to_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save_npy(tmp_path / "a.npy", np.array([0.0], dtype=np.float32))
    b = save_npy(tmp_path / "b.npy", np.array([1e-7], dtype=np.float32))
    # The float32 default atol (1e-5) absorbs the difference; rtol alone does not.
    assert run(capsys, "compare", a, b)[0] == 0
    assert run(capsys, "compare", a, b, "--rtol", "0.01")[0] == 1


def test_ulps_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = np.array([1.0, 0.5, 3.0], dtype=np.float32)
    y = x.copy()
    y[1] = np.nextafter(y[1], np.float32(1.0), dtype=np.float32)
    a = save_npy(tmp_path / "a.npy", x)
    b = save_npy(tmp_path / "b.npy", y)
    assert run(capsys, "compare", a, b, "--ulps", "1")[0] == 0
    assert run(capsys, "compare", a, b, "--ulps", "0")[0] == 1


def test_check_dtype(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save_npy(tmp_path / "a.npy", np.array([1.0, 2.0], dtype=np.float32))
    b = save_npy(tmp_path / "b.npy", np.array([1.0, 2.0], dtype=np.float64))
    assert run(capsys, "compare", a, b)[0] == 0
    assert run(capsys, "compare", a, b, "--check-dtype")[0] == 1


# --- JSON -------------------------------------------------------------------


def test_json_output_failing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save_npz(tmp_path / "a.npz", w=[1.0, 2.0])
    b = save_npz(tmp_path / "b.npz", w=[1.0, 5.0])
    rc, out, err = run(capsys, "compare", a, b, "--json")
    assert rc == 1
    assert err == ""
    data = json.loads(out)
    assert data["ok"] is False


def test_json_output_passing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save_npy(tmp_path / "a.npy", [1.0, 2.0])
    b = save_npy(tmp_path / "b.npy", [1.0, 2.0])
    rc, out, _ = run(capsys, "compare", a, b, "--json")
    assert rc == 0
    assert json.loads(out)["ok"] is True


def test_json_output_with_nan_and_inf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save_npy(tmp_path / "a.npy", [np.nan, np.inf, 1.0, -np.inf])
    b = save_npy(tmp_path / "b.npy", [0.0, 1.0, np.nan, np.inf])
    rc, out, err = run(capsys, "compare", a, b, "--json")
    assert rc == 1
    assert err == ""
    assert json.loads(out)["ok"] is False


# --- errors: exit 2, one line on stderr -------------------------------------


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    b = save_npy(tmp_path / "b.npy", [1.0])
    missing = tmp_path / "does_not_exist.npy"
    line = assert_one_line_error(*run(capsys, "compare", missing, b))
    assert "does_not_exist.npy" in line


def test_wrong_extension(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = tmp_path / "values.csv"
    a.write_text("1.0,2.0\n")
    b = save_npy(tmp_path / "b.npy", [1.0, 2.0])
    line = assert_one_line_error(*run(capsys, "compare", a, b))
    assert "values.csv" in line


def test_directory_instead_of_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = tmp_path / "folder.npy"
    a.mkdir()
    b = save_npy(tmp_path / "b.npy", [1.0])
    line = assert_one_line_error(*run(capsys, "compare", a, b))
    assert "folder.npy" in line


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("garbage.npy", b"this is not numpy data"),
        ("garbage.npz", b"this is not a zip archive"),
        ("empty.npy", b""),
        ("truncated.npz", b"PK\x03\x04\x00\x00"),
    ],
)
def test_corrupt_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes
) -> None:
    a = tmp_path / name
    a.write_bytes(content)
    b = save_npy(tmp_path / "b.npy", [1.0])
    line = assert_one_line_error(*run(capsys, "compare", a, b))
    assert name in line


def test_truncated_npy_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    full = save_npy(tmp_path / "full.npy", np.arange(100, dtype=np.float64))
    cut = tmp_path / "cut.npy"
    cut.write_bytes(full.read_bytes()[:200])
    line = assert_one_line_error(*run(capsys, "compare", cut, full))
    assert "cut.npy" in line


@pytest.mark.parametrize("offset", [60, 120, 400])
def test_damaged_compressed_npz(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], offset: int
) -> None:
    good = tmp_path / "good.npz"
    np.savez_compressed(good, x=np.linspace(0.0, 1.0, 1000))
    data = bytearray(good.read_bytes())
    for i in range(offset, offset + 16):
        data[i] ^= 0xFF
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(bytes(data))
    line = assert_one_line_error(*run(capsys, "compare", damaged, good))
    assert "damaged.npz" in line


def test_npz_content_with_npy_extension(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = save_npz(tmp_path / "archive.npz", x=[1.0])
    renamed = tmp_path / "renamed.npy"
    renamed.write_bytes(archive.read_bytes())
    line = assert_one_line_error(*run(capsys, "compare", renamed, renamed))
    assert "renamed.npy" in line


def test_npz_member_that_is_not_an_array(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = tmp_path / "odd.npz"
    with zipfile.ZipFile(a, "w") as zf:
        zf.writestr("notes.txt", "not an array")
    b = save_npz(tmp_path / "b.npz", x=[1.0])
    line = assert_one_line_error(*run(capsys, "compare", a, b))
    assert "odd.npz" in line


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--rtol", "-1"),
        ("--rtol", "abc"),
        ("--rtol", "nan"),
        ("--rtol", "inf"),
        ("--atol", "1e400"),
        ("--atol", "-0.5"),
        ("--ulps", "-1"),
        ("--ulps", "1.5"),
        ("--ulps", "many"),
    ],
)
def test_bad_option_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    a = save_npy(tmp_path / "a.npy", [1.0])
    rc, out, err = run(capsys, "compare", a, a, f"{option}={value}")
    line = assert_one_line_error(rc, out, err)
    assert option in line
    # The same value as a separate argument is refused the same way.
    rc, out, err = run(capsys, "compare", a, a, option, value)
    assert option in assert_one_line_error(rc, out, err)


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "A.npy", "B.npy", "--frobnicate"],
        ["compare", "A.npy"],
        ["compare", "A.npy", "B.npy", "--rtol"],
        ["explode"],
        [],
    ],
)
def test_bad_usage(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    assert_one_line_error(*run(capsys, *args))


def test_unknown_option_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save_npy(tmp_path / "a.npy", [1.0])
    line = assert_one_line_error(*run(capsys, "compare", a, a, "--frobnicate"))
    assert "--frobnicate" in line


def test_compare_value_error_becomes_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> object:
        raise ValueError("tolerance is not allowed here\nsecond line of detail")

    monkeypatch.setattr(nearly, "compare", refuse)
    a = save_npy(tmp_path / "a.npy", [1.0])
    line = assert_one_line_error(*run(capsys, "compare", a, a, "--rtol", "1"))
    assert "tolerance is not allowed here" in line


# --- pickled data is refused and never unpickled ----------------------------


def test_pickled_object_array_npy_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sentinel = tmp_path / "sentinel"
    a = tmp_path / "objects.npy"
    np.save(a, np.array([_Payload(sentinel)], dtype=object), allow_pickle=True)
    b = save_npy(tmp_path / "b.npy", [1.0])
    for args in (("compare", a, b), ("compare", b, a)):
        line = assert_one_line_error(*run(capsys, *args))
        assert "objects.npy" in line
        assert "pickle" in line.lower()
    assert not sentinel.exists()
    # Control: the payload does run when unpickled, so the check above is meaningful.
    np.load(a, allow_pickle=True)
    assert sentinel.exists()


def test_pickled_object_array_in_npz_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sentinel = tmp_path / "sentinel"
    a = tmp_path / "objects.npz"
    np.savez(a, fine=np.array([1.0]), bad=np.array([_Payload(sentinel)], dtype=object))
    b = save_npz(tmp_path / "b.npz", fine=[1.0], bad=[1.0])
    line = assert_one_line_error(*run(capsys, "compare", a, b))
    assert "objects.npz" in line
    assert "pickle" in line.lower()
    assert not sentinel.exists()


def test_raw_pickle_file_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sentinel = tmp_path / "sentinel"
    a = tmp_path / "model.npy"
    a.write_bytes(pickle.dumps(_Payload(sentinel)))
    line = assert_one_line_error(*run(capsys, "compare", a, a))
    assert "model.npy" in line
    assert not sentinel.exists()


# --- help and version -------------------------------------------------------


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "--help")
    assert rc == 0
    assert "compare" in out
    rc, out, _ = run(capsys, "compare", "--help")
    assert rc == 0
    assert "--rtol" in out
    assert "--json" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "--version")
    assert rc == 0
    assert str(nearly.__version__) in out


# --- the bundled example ----------------------------------------------------


def test_seed_example_passes_with_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "compare", MODEL_OUTPUTS, EXPECTED)
    assert rc == 0, out


def test_seed_example_fails_on_one_ulp(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "compare", MODEL_OUTPUTS, EXPECTED, "--ulps", "0")
    assert rc == 1
    assert "['probabilities']" in out


def test_seed_example_fails_on_dtype(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "compare", MODEL_OUTPUTS, EXPECTED, "--check-dtype")
    assert rc == 1
    assert "['predicted_class']" in out


def test_seed_example_files_match_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location(
        "make_seed_example", ROOT / "examples" / "make_seed_example.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path)
    module.main()
    capsys.readouterr()
    for name in ("model_outputs.npz", "expected.npz"):
        with np.load(tmp_path / name) as fresh, np.load(SEED / name) as bundled:
            assert sorted(fresh.files) == sorted(bundled.files)
            for key in fresh.files:
                assert fresh[key].dtype == bundled[key].dtype
                assert fresh[key].tobytes() == bundled[key].tobytes()


# --- entry points -----------------------------------------------------------


def _subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


def test_python_dash_m(tmp_path: Path) -> None:
    a = save_npz(tmp_path / "a.npz", x=[1.0, 2.0])
    b = save_npz(tmp_path / "b.npz", x=[1.0, 3.0])
    cmd = [sys.executable, "-m", "nearly", "compare"]
    ok = subprocess.run(
        [*cmd, str(a), str(a)], capture_output=True, text=True, env=_subprocess_env(), check=False
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [*cmd, str(a), str(b)], capture_output=True, text=True, env=_subprocess_env(), check=False
    )
    assert bad.returncode == 1, bad.stderr
    assert "['x']" in bad.stdout
    err = subprocess.run(
        [*cmd, str(a), str(tmp_path / "nope.npz")],
        capture_output=True,
        text=True,
        env=_subprocess_env(),
        check=False,
    )
    assert err.returncode == 2
    assert err.stderr.count("\n") == 1
    assert "Traceback" not in err.stderr


def test_console_script() -> None:
    script = Path(sys.executable).with_name("nearly")
    exe = str(script) if script.exists() else shutil.which("nearly")
    if exe is None:
        pytest.skip("the nearly console script is not installed")
    result = subprocess.run(
        [exe, "compare", str(MODEL_OUTPUTS), str(EXPECTED), "--ulps", "0", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["ok"] is False
