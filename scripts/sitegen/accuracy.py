"""The model against published measurements, as a page block: a log-log chart and a table of every checked row.

``{{ measurements("GROUP") }}`` (GROUP: throughput, latency, kernel, collective or all) renders both. Every number in
the table is a value element whose key (``measurement.<id>.<metric>.<field>``) the ledger records, so the page obeys
the number rule like any other; the chart is an SVG drawn from the same values (numbers inside SVG are graphics).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

GROUPS = ("throughput", "latency", "kernel", "collective")
_COLOURS = {"throughput": "#3f51b5", "latency": "#e65100", "kernel": "#2e7d32", "collective": "#8e24aa"}
_FIELDS = ("description", "measured", "predicted", "error")
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def rows(group: str) -> list[tuple[str, str, str]]:
    """(id, metric, group) of every row the model predicts in ``group`` ("all" for every group)."""
    from sizing import calibration

    if group != "all" and group not in GROUPS:
        raise ValueError(f"unknown group {group!r}; expected all, {', '.join(GROUPS)}")
    return [(c.id, c.metric, c.group) for c in calibration.report() if c.status == "ok" and group in ("all", c.group)]


def keys(row: tuple[str, str, str]) -> dict[str, str]:
    ident, metric, _ = row
    return {name: f"measurement.{ident}.{metric}.{name}" for name in _FIELDS}


def chart_svg(points: list[tuple[float, float, str, str]], *, size: int = 420) -> str:
    """Predicted against measured on log-log axes, with the y = x line and a ±20% band.

    ``points`` are (measured, predicted, group, label). Axes are scaled per chart so every group fits; the values
    differ by units, so the chart shows ratios, which is what the error is.
    """
    margin = 44
    logs = [math.log10(v) for m, p, _, _ in points for v in (m, p) if v > 0]
    low, high = math.floor(min(logs)), math.ceil(max(logs))
    span = max(high - low, 1)

    def at(value: float) -> float:
        return margin + (math.log10(value) - low) / span * (size - 2 * margin)

    def y(value: float) -> float:
        return size - at(value)

    parts = [
        f'<svg class="hb-chart" viewBox="0 0 {size} {size}" role="img" aria-label="Predicted versus measured, log-log">',
        f'<rect x="{margin}" y="{margin}" width="{size - 2 * margin}" height="{size - 2 * margin}" class="hb-chart__frame"/>',
    ]
    band = [(10**low, 10**low * 1.2), (10**high, 10**high * 1.2)]
    lower = [(10**low, 10**low / 1.2), (10**high, 10**high / 1.2)]
    polygon = " ".join(f"{at(x):.1f},{y(v):.1f}" for x, v in band + list(reversed(lower)))
    parts.append(f'<polygon points="{polygon}" class="hb-chart__band"/>')
    parts.append(f'<line x1="{at(10**low):.1f}" y1="{y(10**low):.1f}" x2="{at(10**high):.1f}" y2="{y(10**high):.1f}" class="hb-chart__diagonal"/>')
    for decade in range(low, high + 1):
        position = at(10**decade)
        parts.append(f'<line x1="{position:.1f}" y1="{size - margin}" x2="{position:.1f}" y2="{size - margin + 4}" class="hb-chart__tick"/>')
        label = "10" + str(decade).translate(_SUPERSCRIPT)
        parts.append(f'<text x="{position:.1f}" y="{size - margin + 16}" class="hb-chart__label">{label}</text>')
        parts.append(f'<line x1="{margin - 4}" y1="{y(10**decade):.1f}" x2="{margin}" y2="{y(10**decade):.1f}" class="hb-chart__tick"/>')
        parts.append(f'<text x="{margin - 6}" y="{y(10**decade) + 4:.1f}" class="hb-chart__label hb-chart__label--y">{label}</text>')
    for measured, predicted, group, label in points:
        parts.append(
            f'<circle cx="{at(measured):.1f}" cy="{y(predicted):.1f}" r="3.5" fill="{_COLOURS[group]}" class="hb-chart__point">'
            f"<title>{html.escape(label)}</title></circle>"
        )
    parts.append(f'<text x="{size / 2:.0f}" y="{size - 4}" class="hb-chart__axis">measured</text>')
    parts.append(f'<text x="10" y="{size / 2:.0f}" class="hb-chart__axis" transform="rotate(-90 10 {size / 2:.0f})">predicted</text>')
    legend_y = margin + 14
    for group in GROUPS:
        if any(g == group for _, _, g, _ in points):
            parts.append(f'<circle cx="{margin + 12}" cy="{legend_y - 4}" r="4" fill="{_COLOURS[group]}"/>')
            parts.append(f'<text x="{margin + 22}" y="{legend_y}" class="hb-chart__legend">{group}</text>')
            legend_y += 16
    parts.append("</svg>")
    return "".join(parts)


def block(group: str, evaluate: Callable[[str], Any], span: Callable[[Any, str], str], attr: Callable[[str], str]) -> tuple[str, list[tuple[str, Any, str]]]:
    """The chart and the table for ``group``; returns the HTML and the (key, Value, text) uses for the ledger."""
    uses: list[tuple[str, Any, str]] = []
    table_rows: list[str] = []
    points: list[tuple[float, float, str, str]] = []
    for row in rows(group):
        cells = {}
        values = {}
        for name, key in keys(row).items():
            value = evaluate(key)
            text = value.text()
            uses.append((key, value, text))
            values[name] = value
            cells[name] = span(value, text)
        table_rows.append(
            f"<tr><td><code>{html.escape(row[0])}</code></td><td>{cells['description']}</td>"
            f"<td><code>{html.escape(row[1])}</code></td><td>{cells['measured']}</td><td>{cells['predicted']}</td>"
            f"<td>{cells['error']}</td></tr>"
        )
        points.append((float(values["measured"].raw), float(values["predicted"].raw), row[2], f"{row[0]} {row[1]}"))
    if not table_rows:
        raise ValueError(f"no measurement is predicted in group {group!r}")
    table = (
        f'<div class="hb-measurements" data-group="{attr(group)}"><table>'
        "<thead><tr><th>row</th><th>configuration</th><th>metric</th><th>measured</th><th>predicted</th><th>error</th></tr></thead>"
        f"<tbody>{''.join(table_rows)}</tbody></table></div>"
    )
    return f'<figure class="hb-figure">{chart_svg(points)}</figure>{table}', uses
