"""How a number is written for a reader: the one place for rounding, separators, unit choice and GB versus GiB.

The site build, the CLI's human output and the widgets (through ``sizing.api``) all format through
:func:`format_quantity`, so a value reads the same everywhere.

Conventions (see docs/conventions.md):
* decimal prefixes for bytes and rates (1 GB = 10^9 bytes), binary only when asked for (1 GiB = 2^30 bytes);
* three significant figures, except whole numbers shown in their base unit (327,680 B, 8 GPUs), which are exact;
* thousands separated with commas; the unit follows the number after a space (percent and × excepted).
"""

from __future__ import annotations

import functools
import math

# unit id -> ladder of (symbol, size of one symbol in SI units), smallest first.
_LADDERS: dict[str, tuple[tuple[str, float], ...]] = {
    "bytes": (("B", 1.0), ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("PB", 1e15)),
    "bytes_binary": (("B", 1.0), ("KiB", 2.0**10), ("MiB", 2.0**20), ("GiB", 2.0**30), ("TiB", 2.0**40)),
    "s": (("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0), ("min", 60.0), ("h", 3600.0), ("days", 86400.0)),
    "bytes_per_s": (("B/s", 1.0), ("KB/s", 1e3), ("MB/s", 1e6), ("GB/s", 1e9), ("TB/s", 1e12)),
    "bits_per_s": (("bit/s", 1.0), ("Kbit/s", 1e3), ("Mbit/s", 1e6), ("Gbit/s", 1e9), ("Tbit/s", 1e12)),
    "flop_per_s": (("FLOP/s", 1.0), ("GFLOP/s", 1e9), ("TFLOP/s", 1e12), ("PFLOP/s", 1e15), ("EFLOP/s", 1e18)),
    "flop": (("FLOP", 1.0), ("GFLOP", 1e9), ("TFLOP", 1e12), ("PFLOP", 1e15), ("EFLOP", 1e18), ("ZFLOP", 1e21)),
    "params": (("", 1.0), ("K", 1e3), ("M", 1e6), ("B", 1e9), ("T", 1e12)),
    "usd": (("", 1.0), ("K", 1e3), ("M", 1e6), ("B", 1e9)),
}

# Units written after the number without a ladder.
_SUFFIX = {
    "tokens": "tokens",
    "tokens_per_s": "tokens/s",
    "requests_per_s": "req/s",
    "requests_per_day": "requests/day",
    "gpus": "GPUs",
    "gpu_hours": "GPU-hours",
    "count": "",
    "ratio": "",  # written as a percentage
    "multiplier": "×",
    "usd_per_hour": "/h",
    "usd_per_month": "/month",
    "usd_per_million_tokens": "per 1M tokens",
    "dimensionless": "",
}

_SINGULAR = {"tokens": "token", "gpus": "GPU", "gpu_hours": "GPU-hour"}

# Unit symbols a writer may force with unit="…" (e.g. GiB for a capacity the driver reports in GiB).
_FORCED = {
    symbol: (family, size)
    for family, ladder in _LADDERS.items()
    if family not in {"params", "usd"}  # "B" means bytes when forced, never billions
    for symbol, size in ladder
}

UNITS = frozenset(_LADDERS) | frozenset(_SUFFIX)


def _round_sig(value: float, digits: int) -> float:
    if value == 0:
        return 0.0
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def format_number(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant figures with comma thousands separators, without trailing zeros."""
    if not math.isfinite(value):
        raise ValueError(f"cannot format a non-finite number: {value!r}")
    rounded = _round_sig(value, digits)
    if rounded == int(rounded) and abs(rounded) >= 1:
        return f"{int(rounded):,}"
    magnitude = int(math.floor(math.log10(abs(rounded)))) if rounded else 0
    decimals = max(0, digits - 1 - magnitude)
    text = f"{rounded:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _exact_whole(value: float) -> str:
    return f"{int(round(value)):,}"


def _pick_rung(value: float, ladder: tuple[tuple[str, float], ...], digits: int) -> tuple[str, float]:
    if value == 0:
        return next(((symbol, size) for symbol, size in ladder if size == 1.0), ladder[0])
    chosen = ladder[0]
    rounded = abs(_round_sig(value, digits))
    for symbol, size in ladder:
        # Step up once the number would read 1,000 or more of the smaller unit (after rounding).
        if rounded >= size:
            chosen = (symbol, size)
    return chosen


def format_quantity(value: float, unit: str, *, digits: int = 3, force: str | None = None, plain: bool = False) -> str:
    """Write ``value`` (in SI units of ``unit``) for a reader.

    ``force`` names a unit symbol to use instead of the automatic choice ("GiB", "ms", "TB/s", …);
    ``plain`` drops the unit text and returns the number alone.
    """
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ValueError(f"cannot format {value!r} as a quantity")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"cannot format a non-finite number: {value!r}")
    if force:
        if force not in _FORCED:
            raise ValueError(f"unknown unit symbol {force!r}; expected one of {', '.join(sorted(_FORCED))}")
        family, size = _FORCED[force]
        exact = size == 1.0 and value == int(value)
        number = _exact_whole(value) if exact else format_number(value / size, digits)
        return number if plain else _join(number, force, family)
    if unit == "flop" and abs(value) >= 1e21:
        return _scientific(value, digits) + ("" if plain else " FLOP")
    if unit == "usd":
        return format_money(value, digits) if not plain else format_number(value, digits)
    if unit in _LADDERS:
        if abs(value) < _LADDERS[unit][0][1] * 1e-3:
            value = 0.0  # below a thousandth of the smallest unit is rounding noise (a queue wait of 3e-18 s): 0
        symbol, size = _pick_rung(value, _LADDERS[unit], digits)
        scaled = value / size
        exact = size == 1.0 and value == int(value)
        number = _exact_whole(scaled) if exact else format_number(scaled, digits)
        return number if plain else _join(number, symbol, unit)
    if unit not in _SUFFIX:
        raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(sorted(UNITS))}")
    if unit == "ratio":
        number = format_number(value * 100.0, digits)
        return number if plain else f"{number}%"
    if unit in {"usd_per_hour", "usd_per_month", "usd_per_million_tokens"}:
        number = format_money(value, digits)
        if plain:
            return number
        separator = " " if unit == "usd_per_million_tokens" else ""
        return f"{number}{separator}{_SUFFIX[unit]}"
    if unit == "tokens" and abs(value) >= 1e8:
        # Corpus sizes read as "15T tokens"; context lengths (131,072 tokens) stay exact.
        symbol, size = _pick_rung(value, _LADDERS["params"], digits)
        number = format_number(value / size, digits) + symbol
        return number if plain else f"{number} tokens"
    whole = value == int(value) and abs(value) < 1e15
    number = _exact_whole(value) if whole else format_number(value, digits)
    if plain or not _SUFFIX[unit]:
        return number
    if unit == "multiplier":
        return f"{number}×"
    word = _SINGULAR.get(unit, _SUFFIX[unit]) if number == "1" else _SUFFIX[unit]
    return f"{number} {word}"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _scientific(value: float, digits: int) -> str:
    """Very large counts (training FLOPs) read as mantissa × 10^exponent: "6.35 × 10²⁴"."""
    exponent = int(math.floor(math.log10(abs(value))))
    mantissa = _round_sig(value / 10**exponent, digits)
    if abs(mantissa) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{format_number(mantissa, digits)} × 10{str(exponent).translate(_SUPERSCRIPT)}"


def format_money(value: float, digits: int = 3) -> str:
    """US dollars: "$0.42", "$2.49", "$12,300", "$1.23M"."""
    symbol, size = _pick_rung(value, _LADDERS["usd"], digits) if abs(value) >= 1e6 else ("", 1.0)
    scaled = value / size
    if size == 1.0 and abs(value) >= 100:
        text = format_number(scaled, max(digits, len(str(int(abs(value))))))
    elif size == 1.0 and abs(value) >= 1:
        text = f"{value:,.2f}"
    else:
        text = format_number(scaled, digits)
    sign = "-" if text.startswith("-") else ""
    return f"{sign}${text.lstrip('-')}{symbol}"


def _join(number: str, symbol: str, family: str) -> str:
    if symbol == "days" and number == "1":
        symbol = "day"
    if family in {"params", "usd"}:
        return f"{number}{symbol}" if symbol else number
    return f"{number} {symbol}"


# Field-name suffix -> (unit id, multiplier from the field's unit to SI). Longest match wins; order matters.
_FIELD_SUFFIXES: tuple[tuple[str, str, float], ...] = (
    ("_usd_per_million_tokens", "usd_per_million_tokens", 1.0),
    ("_usd_per_month", "usd_per_month", 1.0),
    ("_usd_per_hour", "usd_per_hour", 1.0),
    ("_usd", "usd", 1.0),
    ("gpu_hours", "gpu_hours", 1.0),
    ("tokens_per_s_per_gpu", "tokens_per_s", 1.0),
    ("tokens_per_s", "tokens_per_s", 1.0),
    ("requests_per_s", "requests_per_s", 1.0),
    ("requests_per_day", "requests_per_day", 1.0),
    ("_gb_per_s", "bytes_per_s", 1e9),
    ("_bytes_per_s", "bytes_per_s", 1.0),
    ("_gbit_per_s", "bits_per_s", 1e9),
    ("_flops_per_s", "flop_per_s", 1.0),
    ("_flops", "flop", 1.0),
    ("_bytes_per_token", "bytes", 1.0),
    ("_bytes_per_gpu", "bytes", 1.0),
    ("_gb_per_gpu", "bytes", 1e9),
    ("_bytes", "bytes", 1.0),
    ("_gb", "bytes", 1e9),
    ("_ms", "s", 1e-3),
    ("_us", "s", 1e-6),
    ("_s", "s", 1.0),
    ("_minutes", "s", 60.0),
    ("_hours", "s", 3600.0),
    ("_days", "s", 86400.0),
    ("_tokens", "tokens", 1.0),
    ("gpus", "gpus", 1.0),
    ("params", "params", 1.0),
    ("hit_rate", "ratio", 1.0),
    ("acceptance", "ratio", 1.0),
    ("_discount", "ratio", 1.0),
    ("_premium", "ratio", 1.0),
    ("_ratio", "ratio", 1.0),
    ("_fraction", "ratio", 1.0),
    ("_share", "ratio", 1.0),
    ("_error", "ratio", 1.0),
    ("efficiency", "ratio", 1.0),
    ("utilization", "ratio", 1.0),
    ("headroom", "ratio", 1.0),
    ("mfu", "ratio", 1.0),
    ("speedup", "multiplier", 1.0),
    ("_x", "multiplier", 1.0),
)


# Qualifiers that may follow the unit in a field name without changing it (``price_usd_per_hour_spot``).
_QUALIFIERS = ("_per_gpu", "_per_replica", "_on_demand", "_spot", "_total", "_mean", "_median", "_p50", "_p90", "_p95", "_p99")


@functools.lru_cache(maxsize=1024)  # charts and results look the same few hundred names up again and again
def unit_for_field(name: str) -> tuple[str, float]:
    """The unit a field's name declares (``ttft_ms`` → seconds, scale 1e-3); plain counts are dimensionless."""
    found = _match_suffix(name)
    stripped = name
    while found[0] == "dimensionless":
        qualifier = next((q for q in _QUALIFIERS if stripped.endswith(q) and len(stripped) > len(q)), None)
        if qualifier is None:
            break
        stripped = stripped[: -len(qualifier)]
        found = _match_suffix(stripped)
    return found


def _match_suffix(name: str) -> tuple[str, float]:
    for suffix, unit, scale in _FIELD_SUFFIXES:
        if name.endswith(suffix) or name == suffix.lstrip("_"):
            return unit, scale
    return "dimensionless", 1.0


def format_field(name: str, value: float, **options) -> str:
    """Format a model output by its field name: ``format_field("ttft_ms", 62.0)`` → "62 ms"."""
    unit, scale = unit_for_field(name)
    return format_quantity(value * scale, unit, **options)
