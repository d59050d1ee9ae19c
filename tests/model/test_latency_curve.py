"""The latency curve: every point is `estimate` at that load, the knee and the SLO limit follow their definitions."""

import json
import math

import pytest

from sizing import api, latency_curve
from sizing.serving import Replica
from sizing import catalog
from sizing.memory import Deployment

# Llama 3.1 70B in FP8 on two H100s (FP8 KV by default), 1,000 prompt and 300 output tokens: the replica the
# LLMOps chapter runs at five, eight and ten requests per second.
BASE = {"model": "llama-3.1-70b", "gpu": "h100-sxm", "tp": 2, "weights": "fp8", "input_tokens": 1000,
        "output_tokens": 300, "ttft_slo_ms": 800, "tpot_slo_ms": 40}
ESTIMATE_KEYS = ("ttft_ms", "tpot_ms", "e2e_ms", "output_tokens_per_s", "requests_per_s", "queue_ms", "concurrency")


def curve(**params):
    out = json.loads(api.run("latency_curve", json.dumps({**BASE, **params})))
    assert "error" not in out, out
    return out


def error(**params):
    out = json.loads(api.run("latency_curve", json.dumps({**BASE, **params})))
    assert "error" in out, out
    return out["error"]


def estimate(sweep, load):
    mode = {"concurrency": int(load)} if sweep == "concurrency" else {"rate": load}
    params = {k: v for k, v in BASE.items() if not k.endswith("_slo_ms")}
    out = json.loads(api.run("estimate", json.dumps({**params, "gpus": BASE["tp"], **mode})))
    assert "error" not in out, out
    return out


@pytest.fixture(scope="module")
def by_rate():
    return curve(sweep="rate", request_rate=5)


@pytest.fixture(scope="module")
def by_clients():
    return curve(sweep="concurrency", concurrency=64)


@pytest.mark.parametrize("sweep", ["rate", "concurrency"])
def test_every_point_is_estimate_at_that_load(sweep, by_rate, by_clients):
    out = by_rate if sweep == "rate" else by_clients
    assert 8 <= len(out["curve"]) <= 64
    for point in out["curve"]:
        expected = estimate(sweep, point["load"])
        for key in ESTIMATE_KEYS:
            assert point[key] == pytest.approx(expected[key], rel=1e-12, abs=1e-12), (sweep, point["load"], key)


@pytest.mark.parametrize("sweep", ["rate", "concurrency"])
def test_the_operating_point_is_estimate_at_the_chosen_load(sweep, by_rate, by_clients):
    out = by_rate if sweep == "rate" else by_clients
    expected = estimate(sweep, 5 if sweep == "rate" else 64)
    for key in ESTIMATE_KEYS + ("weights_gb_per_gpu", "max_concurrency", "kv_capacity_tokens"):
        assert out[key] == pytest.approx(expected[key], rel=1e-12), key
    assert out["derivations"]["ttft_ms"]["result"] == pytest.approx(out["ttft_ms"] / 1e3)


@pytest.mark.parametrize("sweep", ["rate", "concurrency"])
def test_latency_and_throughput_never_fall_as_load_rises(sweep, by_rate, by_clients):
    points = (by_rate if sweep == "rate" else by_clients)["curve"]
    loads = [p["load"] for p in points]
    assert loads == sorted(loads) and len(set(loads)) == len(loads)
    for key in ("ttft_ms", "tpot_ms", "e2e_ms", "requests_per_s", "output_tokens_per_s", "queue_ms"):
        values = [p[key] for p in points]
        assert all(b >= a - 1e-9 * abs(a) for a, b in zip(values, values[1:])), key
    for p in points:
        # 300 output tokens per request; an open loop serves what it is offered (below saturation)
        assert p["output_tokens_per_s"] == pytest.approx(300 * p["requests_per_s"])
        if sweep == "rate":
            assert p["requests_per_s"] == pytest.approx(p["load"])
            assert p["load"] < by_rate["saturation_requests_per_s"]
        else:
            # sequences in the engine: every client until the KV slots run out, then the slots
            assert p["concurrency"] == min(p["load"], by_clients["max_concurrency"])


def test_closed_loop_knee_is_the_first_client_whose_slot_wait_is_a_quarter_of_ttft(by_clients):
    out = by_clients
    slots = out["max_concurrency"]
    r = Replica(Deployment(catalog.model("llama-3.1-70b"), catalog.gpu("h100-sxm"), 2, catalog.precision("fp8"),
                           catalog.precision("fp8")), 1000, 300)
    full = r.closed_loop(slots)
    assert full["queue_ms"] == 0  # every client up to the last slot starts at once
    # The first client beyond the slots waits (C − slots) × E2E(engine) ÷ slots less the 8 ms it spends outside the
    # engine (Little's law over the loop): E2E(engine) = E2E − overhead at a full engine.
    e2e_engine_s = full["e2e_ms"] / 1e3 - r.overhead_s
    wait_s = 1 * e2e_engine_s / slots - r.overhead_s
    extra = r.closed_loop(slots + 1)
    assert extra["queue_ms"] == pytest.approx(wait_s * 1e3)
    # TTFT = overhead + wait + the engine's TTFT, which does not change beyond the slots
    assert extra["ttft_ms"] == pytest.approx(full["ttft_ms"] + wait_s * 1e3)
    share = wait_s * 1e3 / extra["ttft_ms"]
    assert share >= 0.25  # for this replica: about 102 ms of about 328 ms
    assert out["knee_load"] == slots + 1 == out["knee_concurrency"]


def test_open_loop_knee_is_where_the_slot_wait_reaches_a_quarter_of_ttft(by_rate):
    knee, saturation = by_rate["knee_load"], by_rate["saturation_requests_per_s"]
    at = estimate("rate", knee)
    before = estimate("rate", knee - latency_curve.RATE_TOLERANCE * saturation)
    assert at["queue_ms"] / at["ttft_ms"] >= 0.25 > before["queue_ms"] / before["ttft_ms"]
    assert knee < saturation and by_rate["knee_requests_per_s"] == knee
    # The engine is nearly full there: throughput at the knee is within 2% of the most the replica can serve.
    assert knee > 0.98 * saturation


def test_with_hundreds_of_slots_the_share_chosen_for_the_knee_barely_matters(monkeypatch, by_rate):
    knees = []
    for share in (0.1, 0.5):
        monkeypatch.setattr(latency_curve, "KNEE_QUEUE_SHARE", share)
        knees.append(curve(sweep="rate", request_rate=5)["knee_load"])
    assert knees[0] <= by_rate["knee_load"] <= knees[1]
    assert knees[1] / knees[0] < 1.01


@pytest.mark.parametrize("sweep", ["rate", "concurrency"])
def test_largest_load_within_the_slos(sweep, by_rate, by_clients):
    out = by_rate if sweep == "rate" else by_clients
    limit = out["max_load_within_slo"]
    inside = estimate(sweep, limit)
    assert inside["ttft_ms"] <= 800 and inside["tpot_ms"] <= 40
    step = 1 if sweep == "concurrency" else 2 * latency_curve.RATE_TOLERANCE * out["saturation_requests_per_s"]
    outside = estimate(sweep, limit + step)
    assert outside["ttft_ms"] > 800 or outside["tpot_ms"] > 40
    # TPOT binds first for this replica: at the limit TPOT is at its SLO while TTFT is far below its own
    assert inside["tpot_ms"] == pytest.approx(40, rel=0.01)
    assert out["meets_slo"] is (out["ttft_ms"] <= 800 and out["tpot_ms"] <= 40)


def test_slos_come_back_as_scalars_for_the_chart_rules(by_rate):
    assert by_rate["ttft_slo_ms"] == 800 and by_rate["tpot_slo_ms"] == 40
    assert by_rate["sweep"] == "rate"


def test_a_rate_beyond_saturation_is_reported_and_the_curve_stops_below_it():
    out = curve(sweep="rate", request_rate=20)
    assert out["stable"] is False and out["meets_slo"] is False
    assert any(w.startswith("unstable") for w in out["warnings"])
    assert max(p["load"] for p in out["curve"]) < out["saturation_requests_per_s"]


def test_an_slo_no_load_meets_gives_zero_and_says_so():
    out = curve(sweep="concurrency", tpot_slo_ms=5)
    assert out["max_load_within_slo"] == 0 and out["meets_slo"] is False
    assert any("no load meets both SLOs" in w for w in out["warnings"])


@pytest.mark.parametrize(
    "params, field, words",
    [
        ({"input_tokens": ""}, "input_tokens", "required"),
        ({"request_rate": -1}, "request_rate", "above 0"),
        ({"request_rate": 0}, "request_rate", "above 0"),
        ({"concurrency": 0}, "concurrency", "from 1 to 100,000"),
        ({"concurrency": 1_000_000}, "concurrency", "from 1 to 100,000"),
        ({"ttft_slo_ms": 0}, "ttft_slo_ms", "from 1"),
        ({"sweep": "batch"}, "sweep", "concurrency, rate"),
        ({"tp": 3}, "tp", "divide"),
        ({"model": "llama-3.1-405b", "weights": "bf16", "tp": 1}, "tp", "no room for one 1,300-token sequence"),
        ({"max_throughput": True}, "max_throughput", "unknown parameter"),
    ],
)
def test_bad_inputs_name_the_field_and_the_allowed_range(params, field, words):
    got = error(**params)
    assert got["field"] == field and words in got["message"], got


def test_derivations_show_the_knee_and_the_slo_limit(by_clients):
    knee = by_clients["derivations"]["knee_load"]
    assert knee["result"] == by_clients["knee_load"] and "25%" in knee["substitution"]
    assert by_clients["derivations"]["max_load_within_slo"]["result"] == by_clients["max_load_within_slo"]
    assert math.isfinite(by_clients["unloaded_ttft_ms"]) and by_clients["unloaded_ttft_ms"] < by_clients["ttft_ms"]
