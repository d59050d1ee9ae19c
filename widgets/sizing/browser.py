"""What the widgets call in Pyodide besides ``sizing.api.run``: formatted texts and charts for a result.

Both take and return JSON text, like ``api.run``, so nothing but strings crosses into JavaScript. ``warm`` loads the
catalogs and scenarios once, so the memory snapshot the build takes of a booted interpreter already holds them.
"""

from __future__ import annotations

import json

from . import api, catalog, charts, scenarios
from .formatting import format_field


def display(result_json: str) -> str:
    """Every numeric field of a result, formatted as the site formats it (field name → text)."""
    out = {}
    for name, value in json.loads(result_json).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                out[name] = format_field(name, value)
            except ValueError:
                pass
    return json.dumps(out)


def chart(spec_json: str, result_json: str) -> str:
    """The SVG text of one chart spec drawn from a result, or "" when the result cannot be drawn."""
    try:
        return charts.svg(json.loads(spec_json), json.loads(result_json))
    except (charts.ChartError, KeyError, TypeError, ValueError):
        return ""


def warm() -> int:
    """Load what every calculation reads (catalogs, scenarios) and return how many calculations there are."""
    catalog.models(), catalog.gpus(), catalog.precisions()
    scenarios.builtin()
    return len(api.names())
