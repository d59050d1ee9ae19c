"""What one forward pass multiplies and reads: parameters split by how they are used, FLOPs per token, attention
FLOPs per query–key pair.

* dense parameters (every token multiplies them): attention projections, dense FFNs, and per MoE layer the router
  and the shared experts — ``attention + ffn_dense + moe_layers·(shared·3·h·f_e + h·E)``;
* one routed expert = ``3·h·f_e`` (SwiGLU gate, up, down); a token uses ``k`` of the ``E`` per MoE layer;
* the LM head (``vocab·h``) is multiplied only for tokens that produce logits (each decode token, and the last
  prompt token); the input embedding is a row lookup, no FLOPs and no streaming;
* linear FLOPs per token = ``2·(dense + moe_layers·k·3·h·f_e)`` — a multiply-add per active weight;
* attention FLOPs per query per key per layer = ``2·heads·(d_qk + d_v)`` (scores Q·Kᵀ plus the weighted sum
  of V); a causal prompt of ``n`` tokens has ``n(n+1)/2`` query–key pairs;
* expected distinct routed experts touched by ``T`` tokens = ``E·(1 − (1 − k/E)^T)`` (uniform routing).
"""

from __future__ import annotations

from dataclasses import dataclass

from .architecture import param_counts
from .specs import ModelSpec


@dataclass(frozen=True)
class WeightSplit:
    dense_params: float
    expert_params: float  # one routed expert in one layer
    moe_layers: int
    experts: int
    active_experts: int
    lm_head_params: float
    embedding_params: float  # input table (shared with the LM head when tied)
    norm_params: float  # replicated on every tensor-parallel rank

    @property
    def routed_params(self) -> float:
        return self.expert_params * self.moe_layers * self.experts

    @property
    def linear_flops_per_token(self) -> float:
        return 2.0 * (self.dense_params + self.moe_layers * self.active_experts * self.expert_params)


def weight_split(m: ModelSpec) -> WeightSplit:
    counts = param_counts(m)
    h = m.hidden
    norms = 2.0 * h * m.layers + h
    if m.moe is None:
        moe_layers, experts, active, one_expert, moe_fixed = 0, 0, 0, 0.0, 0.0
    else:
        moe_layers = m.layers - m.moe.dense_layers
        experts, active = m.moe.experts, m.moe.active_experts
        one_expert = 3.0 * h * m.moe.expert_intermediate
        moe_fixed = moe_layers * (m.moe.shared_experts * one_expert + h * experts)
    vocab_table = float(m.vocab * h)
    return WeightSplit(
        dense_params=counts.attention + counts.ffn_dense + moe_fixed,
        expert_params=one_expert,
        moe_layers=moe_layers,
        experts=experts,
        active_experts=active,
        lm_head_params=vocab_table,
        embedding_params=0.0 if m.tied_embeddings else vocab_table,
        norm_params=norms,
    )


def experts_touched(experts: int, active: int, tokens: float) -> float:
    """E·(1 − (1 − k/E)^T): expected distinct routed experts a step over T tokens reads, per MoE layer."""
    if experts == 0 or tokens <= 0:
        return 0.0
    return experts * (1.0 - (1.0 - active / experts) ** tokens)


def attention_flops_per_pair(m: ModelSpec) -> float:
    """FLOPs per query token per cached key, summed over layers: 2·heads·(d_qk + d_v)·layers."""
    if m.mla is not None:
        d_qk = m.mla.qk_nope_head_dim + m.mla.qk_rope_head_dim
        d_v = m.mla.v_head_dim
    else:
        d_qk = d_v = m.head_dim
    return 2.0 * m.heads * (d_qk + d_v) * m.layers


def causal_pairs(prompt_tokens: float) -> float:
    """Query–key pairs in causal attention over a prompt of n tokens: n(n+1)/2."""
    return prompt_tokens * (prompt_tokens + 1.0) / 2.0


def prefill_flops(m: ModelSpec, prompt_tokens: float) -> float:
    """All FLOPs of one prompt's prefill: linear 2·N_active·n, the LM head once, causal attention."""
    split = weight_split(m)
    return (
        split.linear_flops_per_token * prompt_tokens
        + 2.0 * split.lm_head_params
        + attention_flops_per_pair(m) * causal_pairs(prompt_tokens)
    )
