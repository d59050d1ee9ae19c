"""KV cache calculator: bytes per token by attention kind, sequences that fit, prefix sharing, offload tiers.

Every expected value is worked by hand from the catalog shapes (config.json) in the comments.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sizing import api, catalog
from sizing.kv_cache import context_points, host_link_bytes_per_s, host_links, variants

H100_BF16 = 989.4e12  # dense BF16 peak in the catalog
H100_FP8 = 1978.9e12


def run(**params) -> dict:
    answer = json.loads(api.run("kv_cache", json.dumps(params)))
    assert "error" not in answer, answer
    return answer


def error(**params) -> dict:
    answer = json.loads(api.run("kv_cache", json.dumps(params)))
    assert "error" in answer, answer
    return answer["error"]


BASE = dict(model="llama-3.1-70b", gpu="h100-sxm", tp=4, weights="fp8", kv="bf16", context_tokens=32768, prefix_tokens=2000)


def test_llama_70b_bf16_is_327680_bytes_per_token_and_its_variants():
    out = run(**BASE)
    assert out["attention"] == "GQA"
    # 2 (K, V) × 80 layers × 8 KV heads × 128 head_dim × 2 B = 327,680 B
    assert out["kv_bytes_per_token"] == 2 * 80 * 8 * 128 * 2 == 327_680
    assert out["gqa_kv_bytes_per_token"] == 327_680  # its own grouping
    # MHA: every one of the 64 query heads keeps K and V: 2 × 80 × 64 × 128 × 2 = 2,621,440 B (8× GQA)
    assert out["mha_kv_bytes_per_token"] == 2_621_440
    # MQA: one KV head: 2 × 80 × 1 × 128 × 2 = 40,960 B
    assert out["mqa_kv_bytes_per_token"] == 40_960
    # MLA, assumed DeepSeek-V2 sizing: latent 4 × 128 = 512, RoPE key 128 ÷ 2 = 64; 80 × (512 + 64) × 2 = 92,160 B
    assert out["mla_latent_assumed"] is True
    assert out["mla_latent_dim"] == 576
    assert out["mla_kv_bytes_per_token"] == 92_160


def test_deepseek_v3_uses_its_own_latent():
    out = run(model="deepseek-v3", gpu="h200", tp=8, weights="fp8", kv="bf16", context_tokens=8192)
    assert out["attention"] == "MLA"
    assert out["mla_latent_assumed"] is False
    # 61 layers × (kv_lora_rank 512 + qk_rope_head_dim 64) × 2 B = 70,272 B
    assert out["kv_bytes_per_token"] == out["mla_kv_bytes_per_token"] == 61 * 576 * 2 == 70_272
    # its MHA twin: 2 × 61 × 128 heads × 128 head_dim × 2 B = 3,997,696 B
    assert out["mha_kv_bytes_per_token"] == 3_997_696
    # its GQA twin takes gcd(128, 8) = 8 KV heads: 2 × 61 × 8 × 128 × 2 = 249,856 B
    assert out["gqa_kv_heads"] == 8
    assert out["gqa_kv_bytes_per_token"] == 249_856
    # the latent has no head axis: every one of the 8 GPUs keeps all of it
    assert out["kv_per_gpu_bytes_per_token"] == 70_272
    assert any("no head axis" in w for w in out["warnings"])


def test_mqa_case_by_hand_fp8_cache():
    # Mistral 7B as MQA in FP8: 2 × 32 layers × 1 head × 128 × 1 B = 8,192 B per token
    out = run(model="mistral-7b", gpu="l4", tp=1, weights="bf16", kv="fp8", context_tokens=4096)
    assert out["mqa_kv_bytes_per_token"] == 8_192
    # its own GQA with 8 KV heads: 65,536 B; MHA with 32: 262,144 B
    assert out["kv_bytes_per_token"] == 65_536
    assert out["mha_kv_bytes_per_token"] == 262_144


def test_mha_model_gets_a_declared_gqa_twin():
    # Phi-3-mini is MHA (32 KV heads = 32 heads, head_dim 96): GQA twin with gcd(32, 8) = 8 KV heads
    out = run(model="phi-3-mini", gpu="l4", tp=1, kv="bf16", context_tokens=4096)
    assert out["attention"] == "MHA"
    assert out["kv_bytes_per_token"] == out["mha_kv_bytes_per_token"] == 2 * 32 * 32 * 96 * 2 == 393_216
    assert out["gqa_kv_bytes_per_token"] == 2 * 32 * 8 * 96 * 2 == 98_304
    # MLA twin: latent 4 × 96 = 384, RoPE 48: 32 × 432 × 2 = 27,648 B
    assert out["mla_kv_bytes_per_token"] == 27_648


def test_sequence_capacity_and_prefix_sharing_by_hand():
    out = run(**BASE)
    # per GPU at TP 4: 8 KV heads ÷ 4 = 2 heads each: 327,680 ÷ 4 = 81,920 B per token per GPU
    assert out["kv_per_gpu_bytes_per_token"] == 81_920
    # one 32,768-token sequence: 32,768 × 327,680 B = 10,737,418,240 B (exactly 10 GiB)
    assert out["sequence_kv_bytes"] == 10 * 2**30
    capacity = out["kv_capacity_tokens"]
    assert capacity == int(out["kv_budget_gb_per_gpu"] * 1e9 // 81_920)
    assert out["max_concurrency"] == capacity // 32768
    # a 2,000-token prompt shared: one copy instead of S; ⌊(capacity − 2,000) ÷ 30,768⌋ sequences fit
    assert out["shared_prefix_max_concurrency"] == (capacity - 2000) // 30768
    assert out["shared_prefix_max_concurrency"] >= out["max_concurrency"]
    s = out["max_concurrency"]
    assert out["prefix_saved_gb_per_gpu"] == pytest.approx((s - 1) * 2000 * 81_920 / 1e9)
    assert out["prefix_kv_bytes"] == 2000 * 327_680


def test_offload_tiers_by_hand():
    out = run(**BASE)
    shard = 32768 * 81_920  # 2,684,354,560 B on each GPU
    assert out["sequence_kv_bytes_per_gpu"] == shard
    # H100 SXM reaches its host over PCIe Gen5 x16, 64 GB/s each way (data/host_links.json)
    assert out["host_link_gb_per_s"] == 64.0
    assert out["host_reload_ms"] == pytest.approx(shard / 64e9 * 1e3)  # 41.9 ms
    assert out["nvme_reload_ms"] == pytest.approx(shard / 7e9 * 1e3)  # 383 ms at 7 GB/s
    assert out["hbm_read_ms"] == pytest.approx(shard / catalog.gpu("h100-sxm").hbm_bandwidth_bytes_per_s * 1e3)
    # recompute: (2·N·T + 2·80·T²·8192) ÷ (4 × FP8 peak × 0.5), N = 70,553,706,496 (test_training.py)
    flops = 2 * 70_553_706_496 * 32768 + 2 * 80 * 32768**2 * 8192
    assert out["recompute_ms"] == pytest.approx(flops / (4 * H100_FP8 * 0.5) * 1e3, rel=1e-6)
    assert out["recompute_vs_host_x"] == pytest.approx(out["recompute_ms"] / out["host_reload_ms"])
    # 256 GB of host memory per GPU holds ⌊256e9 ÷ 2,684,354,560⌋ = 95 sequences; 3,840 GB of NVMe 1,430
    assert out["host_sequences"] == 95
    assert out["nvme_sequences"] == 1430


def test_pcie_gpu_takes_its_host_link_from_the_catalog():
    assert host_link_bytes_per_s(catalog.gpu("l4")) == catalog.gpu("l4").interconnect_bytes_per_s
    assert host_link_bytes_per_s(catalog.gpu("a100-80gb")) == 32e9  # ampere SXM: PCIe Gen4 x16
    assert set(host_links()) == set(catalog.GENERATIONS)
    out = run(**BASE, host_link_gb_per_s=25)
    assert out["host_reload_ms"] == pytest.approx(32768 * 81_920 / 25e9 * 1e3)


def test_curves_cover_the_window_and_shrink_with_context():
    out = run(**BASE)
    contexts = [p["context_tokens"] for p in out["context_curve"]]
    assert contexts == [1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072]
    assert context_points(163840)[-2:] == [131072, 163840]
    for a, b in zip(out["context_curve"], out["context_curve"][1:]):
        for key in ("sequences", "mha_sequences", "gqa_sequences", "mqa_sequences", "mla_sequences"):
            assert b[key] <= a[key]
    at = next(p for p in out["context_curve"] if p["context_tokens"] == 32768)
    assert at["sequences"] == out["hbm_sequences"]
    # at TP 4 MQA's single head is replicated on every GPU: 40,960 B per GPU against GQA's 81,920, only 2× more
    assert at["mqa_sequences"] == pytest.approx(2 * at["gqa_sequences"], abs=1)
    recompute = [p["recompute_ms"] for p in out["offload_curve"]]
    host = [p["host_reload_ms"] for p in out["offload_curve"]]
    # reload is linear in context, recompute superlinear: the ratio grows
    assert recompute[-1] / host[-1] > recompute[0] / host[0]


def test_does_not_fit_is_a_result_with_a_warning():
    out = run(model="llama-3.1-405b", gpu="h100-sxm", tp=1, weights="bf16", context_tokens=4096)
    assert out["fits"] is False
    assert out["max_concurrency"] == 0
    assert out["warnings"][0].startswith("does not fit")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"context_tokens": ""}, None),  # empty falls back to the default
        ({"context_tokens": -1}, "context_tokens"),
        ({"context_tokens": 0}, "context_tokens"),
        ({"context_tokens": 200_000}, "context_tokens"),
        ({"prefix_tokens": 32768}, "prefix_tokens"),
        ({"tp": 3}, "tp"),
        ({"host_memory_gb_per_gpu": -5}, "host_memory_gb_per_gpu"),
        ({"nvme_gb_per_s": 0}, "nvme_gb_per_s"),
        ({"kv": "fp6"}, "kv"),
    ],
)
def test_bad_inputs_name_their_field(params, field):
    if field is None:
        assert run(**{**BASE, **params})["context_tokens"] == 8192
    else:
        assert error(**{**BASE, **params})["field"] == field


def test_variants_only_change_attention():
    m = catalog.model("llama-3.1-70b")
    for kind, v in variants(m).items():
        assert (v.layers, v.heads, v.head_dim, v.hidden) == (m.layers, m.heads, m.head_dim, m.hidden), kind


@settings(max_examples=40, deadline=None)
@given(model=st.sampled_from(sorted(catalog.models())), kv=st.sampled_from(["bf16", "fp8", "int4"]))
def test_ordering_of_attention_kinds(model, kv):
    out = run(model=model, gpu="b200", tp=1, weights="fp8", kv=kv, context_tokens=1024)
    assert out["mqa_kv_bytes_per_token"] <= out["gqa_kv_bytes_per_token"] <= out["mha_kv_bytes_per_token"]
    assert out["mla_kv_bytes_per_token"] < out["mha_kv_bytes_per_token"]
    assert math.isclose(out["sequence_kv_bytes"], 1024 * out["kv_bytes_per_token"])
