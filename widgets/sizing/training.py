"""Training and fine-tuning: FLOPs, time, cost, and memory per GPU.

Compute (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", §2.1 and Table 1):

* forward FLOPs per token = 2·N + 2·layers·seq·d_attn, where N is the parameter count the token passes through
  (active parameters for a mixture of experts) and d_attn = heads·head_dim. The attention term is Kaplan's: the
  QKᵀ and AV products over a causal context average seq/2 positions, so 2·(2·seq/2·d_attn) per layer.
  PaLM (Chowdhery et al. 2022, appendix B) and Megatron count the full square, 12·layers·seq·d_attn for training —
  twice this convention.
* training FLOPs per token = 3 × forward = 6·N + 6·layers·seq·d_attn (backward = 2 × forward: gradients with
  respect to inputs and to weights).
* LoRA / QLoRA: the frozen base needs no weight gradients, so the weight matmuls cost 2·N forward + 2·N backward
  (input gradients only) = 4·N per token; attention has no weights, so its term stays 6·layers·seq·d_attn.
  Adapter FLOPs (rank r ≪ hidden) are left out.
* tokens/s = MFU · peak FLOP/s · GPUs ÷ FLOPs per token; time = tokens ÷ tokens/s. MFU follows PaLM's definition:
  model FLOPs only, so activation recomputation shows up as a lower achievable MFU, never as extra FLOPs here.

Memory per GPU (mixed-precision Adam, Rajbhandari et al. 2020, "ZeRO", §3): 2 B BF16 weights + 2 B BF16
gradients + 12 B FP32 master weights, momentum and variance = 16 B per trainable parameter. Model states are split
over tensor × pipeline ranks (tp·pp) and then, by ZeRO stage, over the data-parallel degree dp = GPUs ÷ (tp·pp):
stage 1 shards the optimizer states, stage 2 also the gradients, stage 3 also the weights.

* LoRA: base weights frozen in BF16 (2 B/param); trainable adapters of rank r on each chosen matrix,
  r·(d_in + d_out) parameters per matrix per layer, carry the 16 B/param states.
* QLoRA (Dettmers et al. 2023): linear-layer weights in 4-bit NF4 plus quantisation constants — one FP32 absmax per
  64 weights is 32/64 = 0.5 bit/param; double quantisation stores it in 8 bits with one FP32 per 256 blocks,
  8/64 + 32/(64·256) ≈ 0.127 bit/param. Embeddings, LM head and norms stay in BF16 (bitsandbytes skips the head).

Activations per GPU (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models",
Table 2, with tensor and sequence parallelism t, 16-bit activations, s = seq, b = micro-batch, h = hidden,
a = heads), per layer:

* no recomputation:        s·b·h·(34 + 5·a·s/h) ÷ t
* selective recomputation: 34·s·b·h ÷ t   (attention scores recomputed, as FlashAttention does)
* full recomputation:      2·s·b·h ÷ t    (only each layer's input is kept)

times all layers (with a 1F1B pipeline schedule the first stage holds pp micro-batches of layers/pp layers, which is
the same total; Korthikanti §4.2.3), plus FP32 logits for the loss, 4·s·b·vocab ÷ t. The per-layer constants were
derived for GPT-3-style layers (4h GeLU MLP, dropout); for SwiGLU/GQA models they are an approximation.
Parameters are assumed to split evenly over pipeline stages (in practice the stages holding the embedding and the
LM head carry more).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from . import catalog
from .architecture import param_counts
from .derivation import Derivation, num
from .errors import InputError
from .registry import calculation
from .specs import GpuSpec, ModelSpec
from .validation import read_bool, read_choice, read_float, read_int, reject_unknown

ADAM_MIXED_BYTES_PER_PARAM = 16.0  # 2 weights + 2 grads + 12 FP32 master/m/v (ZeRO paper, K = 12)
WEIGHT_BYTES = 2.0  # BF16 weights
GRAD_BYTES = 2.0  # BF16 gradients
OPTIMIZER_BYTES = 12.0  # FP32 master copy, Adam momentum and variance
NF4_BITS = 4.0
NF4_CONSTANT_BITS = 32.0 / 64.0  # one FP32 absmax per block of 64 weights
NF4_DOUBLE_QUANT_CONSTANT_BITS = 8.0 / 64.0 + 32.0 / (64.0 * 256.0)
RECOMPUTE_MODES = ("none", "selective", "full")
METHODS = ("full", "lora", "qlora")
LORA_TARGETS = ("q", "k", "v", "o", "gate", "up", "down")
MAX_GPUS = 1_000_000


def attention_dim(m: ModelSpec) -> float:
    """d_attn for the QKᵀ/AV FLOPs: heads·head_dim; for MLA the mean of the QK width and the V width."""
    if m.mla is not None:
        qk = m.mla.qk_nope_head_dim + m.mla.qk_rope_head_dim
        return m.heads * (qk + m.mla.v_head_dim) / 2.0
    return float(m.heads * m.head_dim)


def attention_forward_flops_per_token(m: ModelSpec, context_tokens: float) -> float:
    """Kaplan's causal attention term: 2·layers·context·d_attn FLOPs per token in the forward pass."""
    return 2.0 * m.layers * context_tokens * attention_dim(m)


def training_flops_per_token(m: ModelSpec, seq_tokens: float, method: str = "full") -> float:
    """6·N + 6·layers·seq·d_attn for full training; 4·N + 6·layers·seq·d_attn with a frozen base (LoRA, QLoRA)."""
    n = param_counts(m).active
    weight_factor = 6.0 if method == "full" else 4.0
    return weight_factor * n + 3.0 * attention_forward_flops_per_token(m, seq_tokens)


# ---------------------------------------------------------------------------------------------------- LoRA


def lora_matrix_shapes(m: ModelSpec, targets: tuple[str, ...]) -> list[tuple[str, int, int, int]]:
    """(target, d_in, d_out, matrices in the whole model) for each chosen LoRA target.

    q: hidden→heads·head_dim, k and v: hidden→kv_heads·head_dim, o: heads·head_dim→hidden, gate and up:
    hidden→intermediate, down: intermediate→hidden. In a mixture of experts every routed and shared expert has its
    own gate/up/down (width expert_intermediate); the router is not adapted.
    """
    if m.mla is not None and any(t in targets for t in ("q", "k", "v")):
        raise InputError(
            "lora_targets",
            f"{m.name} uses multi-head latent attention, whose q/k/v projections are factorised; "
            "choose from o, gate, up, down",
        )
    h = m.hidden
    shapes: list[tuple[str, int, int, int]] = []
    if m.moe is None:
        dense_layers, moe_layers = m.layers, 0
    else:
        dense_layers, moe_layers = m.moe.dense_layers, m.layers - m.moe.dense_layers
    for target in targets:
        if target == "q":
            shapes.append((target, h, m.heads * m.head_dim, m.layers))
        elif target in ("k", "v"):
            shapes.append((target, h, m.kv_heads * m.head_dim, m.layers))
        elif target == "o":
            width = m.heads * (m.mla.v_head_dim if m.mla else m.head_dim)
            shapes.append((target, width, h, m.layers))
        else:
            d_in_dense, d_out_dense = (m.intermediate, h) if target == "down" else (h, m.intermediate)
            if dense_layers:
                shapes.append((target, d_in_dense, d_out_dense, dense_layers))
            if moe_layers:
                e = m.moe.expert_intermediate
                d_in, d_out = (e, h) if target == "down" else (h, e)
                shapes.append((f"{target} (experts)", d_in, d_out, moe_layers * (m.moe.experts + m.moe.shared_experts)))
    return shapes


def lora_adapter_params(m: ModelSpec, rank: int, targets: tuple[str, ...]) -> float:
    """Σ over chosen matrices of rank·(d_in + d_out) × how many such matrices the model has."""
    return float(sum(rank * (d_in + d_out) * count for _, d_in, d_out, count in lora_matrix_shapes(m, targets)))


def parse_targets(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        items = [str(v).strip().lower() for v in value]
    elif isinstance(value, str):
        items = [part.strip().lower() for part in value.split(",")]
    else:
        raise InputError("lora_targets", f"must be a comma-separated list of {', '.join(LORA_TARGETS)} (or 'all')")
    if items == ["all"]:
        return LORA_TARGETS
    if not items or any(not item for item in items):
        raise InputError("lora_targets", f"must be a comma-separated list of {', '.join(LORA_TARGETS)} (or 'all')")
    for item in items:
        if item not in LORA_TARGETS:
            raise InputError("lora_targets", f"unknown target {item!r}; expected some of {', '.join(LORA_TARGETS)} (or 'all')")
    if len(set(items)) != len(items):
        raise InputError("lora_targets", "lists a target twice")
    return tuple(t for t in LORA_TARGETS if t in items)


# ---------------------------------------------------------------------------------------------------- memory


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes on one GPU (the heaviest, first pipeline stage) during a training step."""

    weights_bytes: float  # trainable and frozen weights held by this GPU
    gradients_bytes: float
    optimizer_bytes: float  # FP32 master weights + Adam m and v
    activations_bytes: float
    overhead_bytes: float  # CUDA context, allocator slack (an input)
    total_bytes: float
    trainable_params: float
    frozen_base_bytes_per_param: float  # 0 for full fine-tuning


def frozen_base_bytes(m: ModelSpec, method: str, double_quant: bool = True) -> float:
    """Bytes of the frozen base model: LoRA 2 B/param; QLoRA NF4 linear layers + BF16 embeddings and norms."""
    counts = param_counts(m)
    if method == "full":
        return 0.0
    if method == "lora":
        return WEIGHT_BYTES * counts.total
    linear = counts.attention + counts.ffn_dense + counts.ffn_experts
    constants = NF4_DOUBLE_QUANT_CONSTANT_BITS if double_quant else NF4_CONSTANT_BITS
    return linear * (NF4_BITS + constants) / 8.0 + (counts.total - linear) * WEIGHT_BYTES


def activation_bytes_per_layer(m: ModelSpec, seq: int, micro_batch: int, recompute: str, tp: int) -> float:
    """Korthikanti et al. 2022 Table 2 (with sequence parallelism over t = tp)."""
    s, b, h, a = float(seq), float(micro_batch), float(m.hidden), float(m.heads)
    if recompute == "none":
        return s * b * h * (34.0 + 5.0 * a * s / h) / tp
    if recompute == "selective":
        return 34.0 * s * b * h / tp
    return 2.0 * s * b * h / tp


def activation_bytes(m: ModelSpec, seq: int, micro_batch: int, recompute: str, tp: int) -> float:
    """layers × per-layer activations + FP32 logits 4·s·b·vocab ÷ t."""
    logits = 4.0 * seq * micro_batch * m.vocab / tp
    return m.layers * activation_bytes_per_layer(m, seq, micro_batch, recompute, tp) + logits


def _state_split(zero_stage: int, dp: int) -> tuple[float, float, float]:
    """Divisors for (weights, gradients, optimizer states) under a ZeRO stage over dp data-parallel ranks."""
    return (dp if zero_stage >= 3 else 1, dp if zero_stage >= 2 else 1, dp if zero_stage >= 1 else 1)


def training_memory(
    m: ModelSpec,
    *,
    method: str,
    zero_stage: int,
    dp: int,
    tp: int,
    pp: int,
    seq: int,
    micro_batch: int,
    recompute: str,
    trainable_params: float,
    overhead_bytes: float,
    double_quant: bool = True,
) -> TrainingMemory:
    """Model states split over tp·pp, then sharded over dp by ZeRO stage; activations per Korthikanti; overhead."""
    model_split = float(tp * pp)
    w_div, g_div, o_div = _state_split(zero_stage, dp)
    frozen = frozen_base_bytes(m, method, double_quant)
    weights = (frozen + WEIGHT_BYTES * trainable_params) / model_split / w_div
    grads = GRAD_BYTES * trainable_params / model_split / g_div
    optimizer = OPTIMIZER_BYTES * trainable_params / model_split / o_div
    acts = activation_bytes(m, seq, micro_batch, recompute, tp)
    total = weights + grads + optimizer + acts + overhead_bytes
    frozen_per_param = frozen / param_counts(m).total
    return TrainingMemory(weights, grads, optimizer, acts, overhead_bytes, total, trainable_params, frozen_per_param)


def min_dp_to_fit(memory_at, capacity_bytes: float) -> int | None:
    """Smallest data-parallel degree whose per-GPU total fits ``capacity_bytes`` (None if no degree does).

    Per-GPU memory is fixed + sharded/dp, non-increasing in dp, so the answer is ceil(sharded ÷ (capacity − fixed)),
    checked against ``memory_at`` to absorb rounding.
    """
    at_one = memory_at(1).total_bytes
    if at_one <= capacity_bytes:
        return 1
    big = memory_at(MAX_GPUS).total_bytes
    if big > capacity_bytes:
        return None
    # total(dp) = fixed + sharded/dp; recover fixed and sharded from two evaluations.
    sharded = (at_one - big) / (1.0 - 1.0 / MAX_GPUS)
    fixed = at_one - sharded
    dp = max(1, math.ceil(sharded / (capacity_bytes - fixed)))
    while dp > 1 and memory_at(dp - 1).total_bytes <= capacity_bytes:
        dp -= 1
    while memory_at(dp).total_bytes > capacity_bytes:
        dp += 1
    return dp


def memory_by_zero_stage(memory_with_stage) -> list[dict[str, float]]:
    """One point per ZeRO stage 0–3 at the chosen layout: the per-GPU total and its parts (a chart's series).

    ``memory_with_stage(stage)`` returns the :class:`TrainingMemory` of one GPU at that stage, everything else fixed.
    """
    points = []
    for stage in range(4):
        mem = memory_with_stage(stage)
        points.append({
            "label": f"ZeRO-{stage}",
            "zero_stage": stage,
            "memory_per_gpu_bytes": mem.total_bytes,
            "weights_per_gpu_bytes": mem.weights_bytes,
            "gradients_per_gpu_bytes": mem.gradients_bytes,
            "optimizer_per_gpu_bytes": mem.optimizer_bytes,
            "activations_per_gpu_bytes": mem.activations_bytes,
        })
    return points


# ---------------------------------------------------------------------------------------------------- shared inputs


@dataclass(frozen=True)
class _Common:
    model: ModelSpec
    gpu: GpuSpec
    gpus: int
    tp: int
    pp: int
    dp: int
    zero_stage: int
    seq: int
    micro_batch: int
    recompute: str
    mfu: float
    peak_flops_per_s: float
    compute_dtype: str
    price_usd_per_hour: float
    overhead_bytes: float


_COMMON_PARAMS = {
    "model", "gpu", "gpus", "tp", "pp", "zero_stage", "seq_tokens", "micro_batch", "recompute", "mfu", "compute",
    "price_usd_per_hour", "overhead_gb",
}


def _read_common(params: dict[str, Any], *, default_gpus: int, default_zero: int) -> _Common:
    m = catalog.model(params.get("model"))
    g = catalog.gpu(params.get("gpu", "h100-sxm"))
    gpus = read_int(params, "gpus", 1, MAX_GPUS, default_gpus)
    tp = read_int(params, "tp", 1, 64, 1)
    pp = read_int(params, "pp", 1, 256, 1)
    if gpus % (tp * pp):
        raise InputError("gpus", f"must be a multiple of tp × pp = {tp * pp} (got {gpus})")
    zero = read_int(params, "zero_stage", 0, 3, default_zero)
    seq = read_int(params, "seq_tokens", 1, 1_048_576, 4096)
    micro_batch = read_int(params, "micro_batch", 1, 4096, 1)
    recompute = read_choice(params, "recompute", RECOMPUTE_MODES, "selective")
    mfu = read_float(params, "mfu", 0.01, 1.0, 0.4)
    compute = read_choice(params, "compute", ("bf16", "fp8"), "bf16")
    price = read_float(params, "price_usd_per_hour", 0.0, 1000.0, g.price_usd_per_hour_on_demand)
    overhead_gb = read_float(params, "overhead_gb", 0.0, 1000.0, 1.0)
    return _Common(
        model=m, gpu=g, gpus=gpus, tp=tp, pp=pp, dp=gpus // (tp * pp), zero_stage=zero, seq=seq,
        micro_batch=micro_batch, recompute=recompute, mfu=mfu, peak_flops_per_s=g.peak_flops(compute),
        compute_dtype=compute, price_usd_per_hour=price, overhead_bytes=overhead_gb * 1e9,
    )


def _mfu_warnings(mfu: float) -> list[str]:
    if mfu > 0.6:
        return [f"MFU {mfu:.0%} is above what large training runs report (about 35–55%); results are optimistic"]
    return []


def _memory_derivation(c: _Common, mem: TrainingMemory, method: str) -> Derivation:
    return Derivation(
        f"memory per GPU ({c.model.name}, {method}, ZeRO-{c.zero_stage}, dp {c.dp}, tp {c.tp}, pp {c.pp})",
        "weights + gradients + optimizer states + activations + overhead",
        " + ".join(
            num(v, "bytes") for v in (mem.weights_bytes, mem.gradients_bytes, mem.optimizer_bytes, mem.activations_bytes, mem.overhead_bytes)
        ),
        mem.total_bytes,
        "bytes",
    )


# ---------------------------------------------------------------------------------------------------- pre-training


@dataclass(frozen=True)
class PretrainingResult:
    params: float  # active parameters N in 6·N·D
    per_token_flops: float  # 6·N + 6·layers·seq·d_attn
    total_flops: float
    dense_only_flops: float  # 6·N·D, the headline approximation
    attention_share: float  # attention term ÷ total
    cluster_flops_per_s: float  # MFU × peak × GPUs
    tokens_per_s: float
    time_s: float
    gpu_hours: float
    cost_usd: float
    memory_per_gpu_bytes: float
    fits: bool


@calculation("training")
def pretraining(params: dict[str, Any]) -> dict[str, Any]:
    """Pre-training compute, time, GPU-hours and cost for D tokens, and memory per GPU for the chosen layout."""
    reject_unknown(params, _COMMON_PARAMS | {"tokens"})
    c = _read_common(params, default_gpus=1024, default_zero=1)
    tokens = read_float(params, "tokens", 1.0, 1e15)
    m = c.model
    n = param_counts(m).active
    per_token = training_flops_per_token(m, c.seq, "full")
    attention_term = 3.0 * attention_forward_flops_per_token(m, c.seq)
    total = per_token * tokens
    cluster = c.mfu * c.peak_flops_per_s * c.gpus
    time_s = total / cluster
    gpu_hours = time_s * c.gpus / 3600.0

    def memory_with_stage(stage: int) -> TrainingMemory:
        return training_memory(
            m, method="full", zero_stage=stage, dp=c.dp, tp=c.tp, pp=c.pp, seq=c.seq,
            micro_batch=c.micro_batch, recompute=c.recompute, trainable_params=param_counts(m).total,
            overhead_bytes=c.overhead_bytes,
        )

    mem = memory_with_stage(c.zero_stage)
    result = PretrainingResult(
        params=n,
        per_token_flops=per_token,
        total_flops=total,
        dense_only_flops=6.0 * n * tokens,
        attention_share=attention_term / per_token,
        cluster_flops_per_s=cluster,
        tokens_per_s=cluster / per_token,
        time_s=time_s,
        gpu_hours=gpu_hours,
        cost_usd=gpu_hours * c.price_usd_per_hour,
        memory_per_gpu_bytes=mem.total_bytes,
        fits=mem.total_bytes <= c.gpu.memory_bytes,
    )
    warnings = _mfu_warnings(c.mfu)
    if not result.fits:
        warnings.append(
            f"{num(mem.total_bytes, 'bytes')} per GPU exceeds the {c.gpu.name}'s {num(c.gpu.memory_bytes, 'bytes')}: "
            "raise the ZeRO stage, tp or pp, or recompute more activations"
        )
    derivations = {
        "total_flops": Derivation(
            f"pre-training compute ({m.name}, Kaplan attention term)",
            "(6 × N + 6 × layers × seq × d_attn) × tokens",
            f"(6 × {num(n, 'params')} + 6 × {num(m.layers)} × {num(c.seq)} × {num(attention_dim(m))}) × {num(tokens, 'tokens')}",
            total,
            "flop",
        ),
        "dense_only_flops": Derivation(
            f"pre-training compute, 6ND rule ({m.name})",
            "6 × N × tokens",
            f"6 × {num(n, 'params')} × {num(tokens, 'tokens')}",
            result.dense_only_flops,
            "flop",
        ),
        "time_s": Derivation(
            f"training time on {num(c.gpus, 'gpus')} × {c.gpu.name}",
            "total FLOPs ÷ (MFU × peak FLOP/s × GPUs)",
            f"{num(total, 'flop')} ÷ ({num(c.mfu, 'ratio')} × {num(c.peak_flops_per_s, 'flop_per_s')} × {num(c.gpus)})",
            time_s,
            "s",
        ),
        "cost_usd": Derivation(
            "training cost",
            "GPU-hours × price per GPU-hour",
            f"{num(gpu_hours)} × {num(c.price_usd_per_hour, 'usd')}",
            result.cost_usd,
            "usd",
        ),
        "memory_per_gpu_bytes": _memory_derivation(c, mem, "full"),
    }
    return {
        "model": m.id,
        "gpu": c.gpu.id,
        "dp": c.dp,
        **asdict(result),
        **{f"mem_{k}": v for k, v in asdict(mem).items() if k.endswith("_bytes")},
        "gpu_memory_bytes": c.gpu.memory_bytes,
        "zero_stages": memory_by_zero_stage(memory_with_stage),
        "derivations": derivations,
        "warnings": warnings,
    }


# ---------------------------------------------------------------------------------------------------- fine-tuning


@dataclass(frozen=True)
class FineTuningResult:
    method: str
    total_params: float
    trainable_params: float
    trainable_fraction: float
    weights_per_gpu_bytes: float
    gradients_per_gpu_bytes: float
    optimizer_per_gpu_bytes: float
    activations_per_gpu_bytes: float
    overhead_per_gpu_bytes: float
    memory_per_gpu_bytes: float
    fits: bool
    min_gpus: int | None  # smallest GPU count (a multiple of tp·pp) that fits at this ZeRO stage
    per_token_flops: float
    tokens_per_s: float
    trained_tokens: float
    time_s: float
    gpu_hours: float
    cost_usd: float


@calculation("fine_tuning")
def fine_tuning(params: dict[str, Any]) -> dict[str, Any]:
    """Full fine-tuning, LoRA or QLoRA: memory per GPU, GPUs needed to fit, throughput, time and cost."""
    reject_unknown(params, _COMMON_PARAMS | {"method", "lora_rank", "lora_targets", "double_quant", "dataset_tokens", "epochs"})
    c = _read_common(params, default_gpus=8, default_zero=3)
    method = read_choice(params, "method", METHODS, "lora")
    m = c.model
    counts = param_counts(m)
    rank = read_int(params, "lora_rank", 1, 4096, 16)
    targets = parse_targets(params.get("lora_targets", "q,v"))
    double_quant = read_bool(params, "double_quant", True)
    dataset_tokens = read_float(params, "dataset_tokens", 1.0, 1e14, 1e8)
    epochs = read_float(params, "epochs", 0.01, 1000.0, 1.0)
    trainable = counts.total if method == "full" else lora_adapter_params(m, rank, targets)

    def memory_at(dp: int, stage: int = c.zero_stage) -> TrainingMemory:
        return training_memory(
            m, method=method, zero_stage=stage, dp=dp, tp=c.tp, pp=c.pp, seq=c.seq,
            micro_batch=c.micro_batch, recompute=c.recompute, trainable_params=trainable,
            overhead_bytes=c.overhead_bytes, double_quant=double_quant,
        )

    mem = memory_at(c.dp)
    min_dp = min_dp_to_fit(memory_at, c.gpu.memory_bytes)
    per_token = training_flops_per_token(m, c.seq, method)
    cluster = c.mfu * c.peak_flops_per_s * c.gpus
    tokens_per_s = cluster / per_token
    trained = dataset_tokens * epochs
    time_s = trained / tokens_per_s
    gpu_hours = time_s * c.gpus / 3600.0
    result = FineTuningResult(
        method=method,
        total_params=counts.total,
        trainable_params=trainable,
        trainable_fraction=trainable / counts.total,
        weights_per_gpu_bytes=mem.weights_bytes,
        gradients_per_gpu_bytes=mem.gradients_bytes,
        optimizer_per_gpu_bytes=mem.optimizer_bytes,
        activations_per_gpu_bytes=mem.activations_bytes,
        overhead_per_gpu_bytes=mem.overhead_bytes,
        memory_per_gpu_bytes=mem.total_bytes,
        fits=mem.total_bytes <= c.gpu.memory_bytes,
        min_gpus=None if min_dp is None else min_dp * c.tp * c.pp,
        per_token_flops=per_token,
        tokens_per_s=tokens_per_s,
        trained_tokens=trained,
        time_s=time_s,
        gpu_hours=gpu_hours,
        cost_usd=gpu_hours * c.price_usd_per_hour,
    )
    warnings = _mfu_warnings(c.mfu)
    if method == "qlora" and c.compute_dtype == "fp8":
        warnings.append("QLoRA dequantises NF4 weights to BF16 for its matmuls; an FP8 peak overstates its speed")
    if not result.fits:
        fix = (
            f"{result.min_gpus} GPUs at this ZeRO stage, tp and pp would fit"
            if result.min_gpus is not None
            else "no data-parallel degree fits at this ZeRO stage; raise it, or tp/pp, or recompute more"
        )
        warnings.append(f"{num(mem.total_bytes, 'bytes')} per GPU exceeds the {c.gpu.name}'s {num(c.gpu.memory_bytes, 'bytes')}: {fix}")
    derivations: dict[str, Derivation] = {
        "memory_per_gpu_bytes": _memory_derivation(c, mem, method),
        "tokens_per_s": Derivation(
            f"training throughput ({method})",
            "MFU × peak FLOP/s × GPUs ÷ ("
            + ("6" if method == "full" else "4")
            + " × N + 6 × layers × seq × d_attn)",
            f"{num(c.mfu, 'ratio')} × {num(c.peak_flops_per_s, 'flop_per_s')} × {num(c.gpus)} ÷ {num(per_token, 'flop')}",
            tokens_per_s,
            "tokens_per_s",
        ),
        "time_s": Derivation(
            "fine-tuning time",
            "dataset tokens × epochs ÷ tokens/s",
            f"{num(dataset_tokens, 'tokens')} × {num(epochs)} ÷ {num(tokens_per_s, 'tokens_per_s')}",
            time_s,
            "s",
        ),
        "cost_usd": Derivation(
            "fine-tuning cost",
            "time × GPUs × price per GPU-hour",
            f"{num(time_s, 's')} × {num(c.gpus)} × {num(c.price_usd_per_hour, 'usd')}/h",
            result.cost_usd,
            "usd",
        ),
    }
    if method != "full":
        shapes = lora_matrix_shapes(m, targets)
        derivations["trainable_params"] = Derivation(
            f"LoRA adapter parameters ({m.name}, rank {rank}, {','.join(targets)})",
            "Σ rank × (d_in + d_out) × matrices",
            " + ".join(f"{num(rank)} × ({num(d_in)} + {num(d_out)}) × {num(count)}" for _, d_in, d_out, count in shapes),
            trainable,
            "params",
        )
    return {
        "model": m.id,
        "gpu": c.gpu.id,
        "dp": c.dp,
        "lora_rank": rank if method != "full" else None,
        "lora_targets": ",".join(targets) if method != "full" else None,
        **asdict(result),
        "gpu_memory_bytes": c.gpu.memory_bytes,
        "zero_stages": memory_by_zero_stage(lambda stage: memory_at(c.dp, stage)),
        "derivations": derivations,
        "warnings": warnings,
    }
