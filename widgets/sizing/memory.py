"""GPU memory of one serving replica: weights per GPU, workspace, the KV cache budget, and how many sequences fit.

Per GPU of a replica with tensor parallelism ``tp`` and pipeline parallelism ``pp`` (stages of ⌈layers/pp⌉ layers):

* weights = (per-layer weights of one stage ÷ tp) + (norms of the stage, replicated on every rank)
  + embedding table ÷ tp on the first stage, LM head ÷ tp on the last. Embedding and LM head are vocab-parallel
  (sharded by vocabulary rows, as vLLM's ``VocabParallelEmbedding``/``ParallelLMHead`` and TensorRT-LLM's parallel
  embedding do) and stay in 16-bit when the other weights are quantised below 2 bytes (FP8/INT4/FP4 checkpoints
  leave them unquantised). The reported figure is the largest stage.
* workspace = max_num_tokens · 2 B · (4·hidden + (2·ffn + q + 2·kv widths) ÷ tp) + max_batch_size · vocab ÷ tp
  · 4 B (activations of the largest step and FP32 logits), plus a fixed CUDA context and library workspace.
* KV budget = kv_memory_fraction × (GPU memory − weights − workspace − context): the fraction applies to the memory
  left *after* the engine loads, as TensorRT-LLM's ``kv_cache_free_gpu_mem_fraction`` does.
* KV bytes per token per GPU from ``architecture.kv_bytes_per_token_per_gpu`` (GQA heads shard by TP and replicate
  once tp > kv_heads; an MLA latent is replicated), times the stage's share of layers.
* KV capacity = ⌊budget ÷ KV bytes per token per GPU⌋ tokens; max concurrency = min(max_batch_size,
  ⌊capacity ÷ (input + output tokens)⌋) — each sequence is given room for its full length, as TensorRT-LLM's
  default no-eviction scheduler reserves it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import catalog
from .architecture import kv_bytes_per_token, kv_bytes_per_token_per_gpu
from .compute import weight_split
from .derivation import Derivation, num
from .efficiency import ENGINE
from .errors import InputError
from .registry import calculation
from .specs import GpuSpec, ModelSpec, Precision
from .validation import read_choice, read_float, read_int, reject_unknown

MAX_TOKENS = 10_000_000
TP_CHOICES = (1, 2, 4, 8, 16, 32, 64)


@dataclass(frozen=True)
class Engine:
    max_batch_size: int
    max_num_tokens: int
    kv_memory_fraction: float
    request_overhead_s: float


DEFAULT_ENGINE = Engine(ENGINE.max_batch_size, ENGINE.max_num_tokens, ENGINE.kv_memory_fraction, ENGINE.request_overhead_s)


@dataclass(frozen=True)
class Deployment:
    """One replica: a model on ``tp × pp`` GPUs of one kind, weights and KV cache in given precisions."""

    model: ModelSpec
    gpu: GpuSpec
    tp: int
    weights: Precision
    kv: Precision
    engine: Engine = DEFAULT_ENGINE
    pp: int = 1

    @property
    def gpus(self) -> int:
        return self.tp * self.pp


@dataclass(frozen=True)
class MemoryPlan:
    weights_bytes_per_gpu: float
    workspace_bytes_per_gpu: float  # activations of the largest step + logits
    context_bytes_per_gpu: float  # CUDA context and library workspaces
    kv_budget_bytes_per_gpu: float
    kv_bytes_per_token: float  # whole model, one copy
    kv_per_gpu_bytes_per_token: float
    kv_capacity_tokens: int  # tokens of KV cache the replica holds
    context_tokens: int  # tokens each sequence reserves (input + output)
    max_concurrency: int
    limited_by: str  # "memory" or "max_batch_size"
    fits: bool

    @property
    def kv_bytes_per_gpu_at_max(self) -> float:
        return self.max_concurrency * self.context_tokens * self.kv_per_gpu_bytes_per_token


def embedding_bytes_per_value(weights: Precision) -> float:
    """Embedding and LM head stay in 16-bit when the rest of the model is quantised below 2 bytes."""
    return max(weights.bytes_per_value, 2.0)


def weights_bytes_per_gpu(m: ModelSpec, weights: Precision, tp: int, pp: int = 1) -> float:
    """Largest pipeline stage's weight bytes on one GPU (formula in the module docstring)."""
    split = weight_split(m)
    per_layer = (split.dense_params + split.routed_params) / m.layers
    stage_layers = math.ceil(m.layers / pp)
    layer_bytes = stage_layers * per_layer * weights.bytes_per_value / tp
    norms = stage_layers * 2.0 * m.hidden * 2.0  # 16-bit norm weights, replicated
    emb = embedding_bytes_per_value(weights)
    first = split.embedding_params * emb / tp
    last = split.lm_head_params * emb / tp + m.hidden * 2.0
    if pp == 1:
        return layer_bytes + norms + first + last
    return layer_bytes + norms + max(first, last)


def workspace_bytes_per_gpu(m: ModelSpec, tp: int, engine: Engine) -> float:
    """Activation buffers for a step of max_num_tokens tokens plus FP32 logits for max_batch_size sequences."""
    if m.moe is not None:
        ffn = max(m.intermediate if m.moe.dense_layers else 0, m.moe.expert_intermediate * (m.moe.active_experts + m.moe.shared_experts))
    else:
        ffn = m.intermediate
    q_width = m.heads * m.head_dim
    kv_width = m.kv_heads * m.head_dim
    per_token = 4 * m.hidden + (2 * ffn + q_width + 2 * kv_width) / tp
    return engine.max_num_tokens * 2.0 * per_token + engine.max_batch_size * m.vocab / tp * 4.0


def plan(d: Deployment, context_tokens: int) -> MemoryPlan:
    """Memory of one replica serving sequences of ``context_tokens`` (input + output) tokens each."""
    m, g = d.model, d.gpu
    weights = weights_bytes_per_gpu(m, d.weights, d.tp, d.pp)
    workspace = workspace_bytes_per_gpu(m, d.tp, d.engine)
    context = ENGINE.cuda_context_bytes
    free = g.memory_bytes - weights - workspace - context
    budget = max(0.0, d.engine.kv_memory_fraction * free)
    stage_share = math.ceil(m.layers / d.pp) / m.layers
    per_gpu = kv_bytes_per_token_per_gpu(m, d.kv.bytes_per_value, d.tp) * stage_share
    capacity = int(budget // per_gpu) if budget > 0 else 0
    by_memory = capacity // max(context_tokens, 1)
    max_conc = min(d.engine.max_batch_size, by_memory)
    return MemoryPlan(
        weights_bytes_per_gpu=weights,
        workspace_bytes_per_gpu=workspace,
        context_bytes_per_gpu=context,
        kv_budget_bytes_per_gpu=budget,
        kv_bytes_per_token=kv_bytes_per_token(m, d.kv.bytes_per_value),
        kv_per_gpu_bytes_per_token=per_gpu,
        kv_capacity_tokens=capacity,
        context_tokens=context_tokens,
        max_concurrency=max_conc,
        limited_by="max_batch_size" if by_memory > d.engine.max_batch_size else "memory",
        fits=free > 0 and max_conc >= 1,
    )


def smallest_tp(m: ModelSpec, g: GpuSpec, weights: Precision, kv: Precision, context_tokens: int, engine: Engine) -> int:
    """Smallest power-of-two TP (dividing the head count, within the scale-up domain) that holds one sequence; 0 if none."""
    for tp in TP_CHOICES:
        if tp > g.max_scale_up_gpus or m.heads % tp:
            continue
        if plan(Deployment(m, g, tp, weights, kv, engine), context_tokens).fits:
            return tp
    return 0


# ---------------------------------------------------------------------------------------------------------------
# Reading a deployment from untrusted parameters (shared by the memory, estimate and fleet calculations).

DEPLOYMENT_PARAMS = ("model", "gpu", "tp", "weights", "kv", "max_batch_size", "max_num_tokens", "kv_fraction")


def default_kv(weights: Precision) -> str:
    """KV cache precision when none is given: the weights' own for 8/16/32-bit (an FP8 engine stores FP8 KV);
    BF16 for weight-only 4-bit integer quantisation; FP8 beside FP4 weights."""
    return {"int4": "bf16", "fp4": "fp8"}.get(weights.id, weights.id)


def read_engine(params: dict[str, Any]) -> Engine:
    return Engine(
        max_batch_size=read_int(params, "max_batch_size", 1, 65536, DEFAULT_ENGINE.max_batch_size),
        max_num_tokens=read_int(params, "max_num_tokens", 64, 1_048_576, DEFAULT_ENGINE.max_num_tokens),
        kv_memory_fraction=read_float(params, "kv_fraction", 0.05, 1.0, DEFAULT_ENGINE.kv_memory_fraction),
        request_overhead_s=DEFAULT_ENGINE.request_overhead_s,
    )


def read_tp(params: dict[str, Any], m: ModelSpec, g: GpuSpec, name: str = "tp", default: Any = None) -> int:
    tp = read_int(params, name, 1, 64) if default is None else read_int(params, name, 1, 64, default)
    if m.heads % tp:
        raise InputError(name, f"must divide the {m.heads} attention heads of {m.id} (got {tp})")
    if tp > g.max_scale_up_gpus:
        raise InputError(name, f"must be at most {g.max_scale_up_gpus}, the GPUs one {g.interconnect_kind} domain of {g.id} holds (got {tp})")
    return tp


def read_deployment(params: dict[str, Any], tp_default: Any = None) -> Deployment:
    m = catalog.model(params.get("model"))
    g = catalog.gpu(params.get("gpu"))
    tp = read_tp(params, m, g, default=tp_default)
    names = list(catalog.precisions())
    weights = catalog.precision(read_choice(params, "weights", names, "bf16"), field="weights")
    kv = catalog.precision(read_choice(params, "kv", names, default_kv(weights)), field="kv")
    return Deployment(m, g, tp, weights, kv, read_engine(params))


def read_tokens(params: dict[str, Any], m: ModelSpec) -> tuple[int, int]:
    prompt = read_int(params, "input_tokens", 1, MAX_TOKENS)
    output = read_int(params, "output_tokens", 1, MAX_TOKENS)
    if prompt + output > m.max_context_tokens:
        raise InputError(
            "output_tokens",
            f"input + output must fit the {m.max_context_tokens:,}-token context of {m.id} (got {prompt + output:,})",
        )
    return prompt, output


# ---------------------------------------------------------------------------------------------------------------


def _weights_derivation(d: Deployment, p: MemoryPlan, layer_params: float, split: Any, emb: float) -> Derivation:
    m = d.model
    if d.pp == 1:
        return Derivation(
            f"weights per GPU ({m.name}, {d.weights.id}, TP={d.tp})",
            "layer params × bytes ÷ tp + (embedding + LM head) × 16-bit bytes ÷ tp + replicated norms",
            f"{num(layer_params, 'params')} × {num(d.weights.bytes_per_value)} B ÷ {d.tp} + "
            f"{num(split.embedding_params + split.lm_head_params, 'params')} × {num(emb)} B ÷ {d.tp} + norms",
            p.weights_bytes_per_gpu,
            "bytes",
        )
    stage_layers = math.ceil(m.layers / d.pp)
    end_params = max(split.embedding_params, split.lm_head_params)
    return Derivation(
        f"weights per GPU ({m.name}, {d.weights.id}, TP={d.tp}, PP={d.pp}, largest stage)",
        "layer params × (⌈layers ÷ pp⌉ ÷ layers) × bytes ÷ tp + larger of embedding or LM head × 16-bit bytes ÷ tp"
        " + the stage's replicated norms",
        f"{num(layer_params, 'params')} × ({num(stage_layers)} ÷ {num(m.layers)}) × {num(d.weights.bytes_per_value)} B"
        f" ÷ {d.tp} + {num(end_params, 'params')} × {num(emb)} B ÷ {d.tp} + norms",
        p.weights_bytes_per_gpu,
        "bytes",
    )


def memory_derivations(d: Deployment, p: MemoryPlan) -> dict[str, Derivation]:
    m = d.model
    split = weight_split(m)
    layer_params = split.dense_params + split.routed_params
    emb = embedding_bytes_per_value(d.weights)
    return {
        "weights_gb_per_gpu": _weights_derivation(d, p, layer_params, split, emb),
        "kv_capacity_tokens": Derivation(
            f"KV cache capacity ({m.name} on {d.tp}× {d.gpu.name})",
            "fraction × (memory − weights − workspace − CUDA context) ÷ KV bytes per token per GPU",
            f"{num(d.engine.kv_memory_fraction, 'ratio')} × ({num(d.gpu.memory_bytes, 'bytes')} − "
            f"{num(p.weights_bytes_per_gpu, 'bytes')} − {num(p.workspace_bytes_per_gpu, 'bytes')} − "
            f"{num(p.context_bytes_per_gpu, 'bytes')}) ÷ {num(p.kv_per_gpu_bytes_per_token, 'bytes')}",
            float(p.kv_capacity_tokens),
            "tokens",
        ),
        "max_concurrency": Derivation(
            "sequences that fit at once",
            "min(max batch size, ⌊KV capacity ÷ tokens per sequence⌋)",
            f"min({num(d.engine.max_batch_size, 'count')}, ⌊{num(p.kv_capacity_tokens, 'tokens')} ÷ "
            f"{num(p.context_tokens, 'tokens')}⌋)",
            float(p.max_concurrency),
            "count",
        ),
    }


def memory_outputs(d: Deployment, p: MemoryPlan) -> dict[str, Any]:
    """The fields a memory plan contributes to the memory and estimate calculations."""
    return {
        "weights_gb_per_gpu": p.weights_bytes_per_gpu / 1e9,
        "workspace_gb_per_gpu": (p.workspace_bytes_per_gpu + p.context_bytes_per_gpu) / 1e9,
        "kv_budget_gb_per_gpu": p.kv_budget_bytes_per_gpu / 1e9,
        "kv_bytes_per_token": p.kv_bytes_per_token,
        "kv_per_gpu_bytes_per_token": p.kv_per_gpu_bytes_per_token,
        "kv_capacity_tokens": p.kv_capacity_tokens,
        "max_concurrency": p.max_concurrency,
        "concurrency_limited_by": p.limited_by,
        "fits": p.fits,
    }


@calculation("memory")
def memory_calculation(params: dict[str, Any]) -> dict[str, Any]:
    """Memory per GPU and KV capacity of one replica; ``context_tokens`` = tokens per sequence (input + output)."""
    reject_unknown(params, set(DEPLOYMENT_PARAMS) | {"pp", "context_tokens"})
    d = read_deployment(params)
    pp = read_int(params, "pp", 1, 64, 1)
    if pp > d.model.layers:
        raise InputError("pp", f"must be at most the {d.model.layers} layers of {d.model.id} (got {pp})")
    d = Deployment(d.model, d.gpu, d.tp, d.weights, d.kv, d.engine, pp)
    context = read_int(params, "context_tokens", 1, MAX_TOKENS, 4096)
    if context > d.model.max_context_tokens:
        raise InputError("context_tokens", f"must be at most the {d.model.max_context_tokens:,}-token context of {d.model.id} (got {context:,})")
    p = plan(d, context)
    result: dict[str, Any] = {"model": d.model.id, "gpu": d.gpu.id, "tp": d.tp, "pp": pp, "gpus": d.gpus}
    result.update(memory_outputs(d, p))
    result["kv_gb_per_gpu"] = p.kv_bytes_per_gpu_at_max / 1e9
    result["memory_gb_per_gpu"] = d.gpu.memory_bytes / 1e9
    result["used_gb_per_gpu"] = (
        p.weights_bytes_per_gpu + p.workspace_bytes_per_gpu + p.context_bytes_per_gpu + p.kv_bytes_per_gpu_at_max
    ) / 1e9
    result["min_tp"] = smallest_tp(d.model, d.gpu, d.weights, d.kv, context, d.engine)
    result["derivations"] = memory_derivations(d, p)
    warnings = []
    if not p.fits:
        need = p.weights_bytes_per_gpu + p.workspace_bytes_per_gpu + p.context_bytes_per_gpu
        warnings.append(
            f"does not fit: weights and workspace need {num(need, 'bytes')} per GPU of {num(d.gpu.memory_bytes, 'bytes')}"
            + (f"; the smallest TP that fits is {result['min_tp']}" if result["min_tp"] else "; no TP within one scale-up domain fits")
        )
    result["warnings"] = warnings
    return result
