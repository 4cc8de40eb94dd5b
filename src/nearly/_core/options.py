"""Options shared by every comparison, validated once, before anything is compared."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from nearly._tolerance.tolerance import Tolerance

__all__ = ["EXACT", "Options", "make_options"]

#: the options of compare / assert_close, and the subset assert_equal takes
CLOSE_OPTIONS = (
    "rtol",
    "atol",
    "ulps",
    "tol",
    "equal_nan",
    "check_dtype",
    "check_shape",
    "check_device",
    "strict_types",
)
EQUAL_OPTIONS = CLOSE_OPTIONS[4:]

# names other libraries use for the same thing
_ALIASES = {
    "rel_tol": "rtol",
    "abs_tol": "atol",
    "rel": "rtol",
    "abs": "atol",
    "err_msg": "msg",
    "message": "msg",
    "tolerance": "tol",
    "maxulp": "ulps",
    "nulp": "ulps",
    "ulp": "ulps",
    "strict": "strict_types",
    "check_exact": "tol=nearly.tol.Tolerance() or assert_equal",
    "equal_nans": "equal_nan",
    "check_dtypes": "check_dtype",
}


#: the tolerance of exact comparison (assert_equal, and labels)
EXACT = Tolerance(0, 0, source="exact")


@dataclass(frozen=True)
class Options:
    tolerance: Tolerance | None  # None: the default of each pair's lower-precision dtype
    equal_nan: bool = True
    check_dtype: bool = False
    check_shape: bool = True
    check_device: bool = False
    strict_types: bool = False
    exact: bool = False
    describe_passing: bool = False  # also measure leaves that pass without being identical
    in_graph: bool = False  # symbolic tensors become assertion ops (the assert_* functions)
    # only the verdict is wanted: stop at the first failing leaf (not while a graph is traced,
    # whose checks must all become ops)
    stop_at_failure: bool = False


def reject_unknown(func: str, unknown: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    if not unknown:
        return
    name = next(iter(unknown))
    hint = _ALIASES.get(name) or next(iter(difflib.get_close_matches(name, allowed, 1)), None)
    suggestion = f" Did you mean {hint}?" if hint else ""
    raise TypeError(
        f"{func}() got an unknown option {name!r}.{suggestion} Options are: {', '.join(allowed)}."
    )


def _flag(func: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{func}(): {name} must be True or False, got {value!r}")
    return value


def check_msg(func: str, msg: Any) -> str | Callable[[str], str] | None:
    if msg is None or isinstance(msg, str) or callable(msg):
        return msg  # type: ignore[no-any-return]
    raise TypeError(
        f"{func}(): msg must be a string or a callable taking the report, got {type(msg).__name__}"
    )


def make_options(func: str, **given: Any) -> Options:
    """The validated options of one call; made once per distinct set of arguments (a test
    suite repeats the same few), so that tolerances are read and checked once."""
    try:
        # (types too: True == 1, but rtol=True is refused and rtol=1 is not)
        key = (func, tuple(given.items()), tuple(map(type, given.values())))
        return _cached_options(key)
    except TypeError:  # an unhashable argument (a per-element tolerance array)
        return _make_options(func, **given)


@lru_cache(maxsize=1024)
def _cached_options(key: tuple[Any, ...]) -> Options:
    func, items, _ = key
    return _make_options(func, **dict(items))


def _make_options(
    func: str,
    *,
    rtol: Any = None,
    atol: Any = None,
    ulps: Any = None,
    tol: Any = None,
    equal_nan: Any = True,
    check_dtype: Any = False,
    check_shape: Any = True,
    check_device: Any = False,
    strict_types: Any = False,
    exact: bool = False,
    describe_passing: bool = False,
    in_graph: bool = False,
    stop_at_failure: bool = False,
) -> Options:
    given = [n for n, v in (("rtol", rtol), ("atol", atol), ("ulps", ulps)) if v is not None]
    if tol is not None:
        if given:
            raise TypeError(
                f"{func}(): pass either tol= or {'/'.join(given)}=, not both "
                f"(combine them with nearly.Tolerance(...) + ...)"
            )
        if not isinstance(tol, Tolerance):
            raise TypeError(
                f"{func}(): tol must be a nearly.Tolerance (e.g. nearly.tol.ulps(2)), "
                f"got {type(tol).__name__}"
            )
        tolerance: Tolerance | None = tol
    elif given:
        # any one given: the others are zero
        try:
            tolerance = Tolerance(
                rtol=0 if rtol is None else rtol,
                atol=0 if atol is None else atol,
                ulps=ulps,
                source="given",
            )
        except (TypeError, ValueError) as err:
            raise type(err)(f"{func}(): {err}") from None
    elif exact:
        tolerance = EXACT
    else:
        tolerance = None
    return Options(
        tolerance=tolerance,
        equal_nan=_flag(func, "equal_nan", equal_nan),
        check_dtype=_flag(func, "check_dtype", check_dtype),
        check_shape=_flag(func, "check_shape", check_shape),
        check_device=_flag(func, "check_device", check_device),
        strict_types=_flag(func, "strict_types", strict_types),
        exact=exact,
        describe_passing=describe_passing,
        in_graph=in_graph,
        stop_at_failure=stop_at_failure,
    )
