"""Reading and checking parameters from untrusted input (CLI flags, JSON from a widget, a scenario file).

Each reader returns a clean Python value or raises :class:`InputError` naming the field and the allowed range.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import InputError

_MISSING = object()


def _raw(params: Mapping[str, Any], name: str, default: Any) -> Any:
    value = params.get(name, _MISSING)
    if value is _MISSING or value is None or (isinstance(value, str) and value.strip() == ""):
        if default is _MISSING:
            raise InputError(name, "is required")
        return default
    return value


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise InputError(name, "must be a number, not true/false")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace("_", "").replace(",", ""))
        except ValueError:
            raise InputError(name, f"must be a number (got {value!r})") from None
    else:
        raise InputError(name, f"must be a number (got {type(value).__name__})")
    if not math.isfinite(number):
        raise InputError(name, "must be a finite number")
    return number


def _bound(value: float) -> str:
    """A range bound as a reader would write it: 1,048,576 rather than 1.04858e+06."""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:g}"


def _range_text(low: float, high: float) -> str:
    return f"from {_bound(low)} to {_bound(high)}"


def read_int(params: Mapping[str, Any], name: str, low: int, high: int, default: Any = _MISSING) -> int:
    """An integer in [low, high]."""
    value = _raw(params, name, default)
    number = _number(name, value)
    if number != int(number):
        raise InputError(name, f"must be a whole number {_range_text(low, high)} (got {value!r})")
    if not low <= number <= high:
        raise InputError(name, f"must be {_range_text(low, high)} (got {number:g})")
    return int(number)


def read_float(
    params: Mapping[str, Any], name: str, low: float, high: float, default: Any = _MISSING, *, low_inclusive: bool = True
) -> float:
    """A real number in [low, high] (or (low, high] when ``low_inclusive`` is false)."""
    value = _raw(params, name, default)
    number = _number(name, value)
    too_low = number < low or (not low_inclusive and number == low)
    if too_low or number > high:
        bound = "above" if not low_inclusive else "from"
        raise InputError(name, f"must be {bound} {_bound(low)} to {_bound(high)} (got {number:g})")
    return number


def read_choice(params: Mapping[str, Any], name: str, choices: Iterable[str], default: Any = _MISSING) -> str:
    """One of a fixed set of lower-case ids."""
    options = sorted(choices)
    value = _raw(params, name, default)
    if not isinstance(value, str):
        raise InputError(name, f"must be one of {', '.join(options)}")
    text = value.strip().lower()
    if text not in options:
        shown = ", ".join(options) if len(options) <= 16 else ", ".join(options[:16]) + ", …"
        raise InputError(name, f"unknown value {value!r}; expected one of {shown}")
    return text


def read_bool(params: Mapping[str, Any], name: str, default: Any = _MISSING) -> bool:
    value = _raw(params, name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "1", "yes", "on"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"false", "0", "no", "off"}:
        return False
    raise InputError(name, "must be true or false")


def reject_unknown(params: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Fail on a parameter the calculation does not take (a typo would otherwise be silently ignored)."""
    known = set(allowed)
    for name in params:
        if name not in known:
            raise InputError(name, f"unknown parameter; expected one of {', '.join(sorted(known))}")
