"""The browser boundary: ``run(name, params_json) -> str``, JSON in and JSON out.

The site build evaluates its values through the same function the widgets call in Pyodide, so a CPython test of
``run`` proves the page and the widget agree. Bad input never raises: it comes back as
``{"error": {"field": ..., "message": ...}}``.
"""

from __future__ import annotations

import importlib
import json
import math
from typing import Any

from .derivation import Derivation
from .errors import InputError
from .registry import CALCULATIONS

# Modules that register calculations; importing them fills the registry.
_MODULES = ("model_facts", "timeline", "training", "moe", "speculative", "prefix_cache", "loading", "rag", "memory", "comms", "serving", "calibration", "fleet", "latency_curve", "kv_cache", "rag_budget", "offers", "design", "review")

for _name in _MODULES:
    importlib.import_module(f"{__package__}.{_name}")


def names() -> list[str]:
    return sorted(CALCULATIONS)


def _plain(value: Any, path: str) -> Any:
    """Convert a result to JSON-ready data, refusing NaN and infinities (a model bug, never a reader's output)."""
    if isinstance(value, Derivation):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise ArithmeticError(f"non-finite number at {path}")
    return value


def compute(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run a calculation on already-decoded parameters; raises InputError on bad input."""
    if not isinstance(name, str) or name not in CALCULATIONS:
        raise InputError("calculation", f"unknown calculation {name!r}; expected one of {', '.join(names())}")
    if not isinstance(params, dict):
        raise InputError("params", "must be a JSON object of parameter name → value")
    return _plain(CALCULATIONS[name](params), name)


def run(name: str, params_json: str) -> str:
    """JSON in, JSON out. Errors: ``{"error": {"field": ..., "message": ...}}``."""
    try:
        try:
            params = json.loads(params_json) if params_json else {}
        except (TypeError, json.JSONDecodeError) as error:
            raise InputError("params", f"is not valid JSON ({error})") from None
        return json.dumps(compute(name, params), allow_nan=False)
    except InputError as error:
        return json.dumps({"error": {"field": error.field, "message": error.message}})
