"""Structural facts of catalog models against values worked out by hand from each config.json.

Every expected number is written as its arithmetic so a reader can redo it; none is read back from the model.
"""

from __future__ import annotations

import pytest

from sizing import api, catalog
from sizing.architecture import (
    attention_params_per_layer,
    kv_bytes_per_token,
    kv_bytes_per_token_per_gpu,
    kv_derivation,
    kv_heads_per_gpu,
    kv_values_per_token,
    param_counts,
)

BF16 = 2.0
FP8 = 1.0


# --- KV cache bytes per token (one copy of the cache, BF16) -------------------------------------------------------


def test_llama_31_70b_kv_bf16():
    # 2 (K and V) × 80 layers × 8 KV heads × 128 head_dim × 2 bytes
    assert kv_bytes_per_token(catalog.model("llama-3.1-70b"), BF16) == 2 * 80 * 8 * 128 * 2 == 327_680


def test_llama_31_8b_kv_bf16():
    # 2 × 32 layers × 8 KV heads × 128 × 2 B
    assert kv_bytes_per_token(catalog.model("llama-3.1-8b"), BF16) == 2 * 32 * 8 * 128 * 2 == 131_072


def test_qwen25_7b_kv_bf16():
    # 2 × 28 layers × 4 KV heads × 128 × 2 B: half of Llama-3.1-8B's per layer because Qwen keeps 4 KV heads
    assert kv_bytes_per_token(catalog.model("qwen2.5-7b"), BF16) == 2 * 28 * 4 * 128 * 2 == 57_344


def test_deepseek_v3_mla_kv_bf16_has_no_factor_of_two():
    # one latent per layer serves K and V: 61 layers × (kv_lora_rank 512 + rope 64) × 2 B
    assert kv_bytes_per_token(catalog.model("deepseek-v3"), BF16) == 61 * (512 + 64) * 2 == 70_272
    assert kv_values_per_token(catalog.model("deepseek-v3")) == 61 * 576 == 35_136


def test_gemma2_9b_kv_uses_explicit_head_dim():
    # head_dim 256 from config, not hidden / heads = 3584 / 16 = 224:
    # 2 × 42 layers × 8 KV heads × 256 × 2 B = 344,064 (with 224 it would be 301,056)
    m = catalog.model("gemma-2-9b")
    assert m.hidden // m.heads == 224
    assert kv_bytes_per_token(m, BF16) == 2 * 42 * 8 * 256 * 2 == 344_064


def test_mistral_nemo_kv_uses_explicit_head_dim():
    # head_dim 128 although hidden / heads = 5120 / 32 = 160: 2 × 40 × 8 × 128 × 2 B
    assert kv_bytes_per_token(catalog.model("mistral-nemo-12b"), BF16) == 2 * 40 * 8 * 128 * 2 == 163_840


def test_kv_scales_with_bytes_per_value():
    # FP8 KV halves BF16: 327,680 ÷ 2
    m = catalog.model("llama-3.1-70b")
    assert kv_bytes_per_token(m, catalog.precision("fp8").bytes_per_value) == 163_840


# --- KV per GPU under tensor parallelism ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "heads_per_gpu"),
    [
        (1, 8),  # no sharding
        (2, 4),  # 8 / 2
        (4, 2),  # 8 / 4
        (8, 1),  # 8 / 8
        (16, 1),  # 8 KV heads cannot split 16 ways: each head is replicated on 2 GPUs, every GPU still holds 1
    ],
)
def test_llama_70b_kv_heads_per_gpu(tp, heads_per_gpu):
    assert kv_heads_per_gpu(catalog.model("llama-3.1-70b"), tp) == heads_per_gpu


def test_llama_70b_kv_bytes_per_gpu_tp4():
    # 2 heads per GPU: 2 × 80 × 2 × 128 × 2 B
    assert kv_bytes_per_token_per_gpu(catalog.model("llama-3.1-70b"), BF16, 4) == 2 * 80 * 2 * 128 * 2 == 81_920


def test_llama_70b_kv_bytes_per_gpu_tp16_is_replicated_not_halved():
    # 1 head per GPU at TP=16, the same as TP=8: 2 × 80 × 1 × 128 × 2 B = 40,960 (not 327,680 / 16 = 20,480)
    m = catalog.model("llama-3.1-70b")
    assert kv_bytes_per_token_per_gpu(m, BF16, 16) == 2 * 80 * 1 * 128 * 2 == 40_960
    assert kv_bytes_per_token_per_gpu(m, BF16, 16) == kv_bytes_per_token_per_gpu(m, BF16, 8)


def test_mla_latent_is_whole_on_every_tp_rank():
    # the latent has no head axis to shard: 70,272 B per GPU at TP=8, as at TP=1
    m = catalog.model("deepseek-v3")
    assert kv_bytes_per_token_per_gpu(m, BF16, 8) == kv_bytes_per_token_per_gpu(m, BF16, 1) == 70_272


# --- parameter counts ----------------------------------------------------------------------------------------------

# Llama-3.1-70B, no biases, untied embeddings:
#   embeddings  2 × 128,256 × 8,192                                   =  2,101,346,304
#   attention   80 × (8,192×8,192 [Q] + 2×8,192×1,024 [K,V] + 8,192×8,192 [O])
#               = 80 × 150,994,944                                    = 12,079,595,520
#   FFN         80 × 3 × 8,192 × 28,672 = 80 × 704,643,072            = 56,371,445,760
#   norms       2 × 8,192 × 80 + 8,192                                 =      1,318,912
#   total                                                               = 70,553,706,496
LLAMA_70B_PARAMS = 2_101_346_304 + 12_079_595_520 + 56_371_445_760 + 1_318_912


def test_llama_31_70b_exact_params():
    counts = param_counts(catalog.model("llama-3.1-70b"))
    assert LLAMA_70B_PARAMS == 70_553_706_496
    assert counts.total == LLAMA_70B_PARAMS
    assert counts.embedding == 2_101_346_304
    assert counts.attention == 12_079_595_520
    assert counts.ffn_dense == 56_371_445_760
    assert counts.active == counts.total  # dense: every parameter is used for every token


def test_llama_31_70b_fp8_weights_on_tp2():
    # FP8 stores 1 byte per parameter: 70,553,706,496 B for the model, split evenly over 2 GPUs
    # = 35,276,853,248 B per GPU (about 32.9 GiB, so it fits an 80 GiB H100 with room for KV cache)
    out = api.compute("model", {"model": "llama-3.1-70b"})
    assert out["weights_fp8_bytes"] == LLAMA_70B_PARAMS * 1
    assert out["weights_fp8_bytes"] / 2 == 35_276_853_248


# DeepSeek-V3 (MLA + MoE), per layer attention:
#   q_a 7,168×1,536 = 11,010,048; q_a norm 1,536; q_b 1,536×128×(128+64) = 37,748,736
#   kv_a 7,168×(512+64) = 4,128,768; kv_a norm 512; kv_b 512×128×(128+128) = 16,777,216
#   o 128×128×7,168 = 117,440,512                        → 187,107,328 per layer, × 61 = 11,413,547,008
# dense FFN (first 3 layers): 3 × 3×7,168×18,432 = 3 × 396,361,728         =  1,189,085,184
# MoE (58 layers): one expert 3×7,168×2,048 = 44,040,192;
#   (256 routed + 1 shared) × 44,040,192 + router 7,168×256 = 11,320,164,352 per layer, × 58 = 656,569,532,416
# embeddings 2 × 129,280 × 7,168                                             =  1,853,358,080
# norms 2 × 7,168 × 61 + 7,168                                                =        881,664
DEEPSEEK_V3_PARAMS = 11_413_547_008 + 1_189_085_184 + 656_569_532_416 + 1_853_358_080 + 881_664
# active: MoE layers use 8 routed + 1 shared expert: 58 × (9 × 44,040,192 + 1,835,008) = 23,095,410,688
DEEPSEEK_V3_ACTIVE = 11_413_547_008 + 1_189_085_184 + 23_095_410_688 + 1_853_358_080 + 881_664


def test_deepseek_v3_mla_attention_per_layer():
    assert attention_params_per_layer(catalog.model("deepseek-v3")) == 187_107_328


def test_deepseek_v3_exact_total_and_active_params():
    counts = param_counts(catalog.model("deepseek-v3"))
    assert DEEPSEEK_V3_PARAMS == 671_026_404_352
    assert DEEPSEEK_V3_ACTIVE == 37_552_282_624
    assert counts.total == DEEPSEEK_V3_PARAMS
    assert counts.active == DEEPSEEK_V3_ACTIVE


def test_mixtral_8x7b_active_params():
    # embeddings 2×32,000×4,096 = 262,144,000; attention 32 × (2×4,096² + 2×4,096×1,024) = 1,342,177,280
    # experts used per token: 32 layers × 2 × 3×4,096×14,336 = 11,274,289,152; routers 32 × 4,096×8 = 1,048,576
    # norms 2×4,096×32 + 4,096 = 266,240
    expected = 262_144_000 + 1_342_177_280 + 11_274_289_152 + 1_048_576 + 266_240
    assert param_counts(catalog.model("mixtral-8x7b")).active == expected == 12_879_925_248


def test_tied_embeddings_count_once():
    # Llama-3.2-1B ties input and output embeddings: 128,256 × 2,048 = 262,668,288, once
    assert param_counts(catalog.model("llama-3.2-1b")).embedding == 128_256 * 2_048 == 262_668_288


# --- derivations show formula → substitution → result -------------------------------------------------------------


def test_kv_derivation_substitution_matches_result():
    d = kv_derivation(catalog.model("llama-3.1-70b"), BF16, "bf16")
    assert d.result == 327_680
    assert "80" in d.substitution and "128" in d.substitution
    mla = kv_derivation(catalog.model("deepseek-v3"), BF16, "bf16")
    assert "kv_lora_rank" in mla.formula and mla.result == 70_272
