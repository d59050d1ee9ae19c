"""Speculative decoding: Leviathan's expected tokens, the speedup, and where batching makes it stop paying."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sizing import api, catalog
from sizing.speculative import expected_tokens_per_step, speedup

H100 = catalog.gpu("h100-sxm")
RIDGE = 989.4e12 / 3.35e12  # H100 SXM BF16 peak ÷ HBM bandwidth ≈ 295.34 FLOPs per byte


def run(**params) -> dict:
    answer = json.loads(api.run("speculative", json.dumps(params)))
    assert "error" not in answer, answer
    return answer


def test_catalog_h100_is_the_one_the_arithmetic_assumes():
    assert (H100.peak_flops("bf16"), H100.hbm_bandwidth_bytes_per_s) == (989.4e12, 3.35e12)


def test_leviathan_expected_tokens():
    # α = 0.8, k = 4: (1 − 0.8^5) ÷ (1 − 0.8) = (1 − 0.32768) ÷ 0.2 = 3.3616
    assert expected_tokens_per_step(0.8, 4) == pytest.approx(3.3616)
    assert expected_tokens_per_step(0.0, 4) == 1.0  # every draft rejected: the target's own token only
    assert expected_tokens_per_step(1.0, 4) == 5.0  # all k accepted plus the bonus token
    assert expected_tokens_per_step(0.5, 2) == pytest.approx(1.75)  # 1 + 0.5 + 0.25


def test_batch_one_speedup_is_leviathans():
    out = run(model="llama-3.1-70b", gpu="h100-sxm", acceptance=0.8, draft_tokens=4, draft_cost_ratio=0.05, batch=1)
    assert out["expected_tokens"] == pytest.approx(3.3616)
    assert out["verify_cost_x"] == pytest.approx(1.0)  # both steps read the same 141 GB of weights; memory-bound
    assert out["speedup"] == pytest.approx(3.3616 / (4 * 0.05 + 1))  # 2.8013
    assert out["acceptance_fraction"] == pytest.approx((3.3616 - 1) / 4)
    with_overhead = run(model="llama-3.1-70b", acceptance=0.8, draft_tokens=4, draft_cost_ratio=0.05, verify_overhead=0.1)
    assert with_overhead["speedup"] == pytest.approx(3.3616 / (0.2 + 1.1))


def test_where_it_stops_paying_for_a_dense_70b():
    out = run(model="llama-3.1-70b", gpu="h100-sxm", weights="bf16", acceptance=0.8, draft_tokens=4, draft_cost_ratio=0.05, batch=100)
    # ordinary step compute-bound once 2·N·B/peak ≥ 2·N·2 B/BW, i.e. B ≥ ridge = 295.3 → 296
    assert out["decode_compute_bound_batch"] == 296
    # verify step carries 5 tokens per sequence: 5·B ≥ 295.3 → B ≥ 59.07 → 60
    assert out["verify_compute_bound_batch"] == 60
    # between them r(B) = 5·B ÷ ridge; speedup < 1 ⇔ 0.2 + 5·B/295.34 > 3.3616 ⇔ B > 3.1616·295.34/5 = 186.75
    assert out["breakeven_batch"] == 187
    assert out["verify_cost_x"] == pytest.approx(5 * 100 / RIDGE)
    assert out["speedup"] == pytest.approx(3.3616 / (0.2 + 5 * 100 / RIDGE))
    assert run(model="llama-3.1-70b", acceptance=0.8, draft_tokens=4, draft_cost_ratio=0.05, batch=187)["warnings"]


def test_long_context_keeps_decode_memory_bound():
    # 4,096 tokens of BF16 KV for Llama 3.1 70B is 4096 × 327,680 B = 1.34 GB per sequence read every step,
    # more than the 2·N·B FLOPs can hide: the ordinary step never turns compute-bound, so speculation keeps paying
    out = run(model="llama-3.1-70b", acceptance=0.8, draft_tokens=4, draft_cost_ratio=0.05, context_tokens=4096)
    assert out["decode_compute_bound_batch"] is None
    assert out["breakeven_batch"] is None


def test_mixture_of_experts_verify_reads_more_experts():
    out = run(model="mixtral-8x7b", acceptance=0.8, draft_tokens=4, draft_cost_ratio=0.05, batch=1)
    one_expert = 3 * 4096 * 14336
    fixed = 46_702_792_704 - 32 * 8 * one_expert  # everything outside the routed experts
    touched_1 = 8 * (1 - 0.75)  # 2 experts for one token
    touched_5 = 8 * (1 - 0.75**5)  # 6.10 experts for five tokens
    ratio = (fixed + 32 * one_expert * touched_5) / (fixed + 32 * one_expert * touched_1)
    assert out["verify_cost_x"] == pytest.approx(ratio)
    assert out["speedup"] == pytest.approx(3.3616 / (0.2 + ratio))


def test_best_draft_length_is_the_argmax():
    out = run(model="llama-3.1-8b", acceptance=0.5, draft_tokens=4, draft_cost_ratio=0.3, batch=1)
    # memory-bound: speedup(k) = (1 − 0.5^(k+1))/0.5 ÷ (0.3·k + 1): k=1 → 1.5/1.3 = 1.1538 beats k=2 → 1.75/1.6
    assert out["best_draft_tokens"] == 1
    assert out["best_speedup"] == pytest.approx(1.5 / 1.3)
    assert out["speedup"] == pytest.approx(1.9375 / 2.2)
    assert out["breakeven_batch"] == 1


def test_bad_inputs_name_their_field():
    for params, field in [
        ({"acceptance": 1.5}, "acceptance"),
        ({"draft_tokens": 0}, "draft_tokens"),
        ({"draft_cost_ratio": -0.1}, "draft_cost_ratio"),
        ({"batch": 1e9}, "batch"),
        ({"model": "gpt-5"}, "model"),
        ({"kv": "int3"}, "kv"),
    ]:
        answer = json.loads(api.run("speculative", json.dumps(params)))
        assert answer["error"]["field"] == field, (params, answer)


@settings(max_examples=40, deadline=None)
@given(
    low=st.floats(0.0, 1.0),
    high=st.floats(0.0, 1.0),
    k=st.integers(1, 12),
    c=st.floats(0.0, 1.0),
    batch=st.integers(1, 1024),
    model=st.sampled_from(["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b"]),
)
def test_higher_acceptance_never_lowers_speedup(low, high, k, c, batch, model):
    low, high = min(low, high), max(low, high)
    common = dict(model=model, draft_tokens=k, draft_cost_ratio=c, batch=batch)
    slow, fast = run(acceptance=low, **common), run(acceptance=high, **common)
    assert fast["speedup"] >= slow["speedup"] * (1 - 1e-12)
    assert fast["best_speedup"] >= fast["speedup"] * (1 - 1e-12) or k > 16


@settings(max_examples=200, deadline=None)
@given(alpha=st.floats(0.0, 1.0), k=st.integers(1, 32), c=st.floats(0.0, 1.0), r=st.floats(1.0, 40.0), o=st.floats(0.0, 1.0))
def test_expected_tokens_bounds_and_speedup_monotone_in_verify_cost(alpha, k, c, r, o):
    e = expected_tokens_per_step(alpha, k)
    assert 1.0 <= e <= k + 1 + 1e-9
    assert speedup(e, k, c, r * 1.5, o) <= speedup(e, k, c, r, o)


def test_scenarios_batch_one_and_128():
    from sizing.values import evaluate

    assert evaluate("spec-70b-batch1.speedup").raw == pytest.approx(3.3616 / 1.2)
    busy = evaluate("spec-70b-batch128.speedup")
    assert busy.kind == "computed"
    assert busy.raw == pytest.approx(3.3616 / (0.2 + 5 * 128 / RIDGE))  # 1.33×: still pays, but half as much
    assert evaluate("spec-70b-batch128.breakeven_batch").raw == 187


def test_curve_is_speedup_at_powers_of_two_and_crosses_one_at_the_break_even_batch():
    out = run(model="llama-3.1-70b", gpu="h100-sxm", acceptance=0.8, draft_tokens=4, draft_cost_ratio=0.05, batch=1)
    batches = [point["batch"] for point in out["curve"]]
    assert batches == [2**i for i in range(15)]  # 1 … 16,384
    assert out["curve"][0]["speedup"] == pytest.approx(out["batch1_speedup"])
    breakeven = out["breakeven_batch"]
    for point in out["curve"]:
        # below the break-even batch the curve is ≥ 1, from it on below 1 (this setting's ratio only grows)
        assert (point["speedup"] < 1.0) == (point["batch"] >= breakeven)
    # fully compute-bound: r = k + 1 = 5, speedup = 3.3616 ÷ (4 × 0.05 + 5)
    assert out["curve"][-1]["speedup"] == pytest.approx(3.3616 / 5.2)
    at_128 = run(model="llama-3.1-70b", gpu="h100-sxm", acceptance=0.8, draft_tokens=4, draft_cost_ratio=0.05, batch=128)
    assert out["curve"][7]["speedup"] == pytest.approx(at_128["speedup"])
