"""Prefix caching: FLOPs, TTFT and dollars saved, and the KV memory a cached prefix holds."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sizing import api

N_70B = 70_553_706_496  # hand count in test_training.py
KV_70B_BF16 = 2 * 80 * 8 * 128 * 2  # 2 (K,V) × layers × kv_heads × head_dim × 2 B = 327,680 B per token


def run(**params) -> dict:
    answer = json.loads(api.run("prefix_cache", json.dumps(params)))
    assert "error" not in answer, answer
    return answer


BASE = dict(
    model="llama-3.1-70b", kv="bf16", prefix_tokens=2000, unique_tokens=200, hit_rate=0.8,
    input_usd_per_million_tokens=3.0, cached_discount=0.9, cache_write_premium=0.25, prefill_tokens_per_s=10_000,
)


def test_flops_saved_per_hit_and_per_request():
    out = run(**BASE)
    # 2·N·P + 2·layers·P²·d_attn = 2·70,553,706,496·2000 + 2·80·2000²·8192
    per_hit = 2 * N_70B * 2000 + 2 * 80 * 2000**2 * 8192  # 282,214,825,984,000 + 5,242,880,000,000
    assert out["saved_per_hit_flops"] == pytest.approx(per_hit)
    assert out["saved_per_request_flops"] == pytest.approx(0.8 * per_hit)
    full = 2 * N_70B * 2200 + 2 * 80 * 2200**2 * 8192
    assert out["prefill_saved_fraction"] == pytest.approx(0.8 * per_hit / full)


def test_ttft_at_a_given_prefill_throughput():
    out = run(**BASE)
    assert out["ttft_miss_ms"] == pytest.approx(2200 / 10_000 * 1e3)  # 220 ms
    assert out["ttft_hit_ms"] == pytest.approx(200 / 10_000 * 1e3)  # 20 ms
    assert out["ttft_saved_per_hit_ms"] == pytest.approx(200.0)
    assert out["ttft_mean_ms"] == pytest.approx(0.2 * 220 + 0.8 * 20)  # 60 ms


def test_dollars_per_million_requests_with_write_premium():
    out = run(**BASE)
    # without: 2200 tokens × $3/1M × 10⁶ requests = $6,600
    assert out["cost_without_cache_per_million_requests_usd"] == pytest.approx(6600)
    # with: 200·3 + 2000·3·(0.8·(1 − 0.9) + 0.2·(1 + 0.25)) = 600 + 6000·0.33 = $2,580
    assert out["cost_with_cache_per_million_requests_usd"] == pytest.approx(2580)
    assert out["saved_per_million_requests_usd"] == pytest.approx(6600 - 2580)
    assert out["breakeven_hit_rate_fraction"] == pytest.approx(0.25 / (0.9 + 0.25))


def test_low_hit_rate_with_premium_loses_money_and_warns():
    out = run(**{**BASE, "hit_rate": 0.1})
    # 2000·3·(0.1·0.9 − 0.9·0.25) = 6000·(0.09 − 0.225) = −$810
    assert out["saved_per_million_requests_usd"] == pytest.approx(-810)
    assert out["warnings"]


def test_kv_memory_of_the_cached_prefix():
    out = run(**{**BASE, "distinct_prefixes": 50})
    assert out["prefix_kv_bytes"] == 2000 * KV_70B_BF16 == 655_360_000
    assert out["cached_prefixes_kv_bytes"] == 50 * 655_360_000
    fp8 = run(**{**BASE, "kv": "fp8"})
    assert fp8["prefix_kv_bytes"] == 2000 * KV_70B_BF16 / 2


def test_bad_inputs_name_their_field():
    for params, field in [
        ({"hit_rate": 1.2}, "hit_rate"),
        ({"prefix_tokens": 0, "unique_tokens": 0}, "prefix_tokens"),
        ({"prefix_tokens": 131072, "unique_tokens": 1}, "unique_tokens"),
        ({"prefill_tokens_per_s": 0}, "prefill_tokens_per_s"),
        ({"distinct_prefixes": 0.5}, "distinct_prefixes"),
    ]:
        answer = json.loads(api.run("prefix_cache", json.dumps({"model": "llama-3.1-8b", **params})))
        assert answer["error"]["field"] == field, (params, answer)


@settings(max_examples=100, deadline=None)
@given(low=st.floats(0, 1), high=st.floats(0, 1), prefix=st.integers(0, 60000), unique=st.integers(1, 60000), premium=st.floats(0, 2))
def test_higher_hit_rate_never_costs_more_or_slows_ttft(low, high, prefix, unique, premium):
    low, high = min(low, high), max(low, high)
    common = dict(model="llama-3.1-8b", prefix_tokens=prefix, unique_tokens=unique, cache_write_premium=premium)
    a, b = run(hit_rate=low, **common), run(hit_rate=high, **common)
    assert b["cost_with_cache_per_million_requests_usd"] <= a["cost_with_cache_per_million_requests_usd"] + 1e-9
    assert b["ttft_mean_ms"] <= a["ttft_mean_ms"] + 1e-9
    assert 0 <= b["ttft_hit_ms"] <= b["ttft_mean_ms"] + 1e-9 <= b["ttft_miss_ms"] + 2e-9


def test_chat_scenario_evaluates_to_the_hand_numbers():
    from sizing.values import evaluate

    assert evaluate("prefix-cache-chat.saved_per_million_requests_usd").raw == pytest.approx(4020)
    assert evaluate("prefix-cache-chat.ttft_saved_per_hit_ms").raw == pytest.approx(200)
    assert evaluate("prefix-cache-chat.prefix_kv_bytes").raw == 655_360_000
    assert evaluate("prefix-cache-chat.hit_rate").kind == "input"
