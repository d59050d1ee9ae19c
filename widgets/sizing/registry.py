"""The table of calculations that ``sizing.api.run`` exposes, filled by ``@calculation("name")`` in each module.

A calculation takes a dict of raw parameters (untrusted: validate with ``sizing.validation``) and returns a flat
dict of outputs whose names carry their units (``ttft_ms``), optionally with ``derivations`` (field → Derivation)
and ``warnings`` (list of sentences).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Calculation = Callable[[dict[str, Any]], dict[str, Any]]
CALCULATIONS: dict[str, Calculation] = {}


def calculation(name: str) -> Callable[[Calculation], Calculation]:
    def register(function: Calculation) -> Calculation:
        if name in CALCULATIONS:
            raise RuntimeError(f"calculation {name!r} registered twice")
        CALCULATIONS[name] = function
        return function

    return register
