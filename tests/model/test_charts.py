"""sizing.charts: the SVG both the build and the browser draw from a result."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sizing import charts

LINE = {
    "title": "Latency <against> load",
    "points": "curve",
    "x": {"field": "concurrency", "label": "Concurrent requests", "scale": "log"},
    "y": [{"field": "ttft_ms", "label": "TTFT"}, {"field": "tpot_ms", "label": "TPOT"}],
    "rules": [{"field": "ttft_slo_ms", "label": "TTFT SLO"}],
    "markers": [{"field": "knee_concurrency", "label": "Knee"}],
}
RESULT = {
    "curve": [{"concurrency": c, "ttft_ms": 50.0 + c, "tpot_ms": 10.0 + c / 8} for c in (1, 2, 4, 8, 16, 32, 64)],
    "ttft_slo_ms": 100.0,
    "knee_concurrency": 16,
}
NS = "{http://www.w3.org/2000/svg}"


def _tree(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def test_line_chart_draws_every_series_point_rule_and_marker():
    root = _tree(charts.svg(LINE, RESULT))
    assert root.tag == f"{NS}svg" and root.get("role") == "img"
    assert len(root.findall(f".//{NS}path")) == 2
    assert len(root.findall(f".//{NS}circle")) == 14  # seven points for each of two series
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "TTFT SLO 100 ms" in texts and "Knee 16" in texts
    tips = [c.find(f"{NS}title").text for c in root.iter(f"{NS}circle")]
    assert "TTFT: 114 ms at 64" in tips


def test_log_axis_ticks_are_powers_of_two_over_a_short_range():
    assert charts.log_ticks(1, 64) == [1, 2, 4, 8, 16, 32, 64]
    assert charts.log_ticks(1, 1e6)[:3] == [1, 10, 100]


def test_nice_ticks_are_round():
    assert charts.nice_ticks(0, 97) == [0, 20, 40, 60, 80]
    assert charts.nice_ticks(0, 0.9) == [0, 0.2, 0.4, 0.6, 0.8]


def test_text_is_escaped():
    result = {**RESULT, "stages": [{"label": "<script>alert(1)</script>", "latency_ms": 12.0}], "slo_ms": 40.0}
    svg = charts.svg({"kind": "bars", "title": "<b>", "points": "stages", "y": [{"field": "latency_ms", "label": "ms"}],
                      "rules": [{"field": "slo_ms", "label": "SLO"}]}, result)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert _tree(svg).find(f".//{NS}rect") is not None
    assert "<against>" not in charts.svg(LINE, RESULT)


def test_problems_are_named():
    with pytest.raises(charts.ChartError, match="mixes units"):
        charts.svg({**LINE, "y": [{"field": "ttft_ms"}, {"field": "output_tokens_per_s"}]}, RESULT)
    with pytest.raises(charts.ChartError, match="no field 'ttft_slo_ms'"):
        charts.svg(LINE, {"curve": RESULT["curve"]})
    with pytest.raises(charts.ChartError, match="not a list"):
        charts.svg(LINE, {**RESULT, "curve": 3})


def test_log_y_spaces_by_ratio_and_drops_points_at_zero():
    chart = {**LINE, "y_scale": "log", "y": [{"field": "ttft_ms", "label": "TTFT"}], "rules": [], "markers": []}
    result = {"curve": [{"concurrency": c, "ttft_ms": v} for c, v in ((1, 1.0), (2, 10.0), (4, 100.0), (8, 0.0))]}
    root = _tree(charts.svg(chart, result))
    circles = root.findall(f".//{NS}circle")
    assert len(circles) == 3  # the zero has no place on a log scale
    y = [float(c.get("cy")) for c in circles]
    assert y[0] - y[1] == pytest.approx(y[1] - y[2], abs=0.2)  # equal ratios, equal steps
    ticks = [t.text for t in root.iter(f"{NS}text") if t.get("class") == "hb-chart__tick" and t.get("text-anchor") == "end"]
    assert "1 ms" in ticks and "64 ms" in ticks  # log_ticks: powers of two across a short range


def test_log_y_axis_places_decades_evenly_and_skips_zeros():
    chart = {"title": "t", "points": "curve", "x": {"field": "message_bytes", "scale": "log"}, "y_scale": "log",
             "y": [{"field": "time_us", "label": "Total"}, {"field": "latency_term_us", "label": "Latency"}],
             "markers": [{"field": "crossover_bytes", "label": "Crossover"}]}
    result = {"curve": [{"message_bytes": 10.0**k, "time_us": 10.0**k, "latency_term_us": 0.0} for k in range(1, 6)],
              "crossover_bytes": 1000.0}
    root = _tree(charts.svg(chart, result))
    points = [(float(c.get("cx")), float(c.get("cy"))) for c in root.iter(f"{NS}circle")]
    assert len(points) == 5  # the zero latency terms are left out, not drawn at the bottom
    gaps = [points[i][1] - points[i + 1][1] for i in range(4)]
    assert gaps[0] > 0 and max(gaps) - min(gaps) < 0.5  # each decade the same height on a log axis (0.1 px rounding)
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "Crossover 1 KB" in texts
    # all zero: the axis falls back to linear rather than failing
    flat = {"curve": [{"message_bytes": 1.0, "time_us": 0.0, "latency_term_us": 0.0}], "crossover_bytes": 0.0}
    _tree(charts.svg(chart, flat))


def test_bar_rule_label_clears_the_legend():
    chart = {"kind": "bars", "title": "t", "points": "stages", "rules": [{"field": "cap_bytes", "label": "One GPU"}],
             "y": [{"field": "total_bytes", "label": "Total"}, {"field": "part_bytes", "label": "Part"}]}
    result = {"stages": [{"label": "A", "total_bytes": 2e9, "part_bytes": 1e9}], "cap_bytes": 1.5e9}
    root = _tree(charts.svg(chart, result))
    legend_bottom = max(float(r.get("y")) + float(r.get("height")) for r in root.iter(f"{NS}rect")
                        if "hb-chart__swatch" in r.get("class", ""))
    rule_label = next(t for t in root.iter(f"{NS}text") if t.text.startswith("One GPU"))
    assert float(rule_label.get("y")) - 10 > legend_bottom  # the label's cap height sits below the swatches


def test_time_ticks_stay_round_numbers():
    # a tick at 100 s would otherwise read "1.67 min"; whole minutes and hours keep their unit; tooltips are unchanged
    assert charts._tick_label("time_us", 100e6) == "100 s"
    assert charts._tick_label("time_us", 1000e6) == "1,000 s"
    assert charts._tick_label("time_us", 120e6) == "2 min"
    assert charts._tick_label("time_us", 7200e6) == "2 h"
    assert charts._tick_label("time_us", 10e6) == "10 s"
    assert charts._tick_label("ttft_ms", 500.0) == "500 ms"
    assert charts._label("time_us", 100e6) == "1.67 min"
    chart = {"title": "t", "points": "curve", "x": {"field": "message_bytes", "scale": "log"},
             "y": [{"field": "time_us"}], "y_scale": "log"}
    result = {"curve": [{"message_bytes": 10.0**k, "time_us": 10.0**k} for k in range(3, 10)]}
    texts = [t.text for t in _tree(charts.svg(chart, result)).iter(f"{NS}text")]
    assert "100 s" in texts and "1.67 min" not in texts
