"""The step model and the four serving modes, against hand arithmetic and the relations between modes."""

import math

import pytest

from sizing import catalog
from sizing.compute import experts_touched, weight_split
from sizing.efficiency import DEVICES, ENGINE, mfu_max
from sizing.latency import StepModel
from sizing.memory import Deployment
from sizing.serving import Replica, estimate

H100 = catalog.gpu("h100-sxm")
BF16 = catalog.precision("bf16")
FP8 = catalog.precision("fp8")
M8 = catalog.model("llama-3.1-8b")
M70 = catalog.model("llama-3.1-70b")
HOP = DEVICES["hopper"]

# Llama 3.1 8B per layer: Q 4096·32·128 = 16,777,216, K+V 2·4096·8·128 = 8,388,608, O 16,777,216,
# FFN 3·4096·14336 = 176,160,768 → 218,103,808; × 32 layers = 6,979,321,856 parameters multiplied by every token.
DENSE_8B = 32 * (16_777_216 + 8_388_608 + 16_777_216 + 176_160_768)
LM_HEAD_8B = 128_256 * 4_096  # 525,336,576
KV_8B_BF16 = 2 * 32 * 8 * 128 * 2  # 131,072 B per token


def test_weight_split_8b():
    split = weight_split(M8)
    assert DENSE_8B == 6_979_321_856
    assert split.dense_params == DENSE_8B
    assert split.lm_head_params == LM_HEAD_8B
    assert split.linear_flops_per_token == 2 * DENSE_8B


def test_experts_touched():
    assert experts_touched(8, 2, 1) == pytest.approx(2.0)
    # 8 · (1 − (6/8)^4) = 8 · (1 − 0.31640625) = 5.46875
    assert experts_touched(8, 2, 4) == pytest.approx(5.46875)
    assert experts_touched(8, 2, 1000) == pytest.approx(8.0)
    assert experts_touched(0, 0, 10) == 0.0


def test_decode_step_batch_one_is_weight_and_kv_reads_plus_overhead():
    # One sequence decoding at context c on one H100 in BF16: every GEMM is memory-bound, so
    # t = (dense weights + LM head + c × KV per token + one token's elementwise traffic 32 layers × e × 4096) bytes
    #     ÷ (3.35 TB/s × η) + step + 32 layers × layer overhead.
    c = 3000
    bytes_read = DENSE_8B * 2 + LM_HEAD_8B * 2 + c * KV_8B_BF16 + 32 * ENGINE.elementwise_bytes_per_hidden * 4096
    expected = bytes_read / (3.35e12 * HOP.hbm_efficiency) + ENGINE.step_overhead_s + 32 * ENGINE.layer_overhead_s
    step = StepModel(Deployment(M8, H100, 1, BF16, BF16)).step(1, c)
    assert step.memory_bound
    assert step.total_s == pytest.approx(expected, rel=1e-9)


def test_prefill_step_is_compute_bound_with_causal_attention():
    # A lone 8192-token prompt: linear FLOPs 2·6,979,321,856·8192 at mfu(8192) = mfu_max·8192/(8192 + n_half) of
    # 989.4 TFLOP/s; LM head for the one last token is a weight read; attention 8192·8193/2 query–key pairs ×
    # 2·32 heads·(128+128)·32 layers FLOPs at the attention efficiency of the BF16 peak; elementwise traffic
    # 8192 tokens × 32 layers × e × 4096 bytes at the HBM efficiency.
    n = 8192
    mfu = mfu_max(H100, "bf16") * n / (n + HOP.gemm_half_tokens)
    linear = 2 * DENSE_8B * n / (989.4e12 * mfu)
    head = LM_HEAD_8B * 2 / (3.35e12 * HOP.hbm_efficiency)
    attention = n * (n + 1) / 2 * (2 * 32 * 256 * 32) / (989.4e12 * HOP.attention_efficiency)
    overhead = ENGINE.step_overhead_s + 32 * ENGINE.layer_overhead_s
    elementwise = n * 32 * ENGINE.elementwise_bytes_per_hidden * 4096 / (3.35e12 * HOP.hbm_efficiency)
    step = StepModel(Deployment(M8, H100, 1, BF16, BF16)).prefill(n)
    assert not step.memory_bound
    assert step.total_s == pytest.approx(linear + head + attention + overhead + elementwise, rel=1e-9)


def test_tp_adds_two_allreduces_per_layer():
    from sizing.efficiency import LINKS

    link = LINKS["nvlink4"]
    sm = StepModel(Deployment(M70, H100, 4, BF16, BF16))
    # 2 × 80 layers × one-kernel all-reduce of 64 tokens × 8192 × 2 B = 1,048,576 B over 4 GPUs:
    # α_custom + 2·3/4 × 1,048,576 B ÷ (η_bus × 450 GB/s)
    one = link.custom_latency_s + 1.5 * 1_048_576 / (link.bus_efficiency * 450e9)
    assert sm.step(64, 1000).comm_s == pytest.approx(160 * one)
    # 4,096 tokens → 64 MiB messages, above the one-kernel limit: NCCL's ring, α0 + 6 hops + the same bytes term
    ring = link.latency_s + 6 * link.hop_latency_s + 1.5 * 4096 * 8192 * 2 / (link.bus_efficiency * 450e9)
    assert sm.step(4096, 1000).comm_s == pytest.approx(160 * ring)
    assert StepModel(Deployment(M70, H100, 4, BF16, BF16)).step(64, 1000).comm_s > 0
    assert StepModel(Deployment(M8, H100, 1, BF16, BF16)).step(64, 1000).comm_s == 0


def _run(mode, load, model=M8, tp=1, gpus=None, weights=BF16, prompt=1000, output=200):
    return estimate(Deployment(model, H100, tp, weights, weights), prompt, output, mode, load, gpus or tp)


def test_batch_one_and_concurrency_one_agree():
    a, b = _run("batch", 1), _run("concurrency", 1)
    assert a["ttft_ms"] == pytest.approx(b["ttft_ms"], rel=1e-9)
    assert a["tpot_ms"] == pytest.approx(b["tpot_ms"], rel=1e-9)


def test_concurrency_one_is_prefill_then_lone_decode_steps():
    d = Deployment(M8, H100, 1, BF16, BF16)
    out = _run("concurrency", 1, prompt=1000, output=200)
    sm = StepModel(d)
    assert out["ttft_ms"] == pytest.approx((ENGINE.request_overhead_s + sm.prefill(1000).total_s) * 1e3)
    assert out["tpot_ms"] == pytest.approx(sm.step(1, 1000 + 200 / 2).total_s * 1e3)
    assert out["e2e_ms"] == pytest.approx(out["ttft_ms"] + 199 * out["tpot_ms"])


def test_closed_loop_obeys_littles_law():
    out = _run("concurrency", 37)
    assert out["requests_per_s"] * out["e2e_ms"] / 1e3 == pytest.approx(37)
    assert out["output_tokens_per_s"] == pytest.approx(out["requests_per_s"] * 200)


def test_open_loop_throughput_equals_offered_rate_when_stable():
    out = _run("rate", 5.0)
    assert out["stable"] is True
    assert out["requests_per_s"] == pytest.approx(5.0)
    assert out["concurrency"] == pytest.approx(5.0 * out["e2e_ms"] / 1e3)


def test_open_loop_ttft_grows_toward_saturation_and_reports_instability():
    cap = _run("max_throughput", 0)["requests_per_s"]
    ttfts = [_run("rate", cap * f)["ttft_ms"] for f in (0.1, 0.5, 0.9, 0.99)]
    assert ttfts == sorted(ttfts)
    over = _run("rate", cap * 1.5)
    assert over["stable"] is False
    assert over["queue_growth_requests_per_s"] == pytest.approx(cap * 1.5 - over["requests_per_s"])
    assert any("unstable" in w for w in over["warnings"])


def test_closed_loop_beyond_capacity_queues():
    out = _run("max_throughput", 0, model=M70, tp=1, weights=FP8, prompt=128, output=2048)
    cap = out["max_concurrency"]
    more = _run("concurrency", cap * 3, model=M70, tp=1, weights=FP8, prompt=128, output=2048)
    # 2·cap clients wait for a slot: queue = 2·cap ÷ throughput, less the request overhead they spend outside the engine
    assert more["queue_ms"] / 1e3 == pytest.approx(2 * cap / more["requests_per_s"] - ENGINE.request_overhead_s, rel=1e-6)
    assert more["requests_per_s"] == pytest.approx(out["requests_per_s"], rel=1e-6)


def test_batch_beyond_capacity_runs_in_waves():
    one = _run("batch", 10, model=M70, tp=1, weights=FP8, prompt=128, output=2048)
    cap = one["max_concurrency"]
    two_waves = _run("batch", 2 * cap, model=M70, tp=1, weights=FP8, prompt=128, output=2048)
    one_wave = _run("batch", cap, model=M70, tp=1, weights=FP8, prompt=128, output=2048)
    # second wave starts when the first ends: mean TTFT rises by half a wave's makespan
    makespan = cap * 2048 / one_wave["output_tokens_per_s"]
    assert two_waves["ttft_ms"] / 1e3 == pytest.approx(one_wave["ttft_ms"] / 1e3 + makespan / 2, rel=1e-3)


def test_replicas_multiply_deployment_throughput():
    one = _run("concurrency", 16)
    four = _run("concurrency", 64, gpus=4)
    assert four["replicas"] == 4
    assert four["output_tokens_per_s"] == pytest.approx(one["output_tokens_per_s"])
    assert four["deployment_output_tokens_per_s"] == pytest.approx(4 * one["output_tokens_per_s"])
    assert four["output_tokens_per_s_per_gpu"] == pytest.approx(one["output_tokens_per_s_per_gpu"])


def test_prefill_chunks_lengthen_decode_steps():
    # Same batch, longer prompts arriving: TPOT rises because steps carry other requests' prompt chunks.
    short = _run("concurrency", 32, prompt=100, output=500)
    long = _run("concurrency", 32, prompt=4000, output=500)
    assert long["tpot_ms"] > short["tpot_ms"] * 1.2
    assert long["prefill_time_fraction"] > short["prefill_time_fraction"]


def test_70b_fp8_on_one_gpu_is_kv_starved():
    # TRT-LLM 0.17 measured 912 tok/s on 1 H100 vs 6,170 on 2 for 128/2048: capacity, not compute.
    one = _run("max_throughput", 0, model=M70, tp=1, weights=FP8, prompt=128, output=2048)
    two = _run("max_throughput", 0, model=M70, tp=2, weights=FP8, prompt=128, output=2048)
    assert two["output_tokens_per_s_per_gpu"] > 2.5 * one["output_tokens_per_s_per_gpu"]


def test_moe_reads_all_experts_at_large_batch_only():
    mix = catalog.model("mixtral-8x7b")
    sm = StepModel(Deployment(mix, H100, 2, FP8, FP8))
    small, large = sm.step(1, 1000), sm.step(256, 1000)
    split = weight_split(mix)
    # batch 1 reads 2 of 8 experts per layer; batch 256 reads (essentially) all 8
    assert small.gemm_s < large.gemm_s
    expert_bytes_one = split.expert_params * split.moe_layers / 2  # FP8, per GPU of TP2, one expert per layer
    assert small.gemm_s > 2 * expert_bytes_one / (H100.hbm_bandwidth_bytes_per_s * HOP.hbm_efficiency)


def test_does_not_fit_is_reported_not_raised():
    out = _run("concurrency", 1, model=catalog.model("llama-3.1-405b"), tp=8)
    assert out["fits"] is False
    assert "does not fit" in out["warnings"][0]
    assert math.isfinite(out["ttft_ms"]) and out["ttft_ms"] > 0


def test_replica_timing_no_negative_parts():
    r = Replica(Deployment(M8, H100, 1, BF16, BF16), 20000, 1)
    t = r.timing(3)
    assert t.tpot_s == 0.0  # one output token: no decode steps
    assert t.ttft_engine_s > 0


@pytest.mark.parametrize("model, tp", [(M8, 1), (M70, 4), (catalog.model("mixtral-8x7b"), 2)])
def test_step_total_without_breakdown_is_the_same_number(model, tp):
    # step_s is the solvers' fast path: it must be step().total_s to the last bit, or pages and widgets would drift
    sm = StepModel(Deployment(model, H100, tp, FP8, FP8))
    for decoders in (0.0, 0.5, 1.0, 7.3, 64.0, 511.0):
        for prompt, keys in ((0.0, 0.0), (1.0, 1.0), (2048.0, 1024.5), (8192.0, 4096.5)):
            for logits in (None, 1.0, decoders + 0.25):
                assert sm.step_s(decoders, 1500.0, prompt, keys, logits) == sm.step(decoders, 1500.0, prompt, keys,
                                                                                    logits).total_s


def test_replica_reuses_a_steady_state_and_it_equals_a_fresh_solve():
    r = Replica(Deployment(M70, H100, 4, FP8, FP8), 1000, 300)
    first = r.timing(12.5)
    assert r.timing(12.5) is first
    assert Replica(Deployment(M70, H100, 4, FP8, FP8), 1000, 300).timing(12.5) == first
    # the breakdown a result shows is computed from the same steady state
    out = r.open_loop(2.0)
    assert out["decode_step_ms"] == pytest.approx(
        out["step_gemm_ms"] + out["step_attention_ms"] + out["step_comm_ms"] + out["step_overhead_ms"]
        + out["step_elementwise_ms"])
    assert 0.0 <= out["prefill_time_fraction"] < 1.0
