"""The public API: names, exceptions, result objects, options, tolerances, and the seed case."""

from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys
import types
from typing import Any

import numpy as np
import pytest

import nearly

NAN = float("nan")
INF = float("inf")

# the stable public API of DESIGN.md ("Public contract")
CORE_NAMES = [
    "Comparison",
    "Mismatch",
    "NotClose",
    "Tolerance",
    "assert_close",
    "assert_equal",
    "assert_finite",
    "compare",
    "explain",
    "tol",
]
# nearly.tol's part of the contract delivered so far (the derived bounds tol.sum, tol.mean...
# and nearly.stats / assert_in_range / ... come with the derived-tolerance feature)
TOL_NAMES = ["Tolerance", "default", "ulps"]


# ------------------------------------------------------------------------------------ names


def test_all_is_sorted_and_unique() -> None:
    assert list(nearly.__all__) == sorted(nearly.__all__)
    assert len(set(nearly.__all__)) == len(nearly.__all__)


def test_every_name_in_all_is_importable() -> None:
    for name in nearly.__all__:
        assert hasattr(nearly, name), name
    namespace: dict[str, Any] = {}
    exec("from nearly import *", namespace)
    assert set(nearly.__all__) <= set(namespace)


def test_all_lists_every_public_name() -> None:
    public = {
        n
        for n, v in vars(nearly).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType)
    }
    assert public <= set(nearly.__all__)


@pytest.mark.parametrize("name", CORE_NAMES)
def test_core_names_are_exported(name: str) -> None:
    assert name in nearly.__all__
    assert getattr(nearly, name) is not None


def test_tol_module_has_its_contract_names() -> None:
    missing = [n for n in TOL_NAMES if not callable(getattr(nearly.tol, n, None))]
    assert missing == []


def test_tol_is_the_tol_module() -> None:
    assert nearly.tol is importlib.import_module("nearly.tol")
    assert nearly.Tolerance is nearly.tol.Tolerance


# ------------------------------------------------------------------------------- exceptions


def test_not_close_is_an_assertion_error_carrying_the_comparison() -> None:
    assert issubclass(nearly.NotClose, AssertionError)
    assert issubclass(nearly.NotFinite, AssertionError)
    a = {"x": np.array([1.0, 2.0]), "y": 3.0}
    e = {"x": np.array([1.0, 2.5]), "y": 4.0}
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_close(a, e)
    c = info.value.comparison
    assert isinstance(c, nearly.Comparison)
    assert c.ok is False
    assert [(m.path, m.kind) for m in c.mismatches] == [("['x']", "value"), ("['y']", "value")]
    assert all(isinstance(m, nearly.Mismatch) for m in c.mismatches)
    assert str(info.value) == str(c)
    # a plain `except AssertionError` catches it
    with pytest.raises(AssertionError):
        nearly.assert_close(a, e)


def test_not_close_from_assert_equal() -> None:
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_equal([1, 2], [1, 3])
    assert info.value.comparison.mismatches[0].path == "[1]"


# ------------------------------------------------------------------------------- Comparison


CASES = [
    (np.array([1.0, 2.0]), np.array([1.0, 2.0]), {}),
    (np.array([1.0, 2.0]), np.array([1.0, 2.5]), {}),
    ({"a": [1, 2]}, {"a": [1, 2, 3]}, {}),
    ((np.float32(1.0),), (1.0,), {"check_dtype": True}),
    ([1.0, NAN], [1.0, NAN], {"equal_nan": False}),
    (1.0, 1.1, {"rtol": 0.2}),
]


@pytest.mark.parametrize(("a", "e", "options"), CASES)
def test_comparison_bool_and_str(a: Any, e: Any, options: dict[str, Any]) -> None:
    c = nearly.compare(a, e, **options)
    assert isinstance(c, nearly.Comparison)
    assert bool(c) is c.ok
    assert c.ok is (not c.mismatches)
    assert str(c) == nearly.explain(a, e, **options)
    assert isinstance(str(c), str)
    assert str(c)
    if not c.ok:
        with pytest.raises(nearly.NotClose) as info:
            nearly.assert_close(a, e, **options)
        assert str(info.value) == str(c)
    else:
        nearly.assert_close(a, e, **options)


@pytest.mark.parametrize(
    ("a", "e"),
    [
        (np.array([0.0, 1.0, INF, NAN]), np.array([1e-300, 1.0, 1.0, 2.0])),
        (np.array([1.0, 0.0]), np.array([0.0, 0.0])),  # relative difference is infinite
        (np.array([INF]), np.array([-INF])),
        (np.array([1e308]), np.array([-1e308])),  # difference overflows float64
        (np.array([np.finfo(np.float64).max]), np.array([-np.finfo(np.float64).max])),
        ({"s": "a", "n": None, "k": [1, 2]}, {"s": "b", "n": 0, "k": [1]}),
    ],
)
def test_to_dict_is_json(a: Any, e: Any) -> None:
    c = nearly.compare(a, e)
    d = c.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["ok"] is c.ok is False
    assert [m["path"] for m in back["mismatches"]] == [m.path for m in c.mismatches]
    assert [m["kind"] for m in back["mismatches"]] == [m.kind for m in c.mismatches]
    assert [m["count"] for m in back["mismatches"]] == [m.count for m in c.mismatches]


def test_to_dict_of_a_passing_comparison() -> None:
    d = nearly.compare([1.0], [1.0]).to_dict()
    assert json.loads(json.dumps(d, allow_nan=False))["ok"] is True


# --------------------------------------------------------------------------------- Mismatch


def test_mismatch_fields() -> None:
    a = ({"logits": np.array([1.0, 2.0, 3.5, 4.0])},)
    e = ({"logits": np.array([1.0, 2.0, 3.0, 4.1])},)
    c = nearly.compare(a, e, atol=0.2)
    (m,) = c.mismatches
    assert m.path == "[0]['logits']"
    assert m.kind == "value"
    assert m.count == 1
    assert m.total == 4
    assert m.max_abs == 0.5
    assert m.max_rel == pytest.approx(0.5 / 3.0)
    assert m.max_ulps == 2**50  # 3.0 and 3.5 are 2**50 float64 values apart
    assert m.index == (2,)
    assert isinstance(m.hints, list)
    assert m.hints
    assert all(isinstance(h, str) and h for h in m.hints)


def test_mismatch_index_is_the_worst_element() -> None:
    a = np.zeros((3, 4))
    e = np.zeros((3, 4))
    e[0, 1] = 1.0
    e[2, 3] = -5.0
    e[1, 0] = 2.0
    (m,) = nearly.compare(a, e).mismatches
    assert m.index == (2, 3)
    assert m.count == 3
    assert m.total == 12
    assert m.max_abs == 5.0


def test_structure_mismatch_fields() -> None:
    (m,) = nearly.compare({"a": 1}, {"a": 1, "b": 2}).mismatches
    assert m.path == ""
    assert m.kind == "structure"
    assert "'b'" in str(nearly.compare({"a": 1}, {"a": 1, "b": 2}))


# -------------------------------------------------------------------------------------- msg


def test_msg_string_is_a_prefix() -> None:
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_close([1.0], [2.0], msg="epoch 3 logits")
    text = str(info.value)
    assert text.startswith("epoch 3 logits")
    assert nearly.explain([1.0], [2.0]) in text
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_equal([1.0], [2.0], msg="exact check")
    assert str(info.value).startswith("exact check")


def test_msg_callable_receives_the_report() -> None:
    seen: list[str] = []

    def msg(report: str) -> str:
        seen.append(report)
        return "custom: " + report.splitlines()[0]

    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_close({"w": [1.0, 2.0]}, {"w": [1.0, 3.0]}, msg=msg)
    assert seen == [nearly.explain({"w": [1.0, 2.0]}, {"w": [1.0, 3.0]})]
    assert str(info.value) == "custom: " + seen[0].splitlines()[0]
    assert info.value.comparison.mismatches[0].path == "['w'][1]"


def test_msg_is_not_called_when_passing() -> None:
    def msg(report: str) -> str:
        raise RuntimeError("must not be called")

    nearly.assert_close([1.0], [1.0], msg=msg)
    nearly.assert_equal([1.0], [1.0], msg=msg)


# ----------------------------------------------------------------------------- assert_equal


def test_assert_equal_is_exact() -> None:
    nearly.assert_equal([1.0, 2], [1.0, 2])
    nearly.assert_close(1.0, 1.0 + 1e-15)
    with pytest.raises(nearly.NotClose):
        nearly.assert_equal(1.0, 1.0 + 2.0**-52)
    with pytest.raises(nearly.NotClose):
        nearly.assert_equal(np.float32(0.1), 0.1)
    with pytest.raises(nearly.NotClose):
        nearly.assert_equal(np.array([1.0], np.float16), np.array([1.0 + 2.0**-10], np.float16))
    nearly.assert_equal(np.float32(0.5), 0.5)
    nearly.assert_equal([NAN, -0.0, INF], [NAN, 0.0, INF])


def test_assert_equal_report_says_equal() -> None:
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_equal(1.0, 2.0)
    assert "equal" in str(info.value).lower()


# ---------------------------------------------------------------------------- assert_finite


def test_assert_finite_reports_every_non_finite_leaf() -> None:
    tree = {
        "a": np.array([1.0, NAN, 2.0, NAN]),
        "b": (np.float32(INF),),
        "c": "text",
        "d": np.arange(3),
        "e": [1.0, {"f": np.array([[1.0, -INF]])}],
        "g": None,
        "h": np.array([1 + 1j, complex(0, NAN)]),
    }
    with pytest.raises(nearly.NotFinite) as info:
        nearly.assert_finite(tree)
    assert isinstance(info.value, AssertionError)
    c = info.value.comparison
    got = {m.path: m.count for m in c.mismatches}
    assert got == {"['a']": 2, "['b'][0]": 1, "['e'][1]['f']": 1, "['h']": 1}
    text = str(info.value)
    for path in got:
        assert path in text
    assert "NaN" in text
    assert "inf" in text


def test_assert_finite_passes_finite_trees() -> None:
    nearly.assert_finite({"a": np.ones(3), "b": [1, 2.0], "c": "x", "d": None})
    nearly.assert_finite(np.array([], dtype=np.float32))
    nearly.assert_finite(np.arange(10))


def test_assert_finite_msg() -> None:
    with pytest.raises(nearly.NotFinite) as info:
        nearly.assert_finite([NAN], msg="loss")
    assert str(info.value).startswith("loss")


# -------------------------------------------------------------------------------- Tolerance


def test_tolerance_addition_composes() -> None:
    t = nearly.Tolerance(rtol=1e-3) + nearly.Tolerance(atol=1e-6)
    assert t == nearly.Tolerance(rtol=1e-3, atol=1e-6)
    assert t.rtol == 1e-3
    assert t.atol == 1e-6
    t2 = nearly.Tolerance(rtol=0.1, atol=0.25) + nearly.Tolerance(rtol=0.2, atol=0.5)
    assert t2.rtol == pytest.approx(0.3)
    assert t2.atol == 0.75
    # composed exactly: 0.1 + 0.2 is 3/10, so 13 vs 10 is within it
    composed = nearly.Tolerance(rtol=0.1) + nearly.Tolerance(rtol=0.2)
    assert nearly.compare(13, 10, tol=composed).ok
    assert not nearly.compare(13.000000000000002, 10, tol=composed).ok


def test_tolerance_ulps_add() -> None:
    t = nearly.tol.ulps(1) + nearly.tol.ulps(2)
    assert t.ulps == 3
    assert (nearly.tol.ulps(2) + nearly.Tolerance(rtol=1e-3)).ulps == 2
    assert (nearly.Tolerance(rtol=1e-3) + nearly.Tolerance(atol=1.0)).ulps is None
    one = np.float32(1.0)
    three_up = one
    for _ in range(3):
        three_up = np.nextafter(three_up, np.float32(2))
    assert nearly.compare(three_up, one, tol=t).ok
    assert not nearly.compare(three_up, one, tol=nearly.tol.ulps(2)).ok


def test_tolerance_addition_with_arrays() -> None:
    t = nearly.Tolerance(atol=np.array([0.1, 0.2])) + nearly.Tolerance(atol=0.5)
    np.testing.assert_allclose(t.atol, [0.6, 0.7])
    assert nearly.compare(np.zeros(2), np.array([0.6, 0.65]), tol=t).ok
    assert not nearly.compare(np.zeros(2), np.array([0.61, 0.65]), tol=t).ok


def test_tol_ulps() -> None:
    t = nearly.tol.ulps(4)
    assert isinstance(t, nearly.Tolerance)
    assert t.ulps == 4
    assert t.rtol == 0
    assert t.atol == 0
    assert nearly.compare(0.0, 1e-9, tol=t).ok is False  # atol is 0
    assert nearly.compare(1.0, 1.0 + 4 * 2.0**-52, tol=t).ok
    assert not nearly.compare(1.0, 1.0 + 5 * 2.0**-52, tol=t).ok


def test_tolerance_given_as_tol() -> None:
    t = nearly.Tolerance(rtol=0.5)
    assert nearly.compare(1.0, 1.4, tol=t).ok
    assert not nearly.compare(0.0, 1e-300, tol=t).ok


def test_tolerance_reports_its_values() -> None:
    assert "0.001" in repr(nearly.Tolerance(rtol=1e-3))
    c = nearly.compare([1.0], [2.0], rtol=0.125)
    assert "0.125" in str(c)


# ------------------------------------------------------------------------ import no framework


def test_import_nearly_imports_no_framework() -> None:
    code = (
        "import sys, nearly, numpy as np\n"
        "nearly.compare({'a': np.ones(3)}, {'a': [1.0, 1.0, 1.0]})\n"
        "nearly.explain((np.float32(1),), (2,))\n"
        "bad = sorted(m for m in ('tensorflow', 'torch', 'jax', 'keras', 'jaxlib')\n"
        "             if m in sys.modules)\n"
        "print(','.join(bad) or 'none')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "none", out.stdout + out.stderr


# ----------------------------------------------------------------------- the seeds' problem


def test_tuples_of_arrays_compare_where_eq_raises() -> None:
    a = np.linspace(0.0, 1.0, 5)
    with pytest.raises(ValueError, match="ambiguous"):
        assert (a,) == (a.copy(),)
    nearly.assert_close((a,), (a.copy(),))
    nearly.assert_equal((a,), (a.copy(),))
    assert nearly.compare((a,), (a.copy(),)).ok


def seed_arrays() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    one_up = np.nextafter(np.float32(1), np.float32(2))
    predictions = np.array([0.0, one_up, 1.0, 0.0], dtype=np.float32)
    labels = np.array([0, 1, 1, 0], dtype=np.int64)
    return predictions, labels


def test_seed_case_assert_equal_explains() -> None:
    predictions, labels = seed_arrays()
    with pytest.raises(nearly.NotClose) as info:
        nearly.assert_equal(predictions, labels)
    text = str(info.value)
    assert "float32" in text
    assert "int64" in text
    assert "1.0000001" in text
    assert "vs 1" in text
    diff = float(np.float32(np.nextafter(np.float32(1), np.float32(2))) - 1.0)
    assert f"{diff:.6g}" in text  # 1.19209e-07
    (m,) = info.value.comparison.mismatches
    assert m.count == 1
    assert m.total == 4
    assert m.index == (1,)
    assert m.max_abs == diff
    assert m.max_ulps == 1
    diagnosis = m.hints[0]
    assert "rounding" in diagnosis
    assert "1 ULP" in diagnosis
    assert f"diagnosis: {diagnosis}" in text


def test_seed_case_assert_close_passes() -> None:
    predictions, labels = seed_arrays()
    nearly.assert_close(predictions, labels)
    nearly.assert_close((predictions,), (labels,))
    nearly.assert_close([predictions], (labels,))
    assert nearly.compare(predictions, labels).ok


@pytest.mark.parametrize(
    ("adapter", "framework", "name"),
    [("torch", "torch", "watch"), ("keras", "tensorflow", "NumericsMonitor")],
)
def test_adapters_are_attributes_of_nearly_loaded_on_first_access(
    adapter: str, framework: str, name: str
) -> None:
    """`nearly.torch.watch(...)` and `nearly.keras.NumericsMonitor(...)` work after a plain
    `import nearly` (as the README writes them); the framework is imported only then, and
    without it the attribute is an AttributeError saying what to install."""
    code = (
        "import sys, nearly\n"
        f"assert 'nearly.{adapter}' not in sys.modules\n"
        "try:\n"
        f"    print(callable(nearly.{adapter}.{name}))\n"
        "except AttributeError as exc:\n"
        "    print('missing:', exc)\n"
        f"print(hasattr(nearly, {adapter!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    ).stdout.splitlines()
    if importlib.util.find_spec(framework) is None:
        assert out[0].startswith(f"missing: nearly.{adapter} is not available: ")
        assert "pip install" in out[0]
        assert out[-1] == "False"
    else:
        assert out[0] == "True"
        assert out[-1] == "True"
