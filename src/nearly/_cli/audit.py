"""``nearly audit``: how rounding error grows with size and precision, from the command line.

``nearly audit`` runs the built-in suite (sums, means, standard deviations, standardization,
matmul, softmax, log-sum-exp, an MSE loss and a Keras Dense layer) on NumPy and on each of
PyTorch, TensorFlow and JAX that is installed. ``nearly audit MODULE:FUNCTION --inputs
MODULE:FACTORY`` audits the user's own function, ``FACTORY(n, dtype, rng)`` building its
inputs. Either way the table is printed and the report written to ``--out`` (markdown, JSON
and, with matplotlib installed, a PNG).

Exit status: 0 audited; 1 with ``--strict`` when a case exceeds its derived bound; 2 for a
usage error or an audit that could not run (the function raised).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any, TextIO

__all__ = ["add_parser", "run"]

DEFAULT_OUT = "nearly-audit"
USER_SIZES = "1e2..1e5"


class _Usage(Exception):
    """A bad option or target: one line on stderr, exit status 2."""


def _sizes(text: str) -> tuple[int, ...]:
    from nearly._audit.measure import parse_sizes

    try:
        return parse_sizes(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seeds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"needs at least one seed, got {value}")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``audit`` command to an ``add_subparsers()`` object; returns its parser."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "audit",
        help="measure how rounding error grows with size and precision",
        description=(
            "Run a computation at growing sizes and several dtypes against a float64 "
            "reference on the same values; report errors, derived bounds, the growth "
            "exponent and a verdict (stable, random-walk, linear, beyond-bound) per case, and "
            "the tolerance to use. Without a target, runs the built-in suite on every "
            "installed framework."
        ),
        epilog=(
            "examples: nearly audit --quick | nearly audit mymod:normalize --inputs "
            "mymod:make_inputs --sizes 1e2..1e6 --dtypes float32,bfloat16. Exit status: 0 "
            "audited, 1 with --strict when a case exceeds its bound, 2 usage error."
        ),
        allow_abbrev=False,
    )
    p.add_argument(
        "target",
        nargs="?",
        metavar="MODULE:FUNCTION",
        help="the function to audit (default: the built-in suite)",
    )
    p.add_argument(
        "--inputs",
        metavar="MODULE:FACTORY",
        help="FACTORY(n, dtype, rng) builds the function's inputs (a value or a tuple)",
    )
    p.add_argument(
        "--bound",
        metavar="MODULE:FUNCTION",
        help="FUNCTION(*inputs) returns the derived bound, e.g. nearly.tol.mean(x, axis=0)",
    )
    p.add_argument(
        "--reference",
        metavar="MODULE:FUNCTION",
        help="FUNCTION(*inputs) returns the exact result (default: the function in float64)",
    )
    p.add_argument(
        "--sizes",
        type=_sizes,
        metavar="SIZES",
        help=f"a range of decades (1e2..1e6) or a list (100,1000); default: suite 1e2..1e6, "
        f"a function {USER_SIZES}",
    )
    p.add_argument(
        "--dtypes",
        metavar="LIST",
        help="comma-separated float dtypes; default: suite float32,bfloat16, a function float32",
    )
    p.add_argument("--seeds", type=_seeds, default=None, metavar="K", help="seeds per size (3)")
    p.add_argument(
        "--frameworks",
        metavar="LIST",
        help="suite only: numpy,torch,tensorflow,jax (default: all installed)",
    )
    p.add_argument("--only", metavar="TEXT", help="suite only: cases whose name contains TEXT")
    p.add_argument("--quick", action="store_true", help="sizes up to 1e5 and 2 seeds")
    p.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"folder for audit.md, audit.json, audit.png (default: {DEFAULT_OUT})",
    )
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--detail", action="store_true", help="print the per-size tables too")
    p.add_argument(
        "--strict", action="store_true", help="exit 1 when a case exceeds its derived bound"
    )
    return p


# ------------------------------------------------------------------------------ progress


class ProgressBar:
    """A one-line progress bar on a terminal: ``[#####.....]  45%  123/270  label``.

    Draws only on a TTY (or when ``force``); finishing clears the line."""

    def __init__(self, stream: TextIO | None = None, *, force: bool = False) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = force or bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.drawn = False

    def __call__(self, done: int, total: int, label: str) -> None:
        if not self.enabled:
            return
        width = shutil.get_terminal_size((100, 20)).columns
        if done >= total:
            if self.drawn:
                self.stream.write("\r" + " " * (width - 1) + "\r")
                self.stream.flush()
            return
        frac = done / total if total else 1.0
        bar = "#" * int(24 * frac)
        elapsed = time.perf_counter() - self.start
        text = f"[{bar:.<24}] {frac:4.0%} {done}/{total} {elapsed:4.0f}s  {label}"
        self.stream.write("\r" + text[: width - 1].ljust(width - 1))
        self.stream.flush()
        self.drawn = True


# ------------------------------------------------------------------------------- loading


def _load(spec: str, what: str) -> Any:
    """``module:attr`` (or ``path/to/file.py:attr``) -> the object."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise _Usage(f"{what} must be MODULE:NAME (e.g. mypackage.losses:mse), got {spec!r}")
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            path = Path(module_name)
            if not path.is_file():
                raise _Usage(f"{what}: no such file {module_name}")
            loader_spec = importlib.util.spec_from_file_location(path.stem, path)
            if loader_spec is None or loader_spec.loader is None:
                raise _Usage(f"{what}: cannot load {module_name}")
            module = importlib.util.module_from_spec(loader_spec)
            loader_spec.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.insert(0, os.getcwd())  # as `python -m` would: modules beside the user
            module = importlib.import_module(module_name)
    except _Usage:
        raise
    except ImportError as exc:
        raise _Usage(f"{what}: cannot import {module_name}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise _Usage(f"{what}: {module_name} has no attribute {attr!r}") from None
    if not callable(obj):
        raise _Usage(f"{what}: {spec} is not callable")
    return obj


# ----------------------------------------------------------------------------------- run


def _command(args: argparse.Namespace) -> str:
    parts = ["nearly", "audit"]
    if args.target:
        parts.append(args.target)
    for flag in ("inputs", "bound", "reference", "dtypes", "frameworks", "only"):
        value = getattr(args, flag, None)
        if value:
            parts += [f"--{flag}", str(value)]
    if args.sizes:
        parts += ["--sizes", ",".join(str(n) for n in args.sizes)]
    if args.seeds:
        parts += ["--seeds", str(args.seeds)]
    if args.quick:
        parts.append("--quick")
    return shlex.join(parts)


def _audit(args: argparse.Namespace, progress: Any) -> Any:
    from nearly._audit import suite as _audit_suite
    from nearly._audit.measure import Case, run_cases

    command = _command(args)
    if args.target is None:
        for flag in ("inputs", "bound", "reference"):
            if getattr(args, flag):
                raise _Usage(f"--{flag} needs a MODULE:FUNCTION to audit")
        frameworks = None
        if args.frameworks:
            frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
        sizes = args.sizes or (
            _audit_suite.QUICK_SIZES if args.quick else _audit_suite.DEFAULT_SIZES
        )
        try:
            return _audit_suite.run_suite(
                frameworks=frameworks,
                sizes=sizes,
                dtypes=args.dtypes or _audit_suite.DEFAULT_DTYPES,
                seeds=args.seeds or (2 if args.quick else 3),
                only=args.only,
                progress=progress,
                command=command,
            )
        except (TypeError, ValueError) as exc:
            raise _Usage(str(exc)) from None
    if args.frameworks or args.only:
        raise _Usage("--frameworks and --only select suite cases; they do not apply to a function")
    fn = _load(args.target, "the function")
    if not args.inputs:
        raise _Usage("auditing a function needs --inputs MODULE:FACTORY, FACTORY(n, dtype, rng)")
    case = Case(
        name=args.target,
        fn=fn,
        make_inputs=_load(args.inputs, "--inputs"),
        bound=_load(args.bound, "--bound") if args.bound else None,
        reference=_load(args.reference, "--reference") if args.reference else "float64",
    )
    try:
        return run_cases(
            [case],
            sizes=args.sizes or USER_SIZES,
            dtypes=args.dtypes or "float32",
            seeds=args.seeds or (2 if args.quick else 3),
            progress=progress,
            command=command,
        )
    except (TypeError, ValueError) as exc:
        raise _Usage(str(exc)) from None


def _write(report: Any, out: Path, plot: bool) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    image = None
    if plot:
        try:
            written.append(report.plot(out / "audit.png"))
            image = "audit.png"
        except ImportError as exc:
            print(f"nearly audit: no plot: {exc}", file=sys.stderr)
    md = out / "audit.md"
    md.write_text(report.to_markdown(image=image), encoding="utf-8")
    js = out / "audit.json"
    js.write_text(report.to_json() + "\n", encoding="utf-8")
    return [md, js, *written]


def run(args: argparse.Namespace, *, stdout: TextIO | None = None) -> int:
    """Run ``nearly audit`` for parsed ``args``; returns the exit status."""
    from nearly._audit.measure import AuditError

    out_stream = sys.stdout if stdout is None else stdout
    progress = None if args.no_progress else ProgressBar()
    try:
        report = _audit(args, progress)
    except _Usage as exc:
        print(f"nearly: error: {exc}", file=sys.stderr)
        return 2
    except AuditError as exc:
        if progress is not None:
            progress(1, 1, "")
        print(f"nearly audit: {exc}", file=sys.stderr)
        return 2
    print(report.to_text(detail=True if args.detail else None), file=out_stream)
    try:
        paths = _write(report, Path(args.out), plot=not args.no_plot)
    except OSError as exc:
        print(f"nearly: error: cannot write the report to {args.out}: {exc}", file=sys.stderr)
        return 2
    print(f"\nreport written to {', '.join(str(p) for p in paths)}", file=out_stream)
    beyond = [k for k, v in report.verdicts.items() if v == "beyond-bound"]
    return 1 if args.strict and beyond else 0
