"""Charts as SVG text, drawn from a calculation's result: the one renderer the site build and the browser share.

A chart spec (from a calculator's spec file) names the fields to draw; the result supplies the numbers:

* ``kind: "line"`` (default): ``points`` is a result field holding a list of objects; ``x`` is
  ``{"field", "label", "scale": "linear" | "log"}``; ``y`` is a list of ``{"field", "label"}`` series that share
  one unit family; ``y_scale: "log"`` draws them on a log axis (values that are not positive are left out, and
  the axis falls back to linear when none is); ``rules`` are horizontal lines and ``markers`` vertical lines at
  scalar result fields.
* ``kind: "bars"``: ``points`` holds objects with a ``label`` text and the ``y`` fields; each point is a group of
  horizontal bars; ``rules`` are vertical lines at scalar result fields (an SLO against stage latencies).

Colours are CSS classes (``hb-chart__series--N``), so the theme (light, dark, print) decides them. Every text is
escaped; numbers are formatted by :mod:`sizing.formatting` from the field names, as everywhere else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from .formatting import format_field, format_quantity, unit_for_field

WIDTH = 640
LINE_HEIGHT = 300
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 78, 24, 40, 48
BAR_HEIGHT, BAR_GAP, GROUP_GAP = 16, 3, 12
LABEL_WIDTH = 150  # room for stage names left of horizontal bars
TICK_CHAR_WIDTH = 6.2  # approximate width of one character of a tick label, in SVG units


class ChartError(ValueError):
    """A chart spec that does not match the result (a missing field, no points)."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _scalar(result: Mapping[str, Any], field: str) -> float | None:
    if field not in result:
        raise ChartError(f"the result has no field {field!r}")
    return _number(result[field])


def _points(chart: Mapping[str, Any], result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    points = result.get(chart["points"])
    if not isinstance(points, list):
        raise ChartError(f"the result field {chart['points']!r} is not a list of points")
    return [p for p in points if isinstance(p, Mapping)]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 × a power of ten) covering [low, high]."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        if value >= low - step * 1e-9:
            ticks.append(round(value, 12))
        value += step
    return ticks


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of two across a short range, powers of ten across a long one."""
    base = 2.0 if high / low <= 4096 else 10.0
    start = math.floor(math.log(low, base) + 1e-9)
    stop = math.ceil(math.log(high, base) - 1e-9)
    ticks = [base**k for k in range(start, stop + 1)]
    if len(ticks) > 9:  # thin a long ladder
        stride = math.ceil(len(ticks) / 8)
        ticks = ticks[::stride]
    return ticks


def _label(field: str, value: float) -> str:
    try:
        return format_field(field, value, digits=3)
    except ValueError:
        return f"{value:g}"


_WHOLE_TIME_UNITS_S = (60.0, 3600.0, 86400.0)  # min, h, days


def _tick_label(field: str, value: float) -> str:
    """A tick's label: as ``_label``, except that a time of a minute or more that is not a whole number of minutes,
    hours or days stays in seconds. Ticks are round in seconds (a log axis has one at 100 s), and "1.67 min" is not a
    round number to read an axis by."""
    unit, scale = unit_for_field(field)
    seconds = value * scale
    if unit == "s" and seconds >= 60.0 and not any(
            seconds >= size and abs(seconds / size - round(seconds / size)) < 1e-9 for size in _WHOLE_TIME_UNITS_S):
        return format_quantity(seconds, "s", digits=3, force="s")
    return _label(field, value)


def _text(x: float, y: float, text: str, css: str, anchor: str = "middle", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" class="{css}" text-anchor="{anchor}"{extra}>{escape(text)}</text>')


def _frame(title: str, height: int, body: list[str]) -> str:
    return (
        f'<svg class="hb-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _legend(series: Sequence[Mapping[str, Any]], extra: Sequence[tuple[str, str]] = ()) -> list[str]:
    parts, x = [], MARGIN_LEFT
    items = [(f"hb-chart__series--{i}", s.get("label", s["field"]), "swatch") for i, s in enumerate(series)]
    items += [(css, label, "dash") for css, label in extra]
    for css, label, shape in items:
        if shape == "swatch":
            parts.append(f'<rect x="{x}" y="14" width="12" height="12" class="{css} hb-chart__swatch"/>')
        else:
            parts.append(f'<line x1="{x}" y1="20" x2="{x + 12}" y2="20" class="{css}"/>')
        parts.append(_text(x + 16, 24, label, "hb-chart__legend", "start"))
        x += 16 + 7 * len(label) + 18
    return parts


def line_chart(chart: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    points = _points(chart, result)
    x_spec, series = chart["x"], list(chart["y"])
    log_x = x_spec.get("scale") == "log"
    rows = []
    for p in points:
        x = _number(p.get(x_spec["field"]))
        if x is None or (log_x and x <= 0):
            continue
        rows.append((x, [_number(p.get(s["field"])) for s in series]))
    if not rows:
        raise ChartError(f"no point of {chart['points']!r} has a usable {x_spec['field']!r}")
    rules = [(r, _scalar(result, r["field"])) for r in chart.get("rules", [])]
    markers = [(m, _scalar(result, m["field"])) for m in chart.get("markers", [])]
    xs = [x for x, _ in rows]
    ys = [y for _, values in rows for y in values if y is not None]
    ys += [v for _, v in rules if v is not None]
    x_low, x_high = min(xs), max(xs)
    if x_high == x_low:
        x_high = x_low * 2 if log_x else x_low + 1
    positive = [y for y in ys if y > 0]
    log_y = chart.get("y_scale") == "log" and bool(positive)
    if log_y:
        y_low, y_high = min(positive) / 1.25, max(positive) * 1.25
        if y_high / y_low < 10:  # at least one decade, so the axis has ticks to read
            middle = math.sqrt(y_low * y_high)
            y_low, y_high = middle / math.sqrt(10), middle * math.sqrt(10)
        rows = [(x, [y if y is not None and y > 0 else None for y in values]) for x, values in rows]
    else:
        y_low = 0.0
        y_high = max(ys) * 1.08 if ys and max(ys) > 0 else 1.0
    y_field = series[0]["field"]
    height = LINE_HEIGHT
    y_ticks = [t for t in (log_ticks(y_low, y_high) if log_y else nice_ticks(0.0, y_high)) if y_low <= t <= y_high]
    # Long tick labels ("$2.10 per 1M tokens") widen the left margin instead of running off the drawing.
    widest = max((len(_tick_label(y_field, t)) for t in y_ticks), default=0)
    left = max(MARGIN_LEFT, math.ceil(12 + TICK_CHAR_WIDTH * widest))
    right, top, bottom = WIDTH - MARGIN_RIGHT, MARGIN_TOP, height - MARGIN_BOTTOM

    def px(x: float) -> float:
        if log_x:
            return left + (math.log(x) - math.log(x_low)) / (math.log(x_high) - math.log(x_low)) * (right - left)
        return left + (x - x_low) / (x_high - x_low) * (right - left)

    def py(y: float) -> float:
        if log_y:
            return bottom - (math.log(y) - math.log(y_low)) / (math.log(y_high) - math.log(y_low)) * (bottom - top)
        return bottom - y / y_high * (bottom - top)

    body: list[str] = []
    for tick in y_ticks:
        body.append(f'<line x1="{left}" y1="{py(tick):.1f}" x2="{right}" y2="{py(tick):.1f}" class="hb-chart__grid"/>')
        body.append(_text(left - 6, py(tick) + 4, _tick_label(y_field, tick), "hb-chart__tick", "end"))
    x_ticks = log_ticks(x_low, x_high) if log_x else nice_ticks(x_low, x_high)
    for tick in x_ticks:
        if not x_low <= tick <= x_high * (1 + 1e-9):
            continue
        body.append(f'<line x1="{px(tick):.1f}" y1="{bottom}" x2="{px(tick):.1f}" y2="{bottom + 4}" class="hb-chart__axis"/>')
        body.append(_text(px(tick), bottom + 17, _tick_label(x_spec["field"], tick), "hb-chart__tick"))
    body.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" class="hb-chart__axis"/>')
    body.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" class="hb-chart__axis"/>')
    body.append(_text((left + right) / 2, height - 8, x_spec.get("label", x_spec["field"]), "hb-chart__axis-label"))
    x_labels = {x: _label(x_spec["field"], x) for x, _ in rows}  # every series' tooltips name the same loads
    for index, s in enumerate(series):
        css = f"hb-chart__series--{index}"
        path = [(px(x), py(values[index]), x, values[index]) for x, values in rows if values[index] is not None]
        if not path:
            continue
        d = " ".join(f"{'M' if i == 0 else 'L'}{a:.1f},{b:.1f}" for i, (a, b, _, _) in enumerate(path))
        body.append(f'<path d="{d}" class="{css} hb-chart__line"/>')
        for a, b, x, y in path:
            tip = f"{s.get('label', s['field'])}: {_label(s['field'], y)} at {x_labels[x]}"
            body.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" class="{css} hb-chart__point">'
                        f"<title>{escape(tip)}</title></circle>")
    for rule, value in rules:
        if value is None or not y_low <= value <= y_high or (log_y and value <= 0):
            continue
        label = f"{rule.get('label', rule['field'])} {_label(rule['field'], value)}"
        body.append(f'<line x1="{left}" y1="{py(value):.1f}" x2="{right}" y2="{py(value):.1f}" class="hb-chart__rule"/>')
        body.append(_text(right - 4, py(value) - 5, label, "hb-chart__rule-label", "end"))
    for index, (marker, value) in enumerate(markers):
        if value is None or not x_low <= value <= x_high or (log_x and value <= 0):
            continue
        label = f"{marker.get('label', marker['field'])} {_label(marker['field'], value)}"
        # right of the line in the left half, left of it in the right half; one text row per marker
        right_half = px(value) > (left + right) / 2
        body.append(f'<line x1="{px(value):.1f}" y1="{top}" x2="{px(value):.1f}" y2="{bottom}" class="hb-chart__marker"/>')
        body.append(_text(px(value) + (-4 if right_half else 4), top + 12 + 14 * index, label,
                          "hb-chart__marker-label", "end" if right_half else "start"))
    extra = [("hb-chart__rule", "limit")] if any(v is not None for _, v in rules) else []
    return _frame(chart.get("title", ""), height, _legend(series, extra) + body)


def bar_chart(chart: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    points = _points(chart, result)
    series = list(chart["y"])
    rules = [(r, _scalar(result, r["field"])) for r in chart.get("rules", [])]
    if not points:
        raise ChartError(f"the result field {chart['points']!r} has no points")
    values = [_number(p.get(s["field"])) for p in points for s in series]
    values += [v for _, v in rules if v is not None]
    high = max([v for v in values if v is not None] + [0.0])
    high = high * 1.08 if high > 0 else 1.0
    group = len(series) * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP
    # a legend (several series) and rule labels both sit above the bars: give the labels a row of their own
    lift = 16 if len(series) > 1 and rules else 0
    height = MARGIN_TOP + lift + len(points) * group + MARGIN_BOTTOM
    left, right, top, bottom = MARGIN_LEFT + LABEL_WIDTH, WIDTH - MARGIN_RIGHT, MARGIN_TOP + lift, height - MARGIN_BOTTOM
    value_field = series[0]["field"]

    def px(v: float) -> float:
        return left + v / high * (right - left)

    body: list[str] = []
    for tick in nice_ticks(0.0, high):
        if tick > high:
            continue
        body.append(f'<line x1="{px(tick):.1f}" y1="{top}" x2="{px(tick):.1f}" y2="{bottom}" class="hb-chart__grid"/>')
        body.append(_text(px(tick), bottom + 17, _tick_label(value_field, tick), "hb-chart__tick"))
    for row, point in enumerate(points):
        y0 = top + row * group
        body.append(_text(left - 8, y0 + len(series) * (BAR_HEIGHT + BAR_GAP) / 2 + 4,
                          str(point.get("label", "")), "hb-chart__tick", "end"))
        for index, s in enumerate(series):
            value = _number(point.get(s["field"]))
            if value is None:
                continue
            y = y0 + index * (BAR_HEIGHT + BAR_GAP)
            tip = f"{point.get('label', '')} — {s.get('label', s['field'])}: {_label(s['field'], value)}"
            body.append(f'<rect x="{left}" y="{y}" width="{max(px(value) - left, 0.5):.1f}" height="{BAR_HEIGHT}" '
                        f'class="hb-chart__series--{index} hb-chart__bar"><title>{escape(tip)}</title></rect>')
    body.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" class="hb-chart__axis"/>')
    body.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" class="hb-chart__axis"/>')
    for rule, value in rules:
        if value is None or not 0 <= value <= high:
            continue
        label = f"{rule.get('label', rule['field'])} {_label(rule['field'], value)}"
        body.append(f'<line x1="{px(value):.1f}" y1="{top - 6}" x2="{px(value):.1f}" y2="{bottom}" class="hb-chart__rule"/>')
        body.append(_text(px(value) - 4, top - 10, label, "hb-chart__rule-label", "end"))
    body.append(_text((left + right) / 2, height - 8, chart.get("value_label", series[0].get("label", "")),
                      "hb-chart__axis-label"))
    legend = _legend(series) if len(series) > 1 else []
    return _frame(chart.get("title", ""), height, legend + body)


def svg(chart: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    """The chart as one SVG element (text). Raises ChartError when the result lacks what the spec names."""
    families = {unit_for_field(s["field"])[0] for s in chart["y"]}
    if len(families) > 1:
        raise ChartError(f"chart {chart.get('title', '')!r} mixes units ({', '.join(sorted(families))}): "
                         "draw one chart per unit")
    if chart.get("kind", "line") == "bars":
        return bar_chart(chart, result)
    return line_chart(chart, result)
