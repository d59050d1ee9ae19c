"""Memory per GPU and KV capacity, against values derived by hand from Llama 3.1 70B's config."""

import json

import pytest

from sizing import api, catalog
from sizing.efficiency import ENGINE
from sizing.memory import DEFAULT_ENGINE, Deployment, Engine, plan, smallest_tp, weights_bytes_per_gpu, workspace_bytes_per_gpu

M70 = catalog.model("llama-3.1-70b")
H100 = catalog.gpu("h100-sxm")
FP8 = catalog.precision("fp8")
BF16 = catalog.precision("bf16")

# Llama 3.1 70B, per layer: Q 8192·64·128 = 67,108,864; K+V 2·8192·8·128 = 16,777,216; O 67,108,864
# → attention 150,994,944; SwiGLU FFN 3·8192·28672 = 704,643,072; layer total 855,638,016; 80 layers 68,451,041,280.
LAYER_PARAMS_70B = 80 * (67_108_864 + 16_777_216 + 67_108_864 + 704_643_072)
VOCAB_TABLE_70B = 128_256 * 8_192  # 1,050,673,152 per table; untied, so embedding + LM head


def test_layer_params_hand_count():
    assert LAYER_PARAMS_70B == 68_451_041_280


def test_weights_per_gpu_fp8_tp2():
    # layers FP8 ÷ 2 + (embedding + LM head) kept in 16-bit ÷ 2 + replicated 16-bit norms (80 layers × 2 × 8192 × 2 B)
    # + final norm (8192 × 2 B)
    expected = LAYER_PARAMS_70B * 1 / 2 + 2 * VOCAB_TABLE_70B * 2 / 2 + 80 * 2 * 8192 * 2 + 8192 * 2
    assert expected == 36_329_504_768
    assert weights_bytes_per_gpu(M70, FP8, 2) == pytest.approx(expected, rel=1e-12)


def test_weights_per_gpu_pipeline_takes_largest_stage():
    # pp=2: 40 layers per stage in BF16 ÷ tp 4, stage norms 40·2·8192·2 B, last stage adds LM head ÷ 4 + final norm
    expected = 40 * 855_638_016 * 2 / 4 + 40 * 2 * 8192 * 2 + VOCAB_TABLE_70B * 2 / 4 + 8192 * 2
    assert expected == 17_639_424_000
    assert weights_bytes_per_gpu(M70, BF16, 4, pp=2) == pytest.approx(expected, rel=1e-12)


def test_workspace_hand_value():
    # 8192 tokens × 2 B × (4·8192 + (2·28672 + 64·128 + 2·8·128) ÷ 2) + 2048 sequences × 128256 ÷ 2 × 4 B
    per_token = 4 * 8192 + (2 * 28672 + 64 * 128 + 2 * 8 * 128) / 2
    expected = 8192 * 2 * per_token + 2048 * 128_256 / 2 * 4
    assert expected == 1_615_855_616
    assert workspace_bytes_per_gpu(M70, 2, DEFAULT_ENGINE) == pytest.approx(expected)


def test_kv_capacity_and_max_concurrency():
    p = plan(Deployment(M70, H100, 2, FP8, FP8), 5500)
    free = 85_899_345_920 - 36_329_504_768 - 1_615_855_616 - ENGINE.cuda_context_bytes
    budget = ENGINE.kv_memory_fraction * free
    kv_per_gpu = 2 * 80 * (8 // 2) * 128 * 1  # FP8 KV, 4 of the 8 KV heads on each of 2 GPUs = 81,920 B
    assert p.kv_per_gpu_bytes_per_token == kv_per_gpu == 81_920
    assert p.kv_budget_bytes_per_gpu == pytest.approx(budget)
    assert p.kv_capacity_tokens == int(budget // kv_per_gpu)
    assert p.max_concurrency == p.kv_capacity_tokens // 5500
    assert p.fits and p.limited_by == "memory"


def test_kv_heads_replicate_beyond_kv_head_count():
    # TP=8 with 8 KV heads: one head per GPU; BF16 → 2 × 80 × 1 × 128 × 2 = 40,960 B per token per GPU
    assert plan(Deployment(M70, H100, 8, BF16, BF16), 1000).kv_per_gpu_bytes_per_token == 40_960


def test_70b_bf16_needs_two_h100s_fp8_fits_one_but_starves_kv():
    assert not plan(Deployment(M70, H100, 1, BF16, BF16), 2176).fits
    fp8_one = plan(Deployment(M70, H100, 1, FP8, FP8), 2176)
    fp8_two = plan(Deployment(M70, H100, 2, FP8, FP8), 2176)
    assert fp8_one.fits
    assert fp8_two.max_concurrency > 8 * fp8_one.max_concurrency
    assert smallest_tp(M70, H100, BF16, BF16, 2176, DEFAULT_ENGINE) == 2
    assert smallest_tp(M70, H100, FP8, FP8, 2176, DEFAULT_ENGINE) == 1


def test_engine_batch_cap_limits_concurrency():
    small = Engine(max_batch_size=64, max_num_tokens=8192, kv_memory_fraction=0.9, request_overhead_s=0.0)
    p = plan(Deployment(catalog.model("llama-3.1-8b"), H100, 1, BF16, BF16, small), 256)
    assert p.max_concurrency == 64 and p.limited_by == "max_batch_size"


def test_memory_monotone_in_context():
    caps = [plan(Deployment(M70, H100, 4, BF16, BF16), c).max_concurrency for c in (512, 1024, 4096, 16384, 65536)]
    assert caps == sorted(caps, reverse=True)


def test_memory_calculation_via_api():
    out = json.loads(api.run("memory", json.dumps({"model": "llama-3.1-70b", "gpu": "h100-sxm", "tp": 2, "weights": "fp8",
                                                   "context_tokens": 5500})))
    assert out["weights_gb_per_gpu"] == pytest.approx(36.329504768)
    assert out["max_concurrency"] == 93
    assert out["min_tp"] == 1
    assert out["derivations"]["kv_capacity_tokens"]["result"] == out["kv_capacity_tokens"]


@pytest.mark.parametrize(
    "params, field, text",
    [
        ({"tp": 3}, "tp", "must divide the 64 attention heads"),
        ({"tp": 16}, "tp", "must be at most 8"),
        ({"pp": 0}, "pp", "must be from 1 to 64"),
        ({"context_tokens": 200_000}, "context_tokens", "131,072-token context"),
        ({"weights": "fp6"}, "weights", "unknown value"),
        ({"kv_fraction": 1.5}, "kv_fraction", "0.05 to 1"),
    ],
)
def test_memory_rejects_bad_input(params, field, text):
    base = {"model": "llama-3.1-70b", "gpu": "h100-sxm", "tp": 2}
    out = json.loads(api.run("memory", json.dumps({**base, **params})))
    assert out["error"]["field"] == field
    assert text in out["error"]["message"]


def test_does_not_fit_warns_with_smallest_tp():
    out = api.compute("memory", {"model": "llama-3.1-405b", "gpu": "h100-sxm", "tp": 4})
    assert out["fits"] is False
    assert out["min_tp"] == 0  # 405B BF16 ≈ 812 GB does not fit in eight 80 GB GPUs
    assert "does not fit" in out["warnings"][0]
