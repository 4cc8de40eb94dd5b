"""What each import brings in: ``import nearly`` and every subpackage import NumPy and nothing
heavier, and no module of nearly imports one above its layer.

Each case runs in a fresh interpreter so modules already imported by the suite cannot hide one.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "nearly"
FRAMEWORKS = ("jax", "jaxlib", "keras", "matplotlib", "ml_dtypes", "pandas", "tensorflow", "torch")

# Each internal package and the packages it may import (besides itself). The facades
# (nearly/*.py) sit on top and may import anything.
LAYERS: dict[str, set[str]] = {
    "_prim": set(),
    "backends": {"_prim"},
    "_report": {"_prim"},
    "_tolerance": {"_prim", "backends"},
    "_core": {"_prim", "backends", "_tolerance", "_report"},
    "_checks": {"_prim", "backends", "_tolerance", "_report", "_core", "errors"},
    "_audit": {"_prim", "backends", "_tolerance"},
    "_monitor": {"_prim", "backends"},
    "_cli": {"_prim", "backends", "_tolerance", "_report", "_core", "_audit"},
}


def _imported_after(statement: str) -> list[str]:
    code = (
        f"import sys, json\n{statement}\n"
        f"print(json.dumps(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    found: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


@pytest.mark.parametrize(
    "statement",
    [
        "import nearly",
        "import nearly.tol, nearly.stats, nearly.errors, nearly.cli",
        *(f"import nearly.{p}" for p in sorted(LAYERS)),
        "import nearly._checks.close, nearly._checks.stats, nearly._core.compare",
        "import nearly._audit.measure, nearly._audit.render, nearly._monitor.monitor",
    ],
)
def test_imports_no_framework(statement: str) -> None:
    assert _imported_after(statement) == []


def test_import_nearly_leaves_features_and_framework_backends_unloaded() -> None:
    lazy = (
        "nearly._audit",
        "nearly._cli",
        "nearly._monitor",
        "nearly.backends.torch",
        "nearly.backends.jax",
        "nearly.backends.tensorflow",
    )
    code = f"import sys, nearly\nprint(sorted(m for m in sys.modules if m.startswith({lazy!r})))\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


def _nearly_imports(path: Path) -> set[str]:
    """The nearly packages a module imports (TYPE_CHECKING blocks excluded, function-level
    imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "nearly" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_packages_import_only_the_layers_below(package: str) -> None:
    allowed = LAYERS[package] | {package}
    for path in sorted((SRC / package).glob("*.py")):
        wrong = {p for p in _nearly_imports(path) if p in LAYERS or p == "errors"} - allowed
        assert not wrong, f"{path.relative_to(SRC)} imports {sorted(wrong)} (allowed: {allowed})"


def test_every_internal_package_is_in_the_layer_table() -> None:
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(LAYERS)
    for package in packages:
        doc = ast.get_docstring(ast.parse((SRC / package / "__init__.py").read_text()))
        assert doc is not None, f"nearly/{package}/__init__.py has no docstring"
        assert "May import" in doc, f"nearly/{package}/__init__.py must say its layer"
