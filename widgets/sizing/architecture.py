"""Structural facts of a model, from its config alone: parameter counts and KV cache bytes per token.

Formulas (SwiGLU FFN, no biases unless noted):

* attention (MHA/GQA/MQA) per layer = hidden·heads·head_dim (Q) + 2·hidden·kv_heads·head_dim (K, V)
  + heads·head_dim·hidden (O)
* attention (MLA) per layer = hidden·q_lora + q_lora·heads·(nope+rope) (or hidden·heads·(nope+rope) without q_lora)
  + hidden·(kv_lora + rope) + kv_lora·heads·(nope + v_head) + heads·v_head·hidden
* dense FFN per layer = 3·hidden·intermediate; MoE layer = (experts + shared)·3·hidden·expert_intermediate
  + hidden·experts (router)
* embeddings = vocab·hidden, once more for the LM head unless tied; norms = 2·hidden per layer + hidden
* KV bytes per token: MHA/GQA/MQA 2·layers·kv_heads·head_dim·bytes; MLA layers·(kv_lora + rope)·bytes (one latent
  serves K and V, so no factor of 2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .derivation import Derivation, num
from .specs import ModelSpec


@dataclass(frozen=True)
class ParamCounts:
    total: float
    active: float  # per token: MoE routes each token through active_experts + shared experts only
    embedding: float  # input embedding plus LM head (0 extra when tied)
    attention: float  # all layers
    ffn_dense: float  # all dense FFN layers
    ffn_experts: float  # all routed and shared experts, all MoE layers
    per_layer_attention: float


def attention_params_per_layer(m: ModelSpec) -> float:
    h = m.hidden
    if m.mla is not None:
        a = m.mla
        qk_dim = a.qk_nope_head_dim + a.qk_rope_head_dim
        q = (h * a.q_lora_rank + a.q_lora_rank * m.heads * qk_dim + a.q_lora_rank) if a.q_lora_rank else h * m.heads * qk_dim
        kv = h * (a.kv_lora_rank + a.qk_rope_head_dim) + a.kv_lora_rank + a.kv_lora_rank * m.heads * (a.qk_nope_head_dim + a.v_head_dim)
        o = m.heads * a.v_head_dim * h
        return float(q + kv + o)
    q = h * m.heads * m.head_dim
    kv = 2 * h * m.kv_heads * m.head_dim
    o = m.heads * m.head_dim * h
    return float(q + kv + o)


def param_counts(m: ModelSpec) -> ParamCounts:
    h = m.hidden
    attention = attention_params_per_layer(m) * m.layers
    norms = 2 * h * m.layers + h
    embedding = m.vocab * h * (1 if m.tied_embeddings else 2)
    if m.moe is None:
        dense_layers, moe_layers = m.layers, 0
    else:
        dense_layers, moe_layers = m.moe.dense_layers, m.layers - m.moe.dense_layers
    ffn_dense = 3.0 * h * m.intermediate * dense_layers
    ffn_experts = 0.0
    active_experts_params = 0.0
    if m.moe is not None:
        one_expert = 3.0 * h * m.moe.expert_intermediate
        router = h * m.moe.experts
        ffn_experts = moe_layers * ((m.moe.experts + m.moe.shared_experts) * one_expert + router)
        active_experts_params = moe_layers * ((m.moe.active_experts + m.moe.shared_experts) * one_expert + router)
    total = attention + norms + embedding + ffn_dense + ffn_experts
    active = attention + norms + embedding + ffn_dense + active_experts_params
    return ParamCounts(
        total=total,
        active=active,
        embedding=float(embedding),
        attention=attention,
        ffn_dense=ffn_dense,
        ffn_experts=ffn_experts,
        per_layer_attention=attention_params_per_layer(m),
    )


def kv_values_per_token(m: ModelSpec) -> int:
    """Values stored in the KV cache for one token, across all layers (before bytes per value)."""
    if m.mla is not None:
        return m.layers * (m.mla.kv_lora_rank + m.mla.qk_rope_head_dim)
    return 2 * m.layers * m.kv_heads * m.head_dim


def kv_bytes_per_token(m: ModelSpec, bytes_per_value: float) -> float:
    """KV cache bytes one token occupies for the whole model (one copy, no TP replication)."""
    return kv_values_per_token(m) * bytes_per_value


def kv_heads_per_gpu(m: ModelSpec, tp: int) -> int:
    """KV heads each tensor-parallel rank holds; when kv_heads < tp, heads are replicated so every rank has one."""
    return max(1, math.ceil(m.kv_heads / tp))


def kv_bytes_per_token_per_gpu(m: ModelSpec, bytes_per_value: float, tp: int) -> float:
    """KV bytes one token occupies on each GPU of a TP group.

    GQA/MHA shard by KV head (replicated once tp exceeds kv_heads); the MLA latent has no head axis, so every
    rank keeps the whole latent (engines answer this with data-parallel attention, which this model does not assume).
    """
    if m.mla is not None:
        return kv_bytes_per_token(m, bytes_per_value)
    return 2 * m.layers * kv_heads_per_gpu(m, tp) * m.head_dim * bytes_per_value


def kv_derivation(m: ModelSpec, bytes_per_value: float, precision_id: str) -> Derivation:
    result = kv_bytes_per_token(m, bytes_per_value)
    if m.mla is not None:
        return Derivation(
            quantity=f"KV cache per token ({m.name}, MLA latent, {precision_id})",
            formula="layers × (kv_lora_rank + qk_rope_head_dim) × bytes per value",
            substitution=f"{num(m.layers)} × ({num(m.mla.kv_lora_rank)} + {num(m.mla.qk_rope_head_dim)}) × {num(bytes_per_value)} B",
            result=result,
            unit="bytes",
        )
    return Derivation(
        quantity=f"KV cache per token ({m.name}, {precision_id})",
        formula="2 (K and V) × layers × kv_heads × head_dim × bytes per value",
        substitution=f"2 × {num(m.layers)} × {num(m.kv_heads)} × {num(m.head_dim)} × {num(bytes_per_value)} B",
        result=result,
        unit="bytes",
    )


def params_derivation(m: ModelSpec) -> Derivation:
    counts = param_counts(m)
    parts = [
        ("embeddings", counts.embedding),
        ("attention", counts.attention),
        ("dense FFN", counts.ffn_dense),
    ]
    if counts.ffn_experts:
        parts.append(("experts", counts.ffn_experts))
    formula = " + ".join(name for name, _ in parts) + " + norms"
    norms = counts.total - sum(value for _, value in parts)
    substitution = " + ".join(num(value, "params") for _, value in parts) + f" + {num(norms, 'params')}"
    return Derivation(f"parameters ({m.name})", formula, substitution, counts.total, "params")
