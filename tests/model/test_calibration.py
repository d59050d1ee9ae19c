"""The model against every usable published measurement (widgets/sizing/data/measurements.json).

Bars (from the brief): median absolute error ≤ 15% on offline throughput, ≤ 20% on latency metrics, and no row
off by more than 2×. Kernel and all-reduce rows test the efficiency and communication pieces on their own.
"""

import json
import math
import statistics

import pytest

from sizing import api, calibration, catalog

CHECKS = calibration.report()
OK = [c for c in CHECKS if c.status == "ok"]


def _ratio(c):
    return max(c.predicted / c.measured, c.measured / c.predicted)


def test_every_row_is_predicted_or_skipped_with_a_reason():
    rows = calibration.measurements()
    assert {c.id for c in CHECKS} == {r["id"] for r in rows}
    for c in CHECKS:
        if c.status != "ok":
            assert c.reason, c.id


def test_rows_skip_only_for_catalog_gaps():
    for c in CHECKS:
        if c.status != "ok":
            assert "unknown" in c.reason, (c.id, c.reason)  # a model/GPU the catalog does not have yet


def test_rows_keep_their_source():
    for row in calibration.measurements():
        assert row.get("source"), row["id"]


@pytest.mark.parametrize("group, bar", [("throughput", 0.15), ("latency", 0.20), ("kernel", 0.15), ("collective", 0.20)])
def test_median_error(group, bar):
    errors = [abs(c.error) for c in OK if c.group == group]
    assert len(errors) >= 6, group
    assert statistics.median(errors) <= bar, (group, statistics.median(errors))


@pytest.mark.parametrize("check", OK, ids=lambda c: f"{c.id}-{c.metric}")
def test_no_row_off_by_more_than_2x(check):
    assert check.predicted > 0
    assert _ratio(check) <= 2.0, (check.id, check.metric, check.measured, check.predicted)


def test_offline_throughput_rows_all_used():
    offline = [r["id"] for r in calibration.measurements() if "offline" in r["scenario"]]
    used = {c.id for c in OK if c.group == "throughput"}
    missing = [i for i in offline if i not in used and catalog.models().get(
        next(r for r in calibration.measurements() if r["id"] == i)["model"])]
    assert not missing


def test_modes_are_read_from_the_scenarios():
    assert calibration.mode_of({"scenario": "offline max throughput (infinite request rate)"}) == ("max_throughput", 0.0)
    assert calibration.mode_of({"scenario": "online, offered QPS=16"}) == ("rate", 16.0)
    assert calibration.mode_of({"scenario": "online, offered QPS=INF", "requests": 500}) == ("batch", 500.0)
    assert calibration.mode_of({"scenario": "NIM concurrency 25"}) == ("concurrency", 25.0)
    assert calibration.mode_of({"scenario": "static batch=256"}) == ("batch", 256.0)
    # an MLPerf-style server run delivers its offered rate: 29,000 tokens/s ÷ 290 tokens = 100 requests/s
    server = {"scenario": "Server", "output_tokens": 290, "metric": "tokens_per_s", "value": 29000}
    assert calibration.mode_of(server) == ("rate", pytest.approx(100.0))
    assert isinstance(calibration.mode_of({"scenario": "something else"}), str)


def test_unusable_rows_are_skipped_not_raised():
    rows = [
        {"id": "z1", "model": "no-such-model", "gpu": "h100-sxm", "gpus": 1, "tp": 1, "weights": "fp8", "kv": "fp8",
         "input_tokens": 10, "output_tokens": 10, "scenario": "offline", "metric": "output_tokens_per_s_total", "value": 5},
        {"id": "z2", "model": "llama-3.1-8b", "gpu": "h100-sxm", "gpus": 1, "tp": 1, "weights": "fp8", "kv": "fp8",
         "input_tokens": "ShareGPT", "output_tokens": 10, "scenario": "offline", "metric": "output_tokens_per_s_total",
         "value": 5},
        {"id": "z3", "model": "llama-3.1-8b", "gpu": "h100-sxm", "gpus": 16, "tp": 16, "weights": "fp8", "kv": "fp8",
         "input_tokens": 10, "output_tokens": 10, "scenario": "offline", "metric": "output_tokens_per_s_total", "value": 5},
        {"id": "z4", "gpu": "h100-sxm", "scenario": "kernel microbenchmark", "metric": "kernel_time_ms_median", "value": 1},
        {"id": "z5"},
    ]
    checks = calibration.report(rows)
    assert [c.status for c in checks] == ["skipped"] * 5
    assert "unknown model" in checks[0].reason
    assert "not fixed numbers" in checks[1].reason
    assert "must be at most 8" in checks[2].reason


def test_model_outside_the_catalog_from_its_architecture():
    # FasterTransformer's GPT-13B is not a catalog model; the row carries its config (40 layers, d 5120, MHA)
    row = next(r for r in calibration.measurements() if r["id"] == "m106")
    assert row["architecture"]["layers"] == 40
    assert any(c.id == "m106" and c.status == "ok" for c in CHECKS)


def test_report_rows_have_the_page_fields():
    row = CHECKS[0]
    for field in ("id", "description", "metric", "measured", "predicted", "error"):
        assert hasattr(row, field)
    assert row.error == pytest.approx(row.predicted / row.measured - 1)


def test_accuracy_calculation():
    out = json.loads(api.run("accuracy", "{}"))
    assert out["rows_checked"] == len(OK)
    assert out["throughput_median_error"] == pytest.approx(statistics.median(abs(c.error) for c in OK if c.group == "throughput"))
    assert out["worst_ratio_x"] == pytest.approx(max(_ratio(c) for c in OK))
    assert len(out["rows"]) == len(CHECKS)
    assert all(math.isfinite(r["predicted"]) for r in out["rows"])
    assert json.loads(api.run("accuracy", '{"x": 1}'))["error"]["field"] == "x"


def test_rows_in_other_notations_are_read():
    # weights/KV written together, engine spellings of precisions, latency columns named by other harnesses
    assert calibration._precision({"weights": "FP4/FP8"}, "weights").id == "fp4"
    assert calibration._precision({"weights": "FP4/FP8"}, "kv").id == "fp8"
    assert calibration._precision({"weights": "NVFP4", "kv": "FP8"}, "weights").id == "fp4"
    assert calibration._precision({"weights": "int4"}, "kv").id == "bf16"
    assert calibration._latency_metric("avg_latency_s") == ("e2e_ms", 1000.0)
    assert calibration._latency_metric("median_tpot_ms") == ("tpot_ms", 1.0)
    assert calibration._latency_metric("latency_ms_p99") is None  # tails are not predicted
    row = {"id": "z6", "model": "llama-3.1-405b", "gpu": "h100-sxm", "gpus": 16, "tp": 8, "pp": 2, "weights": "fp8",
           "input_tokens": 100, "output_tokens": 100, "scenario": "offline", "metric": "output_tokens_per_s_total",
           "value": 5}
    assert "pipeline" in calibration.report([row])[0].reason
    vllm = {"id": "z7", "model": "llama-3.1-8b", "gpu": "h200", "gpus": 1, "tp": 1, "weights": "bf16",
            "input_tokens": 32, "output_tokens": 128, "engine": "vLLM benchmark_latency", "scenario": "batch size 8",
            "metric": "avg_latency_s", "value": 1.0}
    check = calibration.report([vllm])[0]
    assert check.status == "ok" and check.metric == "e2e_ms" and check.measured == 1000.0
