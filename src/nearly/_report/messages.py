"""The wording of every finding: one function per code, turning a finding's parameters into
the sentence the report prints (docs/findings.md lists every code with its parameters).

The layers below record *what* they found as a :class:`~nearly._report.records.Finding`
(a code such as ``"shape.differ"`` and its parameters, plain data); this module is the only
place that knows how to say it. Codes are grouped by prefix: ``type.``, ``structure.``,
``shape.``, ``dtype.`` and ``value.`` say what failed (a mismatch's reason), ``hint.`` why it
may have (a diagnosis) and ``note.`` what differs without failing. :data:`CODES` lists them
all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["CODES", "parameters", "render"]

_WORDING: dict[str, Callable[..., str]] = {}


def _says(code: str) -> Callable[[Callable[..., str]], Callable[..., str]]:
    def register(fn: Callable[..., str]) -> Callable[..., str]:
        _WORDING[code] = fn
        return fn

    return register


def _wording(code: str) -> Callable[..., str]:
    try:
        return _WORDING[code]
    except KeyError:
        raise ValueError(f"no wording for the finding code {code!r}") from None


def render(code: str, params: Mapping[str, Any]) -> str:
    """The sentence for one finding."""
    return _wording(code)(**params)


def parameters(code: str) -> tuple[str, ...]:
    """The names of a code's parameters, in order."""
    import inspect  # only the docs' check asks; inspect would add ~10 ms to `import nearly`

    return tuple(inspect.signature(_wording(code)).parameters)


def _g(x: float) -> str:
    return f"{x:.6g}"


def _g_any(x: Any) -> str:
    """A real number, or a complex one given as ``[re, im]``."""
    if isinstance(x, Sequence):
        re, im = x
        return _g(re) if im == 0 else f"({_g(re)}{im:+.6g}j)"
    return _g(x)


def _shape(s: Sequence[int | None]) -> str:
    return str(tuple(s))


def _values_then(values: bool | None) -> str:
    if values is None:
        return ""
    return ", and then the values match" if values else ", but the values differ"


def _index_range(lo: int, hi: int) -> str:
    return f"[{lo}]" if hi - lo == 1 else f"[{lo}]..[{hi - 1}]"


# --- what failed: a mismatch's reason -------------------------------------------------------


@_says("type.differ")
def _type_differ(actual: str, expected: str) -> str:
    return f"{actual} vs {expected}"


@_says("type.strict")
def _type_strict(actual: str, expected: str) -> str:
    return f"types differ: {actual} vs {expected}"


@_says("type.device")
def _type_device(actual: str, expected: str) -> str:
    return f"devices differ: {actual} vs {expected}"


@_says("type.refused")
def _type_refused(actual: str, expected: str, reason: str) -> str:
    return f"{actual} vs {expected}: the values refuse to be compared ({reason})"


@_says("structure.length")
def _structure_length(actual: int, expected: int) -> str:
    if actual > expected:
        s = "s" if actual - expected > 1 else ""
        extra = f"extra item{s} in actual at {_index_range(expected, actual)}"
    else:
        s = "s" if expected - actual > 1 else ""
        extra = f"missing item{s} in actual at {_index_range(actual, expected)}"
    return f"lengths differ: actual has {actual}, expected {expected} ({extra})"


@_says("structure.keys")
def _structure_keys(what: str, missing: Sequence[str], extra: Sequence[str]) -> str:
    parts = []
    if missing:
        parts.append("missing in actual: " + ", ".join(missing))
    if extra:
        parts.append("extra in actual: " + ", ".join(extra))
    return f"{what} differ: " + "; ".join(parts)


@_says("structure.labels")
def _structure_labels(count: int, total: int) -> str:
    return f"labels differ at {count} of {total} positions"


@_says("shape.differ")
def _shape_differ(actual: Sequence[int], expected: Sequence[int]) -> str:
    return f"shapes differ: {_shape(actual)} vs {_shape(expected)}"


@_says("shape.no_broadcast")
def _shape_no_broadcast(actual: Sequence[int], expected: Sequence[int]) -> str:
    return f"shapes {_shape(actual)} and {_shape(expected)} do not broadcast"


@_says("dtype.differ")
def _dtype_differ(actual: str, expected: str) -> str:
    return f"dtypes differ: {actual} vs {expected}"


@_says("dtype.incomparable")
def _dtype_incomparable(actual: str, expected: str) -> str:
    return f"cannot compare {actual} vs {expected}"


@_says("dtype.and_values")
def _dtype_and_values(actual: str, expected: str) -> str:
    return f"dtypes differ ({actual} vs {expected}) and values differ"


@_says("value.differ")
def _value_differ() -> str:
    return "values differ"


@_says("value.text")
def _value_text() -> str:
    return "strings differ"


@_says("value.eq")
def _value_eq() -> str:
    return "values differ (compared with ==)"


@_says("value.nonfinite")
def _value_nonfinite() -> str:
    return "non-finite values"


@_says("value.out_of_range")
def _value_out_of_range() -> str:
    return "values out of range"


@_says("value.sums")
def _value_sums(axis: int | None, total: float) -> str:
    return f"sums along axis {axis} are not {total}"


@_says("value.not_standardized")
def _value_not_standardized(axis: int) -> str:
    return f"not standardized along axis {axis}"


# --- why: diagnoses -------------------------------------------------------------------------


@_says("hint.tuple_list")
def _hint_tuple_list() -> str:
    return "tuple vs list is allowed unless strict_types=True"


@_says("hint.incomparable_types")
def _hint_incomparable_types(actual: str, expected: str) -> str:
    return f"a {actual} cannot be compared with a {expected}"


@_says("hint.option")
def _hint_option(option: str) -> str:
    return f"{option}=True"


@_says("hint.strict_types")
def _hint_strict_types() -> str:
    return "types must match exactly with strict_types=True"


@_says("hint.first_character")
def _hint_first_character(index: int, actual_length: int, expected_length: int) -> str:
    return f"first difference at character {index} (lengths {actual_length} and {expected_length})"


@_says("hint.eq_false")
def _hint_eq_false() -> str:
    return "objects compare with ==, which returned False"


@_says("hint.element_counts")
def _hint_element_counts(actual: int, expected: int) -> str:
    return f"{actual} vs {expected} elements"


@_says("hint.dtype_only")
def _hint_dtype_only(actual: str, expected: str, identical: bool) -> str:
    how = "equal" if identical else "close"
    return f"only the dtype differs ({actual} vs {expected}); the values are {how}"


@_says("hint.dtype_also")
def _hint_dtype_also(actual: str, expected: str, checked: bool) -> str:
    unchecked = "" if checked else "; not checked (check_dtype=True requires them equal)"
    return f"dtypes differ ({actual} vs {expected}){unchecked}"


@_says("hint.exact_family")
def _hint_exact_family(count: int, total: int, family: str) -> str:
    return f"{count} of {total} element(s) differ ({family} values compare exactly)"


@_says("hint.incomparable_families")
def _hint_incomparable_families(actual: str, expected: str) -> str:
    return f"{actual} values cannot be compared with {expected} values"


@_says("hint.nonfinite_counts")
def _hint_nonfinite_counts(nan: int, posinf: int, neginf: int, first: Sequence[int] | None) -> str:
    counts = zip((nan, posinf, neginf), ("NaN", "+inf", "-inf"), strict=True)
    text = ", ".join(f"{n} {what}" for n, what in counts if n)
    return text + ("" if not first else f"; the first at {list(first)}")


@_says("hint.masks_differ")
def _hint_masks_differ(count: int) -> str:
    return (
        f"the masks differ at {count} element(s); masked elements are ignored only where both "
        "sides mask them"
    )


@_says("hint.only_nonfinite")
def _hint_only_nonfinite(
    nan_only_actual: int, nan_only_expected: int, nonfinite_other: int, equal_nan: bool
) -> str:
    parts = []
    if nan_only_actual:
        parts.append(f"NaN only in actual at {nan_only_actual} element(s)")
    if nan_only_expected:
        parts.append(f"NaN only in expected at {nan_only_expected} element(s)")
    if nonfinite_other:
        why = "infinities that differ" if equal_nan else "infinities or NaNs that differ"
        parts.append(f"{why} at {nonfinite_other} element(s)")
        if not equal_nan:
            parts[-1] += " (equal_nan=False: NaN never equals NaN)"
    return "; ".join(parts) + "; every finite element is close"


@_says("hint.some_nonfinite")
def _hint_some_nonfinite(count: int, nan_only_actual: int, nan_only_expected: int) -> str:
    return (
        f"{count} failing element(s) are NaN/Inf on one side only (NaN only in actual: "
        f"{nan_only_actual}, only in expected: {nan_only_expected})"
    )


@_says("hint.rounding")
def _hint_rounding(ulps: int, dtype: str) -> str:
    return (
        f"rounding-level: every failing element is within {ulps} ULP of {dtype}; compare with "
        f"a tolerance (ulps={ulps}, or one derived from the computation with nearly.tol)"
    )


@_says("hint.integers")
def _hint_integers(count: int) -> str:
    return (
        f"{count} integer element(s) differ; integers and bools compare exactly unless "
        "rtol/atol is given"
    )


@_says("hint.sign_flipped")
def _hint_sign_flipped() -> str:
    return "sign flipped: actual matches -expected"


@_says("hint.transposed")
def _hint_transposed() -> str:
    return "looks transposed: actual with its last two axes swapped matches expected"


@_says("hint.offset")
def _hint_offset(offset: float | Sequence[float]) -> str:
    return f"constant offset: actual = expected + {_g_any(offset)}"


@_says("hint.scale")
def _hint_scale(scale: float | Sequence[float]) -> str:
    return f"constant scale: actual = expected × {_g_any(scale)}"


@_says("hint.reordered")
def _hint_reordered() -> str:
    return "same values in another order: sorted, the two match"


@_says("hint.beyond_rounding")
def _hint_beyond_rounding(count: int, max_ulps: float | None, ratio: float | None) -> str:
    ulps = "" if max_ulps is None or not math.isfinite(max_ulps) else f" (up to {_g(max_ulps)} ULP)"
    times = "" if ratio is None else f"; the worst is {_g(ratio)}× the allowed difference"
    return (
        f"{count} element(s) differ by more than rounding in one operation{ulps}{times}: "
        "a real difference, or error accumulated over a long computation"
    )


@_says("hint.bound.other_order")
def _hint_bound_other_order(ratio: float, order: str, op: str, other: str, bound: float) -> str:
    return (
        f"the error is {_g(ratio)}× the {order} rounding bound of this {op}, but within its "
        f"{other} bound ({_g(bound)}): consistent with {other} accumulation, so rounding of that "
        "algorithm rather than a bug; state the order the value was computed with"
    )


@_says("hint.bound.exceeded")
def _hint_bound_exceeded(ratio: float, order: str, op: str) -> str:
    return (
        f"the error is {_g(ratio)}× the {order} rounding bound of this {op}, and beyond the "
        "bound of every summation order: not rounding, a real bug"
    )


@_says("hint.shape.python_scalar")
def _hint_shape_python_scalar(side: str, shape: Sequence[int], values: bool | None) -> str:
    return (
        f"{side} is a Python scalar (0-d) and the other has shape {_shape(shape)}: compare "
        f"with .item() or reshape{_values_then(values)}"
    )


@_says("hint.shape.squeeze")
def _hint_shape_squeeze(values: bool | None) -> str:
    return "shapes differ only by axes of length 1: they match after squeeze" + _values_then(values)


@_says("hint.shape.swapped")
def _hint_shape_swapped() -> str:
    return "the last two axes are swapped (transposed shape), and the values differ too"


@_says("hint.shape.reshape")
def _hint_shape_reshape(size: int, shape: Sequence[int], values: bool | None) -> str:
    return (
        f"same number of elements ({size}): a reshape to {_shape(shape)} may be missing"
        + _values_then(values)
    )


@_says("hint.shape.broadcast")
def _hint_shape_broadcast(shape: Sequence[int]) -> str:
    return (
        f"the shapes broadcast to {_shape(shape)}; nearly does not broadcast unless "
        "check_shape=False"
    )


@_says("hint.shape.incompatible")
def _hint_shape_incompatible(actual: int, expected: int) -> str:
    return f"{actual} vs {expected} elements: the shapes are incompatible"


@_says("hint.out_of_range")
def _hint_out_of_range(
    count: int,
    lo: float | None,
    hi: float | None,
    lo_stored: float | None,
    hi_stored: float | None,
    dtype: str,
    smallest: float,
    largest: float,
    nan: int,
) -> str:
    return (
        f"{count} value(s) outside {range_text(lo, hi, lo_stored, hi_stored, dtype)}; "
        f"smallest {_g(smallest)}, largest {_g(largest)}" + (f"; {nan} NaN" if nan else "")
    )


def range_text(
    lo: float | None,
    hi: float | None,
    lo_stored: float | None,
    hi_stored: float | None,
    dtype: str,
) -> str:
    """``[lo, hi]``, with the values the bounds take in the data's dtype where they differ."""
    shown = [
        f"{b} is {stored:.10g} as {dtype}"
        for b, stored in ((lo, lo_stored), (hi, hi_stored))
        if b is not None and stored is not None
    ]
    return f"[{lo}, {hi}]" + (f" ({'; '.join(shown)})" if shown else "")


@_says("hint.sums")
def _hint_sums(
    count: int,
    rows: int,
    total: float,
    worst: float,
    error: float,
    allowed: float,
    source: str | None,
    n: int,
    dtype: str,
) -> str:
    times = _g(error / allowed) if allowed else "inf"
    if source is None:
        source = (
            f"γ_(n+2)+2u with n={n}, u of {dtype}, times the row's Σ|x| (normalisation by a "
            "computed sum)"
        )
    return (
        f"{count} of {rows} sum(s) differ from {total} beyond the bound; worst {_g(worst)} "
        f"(off by {_g(error)}, {times}× the allowed {_g(allowed)}); bound: {source}"
    )


@_says("hint.standardized")
def _hint_standardized(
    mean: float,
    mean_bound: float,
    std: float,
    std_bound: float,
    index: Sequence[int],
    dtype: str,
    kappa: float,
    kappa_given: bool,
    n: int,
    stats: str,
    vacuous: bool,
) -> str:
    computed = {
        "dtype": f"computed in {dtype} in any summation order (stats='dtype', the default)",
        "pairwise": f"computed in {dtype} by pairwise summation (stats='pairwise')",
        "float64": "computed accurately, in float64 (stats='float64')",
    }[stats]
    if kappa_given:
        conditioning = f"whose raw |mean|/std is up to {_g(kappa)}"
    elif stats == "float64":
        conditioning = f"whose raw |mean|/std is up to {_g(kappa)} (the default, 1/√u)"
    else:
        conditioning = "whose raw |mean| is up to its std (the default; pass kappa= for more)"
    text = (
        f"mean {_g(mean)} (allowed ±{_g(mean_bound)}), std {_g(std)} (allowed 1 ± "
        f"{_g(std_bound)}) at {list(index)}; bounds for n={n} values of {dtype} data "
        f"{conditioning}, standardized with statistics {computed}"
    )
    if vacuous:
        text += (
            f"; at this n a {dtype} sum in any order guarantees no correct digit, so the bound "
            "is loose: state stats='pairwise' or stats='float64' if the statistics were "
            "computed so"
        )
    return text


@_says("hint.standardized.centre")
def _hint_standardized_centre() -> str:
    return "the spread is right but the centre is off: a shift, or a stale or wrong mean"


@_says("hint.standardized.scale")
def _hint_standardized_scale() -> str:
    return (
        "the centre is right but the scale is off: divided by the wrong number (variance "
        "instead of std, stale or inaccurately computed statistics)"
    )


@_says("hint.standardized.inaccurate")
def _hint_standardized_inaccurate() -> str:
    return (
        "both the mean and the std are far off: the statistics used to standardize were "
        "computed inaccurately (e.g. float32 accumulation along a long axis of offset data); "
        "compute them accurately, e.g. with nearly.stats.summarize"
    )


@_says("hint.standardized.mismatch")
def _hint_standardized_mismatch() -> str:
    return (
        "the statistics used to standardize do not match the data: wrong axis, stale or "
        "inaccurately computed statistics"
    )


# --- what differs without failing: notes ----------------------------------------------------


@_says("note.container_types")
def _note_container_types(actual: str, expected: str) -> str:
    return f"container types differ ({actual} vs {expected}); allowed unless strict_types=True"


@_says("note.types")
def _note_types(actual: str, expected: str) -> str:
    return f"types differ ({actual} vs {expected}); allowed unless strict_types=True"


@_says("note.devices")
def _note_devices(actual: str, expected: str) -> str:
    return (
        f"devices differ ({actual} vs {expected}); compared anyway (check_device=True requires one)"
    )


@_says("note.key_order")
def _note_key_order(actual: Sequence[str], expected: Sequence[str]) -> str:
    return (
        f"the same columns in another order (actual {', '.join(actual)}; expected "
        f"{', '.join(expected)}); compared by label"
    )


@_says("note.meta")
def _note_meta(side: str) -> str:
    return f"{side} is a meta tensor (a shape and a dtype, no values): its values are not compared"


@_says("note.utf8")
def _note_utf8(side: str) -> str:
    return f"{side} is a string tensor: its bytes were read as UTF-8 to compare them with text"


@_says("note.broadcast")
def _note_broadcast(actual: Sequence[int], expected: Sequence[int], shape: Sequence[int]) -> str:
    return (
        f"shapes differ ({_shape(actual)} vs {_shape(expected)}); compared broadcast to "
        f"{_shape(shape)} (check_shape=False)"
    )


@_says("note.dtypes")
def _note_dtypes(actual: str, expected: str) -> str:
    return (
        f"dtypes differ ({actual} vs {expected}); not checked (check_dtype=True requires equal "
        "dtypes)"
    )


@_says("note.close_not_identical")
def _note_close_not_identical(
    count: int, total: int, max_abs: float | None = None, max_ulps: float | None = None
) -> str:
    text = f"close but not identical: {count} of {total} element(s) differ"
    if max_abs is not None:
        text += f", by at most {_g(max_abs)}"
    if max_ulps is not None and math.isfinite(max_ulps):
        text += f" ({int(max_ulps)} ULP)"
    return text + " — within the tolerance"


#: every finding code nearly reports
CODES: frozenset[str] = frozenset(_WORDING)
