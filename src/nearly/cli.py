"""Command-line interface: ``nearly compare A B``.

Compares two saved NumPy files and prints the same report as
``str(nearly.compare(a, b))``. A ``.npy`` file holds one array; a ``.npz``
file holds named arrays, which are compared key by key.

Exit status: 0 when the inputs are close, 1 when they are not, 2 for a usage
error or a file that cannot be read. Files are loaded with
``allow_pickle=False``: pickled Python objects are refused, never unpickled.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, NoReturn

import numpy as np

__all__ = ["main"]

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_PICKLE_PROTO = b"\x80"


class UsageError(Exception):
    """A bad option, a bad file or a refused input; reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that reports errors as one line instead of a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nearly")
    except PackageNotFoundError:
        import nearly

        return str(getattr(nearly, "__version__", "unknown"))


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite non-negative number, got {text!r}")
    return value


def _ulps(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative whole number, got {text!r}")
    return value


def _build_parser() -> _Parser:
    parser = _Parser(
        prog="nearly",
        description="Tensor assertions that understand floating point.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"nearly {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    cmp = commands.add_parser(
        "compare",
        help="compare two .npy/.npz files and explain every difference",
        description=(
            "Compare two .npy or .npz files. A .npz file is compared key by key. "
            "Exit status: 0 close, 1 not close, 2 error. Without --rtol, --atol or "
            "--ulps, tolerances default from the dtype; giving any one sets the "
            "others to 0."
        ),
        allow_abbrev=False,
    )
    cmp.add_argument("actual", metavar="A", help="actual values (.npy or .npz)")
    cmp.add_argument("expected", metavar="B", help="expected values (.npy or .npz)")
    cmp.add_argument("--rtol", type=_tolerance, metavar="X", help="relative tolerance")
    cmp.add_argument("--atol", type=_tolerance, metavar="X", help="absolute tolerance")
    cmp.add_argument("--ulps", type=_ulps, metavar="K", help="tolerance in units in the last place")
    cmp.add_argument("--check-dtype", action="store_true", help="require identical dtypes")
    cmp.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def _refuse_pickle(path: Path, where: str = "") -> UsageError:
    return UsageError(
        f"{path}{where}: contains pickled Python objects; refusing to load it "
        "(only plain numeric arrays are supported)"
    )


def _load_npz(path: Path, fh: BinaryIO) -> dict[str, np.ndarray]:
    data: dict[str, np.ndarray] = {}
    with np.load(fh, allow_pickle=False) as archive:
        for key in archive.files:
            try:
                value = archive[key]
            except ValueError as exc:
                if "allow_pickle" in str(exc):
                    raise _refuse_pickle(path, f" [{key!r}]") from None
                raise
            if not isinstance(value, np.ndarray):
                raise UsageError(f"{path}: member {key!r} is not a .npy array")
            data[key] = value
    return data


def _read(path: Path, suffix: str, fh: BinaryIO) -> np.ndarray | dict[str, np.ndarray]:
    head = fh.read(len(_NPY_MAGIC))
    fh.seek(0)
    if head.startswith(_PICKLE_PROTO):
        raise _refuse_pickle(path)
    if suffix == ".npz":
        if not head.startswith(_ZIP_MAGICS):
            raise UsageError(f"{path}: not a valid .npz file")
        return _load_npz(path, fh)
    if not head.startswith(_NPY_MAGIC):
        raise UsageError(f"{path}: not a valid .npy file")
    array = np.load(fh, allow_pickle=False)
    if not isinstance(array, np.ndarray):
        raise UsageError(f"{path}: not a valid .npy file")
    return array


def _load(path_text: str) -> np.ndarray | dict[str, np.ndarray]:
    """Load one input file, or raise UsageError naming it."""
    path = Path(path_text)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise UsageError(f"{path}: expected a .npy or .npz file")
    try:
        with path.open("rb") as fh:
            return _read(path, suffix, fh)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except UsageError:
        raise
    except (ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        if "allow_pickle" in str(exc):
            raise _refuse_pickle(path) from None
        raise UsageError(f"{path}: corrupt or unreadable file ({_one_line(exc)})") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read file ({exc.strerror or _one_line(exc)})") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _run_compare(args: argparse.Namespace) -> int:
    import nearly

    actual = _load(args.actual)
    expected = _load(args.expected)
    try:
        result = nearly.compare(
            actual,
            expected,
            rtol=args.rtol,
            atol=args.atol,
            ulps=args.ulps,
            check_dtype=args.check_dtype,
        )
    except (ValueError, TypeError) as exc:
        raise UsageError(_one_line(exc)) from None
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    else:
        print(str(result))
    return 0 if result.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nearly`` command line; return the process exit status."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        return _run_compare(args)
    except UsageError as exc:
        print(f"nearly: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
