"""Command-line interface: ``nearly audit`` and ``nearly compare A B``.

``nearly audit`` measures how a computation's rounding error grows with size and precision
(options and output in :mod:`nearly._cli.audit`).

``nearly compare`` compares two saved NumPy files and prints the same report as
``str(nearly.compare(a, b))``. A ``.npy`` file holds one array; a ``.npz``
file holds named arrays, which are compared key by key.

Exit status: 0 when the inputs are close, 1 when they are not, 2 for a usage
error or a file that cannot be read, each reported as one line. Uncompressed arrays
(``.npy``, ``np.savez``) are memory-mapped, so files larger than memory are streamed;
compressed ``.npz`` members are decompressed only within the memory available. Headers are
checked against the file's size before any data is read. Pickled Python objects are refused,
never unpickled, unless ``--allow-pickle`` is given."""

from __future__ import annotations

import argparse
import json
import math
import os
import struct
import sys
import warnings
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import numpy as np

from nearly._cli import audit as _audit_cli

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
    cmp.add_argument(
        "--allow-pickle",
        action="store_true",
        help=(
            "load object arrays stored as Python pickles; unpickling can execute arbitrary "
            "code, so use it only for files you trust"
        ),
    )
    _audit_cli.add_parser(commands)
    return parser


def _refuse_pickle(path: Path, where: str = "") -> UsageError:
    return UsageError(
        f"{path}{where}: contains pickled Python objects; refusing to load it "
        "(pass --allow-pickle to load it anyway, only for files you trust: unpickling can "
        "execute arbitrary code)"
    )


def _memory_limit() -> int:
    """How many bytes of decompressed data nearly will hold in memory: half the memory
    available now (Linux's MemAvailable), else a quarter of physical memory, else 4 GiB.
    Uncompressed arrays are memory-mapped and do not count."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // 2
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE")) // 4
    except (ValueError, OSError, AttributeError):
        return 4 << 30


@dataclass
class _Reader:
    """Reads input files: uncompressed arrays are memory-mapped (the comparison streams
    them, however large), compressed ones are decompressed within a memory budget shared
    by both inputs, pickled ones are refused unless allowed."""

    allow_pickle: bool
    budget: int = field(default_factory=lambda: _memory_limit())

    def take(self, nbytes: int, what: str) -> None:
        if nbytes > self.budget:
            raise UsageError(
                f"{what} holds {_size(nbytes)} once decompressed, more than the "
                f"{_size(self.budget)} of memory nearly may use; save it uncompressed "
                "(np.save / np.savez) so that it can be streamed from disk"
            )
        self.budget -= nbytes


def _size(nbytes: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit} ({nbytes} bytes)"
    return f"{nbytes} bytes"


@dataclass(frozen=True)
class _Header:
    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    fortran: bool
    length: int  # bytes of magic and header: the data starts here

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _read_header(fh: BinaryIO, what: str) -> _Header:
    """The .npy header at the stream's position, checked before any data is read."""
    start = fh.tell()
    version = np.lib.format.read_magic(fh)
    # versions 2 and 3 share a layout (3 only allows UTF-8 field names); sizes are all we need
    reader = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    try:
        with warnings.catch_warnings():
            # headers written by Python 2 parse with a warning: the shape is what matters
            warnings.simplefilter("ignore")
            shape, fortran, dtype = reader(fh)
    except (ValueError, EOFError):
        raise
    except Exception as exc:  # the header is Python literal syntax: any parse failure
        raise UsageError(f"{what}: corrupt .npy header ({_one_line(exc)})") from None
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise UsageError(f"{what}: corrupt .npy header (shape {shape!r})")
    return _Header(np.dtype(dtype), tuple(shape), bool(fortran), fh.tell() - start)


def _check_size(header: _Header, available: int, what: str) -> None:
    if header.dtype.hasobject:
        return
    if header.nbytes > available:
        raise UsageError(
            f"{what}: truncated: its header promises {header.nbytes} bytes of data "
            f"(shape {header.shape}, {header.dtype}), but only {available} follow"
        )


def _mapped(path: Path, header: _Header, offset: int) -> np.ndarray[Any, Any]:
    """The array stored at ``offset`` in ``path``, memory-mapped read-only."""
    if header.nbytes == 0:
        return np.zeros(header.shape, header.dtype, order="F" if header.fortran else "C")
    mapped = np.memmap(
        path,
        dtype=header.dtype,
        mode="r",
        offset=offset,
        shape=header.shape,
        order="F" if header.fortran else "C",
    )
    return mapped.view(np.ndarray)


def _load_npy(path: Path, fh: BinaryIO, reader: _Reader) -> np.ndarray[Any, Any]:
    header = _read_header(fh, str(path))
    size = os.fstat(fh.fileno()).st_size
    _check_size(header, size - header.length, str(path))
    if header.dtype.hasobject:
        if not reader.allow_pickle:
            raise _refuse_pickle(path)
        fh.seek(0)
        return _as_array(_unpickled(lambda: np.load(fh, allow_pickle=True), str(path)), str(path))
    return _mapped(path, header, header.length)


def _unpickled(load: Callable[[], Any], what: str) -> Any:
    """Run a load that unpickles (allowed by the user): whatever a broken or hostile pickle
    raises becomes one line."""
    try:
        return load()
    except MemoryError:
        raise
    except Exception as exc:
        raise UsageError(f"{what}: cannot unpickle its objects ({_one_line(exc)})") from None


def _npz_key(name: str) -> str:
    return name[:-4] if name.endswith(".npy") else name


def _load_npz(path: Path, fh: BinaryIO, reader: _Reader) -> dict[str, np.ndarray[Any, Any]]:
    data: dict[str, np.ndarray[Any, Any]] = {}
    size = os.fstat(fh.fileno()).st_size
    with zipfile.ZipFile(fh) as archive:
        for info in archive.infolist():
            key = _npz_key(info.filename)
            what = f"{path} [{key!r}]"
            if not info.filename.endswith(".npy"):
                raise UsageError(f"{path}: member {key!r} is not a .npy array")
            if info.flag_bits & 0x1:
                raise UsageError(f"{what}: the member is encrypted")
            with archive.open(info) as member:
                header = _read_header(member, what)  # type: ignore[arg-type]
            _check_size(header, info.file_size - header.length, what)
            if header.dtype.hasobject:
                if not reader.allow_pickle:
                    raise _refuse_pickle(path, f" [{key!r}]")
                with archive.open(info) as member:
                    value = _unpickled(
                        lambda: np.lib.format.read_array(member, allow_pickle=True), what
                    )
            elif info.compress_type == zipfile.ZIP_STORED:
                value = _mapped(path, header, _stored_offset(fh, info, size, what) + header.length)
            else:
                reader.take(header.nbytes, what)
                with archive.open(info) as member:
                    value = np.lib.format.read_array(member, allow_pickle=False)
            data[key] = _as_array(value, what)
    return data


def _stored_offset(fh: BinaryIO, info: zipfile.ZipInfo, size: int, what: str) -> int:
    """Where an uncompressed member's bytes start in the archive, checked to lie within it."""
    fh.seek(info.header_offset)
    local = fh.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise UsageError(f"{what}: corrupt .npz archive (bad local header)")
    name_len, extra_len = (int(n) for n in struct.unpack("<HH", local[26:30]))
    start = info.header_offset + 30 + name_len + extra_len
    if info.compress_size != info.file_size or start + info.file_size > size:
        raise UsageError(f"{what}: corrupt .npz archive (member extends past the end)")
    return start


def _as_array(value: Any, what: str) -> np.ndarray[Any, Any]:
    if not isinstance(value, np.ndarray):
        raise UsageError(f"{what}: not a valid .npy array")
    return value


def _read(
    path: Path, suffix: str, fh: BinaryIO, reader: _Reader
) -> np.ndarray[Any, Any] | dict[str, np.ndarray[Any, Any]]:
    head = fh.read(len(_NPY_MAGIC))
    fh.seek(0)
    if head.startswith(_PICKLE_PROTO):
        raise UsageError(
            f"{path}: a raw Python pickle, not a .npy or .npz file; refusing to load it"
        )
    if suffix == ".npz":
        if not head.startswith(_ZIP_MAGICS):
            raise UsageError(f"{path}: not a valid .npz file")
        return _load_npz(path, fh, reader)
    if not head.startswith(_NPY_MAGIC):
        raise UsageError(f"{path}: not a valid .npy file")
    return _load_npy(path, fh, reader)


def _load(
    path_text: str, reader: _Reader
) -> np.ndarray[Any, Any] | dict[str, np.ndarray[Any, Any]]:
    """Load one input file, or raise UsageError naming it."""
    path = Path(path_text)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise UsageError(f"{path}: expected a .npy or .npz file")
    try:
        with path.open("rb") as fh:
            return _read(path, suffix, fh, reader)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except UsageError:
        raise
    except MemoryError:
        raise UsageError(f"{path}: not enough memory to load it") from None
    except (
        ValueError,
        TypeError,
        EOFError,
        KeyError,
        SyntaxError,
        NotImplementedError,
        OverflowError,
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        struct.error,
    ) as exc:
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

    reader = _Reader(allow_pickle=args.allow_pickle)
    actual = _load(args.actual, reader)
    expected = _load(args.expected, reader)
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
    text = json.dumps(result.to_dict(), indent=2, allow_nan=False) if args.json else str(result)
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # the reader left early (`nearly compare A B | head`): the verdict still stands
        _silence_stdout()
    return 0 if result.ok else 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nearly`` command line; return the process exit status."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "audit":
            return _audit_cli.run(args)
        return _run_compare(args)
    except UsageError as exc:
        print(f"nearly: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
