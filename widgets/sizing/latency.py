"""Time of one engine step: a batch of decode tokens plus (optionally) a chunk of prompt tokens, on one replica.

A step over ``d`` decode tokens (each attending to ``c`` cached tokens on average) and ``p`` prompt tokens (each
attending to ``k`` keys on average), per GPU of a TP group of size ``tp``:

* GEMMs, one roofline term per kernel group (they run one after another, so the terms add):
  dense weights  max(W_dense·b ÷ tp ÷ (BW·η),  2·W_dense·T ÷ tp ÷ (F·mfu(T))),  T = d + p;
  routed experts max(E_touched·W_e·L_moe·b ÷ tp ÷ (BW·η),  2·k·W_e·L_moe·T ÷ tp ÷ (F·mfu(T·k ÷ E_touched)·f_moe));
  LM head        max(V·h·b16 ÷ tp ÷ (BW·η),  2·V·h·n_logits ÷ tp ÷ (F·mfu(n_logits)))
* attention: decode max(d·c·KV_gpu ÷ (BW·η), d·c·a ÷ tp ÷ (F16·η_att)) + prefill p·k·a ÷ tp ÷ (F16·η_att),
  with a = 2·heads·(d_qk + d_v)·layers FLOPs per query–key pair;
* tensor parallelism: 2 all-reduces per layer of T·hidden·2 bytes (16-bit activations), the engine's all-reduce of
  ``sizing.comms`` (one-kernel for small messages on NVLink, NCCL's ring otherwise);
* elementwise work every TP rank repeats: T·layers·e·hidden bytes ÷ (BW·η) (e bytes per hidden unit per token);
* fixed: step_overhead + layer_overhead·layers.

Symbols: b bytes per weight, η achievable HBM fraction, F peak FLOP/s of the weights' compute dtype, mfu(n) the
GEMM efficiency curve (``sizing.efficiency``), KV_gpu KV bytes per token per GPU, V vocabulary, h hidden size.
"""

from __future__ import annotations

from dataclasses import dataclass

from .architecture import kv_bytes_per_token_per_gpu
from .comms import engine_allreduce_time_s
from .compute import attention_flops_per_pair, weight_split
from .efficiency import ENGINE, device, gemm_efficiency, link, mfu_max
from .memory import Deployment, embedding_bytes_per_value
from .specs import GpuSpec, Precision


@dataclass(frozen=True)
class StepTime:
    gemm_s: float
    attention_s: float
    comm_s: float
    overhead_s: float
    memory_bound: bool  # the GEMM terms were set by weight reads, not by FLOPs
    elementwise_s: float = 0.0  # norms, residual adds, quantisation: replicated on every TP rank

    @property
    def total_s(self) -> float:
        return self.gemm_s + self.attention_s + self.comm_s + self.overhead_s + self.elementwise_s

    def dominant(self) -> str:
        parts = {
            "weights (memory)" if self.memory_bound else "matmuls (compute)": self.gemm_s,
            "attention/KV reads": self.attention_s,
            "communication": self.comm_s,
            "fixed overhead": self.overhead_s,
            "elementwise (replicated)": self.elementwise_s,
        }
        return max(parts, key=parts.get)


def gemm_time_s(g: GpuSpec, tokens: float, in_features: int, out_features: int, weights: Precision) -> float:
    """One GEMM of ``tokens`` rows by an in×out weight matrix: max(bytes ÷ (BW·η), FLOPs ÷ (F·mfu(tokens))), where
    bytes = weights + 16-bit input and output activations and FLOPs = 2·tokens·in·out."""
    eff = device(g)
    bytes_ = in_features * out_features * weights.bytes_per_value + tokens * (in_features + out_features) * 2.0
    flops = 2.0 * tokens * in_features * out_features
    peak = g.peak_flops(weights.compute_dtype) * gemm_efficiency(eff, mfu_max(g, weights.compute_dtype), tokens)
    return max(bytes_ / (g.hbm_bandwidth_bytes_per_s * eff.hbm_efficiency), flops / peak)


class StepModel:
    """Constants of one deployment precomputed once, so a serving solve can evaluate many steps cheaply."""

    def __init__(self, d: Deployment):
        m, g, tp = d.model, d.gpu, d.tp
        eff = device(g)
        split = weight_split(m)
        self.deployment = d
        self.eff = eff
        self.bw = g.hbm_bandwidth_bytes_per_s * eff.hbm_efficiency
        self.flops = g.peak_flops(d.weights.compute_dtype)
        self.mfu_top = mfu_max(g, d.weights.compute_dtype)
        self.flops16 = g.peak_flops("bf16") * eff.attention_efficiency
        b = d.weights.bytes_per_value
        self.dense_bytes = split.dense_params * b / tp
        self.dense_flops_per_token = 2.0 * split.dense_params / tp
        self.expert_bytes = split.expert_params * split.moe_layers * b / tp  # one expert in every MoE layer
        # grouped expert GEMMs run at moe_gemm_factor of a dense GEMM's efficiency: fold it into their FLOPs
        self.expert_flops_per_token = 2.0 * split.active_experts * split.expert_params * split.moe_layers / tp / ENGINE.moe_gemm_factor
        self.experts = split.experts
        self.active = split.active_experts
        self.head_bytes = split.lm_head_params * embedding_bytes_per_value(d.weights) / tp
        self.head_flops_per_token = 2.0 * split.lm_head_params / tp
        self.kv_per_token = kv_bytes_per_token_per_gpu(m, d.kv.bytes_per_value, tp)
        self.attn_flops_per_pair = attention_flops_per_pair(m) / tp
        self.tp = tp
        self.layers = m.layers
        self.activation_bytes_per_token = m.hidden * 2.0
        self.link_bw = g.interconnect_bytes_per_s
        self.link = link(g) if tp > 1 else None
        self.overhead = ENGINE.step_overhead_s + ENGINE.layer_overhead_s * m.layers
        self.elementwise_per_token = m.layers * ENGINE.elementwise_bytes_per_hidden * m.hidden / self.bw

    def _gemm(self, bytes_: float, flops: float, tokens: float) -> tuple[float, bool]:
        mem = bytes_ / self.bw
        if flops <= 0:
            return mem, True
        comp = flops / (self.flops * gemm_efficiency(self.eff, self.mfu_top, tokens))
        return (mem, True) if mem >= comp else (comp, False)

    def _parts(self, decode_tokens: float, decode_context: float, prompt_tokens: float, prompt_keys: float,
               logit_tokens: float | None) -> tuple[float, float, float, float, bool] | None:
        """(gemm, attention, comm, elementwise, memory_bound) seconds of one step; None for an empty step."""
        d, p = max(decode_tokens, 0.0), max(prompt_tokens, 0.0)
        tokens = d + p
        logits = d if logit_tokens is None else logit_tokens
        if tokens <= 0:
            return None
        dense, mem_bound = self._gemm(self.dense_bytes, self.dense_flops_per_token * tokens, tokens)
        gemm = dense
        if self.experts:
            touched = self.experts * (1.0 - (1.0 - self.active / self.experts) ** tokens)
            per_expert_tokens = tokens * self.active / touched
            t, _ = self._gemm(self.expert_bytes * touched, self.expert_flops_per_token * tokens, per_expert_tokens)
            gemm += t
        if logits > 0:
            t, _ = self._gemm(self.head_bytes, self.head_flops_per_token * logits, logits)
            gemm += t
        pairs = d * decode_context
        attention = max(pairs * self.kv_per_token / self.bw, pairs * self.attn_flops_per_pair / self.flops16)
        attention += p * prompt_keys * self.attn_flops_per_pair / self.flops16
        comm = 0.0
        if self.link is not None:
            comm = 2 * self.layers * engine_allreduce_time_s(self.tp, tokens * self.activation_bytes_per_token, self.link_bw, self.link)
        return gemm, attention, comm, tokens * self.elementwise_per_token, mem_bound

    def step(self, decode_tokens: float, decode_context: float, prompt_tokens: float = 0.0, prompt_keys: float = 0.0,
             logit_tokens: float | None = None) -> StepTime:
        parts = self._parts(decode_tokens, decode_context, prompt_tokens, prompt_keys, logit_tokens)
        if parts is None:
            return StepTime(0.0, 0.0, 0.0, 0.0, True)
        gemm, attention, comm, elementwise, mem_bound = parts
        return StepTime(gemm, attention, comm, self.overhead, mem_bound, elementwise)

    def step_s(self, decode_tokens: float, decode_context: float, prompt_tokens: float = 0.0, prompt_keys: float = 0.0,
               logit_tokens: float | None = None) -> float:
        """``step(...).total_s`` without building the breakdown (the serving solvers' inner loop calls this)."""
        parts = self._parts(decode_tokens, decode_context, prompt_tokens, prompt_keys, logit_tokens)
        if parts is None:
            return 0.0
        gemm, attention, comm, elementwise, _ = parts
        return gemm + attention + comm + self.overhead + elementwise

    def prefill(self, prompt_tokens: float) -> StepTime:
        """One step that carries a whole prompt alone (batch of one, nothing decoding)."""
        return self.step(0.0, 0.0, prompt_tokens, (prompt_tokens + 1.0) / 2.0, logit_tokens=1.0)
