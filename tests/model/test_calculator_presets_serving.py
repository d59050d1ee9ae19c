"""Preset links from chapters open the Serving latency and Fleet & cost calculators with every field set, and the
preset reproduces the chapter's own scenario (a field the preset left out would take the calculator's default)."""

import json
from pathlib import Path

import pytest

from sizing import api, scenarios

SPECS = Path(__file__).resolve().parents[2] / "widgets" / "calculators"
FLEET_FIELDS = ("gpus", "cost_usd_per_month", "blended_usd_per_million_tokens", "ttft_p95_ms", "tpot_ms", "headroom")
ESTIMATE_FIELDS = ("ttft_ms", "tpot_ms", "e2e_ms", "output_tokens_per_s", "requests_per_s", "max_concurrency")
PAIRS = [
    ("calculator-fleet-cost-launch-70b", "serving-launch-70b", FLEET_FIELDS),
    ("calculator-fleet-cost-chat-70b", "fleet-chat-70b", FLEET_FIELDS),
    ("calculator-fleet-cost-disagg-tight", "serving-disagg-tight", FLEET_FIELDS),
    ("calculator-fleet-cost-frameworks", "frameworks-chat-fleet", FLEET_FIELDS),
    ("calculator-serving-latency", "llmops-replica-nominal", ESTIMATE_FIELDS),
    ("calculator-serving-latency-continuous", "llmops-continuous-batch", ESTIMATE_FIELDS),
    ("calculator-serving-latency-frameworks", "frameworks-chat-replica", ESTIMATE_FIELDS),
]


def _run(name):
    scenario = scenarios.builtin()[name]
    return api.compute(scenario.calculation, scenario.params())


@pytest.mark.parametrize("preset, chapter, keys", PAIRS)
def test_preset_reproduces_the_chapter_scenario(preset, chapter, keys):
    mine, theirs = _run(preset), _run(chapter)
    for key in keys:
        assert mine[key] == pytest.approx(theirs[key], rel=1e-12), key


@pytest.mark.parametrize("preset", sorted({p for p, _, _ in PAIRS}))
def test_preset_sets_every_field_of_its_calculator(preset):
    scenario = scenarios.builtin()[preset]
    widget = "fleet-cost" if scenario.calculation == "fleet" else "serving-latency"
    fields = {f["name"] for f in json.loads((SPECS / f"{widget}.json").read_text())["fields"]}
    assert fields <= set(scenario.params()), fields - set(scenario.params())
