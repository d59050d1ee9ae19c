"""Training and fine-tuning: hand-derived values (arithmetic written out) and monotonicity properties."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sizing import api, catalog
from sizing.errors import InputError
from sizing.specs import MlaSpec, ModelSpec, MoeSpec, Source
from sizing.training import (
    NF4_DOUBLE_QUANT_CONSTANT_BITS,
    activation_bytes,
    frozen_base_bytes,
    lora_adapter_params,
    min_dp_to_fit,
    parse_targets,
    training_flops_per_token,
    training_memory,
)

# Llama 3.1 70B from its config: attention per layer q 8192·64·128 + k,v 2·8192·8·128 + o 64·128·8192
ATTN_70B = 80 * (8192 * 64 * 128 + 2 * 8192 * 8 * 128 + 64 * 128 * 8192)  # 12,079,595,520
FFN_70B = 80 * 3 * 8192 * 28672  # 56,371,445,760
EMB_70B = 2 * 128256 * 8192  # 2,101,346,304 (untied: embedding + LM head)
NORMS_70B = 2 * 8192 * 80 + 8192  # 1,318,912
N_70B = ATTN_70B + FFN_70B + EMB_70B + NORMS_70B  # 70,553,706,496

ATTN_8B = 32 * (4096 * 32 * 128 + 2 * 4096 * 8 * 128 + 32 * 128 * 4096)  # 1,342,177,280
FFN_8B = 32 * 3 * 4096 * 14336  # 5,637,144,576
N_8B = ATTN_8B + FFN_8B + 2 * 128256 * 4096 + 2 * 4096 * 32 + 4096  # 8,030,261,248

H100_PEAK_BF16 = catalog.gpu("h100-sxm").peak_flops("bf16")
H100_BYTES = catalog.gpu("h100-sxm").memory_bytes


def run(name: str, **params) -> dict:
    answer = json.loads(api.run(name, json.dumps(params)))
    assert "error" not in answer, answer
    return answer


def error_of(name: str, **params) -> dict:
    answer = json.loads(api.run(name, json.dumps(params)))
    assert "error" in answer, answer
    return answer["error"]


def test_hand_counted_parameters_match_the_architecture_module():
    assert N_70B == 70_553_706_496
    assert N_8B == 8_030_261_248


def test_six_n_d_for_70b_on_15t_tokens():
    out = run("training", model="llama-3.1-70b", tokens=15e12, gpus=2048, tp=8, pp=4, seq_tokens=8192, price_usd_per_hour=2.0)
    # 6 · 70,553,706,496 · 15e12 = 6.3498e24 ≈ 6.3e24 FLOPs
    assert out["dense_only_flops"] == pytest.approx(6 * N_70B * 15e12)
    assert out["dense_only_flops"] == pytest.approx(6.35e24, rel=1e-3)
    # Kaplan attention term: 6 · 80 layers · 8192 seq · (64 heads · 128) = 32,212,254,720 FLOPs per token
    per_token = 6 * N_70B + 6 * 80 * 8192 * 8192
    assert out["per_token_flops"] == pytest.approx(per_token)
    assert out["total_flops"] == pytest.approx(per_token * 15e12)
    assert out["attention_share"] == pytest.approx(32_212_254_720 / per_token)


def test_training_time_gpu_hours_and_cost():
    out = run("training", model="llama-3.1-70b", tokens=15e12, gpus=2048, tp=8, pp=4, seq_tokens=8192, mfu=0.4, price_usd_per_hour=2.0)
    cluster = 0.4 * H100_PEAK_BF16 * 2048  # MFU × peak × GPUs
    total = (6 * N_70B + 6 * 80 * 8192 * 8192) * 15e12
    assert out["cluster_flops_per_s"] == pytest.approx(cluster)
    assert out["time_s"] == pytest.approx(total / cluster)
    assert out["gpu_hours"] == pytest.approx(total / cluster * 2048 / 3600)
    assert out["cost_usd"] == pytest.approx(total / cluster * 2048 / 3600 * 2.0)
    assert out["tokens_per_s"] == pytest.approx(cluster / (6 * N_70B + 6 * 80 * 8192 * 8192))
    assert out["derivations"]["total_flops"]["result"] == out["total_flops"]


def test_pretraining_memory_per_gpu_with_zero1_over_dp():
    out = run(
        "training", model="llama-3.1-70b", tokens=1e12, gpus=2048, tp=8, pp=4, zero_stage=1, seq_tokens=8192,
        micro_batch=1, recompute="selective", overhead_gb=1,
    )
    split, dp = 8 * 4, 2048 // 32  # tp·pp = 32 model shards, dp = 64
    assert out["dp"] == dp
    assert out["mem_weights_bytes"] == pytest.approx(2 * N_70B / split)
    assert out["mem_gradients_bytes"] == pytest.approx(2 * N_70B / split)
    assert out["mem_optimizer_bytes"] == pytest.approx(12 * N_70B / split / dp)
    # 80 · 34·s·b·h/t + 4·s·b·vocab/t with s 8192, b 1, h 8192, t 8
    acts = 80 * 34 * 8192 * 8192 / 8 + 4 * 8192 * 128256 / 8
    assert out["mem_activations_bytes"] == pytest.approx(acts)
    total = 4 * N_70B / split + 12 * N_70B / split / dp + acts + 1e9
    assert out["memory_per_gpu_bytes"] == pytest.approx(total)
    assert out["fits"] is (total <= H100_BYTES)


def test_zero_paper_figure_one_model_states():
    # ZeRO paper, Figure 1: Ψ = 7.5B, N_d = 64, K = 12 → 120 GB, 31.4 GB, 16.6 GB, 1.9 GB per GPU
    m = catalog.model("llama-3.1-8b")
    expected = {0: 16 * 7.5e9, 1: (2 + 2) * 7.5e9 + 12 * 7.5e9 / 64, 2: 2 * 7.5e9 + (2 + 12) * 7.5e9 / 64, 3: 16 * 7.5e9 / 64}
    for stage, states in expected.items():
        mem = training_memory(
            m, method="full", zero_stage=stage, dp=64, tp=1, pp=1, seq=1, micro_batch=1, recompute="full",
            trainable_params=7.5e9, overhead_bytes=0.0,
        )
        assert mem.weights_bytes + mem.gradients_bytes + mem.optimizer_bytes == pytest.approx(states)
    assert expected[1] == pytest.approx(31.40625e9)
    assert expected[2] == pytest.approx(16.640625e9)
    assert expected[3] == pytest.approx(1.875e9)


def test_activation_formulas_for_llama_8b():
    m = catalog.model("llama-3.1-8b")
    s, h, layers, logits = 4096, 4096, 32, 4 * 4096 * 128256  # logits 2,101,346,304 B
    assert activation_bytes(m, s, 1, "selective", 1) == pytest.approx(layers * 34 * s * h + logits)  # 20,354,957,312
    assert activation_bytes(m, s, 1, "full", 1) == pytest.approx(layers * 2 * s * h + logits)
    # no recompute: s·b·h·(34 + 5·a·s/h) = 4096·4096·(34 + 5·32·4096/4096) = 16,777,216 · 194 per layer
    assert activation_bytes(m, s, 1, "none", 1) == pytest.approx(layers * 16_777_216 * 194 + logits)
    assert activation_bytes(m, s, 4, "full", 2) == pytest.approx((layers * 2 * s * 4 * h + 4 * s * 4 * 128256) / 2)


def test_lora_rank16_on_q_and_v_of_llama_8b():
    m = catalog.model("llama-3.1-8b")
    # q: 16·(4096 + 4096) = 131,072; v: 16·(4096 + 8·128) = 81,920; per layer 212,992 × 32 layers = 6,815,744
    assert lora_adapter_params(m, 16, ("q", "v")) == 16 * (4096 + 4096) * 32 + 16 * (4096 + 1024) * 32 == 6_815_744
    out = run("fine_tuning", model="llama-3.1-8b", method="lora", lora_rank=16, lora_targets="q,v", gpus=1, zero_stage=0)
    assert out["trainable_params"] == 6_815_744
    assert out["trainable_fraction"] == pytest.approx(6_815_744 / N_8B)


def test_lora_all_linear_targets():
    m = catalog.model("llama-3.1-8b")
    # q,o 16·8192; k,v 16·5120; gate,up,down 16·(4096 + 14336) → 1,310,720 per layer × 32 = 41,943,040
    per_layer = 2 * 16 * 8192 + 2 * 16 * 5120 + 3 * 16 * (4096 + 14336)
    assert per_layer == 1_310_720
    assert lora_adapter_params(m, 16, parse_targets("all")) == 32 * per_layer == 41_943_040


def test_lora_on_a_mixture_of_experts_adapts_every_expert():
    moe = ModelSpec(
        id="toy-moe", name="toy MoE", layers=4, hidden=64, heads=4, kv_heads=2, head_dim=16, intermediate=256,
        vocab=1000, tied_embeddings=False, max_context_tokens=4096, published_params=1e6,
        source=Source("test", "2024-01-01"), moe=MoeSpec(experts=8, active_experts=2, shared_experts=1, expert_intermediate=32, dense_layers=1),
    )
    # down: 1 dense layer of 2·(256 + 64) + 3 MoE layers × 9 experts × 2·(32 + 64)
    assert lora_adapter_params(moe, 2, ("down",)) == 2 * (256 + 64) * 1 + 2 * (32 + 64) * 3 * 9


def test_mla_attention_targets_are_refused():
    mla = ModelSpec(
        id="toy-mla", name="toy MLA", layers=2, hidden=64, heads=4, kv_heads=4, head_dim=16, intermediate=128,
        vocab=100, tied_embeddings=True, max_context_tokens=1024, published_params=1e5,
        source=Source("test", "2024-01-01"), mla=MlaSpec(kv_lora_rank=32, qk_rope_head_dim=8, qk_nope_head_dim=16, v_head_dim=16, q_lora_rank=0),
    )
    with pytest.raises(InputError) as caught:
        lora_adapter_params(mla, 8, ("q", "v"))
    assert caught.value.field == "lora_targets"
    # o: heads·v_head_dim → hidden = 8·(64 + 64) per layer × 2 layers
    assert lora_adapter_params(mla, 8, ("o",)) == 8 * (4 * 16 + 64) * 2


def test_qlora_base_bytes_nf4_with_double_quantisation():
    m = catalog.model("llama-3.1-8b")
    # double quantisation constants: 8/64 + 32/(64·256) = 0.125 + 0.001953125 bit per parameter
    assert NF4_DOUBLE_QUANT_CONSTANT_BITS == pytest.approx(0.126953125)
    linear = ATTN_8B + FFN_8B  # 6,979,321,856 quantised; embeddings, head and norms stay BF16
    expected = linear * (4 + 0.126953125) / 8 + (N_8B - linear) * 2
    assert frozen_base_bytes(m, "qlora") == pytest.approx(expected)
    assert frozen_base_bytes(m, "qlora", double_quant=False) == pytest.approx(linear * 4.5 / 8 + (N_8B - linear) * 2)
    assert frozen_base_bytes(m, "lora") == 2 * N_8B
    assert frozen_base_bytes(m, "full") == 0


def test_qlora_memory_per_gpu():
    out = run(
        "fine_tuning", model="llama-3.1-8b", method="qlora", lora_rank=16, lora_targets="q,v", gpus=1, zero_stage=0,
        seq_tokens=4096, micro_batch=1, recompute="selective", overhead_gb=1,
    )
    adapters = 6_815_744
    base = (ATTN_8B + FFN_8B) * (4 + 0.126953125) / 8 + (N_8B - ATTN_8B - FFN_8B) * 2
    assert out["weights_per_gpu_bytes"] == pytest.approx(base + 2 * adapters)
    assert out["gradients_per_gpu_bytes"] == pytest.approx(2 * adapters)
    assert out["optimizer_per_gpu_bytes"] == pytest.approx(12 * adapters)
    acts = 32 * 34 * 4096 * 4096 + 4 * 4096 * 128256
    assert out["memory_per_gpu_bytes"] == pytest.approx(base + 16 * adapters + acts + 1e9)
    assert out["fits"] is True and out["min_gpus"] == 1


def test_lora_throughput_uses_four_n():
    out = run(
        "fine_tuning", model="llama-3.1-8b", method="lora", gpus=8, seq_tokens=4096, mfu=0.4, dataset_tokens=1e9,
        epochs=3, price_usd_per_hour=3.0,
    )
    per_token = 4 * N_8B + 6 * 32 * 4096 * (32 * 128)  # 32,121,044,992 + 3,221,225,472 = 35,342,270,464
    assert out["per_token_flops"] == pytest.approx(per_token)
    rate = 0.4 * H100_PEAK_BF16 * 8 / per_token
    assert out["tokens_per_s"] == pytest.approx(rate)
    assert out["time_s"] == pytest.approx(3e9 / rate)
    assert out["cost_usd"] == pytest.approx(3e9 / rate / 3600 * 8 * 3.0)
    full = run("fine_tuning", model="llama-3.1-8b", method="full", gpus=8, seq_tokens=4096, mfu=0.4)
    assert full["per_token_flops"] == pytest.approx(6 * N_8B + 6 * 32 * 4096 * 4096)


def test_gpus_needed_to_fit_full_fine_tuning_of_70b():
    out = run(
        "fine_tuning", model="llama-3.1-70b", method="full", gpus=8, zero_stage=3, seq_tokens=4096,
        recompute="full", overhead_gb=1,
    )
    fixed = 80 * 2 * 4096 * 8192 + 4 * 4096 * 128256 + 1e9  # activations + logits + overhead, not sharded
    sharded = 16 * N_70B  # ZeRO-3 shards every model state
    expected = -(-sharded // (H100_BYTES - fixed))  # ceil(1,128,859,303,936 / (capacity − fixed))
    assert expected == 15
    assert out["min_gpus"] == expected
    assert out["fits"] is False and out["warnings"]
    assert run("fine_tuning", model="llama-3.1-70b", method="full", gpus=15, zero_stage=3, seq_tokens=4096, recompute="full", overhead_gb=1)["fits"]
    assert not run("fine_tuning", model="llama-3.1-70b", method="full", gpus=14, zero_stage=3, seq_tokens=4096, recompute="full", overhead_gb=1)["fits"]


def test_min_dp_when_nothing_fits_and_when_one_fits():
    m = catalog.model("llama-3.1-70b")

    def at(dp, stage=0):
        return training_memory(
            m, method="full", zero_stage=stage, dp=dp, tp=1, pp=1, seq=1024, micro_batch=1, recompute="full",
            trainable_params=N_70B, overhead_bytes=0.0,
        )

    assert min_dp_to_fit(at, H100_BYTES) is None  # ZeRO-0 never shards: 16 B × 70.6B ≫ 80 GiB
    assert min_dp_to_fit(lambda dp: at(dp, 3), 1e15) == 1
    none = run("fine_tuning", model="llama-3.1-70b", method="full", gpus=8, zero_stage=0)
    assert none["min_gpus"] is None and none["fits"] is False


def test_bad_inputs_name_their_field():
    assert error_of("fine_tuning", model="llama-3.1-8b", gpus=6, tp=4)["field"] == "gpus"
    assert error_of("fine_tuning", model="llama-3.1-8b", lora_targets="q,x")["field"] == "lora_targets"
    assert error_of("fine_tuning", model="llama-3.1-8b", lora_targets="q,q")["field"] == "lora_targets"
    assert error_of("fine_tuning", model="llama-3.1-8b", zero_stage=4)["field"] == "zero_stage"
    assert "from 0 to 3" in error_of("fine_tuning", model="llama-3.1-8b", zero_stage=4)["message"]
    assert error_of("training", model="llama-3.1-8b", tokens=1e9, mfu=0)["field"] == "mfu"
    assert error_of("training", model="nope", tokens=1e9)["field"] == "model"
    assert error_of("training", model="llama-3.1-8b")["field"] == "tokens"
    assert error_of("training", model="llama-3.1-8b", tokens=1e9, typo=1)["field"] == "typo"


def test_high_mfu_warns():
    assert run("training", model="llama-3.1-8b", tokens=1e9, mfu=0.8)["warnings"]


MODELS = sorted(catalog.models())


@settings(max_examples=60, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    dp=st.integers(1, 4096),
    seq=st.integers(1, 32768),
    micro=st.integers(1, 16),
    method=st.sampled_from(["full", "lora", "qlora"]),
    recompute=st.sampled_from(["none", "selective", "full"]),
)
def test_more_zero_sharding_never_means_more_memory_per_gpu(model, dp, seq, micro, method, recompute):
    m = catalog.model(model)
    trainable = N_70B if method == "full" else 1e7
    totals = [
        training_memory(
            m, method=method, zero_stage=stage, dp=dp, tp=1, pp=1, seq=seq, micro_batch=micro, recompute=recompute,
            trainable_params=trainable, overhead_bytes=1e9,
        ).total_bytes
        for stage in range(4)
    ]
    assert all(later <= earlier for earlier, later in zip(totals, totals[1:]))


@settings(max_examples=60, deadline=None)
@given(model=st.sampled_from(MODELS), dp=st.integers(1, 2048), stage=st.integers(0, 3), seq=st.integers(1, 32768))
def test_more_data_parallel_ranks_never_mean_more_memory_and_recompute_saves(model, dp, stage, seq):
    m = catalog.model(model)

    def total(d, recompute="selective"):
        return training_memory(
            m, method="full", zero_stage=stage, dp=d, tp=1, pp=1, seq=seq, micro_batch=1, recompute=recompute,
            trainable_params=N_8B, overhead_bytes=0.0,
        ).total_bytes

    assert total(dp + 1) <= total(dp)
    assert total(dp, "full") <= total(dp, "selective") <= total(dp, "none")


def test_method_ordering_for_flops_per_token():
    m = catalog.model("llama-3.1-8b")
    assert training_flops_per_token(m, 2048, "lora") < training_flops_per_token(m, 2048, "full")
    assert training_flops_per_token(m, 2048, "full") - training_flops_per_token(m, 2048, "lora") == pytest.approx(2 * N_8B)


def test_training_scenarios_evaluate():
    from sizing.values import evaluate

    per_token = 6 * N_70B + 6 * 80 * 8192 * 8192
    assert evaluate("pretrain-70b.total_flops").raw == pytest.approx(per_token * 15e12)
    assert evaluate("pretrain-70b.gpu_hours").raw == pytest.approx(per_token * 15e12 / (0.4 * H100_PEAK_BF16) / 3600)
    assert evaluate("pretrain-70b.fits").raw is True
    assert evaluate("lora-8b.trainable_params").raw == 6_815_744
    # QLoRA rank 64 on every linear layer of the 70B: 64 × (2·16384 + 2·9216 + 3·(8192 + 28672)) × 80 layers
    assert evaluate("qlora-70b.trainable_params").raw == 64 * (2 * 16384 + 2 * 9216 + 3 * 36864) * 80 == 828_375_040
    assert evaluate("qlora-70b.fits").raw is True


def test_memory_by_zero_stage_for_the_chart():
    # Full fine-tuning of Llama 3.1 8B over dp = 8 (tp = pp = 1): model states per GPU by stage, N = 8,030,261,248
    #   stage 0: 2N + 2N + 12N            = 16N    = 128,484,179,968 B
    #   stage 1: 2N + 2N + 12N/8          = 5.5N   =  44,166,436,864 B
    #   stage 2: 2N + 2N/8 + 12N/8        = 3.75N  =  30,113,479,680 B
    #   stage 3: (2N + 2N + 12N)/8        = 2N     =  16,060,522,496 B
    # plus the same activations and 1 GB overhead at every stage.
    out = run("fine_tuning", model="llama-3.1-8b", method="full", gpus=8, zero_stage=2, seq_tokens=4096)
    stages = out["zero_stages"]
    assert [p["zero_stage"] for p in stages] == [0, 1, 2, 3]
    acts = out["activations_per_gpu_bytes"]
    for point, factor in zip(stages, (16.0, 5.5, 3.75, 2.0)):
        assert point["memory_per_gpu_bytes"] == pytest.approx(factor * N_8B + acts + 1e9)
        assert point["activations_per_gpu_bytes"] == acts
        parts = ("weights", "gradients", "optimizer", "activations")
        assert sum(point[f"{p}_per_gpu_bytes"] for p in parts) + 1e9 == pytest.approx(point["memory_per_gpu_bytes"])
    # the chosen stage's point is the headline number; the rule on the chart is one GPU's memory
    assert stages[2]["memory_per_gpu_bytes"] == pytest.approx(out["memory_per_gpu_bytes"])
    assert out["gpu_memory_bytes"] == H100_BYTES


def test_memory_by_zero_stage_is_flat_on_one_gpu_and_present_for_pretraining():
    one = run("fine_tuning", model="llama-3.1-8b", method="lora", gpus=1, zero_stage=0)
    assert len({p["memory_per_gpu_bytes"] for p in one["zero_stages"]}) == 1  # dp = 1: nothing to shard
    pre = run("training", model="llama-3.1-70b", tokens=15e12, gpus=2048, tp=8, pp=4, zero_stage=1)
    totals = [p["memory_per_gpu_bytes"] for p in pre["zero_stages"]]
    assert totals == sorted(totals, reverse=True) and totals[0] > totals[3]
    assert pre["zero_stages"][1]["memory_per_gpu_bytes"] == pytest.approx(pre["memory_per_gpu_bytes"])
