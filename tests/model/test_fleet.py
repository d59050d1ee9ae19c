"""Fleet sizing: replicas, GPUs and cost follow from the capacity at the SLO by the stated arithmetic."""

import json
import math

import pytest

from sizing import api, catalog

H100 = catalog.gpu("h100-sxm")
BASE = {"model": "llama-3.1-70b", "gpu": "h100-sxm", "weights": "fp8", "requests_per_s": 20, "input_tokens": 1000,
        "output_tokens": 300, "ttft_p95_slo_ms": 800, "tpot_slo_ms": 40}


def fleet(**params):
    out = json.loads(api.run("fleet", json.dumps({**BASE, **params})))
    assert "error" not in out, out
    return out


def test_replicas_gpus_and_cost_arithmetic():
    out = fleet()
    # replicas = ⌈20 ÷ (capacity × (1 − 0.2))⌉, GPUs = replicas × TP
    assert out["replicas"] == math.ceil(20 / (out["capacity_requests_per_s_per_replica"] * 0.8))
    assert out["gpus"] == out["replicas"] * out["tp"]
    # on demand only: GPUs × price per GPU-hour; a month is 730 h
    assert out["cost_usd_per_hour"] == pytest.approx(out["gpus"] * H100.price_usd_per_hour_on_demand)
    assert out["cost_usd_per_month"] == pytest.approx(out["cost_usd_per_hour"] * 730)
    # blended $/1M tokens = $/s ÷ (20 × 1,300 tokens/s) × 10⁶
    assert out["blended_usd_per_million_tokens"] == pytest.approx(out["cost_usd_per_hour"] / 3600 / (20 * 1300) * 1e6)
    # the input/output split accounts for the whole cost
    assert out["input_usd_per_million_tokens"] * 1000 + out["output_usd_per_million_tokens"] * 300 == pytest.approx(
        out["blended_usd_per_million_tokens"] * 1300)


def test_operating_point_meets_the_slos_with_headroom():
    out = fleet()
    assert out["ttft_p95_ms"] <= 800 and out["tpot_ms"] <= 40
    assert out["headroom"] >= 0.2 - 1e-9
    assert out["utilization"] == pytest.approx(1 - out["headroom"])


def test_more_load_or_tighter_slo_never_needs_fewer_gpus():
    base = fleet()["gpus"]
    assert fleet(requests_per_s=40)["gpus"] >= base
    assert fleet(tpot_slo_ms=25)["gpus"] >= base
    assert fleet(headroom=0.5)["gpus"] >= base


def test_spot_mix_prices():
    out = fleet(spot_fraction=0.5)
    spot = round(out["gpus"] * 0.5)
    assert out["spot_gpus"] == spot and out["on_demand_gpus"] == out["gpus"] - spot
    assert out["cost_usd_per_hour"] == pytest.approx(spot * H100.price_usd_per_hour_spot
                                                     + (out["gpus"] - spot) * H100.price_usd_per_hour_on_demand)
    assert any("spot" in w for w in out["warnings"])


def test_fixed_tp_is_respected():
    assert fleet(tp=8)["tp"] == 8


def test_disaggregated_pools():
    out = fleet(disaggregate=True)
    assert out["gpus"] == out["prefill_gpus"] + out["decode_gpus"]
    assert out["prefill_gpus"] == out["prefill_replicas"] * out["prefill_tp"]
    # KV moved per second: 20 req/s × 1,000 tokens × 163,840 B (FP8 KV of Llama 3.1 70B: 2·80·8·128·1) = 3.2768 GB/s
    assert out["kv_transfer_gb_per_s"] == pytest.approx(20 * 1000 * 163_840 / 1e9)
    # one prompt's cache over the prefill TP group's links at 50 GB/s each
    assert out["kv_transfer_ms"] == pytest.approx(1000 * 163_840 / (out["prefill_tp"] * 50e9) * 1e3)
    assert out["ttft_p95_ms"] <= 800 and out["tpot_ms"] <= 40
    assert out["aggregated_gpus"] > 0


@pytest.mark.parametrize(
    "params, field",
    [
        ({"tpot_slo_ms": 1}, "tpot_slo_ms"),
        ({"requests_per_s": 0}, "requests_per_s"),
        ({"headroom": 0.95}, "headroom"),
        ({"spot_fraction": 2}, "spot_fraction"),
        ({"model": "llama-3.1-405b", "weights": "bf16", "gpu": "a100-40gb"}, "model"),
        ({"tp": 3}, "tp"),
    ],
)
def test_impossible_or_bad_requests_name_the_field(params, field):
    out = json.loads(api.run("fleet", json.dumps({**BASE, **params})))
    assert out["error"]["field"] == field, out


def test_spot_capacity_comes_in_whole_replicas_and_the_warning_checks_what_is_actually_on_spot():
    # A TP group on preempted GPUs cannot serve, so spot is allocated per replica: spot GPUs are a multiple of TP,
    # and the warning compares the share of replicas on spot (not the requested fraction) with the spare capacity.
    base = dict(model="llama-3.1-70b", gpu="h100-sxm", weights="fp8", input_tokens=1000, output_tokens=300,
                ttft_p95_slo_ms=800, tpot_slo_ms=40)
    for rate, spot in ((20, 0.2), (200, 0.18), (200, 0.5)):
        out = api.compute("fleet", {**base, "requests_per_s": rate, "spot_fraction": spot})
        assert out["spot_gpus"] % out["tp"] == 0
        assert out["spot_gpus"] == round(out["replicas"] * spot) * out["tp"]
        assert out["spot_share"] == out["spot_gpus"] / out["gpus"]
        on_spot = out["spot_gpus"] / out["gpus"]
        warned = any("spot" in w for w in out["warnings"])
        assert warned == (on_spot > out["headroom"] + 1e-12), (rate, spot, on_spot, out["headroom"])


def test_the_fleet_is_sized_for_the_peak_and_its_tokens_are_the_average_traffics():
    # 20 req/s on average with a peak 2.5 times that: the same fleet as a flat 50 req/s, running all month …
    peaky = fleet(peak_to_average=2.5)
    flat = fleet(requests_per_s=50)
    assert peaky["peak_requests_per_s"] == pytest.approx(50)
    for key in ("tp", "replicas", "gpus", "cost_usd_per_month", "ttft_p95_ms", "tpot_ms", "headroom"):
        assert peaky[key] == flat[key], key
    # … while it serves the average's tokens: 20 × 1,300 tokens/s, so each token costs 2.5× the flat fleet's
    assert peaky["blended_usd_per_million_tokens"] == pytest.approx(peaky["cost_usd_per_hour"] / 3600 / (20 * 1300) * 1e6)
    assert peaky["blended_usd_per_million_tokens"] == pytest.approx(2.5 * flat["blended_usd_per_million_tokens"])
    # the average uses 20 ÷ (replicas × capacity) of what the fleet can serve within the SLOs
    assert peaky["average_utilization"] == pytest.approx(
        20 / (peaky["replicas"] * peaky["capacity_requests_per_s_per_replica"]))
    assert peaky["average_utilization"] == pytest.approx(peaky["utilization"] / 2.5)
    # what the average alone would need: the flat 20 req/s fleet
    assert peaky["average_load_gpus"] == fleet()["gpus"] < peaky["gpus"]


def test_a_flat_profile_changes_nothing():
    out, explicit = fleet(), fleet(peak_to_average=1)
    assert {k: v for k, v in out.items() if k != "derivations"} == {k: v for k, v in explicit.items() if k != "derivations"}
    assert out["peak_requests_per_s"] == 20 and out["average_load_gpus"] == out["gpus"]


@pytest.mark.parametrize("extra", [{}, {"peak_to_average": 2, "spot_fraction": 0.3}, {"disaggregate": True}])
def test_cost_curve_points_are_the_same_sizing_at_other_rates(extra):
    out = fleet(**extra)
    points = out["curve"]
    rates = [p["requests_per_s"] for p in points]
    # a sixteenth to sixteen times 20 req/s in steps of √2: 17 rates, one of them the input itself
    assert len(points) == 17 and rates[0] == pytest.approx(20 / 16) and rates[-1] == pytest.approx(20 * 16)
    assert all(b / a == pytest.approx(math.sqrt(2)) for a, b in zip(rates, rates[1:]))
    here = points[8]
    assert here["requests_per_s"] == 20 and here["gpus"] == out["gpus"]
    assert here["cost_usd_per_month"] == pytest.approx(out["cost_usd_per_month"])
    assert here["blended_usd_per_million_tokens"] == pytest.approx(out["blended_usd_per_million_tokens"])
    for point in points[::4]:
        again = fleet(**extra, requests_per_s=point["requests_per_s"])
        assert (again["gpus"], again["spot_gpus"]) == (point["gpus"], point["spot_gpus"])
        assert again["cost_usd_per_month"] == pytest.approx(point["cost_usd_per_month"])
    gpus = [p["gpus"] for p in points]
    assert gpus == sorted(gpus)


def test_disaggregated_headroom_is_the_tighter_pools():
    out = fleet(disaggregate=True)
    # capacity of a pool = replicas × capacity per replica; the fleet's spare share is the busier pool's
    prefill = out["prefill_replicas"] * out["prefill_capacity_requests_per_s_per_replica"]
    decode = out["decode_replicas"] * out["decode_capacity_requests_per_s_per_replica"]
    assert out["headroom"] == pytest.approx(1 - max(20 / prefill, 20 / decode))
    assert out["average_utilization"] == pytest.approx(20 / min(prefill, decode))
    assert out["headroom"] >= 0.2 - 1e-9


@pytest.mark.parametrize("value", [0.5, 0, -1, 101, "lots"])
def test_peak_to_average_range(value):
    out = json.loads(api.run("fleet", json.dumps({**BASE, "peak_to_average": value})))
    assert out["error"]["field"] == "peak_to_average", out


def test_a_peak_beyond_the_sizing_limit_names_the_ratio():
    out = json.loads(api.run("fleet", json.dumps({**BASE, "requests_per_s": 50_000, "peak_to_average": 3})))
    assert out["error"]["field"] == "peak_to_average" and "150,000" in out["error"]["message"], out


@pytest.mark.parametrize("model, gpu, tp, weights, prompt, output, ttft_s, tpot_s", [
    ("llama-3.1-70b", "h100-sxm", 4, "fp8", 1000, 300, 0.8, 0.04),
    ("llama-3.1-8b", "h100-sxm", 1, "bf16", 2000, 200, 0.5, 0.03),
    # a 1B scorer: the SLO binds with ~2 of 2,000 KV slots busy, where an even split of the slots would be too coarse
    ("llama-3.2-1b", "l4", 1, "bf16", 256, 1, 0.05, 0.05),
])
def test_capacity_is_the_largest_rate_within_the_slos(model, gpu, tp, weights, prompt, output, ttft_s, tpot_s):
    from sizing.fleet import CAPACITY_TOLERANCE, aggregated_capacity
    from sizing.memory import Deployment
    from sizing.serving import Replica

    precision = catalog.precision(weights)
    d = Deployment(catalog.model(model), catalog.gpu(gpu), tp, precision, precision)
    capacity = aggregated_capacity(d, prompt, output, ttft_s, tpot_s)
    r = Replica(d, prompt, output)

    def within(rate):
        out = r.open_loop(rate)
        return out["stable"] and out["ttft_p95_ms"] / 1e3 <= ttft_s and out["tpot_ms"] / 1e3 <= tpot_s

    # the reference: 40 plain halvings over the rate, each a full Poisson solve
    low, high = 0.0, r.saturated()["requests_per_s"] * 0.999
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (mid, high) if within(mid) else (low, mid)
    assert capacity == pytest.approx(low, rel=10 * CAPACITY_TOLERANCE)
    assert capacity <= low * (1 + 1e-7)  # never above the boundary (the Poisson solve's own tolerance aside)
