"""MoE versus dense decode steps: expected experts touched, bytes read, intensity against the ridge point."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sizing import api, catalog
from sizing.moe import compute_bound_batch, expected_experts_touched, step_traffic

H100 = catalog.gpu("h100-sxm")
RIDGE_BF16 = H100.peak_flops("bf16") / H100.hbm_bandwidth_bytes_per_s  # 989.4e12 / 3.35e12 ≈ 295.3

# Mixtral 8x7B from its config: 32 layers, hidden 4096, 32 heads / 8 KV heads of 128, 8 experts of width 14336, top-2
ATTN = 32 * (4096 * 4096 + 2 * 4096 * 1024 + 4096 * 4096)  # 1,342,177,280
ONE_EXPERT = 3 * 4096 * 14336  # 176,160,768
ROUTER = 4096 * 8
EMB_NORMS = 2 * 32000 * 4096 + 2 * 4096 * 32 + 4096  # 262,410,240
TOTAL = ATTN + 32 * (8 * ONE_EXPERT + ROUTER) + EMB_NORMS  # 46,702,792,704
ACTIVE = ATTN + 32 * (2 * ONE_EXPERT + ROUTER) + EMB_NORMS  # 12,879,925,248


def run(**params) -> dict:
    answer = json.loads(api.run("moe_vs_dense", json.dumps(params)))
    assert "error" not in answer, answer
    return answer


def test_mixtral_config_is_the_one_the_arithmetic_assumes():
    m = catalog.model("mixtral-8x7b")
    assert (m.layers, m.hidden, m.vocab, m.moe.experts, m.moe.active_experts, m.moe.expert_intermediate) == (32, 4096, 32000, 8, 2, 14336)
    assert TOTAL == 46_702_792_704 and ACTIVE == 12_879_925_248


def test_expected_distinct_experts():
    assert expected_experts_touched(8, 2, 1) == pytest.approx(2.0)  # 8·(1 − 6/8)
    assert expected_experts_touched(8, 2, 2) == pytest.approx(3.5)  # 8·(1 − 0.75²) = 8·0.4375
    assert expected_experts_touched(256, 8, 16) == pytest.approx(256 * (1 - (31 / 32) ** 16))  # ≈ 101.5
    assert expected_experts_touched(256, 8, 512) == pytest.approx(256, rel=1e-6)


def test_batch_one_reads_exactly_the_active_weights():
    out = run(model="mixtral-8x7b", gpu="h100-sxm", weights="bf16", batch=1)
    assert out["experts_touched"] == pytest.approx(2.0)
    assert out["moe_weight_read_bytes"] == pytest.approx(2 * ACTIVE)
    assert out["dense_weight_read_bytes"] == pytest.approx(2 * ACTIVE)
    assert out["moe_intensity"] == pytest.approx(1.0)  # 2·N_active·1 FLOPs ÷ 2·N_active bytes
    assert out["moe_bound"] == out["dense_bound"] == "memory"
    assert out["moe_over_dense_step_x"] == pytest.approx(1.0)
    assert out["moe_roofline_step_ms"] == pytest.approx(2 * ACTIVE / 3.35e12 * 1e3)  # 7.69 ms


def test_batch_two_reads_three_and_a_half_experts_per_layer():
    traffic = step_traffic(catalog.model("mixtral-8x7b"), 2, 2.0)
    params_read = TOTAL - 32 * 8 * ONE_EXPERT + 32 * 3.5 * ONE_EXPERT  # 21,335,642,112
    assert traffic.weight_bytes == pytest.approx(2 * params_read)
    assert traffic.flops == pytest.approx(2 * ACTIVE * 2)


def test_batch_512_reads_every_expert_and_stays_memory_bound():
    out = run(model="mixtral-8x7b", gpu="h100-sxm", weights="bf16", batch=512)
    assert out["experts_touched"] == pytest.approx(8.0, rel=1e-9)
    assert out["moe_weight_read_bytes"] == pytest.approx(2 * TOTAL, rel=1e-9)
    # intensity = 2·12.88e9·512 / (2·46.70e9) = 141.2 < ridge 295.3 → memory-bound; dense: 2·512/2 = 512 → compute
    assert out["moe_intensity"] == pytest.approx(ACTIVE * 512 / TOTAL, rel=1e-9)
    assert out["moe_bound"] == "memory"
    assert out["dense_intensity"] == pytest.approx(512.0)
    assert out["dense_bound"] == "compute"
    assert out["ridge_flops_per_byte"] == pytest.approx(989.4e12 / 3.35e12)
    moe_s = 2 * TOTAL / 3.35e12
    dense_s = 2 * ACTIVE * 512 / 989.4e12
    assert out["moe_roofline_step_ms"] == pytest.approx(moe_s * 1e3, rel=1e-9)
    assert out["dense_roofline_step_ms"] == pytest.approx(dense_s * 1e3)
    assert out["moe_over_dense_step_x"] == pytest.approx(moe_s / dense_s, rel=1e-9)


def test_batch_where_each_becomes_compute_bound():
    out = run(model="mixtral-8x7b", batch=64)
    # dense: intensity = batch (bf16), first integer at or above 295.3 is 296
    assert out["dense_compute_bound_batch"] == 296
    m = catalog.model("mixtral-8x7b")
    crossing = out["moe_compute_bound_batch"]
    assert step_traffic(m, crossing, 2.0).intensity >= RIDGE_BF16 > step_traffic(m, crossing - 1, 2.0).intensity
    # past that batch every expert is read, so intensity ≈ ACTIVE·B/TOTAL → B ≈ 295.3 · 46.70/12.88 ≈ 1071
    assert crossing == pytest.approx(RIDGE_BF16 * TOTAL / ACTIVE, abs=1)


def test_compute_bound_batch_is_none_when_never_reached():
    class Flat:
        intensity = 1.0

    assert compute_bound_batch(lambda b: Flat(), 10.0) is None


def test_dense_model_is_refused_with_the_moe_choices():
    answer = json.loads(api.run("moe_vs_dense", json.dumps({"model": "llama-3.1-8b"})))
    assert answer["error"]["field"] == "model"
    assert "mixtral-8x7b" in answer["error"]["message"]
    bad_batch = json.loads(api.run("moe_vs_dense", json.dumps({"model": "mixtral-8x7b", "batch": 0})))
    assert bad_batch["error"]["field"] == "batch"


MOE_MODELS = sorted(k for k, v in catalog.models().items() if v.moe is not None)


@settings(max_examples=80, deadline=None)
@given(model=st.sampled_from(MOE_MODELS), batch=st.integers(1, 100_000))
def test_more_batch_touches_more_experts_and_raises_intensity(model, batch):
    m = catalog.model(model)
    now, later = step_traffic(m, batch, 2.0), step_traffic(m, batch + 1, 2.0)
    assert m.moe.active_experts - 1e-9 <= now.experts_touched <= later.experts_touched <= m.moe.experts + 1e-9
    assert later.intensity >= now.intensity
    dense_bytes = 2.0 * (now.flops / (2.0 * batch))  # N_active × 2 B
    assert now.weight_bytes >= dense_bytes * (1 - 1e-12)


def test_batch_one_versus_512_scenarios():
    from sizing.values import evaluate

    one, many = evaluate("moe-batch-1.moe_intensity"), evaluate("moe-batch-512.moe_intensity")
    assert one.kind == "computed" and one.raw == pytest.approx(1.0)
    assert many.raw == pytest.approx(ACTIVE * 512 / TOTAL, rel=1e-9)
    assert evaluate("moe-batch-512.moe_bound").raw == "memory"
    assert evaluate("moe-batch-512.dense_bound").raw == "compute"
    assert evaluate("moe-batch-512.batch").kind == "input"


def test_expert_parallel_layout_by_hand():
    out = run(model="mixtral-8x7b", batch=64, ep=4, dispatch="bf16")
    assert out["experts_per_gpu"] == 2  # 8 experts ÷ 4 GPUs
    assert out["sequences_per_gpu"] == 16  # 64 ÷ 4, data-parallel attention
    assert out["tokens_per_expert"] == 16  # 64 tokens × top-2 ÷ 8 experts
    # each GPU holds everything outside the routed experts plus 2 of the 8 experts: exactly the active weights
    assert out["ep_weight_bytes_per_gpu"] == pytest.approx(2 * ACTIVE)
    # one GPU's dispatch per layer: 16 tokens × 2 experts × 4,096 hidden × 2 B = 262,144 B
    assert out["dispatch_message_bytes"] == 262_144
    # per step: 2 directions × 32 layers × 64 tokens × 2 × 4,096 × 2 B × 3/4 leave the GPU = 50,331,648 B
    assert out["all_to_all_bytes"] == pytest.approx(50_331_648)
    assert out["all_to_all_bytes_per_gpu"] == pytest.approx(50_331_648 / 4)
    # touched share at batch 64 is 1 − 0.75^64, so each GPU reads (almost) both of its experts
    touched = 1 - 0.75**64
    read = 2 * (TOTAL - 32 * 8 * ONE_EXPERT) + 32 * 2 * touched * ONE_EXPERT * 2
    assert out["ep_weight_read_bytes_per_gpu"] == pytest.approx(read)
    flops = 2 * ACTIVE * 64 / 4
    assert out["ep_roofline_step_ms"] == pytest.approx(max(read / 3.35e12, flops / 989.4e12) * 1e3)


def test_one_gpu_has_no_all_to_all_and_holds_every_expert():
    out = run(model="mixtral-8x7b", batch=8)
    assert out["ep"] == 1 and out["experts_per_gpu"] == 8
    assert out["all_to_all_bytes"] == 0 and out["dispatch_message_bytes"] == 8 * 2 * 4096 * 2
    assert out["ep_weight_bytes_per_gpu"] == pytest.approx(2 * TOTAL)
    assert out["ep_roofline_step_ms"] == pytest.approx(out["moe_roofline_step_ms"])


def test_deepseek_dispatch_matches_the_expert_parallel_chapter_message():
    # 32 GPUs, 256 tokens each, 8 routed experts per token, hidden 7,168, FP8: 14,680,064 B per GPU per layer
    out = run(model="deepseek-v3", weights="fp8", dispatch="fp8", batch=32 * 256, ep=32)
    assert out["dispatch_message_bytes"] == 256 * 8 * 7168 * 1 == 14_680_064
    assert out["experts_per_gpu"] == 8


def test_expert_count_and_top_k_can_be_changed():
    out = run(model="mixtral-8x7b", experts=16, active_experts=2, batch=1)
    router = 4096 * 16
    total = ATTN + 32 * (16 * ONE_EXPERT + router) + EMB_NORMS
    active = ATTN + 32 * (2 * ONE_EXPERT + router) + EMB_NORMS
    assert (out["experts"], out["active_experts"]) == (16, 2)
    assert out["total_params"] == total and out["active_params"] == active
    assert out["moe_weight_read_bytes"] == pytest.approx(2 * active)  # batch one reads the two routed experts
    assert run(model="mixtral-8x7b", experts=1, batch=1)["active_experts"] == 1  # top-k follows a smaller E


def test_bad_layouts_are_refused():
    bad = json.loads(api.run("moe_vs_dense", json.dumps({"model": "mixtral-8x7b", "ep": 3})))
    assert bad["error"]["field"] == "ep" and "1, 2, 4, 8" in bad["error"]["message"]
    bad = json.loads(api.run("moe_vs_dense", json.dumps({"model": "mixtral-8x7b", "active_experts": 9})))
    assert bad["error"]["field"] == "active_experts"
    bad = json.loads(api.run("moe_vs_dense", json.dumps({"model": "mixtral-8x7b", "ep": 16})))
    assert bad["error"]["field"] == "ep"


def test_curve_spans_both_compute_bound_batches():
    out = run(model="mixtral-8x7b", batch=1)
    batches = [point["batch"] for point in out["curve"]]
    assert batches == [2**i for i in range(len(batches))]
    # Mixtral turns compute-bound at 1,071 (MoE) and 296 (dense): the axis runs to 4,096 ≥ 2 × 1,071
    assert batches[-1] == 4096
    first = out["curve"][0]
    assert first["moe_step_ms"] == pytest.approx(2 * ACTIVE / 3.35e12 * 1e3)
    assert first["dense_step_ms"] == pytest.approx(first["moe_step_ms"])
    last = out["curve"][-1]
    assert last["dense_step_ms"] == pytest.approx(2 * ACTIVE * 4096 / 989.4e12 * 1e3)
    assert last["moe_weight_read_gb"] == pytest.approx(2 * TOTAL / 1e9, rel=1e-9)
