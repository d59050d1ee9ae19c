"""Time budgets split into ordered phases: an interview round, a latency budget, a rollout plan.

Input: ``phases`` as ``"name:minutes,name:minutes,…"`` (order matters). Outputs, for each phase,
``<name>_minutes``, ``<name>_start_minutes``, ``<name>_end_minutes`` and ``<name>_share`` (of the total),
plus ``total_minutes``. start(i) = Σ minutes of the phases before i; end(i) = start(i) + minutes(i).
"""

from __future__ import annotations

import re
from typing import Any

from .derivation import Derivation
from .formatting import format_quantity
from .errors import InputError
from .registry import calculation
from .validation import reject_unknown

_PHASE = re.compile(r"^[a-z][a-z0-9_]*$")


def parse_phases(text: Any) -> list[tuple[str, float]]:
    if not isinstance(text, str) or not text.strip():
        raise InputError("phases", "must be a list like 'clarify:5,estimate:8' (name:minutes, comma-separated)")
    phases: list[tuple[str, float]] = []
    for part in text.split(","):
        name, sep, minutes = part.strip().partition(":")
        if not sep or not _PHASE.match(name):
            raise InputError("phases", f"each phase is name:minutes with a lower-case name (got {part.strip()!r})")
        try:
            value = float(minutes)
        except ValueError:
            raise InputError("phases", f"minutes of {name!r} must be a number (got {minutes!r})") from None
        if not 0 < value <= 24 * 60:
            raise InputError("phases", f"minutes of {name!r} must be above 0 and at most 1440 (got {value:g})")
        if any(name == seen for seen, _ in phases):
            raise InputError("phases", f"phase {name!r} appears twice")
        phases.append((name, value))
    if len(phases) > 40:
        raise InputError("phases", f"at most 40 phases (got {len(phases)})")
    return phases


@calculation("timeline")
def timeline(params: dict[str, Any]) -> dict[str, Any]:
    reject_unknown(params, {"phases"})
    phases = parse_phases(params.get("phases"))
    total = sum(minutes for _, minutes in phases)
    result: dict[str, Any] = {"total_minutes": total, "phase_count": len(phases), "derivations": {}}
    start = 0.0
    for name, minutes in phases:
        result[f"{name}_minutes"] = minutes
        result[f"{name}_start_minutes"] = start
        result[f"{name}_end_minutes"] = start + minutes
        result[f"{name}_share"] = minutes / total
        start += minutes
    result["derivations"]["total_minutes"] = Derivation(
        "total time",
        " + ".join(name for name, _ in phases),
        " + ".join(format_quantity(minutes * 60.0, "s") for _, minutes in phases),
        total * 60.0,
        "s",
    )
    return result
