"""Speculative decoding: tokens per verify step, speedup, and the batch at which it stops paying.

A draft model proposes k tokens; the target model checks all of them (plus one) in a single forward step.

* expected tokens per verify step, with each draft token accepted independently with probability α
  (Leviathan et al. 2023, "Fast Inference from Transformers via Speculative Decoding", eq. 1):
  E = (1 − α^(k+1)) ÷ (1 − α), and E = k + 1 when α = 1.
* cost of one cycle, in target decode steps: k·c (k draft steps, c = draft step time ÷ target step time)
  + (1 + o)·r(B), where o is the verify overhead (sampling, bookkeeping) as a fraction of a step and
  r(B) = verify step time ÷ ordinary decode step time at batch B.
* speedup(B) = E ÷ (k·c + (1 + o)·r(B)); at batch one the target step is memory-bound, r = 1 and this is
  Leviathan's E ÷ (k·c + 1).
* step times from the roofline, per model replica (tensor parallelism divides bytes and FLOPs alike, so the
  ratio does not change):
  t(T tokens, B sequences) = max((weight bytes read for T tokens + B·context·KV bytes per token) ÷ HBM bandwidth,
                                 T·(2·N_active + 4·layers·context·d_attn) ÷ peak FLOP/s).
  An ordinary step carries T = B tokens, a verify step T = B·(k + 1). For a mixture of experts the verify step
  also reads more distinct experts (see :mod:`sizing.moe`). Once both steps are compute-bound, r = k + 1 and the
  draft's guesses cost real FLOPs: that is where speculation stops paying.
* the batch where it stops paying is the smallest B with speedup(B) < 1, found by evaluating every batch up to
  the largest allowed (the MoE step ratio is not monotone in B, so no bisection).
* ``curve``: speedup at powers of two from 1 to the largest allowed batch, for a chart with the break-even marker.

Assumed: c does not change with batch (the draft is small and stays memory-bound longer than the target, so at
large batch this is pessimistic for the draft); acceptance is i.i.d. per token; no tree drafting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from . import catalog
from .architecture import kv_bytes_per_token, param_counts
from .derivation import Derivation, num
from .moe import weight_read_function
from .registry import calculation
from .specs import GpuSpec, ModelSpec
from .training import attention_dim
from .validation import read_float, read_int, reject_unknown

MAX_BATCH = 16384
MAX_DRAFT_TOKENS = 32
BEST_K_SEARCH = 16


def expected_tokens_per_step(acceptance: float, draft_tokens: int) -> float:
    """(1 − α^(k+1)) ÷ (1 − α); k + 1 at α = 1 (its limit)."""
    if acceptance >= 1.0:
        return float(draft_tokens + 1)
    return (1.0 - acceptance ** (draft_tokens + 1)) / (1.0 - acceptance)


def speedup(expected: float, draft_tokens: int, draft_cost_ratio: float, verify_ratio: float, verify_overhead: float) -> float:
    """E ÷ (k·c + (1 + o)·r)."""
    return expected / (draft_tokens * draft_cost_ratio + (1.0 + verify_overhead) * verify_ratio)


def step_time_function(m: ModelSpec, g: GpuSpec, weight_bytes_per_value: float, compute_dtype: str,
                       kv_bytes_per_value: float, context_tokens: float) -> Callable[[float, float], float]:
    """``(tokens, sequences) -> seconds``: the roofline time of one forward step of the target model."""
    read_weights = weight_read_function(m, weight_bytes_per_value)
    kv_per_sequence = context_tokens * kv_bytes_per_token(m, kv_bytes_per_value)
    flops_per_token = 2.0 * param_counts(m).active + 4.0 * m.layers * context_tokens * attention_dim(m)
    bandwidth = g.hbm_bandwidth_bytes_per_s
    peak = g.peak_flops(compute_dtype)

    def step(tokens: float, sequences: float) -> float:
        memory_s = (read_weights(tokens)[0] + sequences * kv_per_sequence) / bandwidth
        return max(memory_s, tokens * flops_per_token / peak)

    return step


def verify_ratio_function(step: Callable[[float, float], float], draft_tokens: int) -> Callable[[int], float]:
    """r(B) = t(B·(k+1), B) ÷ t(B, B)."""
    return lambda batch: step(batch * (draft_tokens + 1), batch) / step(batch, batch)


def first_batch(predicate: Callable[[int], bool], limit: int = MAX_BATCH) -> int | None:
    """Smallest batch in 1..limit where ``predicate`` holds, or None."""
    for batch in range(1, limit + 1):
        if predicate(batch):
            return batch
    return None


@dataclass(frozen=True)
class SpeculativeResult:
    acceptance: float
    draft_tokens: int
    batch: int
    expected_tokens: float  # tokens the target emits per verify step, per sequence
    acceptance_fraction: float  # (E − 1) ÷ k: share of drafted tokens accepted
    verify_cost_x: float  # verify step time ÷ ordinary step time at this batch
    speedup: float
    batch1_speedup: float
    breakeven_batch: int | None  # smallest batch where speedup < 1 (None: pays at every batch up to the limit)
    decode_compute_bound_batch: int | None  # smallest batch whose ordinary step is compute-bound
    verify_compute_bound_batch: int | None
    ridge_flops_per_byte: float
    best_draft_tokens: int  # k in 1..16 with the highest speedup at this batch
    best_speedup: float


@calculation("speculative")
def speculative(params: dict[str, Any]) -> dict[str, Any]:
    """Speedup of speculative decoding at a batch size, and where it stops paying, for a catalog target model."""
    reject_unknown(
        params,
        {"model", "gpu", "weights", "kv", "context_tokens", "acceptance", "draft_tokens", "draft_cost_ratio", "verify_overhead", "batch"},
    )
    m = catalog.model(params.get("model", "llama-3.1-70b"))
    g = catalog.gpu(params.get("gpu", "h100-sxm"))
    weights = catalog.precision(params.get("weights", "bf16"), field="weights")
    kv = catalog.precision(params.get("kv", "bf16"), field="kv")
    context = read_float(params, "context_tokens", 0.0, float(m.max_context_tokens), 0.0)
    alpha = read_float(params, "acceptance", 0.0, 1.0, 0.8)
    k = read_int(params, "draft_tokens", 1, MAX_DRAFT_TOKENS, 4)
    c = read_float(params, "draft_cost_ratio", 0.0, 1.0, 0.05)
    overhead = read_float(params, "verify_overhead", 0.0, 1.0, 0.0)
    batch = read_int(params, "batch", 1, MAX_BATCH, 1)

    step = step_time_function(m, g, weights.bytes_per_value, weights.compute_dtype, kv.bytes_per_value, context)
    ridge = g.peak_flops(weights.compute_dtype) / g.hbm_bandwidth_bytes_per_s
    expected = expected_tokens_per_step(alpha, k)
    ratio = verify_ratio_function(step, k)

    def speedup_at(b: int, draft: int = k) -> float:
        e = expected if draft == k else expected_tokens_per_step(alpha, draft)
        r = ratio(b) if draft == k else verify_ratio_function(step, draft)(b)
        return speedup(e, draft, c, r, overhead)

    read_weights = weight_read_function(m, weights.bytes_per_value)
    kv_per_seq = context * kv_bytes_per_token(m, kv.bytes_per_value)

    def compute_bound(tokens_per_seq: int) -> Callable[[int], bool]:
        def check(b: int) -> bool:
            memory_s = (read_weights(b * tokens_per_seq)[0] + b * kv_per_seq) / g.hbm_bandwidth_bytes_per_s
            return step(b * tokens_per_seq, b) > memory_s

        return check

    r_now = ratio(batch)
    speed = speedup(expected, k, c, r_now, overhead)
    candidates = {draft: speedup_at(batch, draft) for draft in range(1, BEST_K_SEARCH + 1)}
    best_k = max(candidates, key=lambda draft: (candidates[draft], -draft))
    breakeven = first_batch(lambda b: speedup_at(b) < 1.0)
    curve = [
        {"batch": b, "speedup": speedup_at(b), "verify_cost_x": ratio(b)}
        for b in (1 << i for i in range(MAX_BATCH.bit_length()))
        if b <= MAX_BATCH
    ]
    result = SpeculativeResult(
        acceptance=alpha,
        draft_tokens=k,
        batch=batch,
        expected_tokens=expected,
        acceptance_fraction=(expected - 1.0) / k,
        verify_cost_x=r_now,
        speedup=speed,
        batch1_speedup=speedup_at(1),
        breakeven_batch=breakeven,
        decode_compute_bound_batch=first_batch(compute_bound(1)),
        verify_compute_bound_batch=first_batch(compute_bound(k + 1)),
        ridge_flops_per_byte=ridge,
        best_draft_tokens=best_k,
        best_speedup=candidates[best_k],
    )
    warnings = []
    if speed < 1.0:
        warnings.append(f"at batch {batch} speculation is slower than plain decoding ({num(speed, 'multiplier')})")
    derivations = {
        "expected_tokens": Derivation(
            "tokens per verify step (Leviathan et al. 2023)",
            "(1 − α^(k+1)) ÷ (1 − α)" if alpha < 1.0 else "k + 1 (every draft accepted)",
            f"(1 − {num(alpha)}^{num(k + 1)}) ÷ (1 − {num(alpha)})" if alpha < 1.0 else f"{num(k)} + 1",
            expected,
            "tokens",
        ),
        "verify_cost_x": Derivation(
            f"verify step ÷ ordinary step at batch {batch}",
            "t(B·(k+1) tokens) ÷ t(B tokens), t = max(bytes ÷ bandwidth, FLOPs ÷ peak)",
            f"{num(step(batch * (k + 1), batch), 's')} ÷ {num(step(batch, batch), 's')} ({num(batch * (k + 1))} and "
            f"{num(batch)} tokens on one {g.name})",
            r_now,
            "multiplier",
        ),
        "speedup": Derivation(
            f"speculative decoding speedup at batch {batch}",
            "E ÷ (k × c + (1 + overhead) × verify cost)",
            f"{num(expected)} ÷ ({num(k)} × {num(c)} + (1 + {num(overhead)}) × {num(r_now)})",
            speed,
            "multiplier",
        ),
    }
    return {
        "model": m.id,
        "gpu": g.id,
        "weights": weights.id,
        "kv": kv.id,
        **asdict(result),
        "curve": curve,
        "parity_speedup": 1.0,  # the level below which speculation is slower than plain decoding (a chart rule)
        "derivations": derivations,
        "warnings": warnings,
    }
