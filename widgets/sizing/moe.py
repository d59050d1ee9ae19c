"""Mixture of experts versus dense: which weights one decode step reads, and whether the step is memory- or
compute-bound.

For a decode step that carries B tokens through the model (B sequences, one new token each):

* distinct routed experts touched per MoE layer, with uniform independent routing of each token to k of E experts
  (a given expert is missed by one token with probability 1 − k/E):
  E_touched = E · (1 − (1 − k/E)^B)
* weight bytes read per step = (every parameter outside the routed experts
  + per MoE layer: router + shared experts + E_touched routed experts) × bytes per weight.
  Embedding tables count in full, as every other weights-bytes figure in the model does.
* FLOPs per step = 2 · N_active · B (a multiply-add per active weight per token).
* arithmetic intensity = FLOPs ÷ bytes; the roofline ridge point = peak FLOP/s ÷ HBM bandwidth. Below the ridge
  the step is memory-bound, at or above it compute-bound.
* roofline step time = max(bytes ÷ bandwidth, FLOPs ÷ peak): a lower bound with no efficiency factors.
* the comparison dense model has N_active parameters, all read every step: bytes = N_active × bytes per weight,
  FLOPs = 2 · N_active · B, so its intensity is 2·B ÷ bytes per weight.

Left out on purpose: KV-cache reads and attention-score FLOPs (they depend on context length, not on the
MoE/dense choice), and routing skew (real routers are not uniform; skewed routing concentrates tokens on fewer
experts, so fewer distinct experts are touched than this estimate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from . import catalog
from .architecture import param_counts
from .derivation import Derivation, num
from .errors import InputError
from .registry import calculation
from .specs import GpuSpec, ModelSpec
from .validation import read_int, reject_unknown

MAX_BATCH = 1 << 20


def expected_experts_touched(experts: int, active: int, tokens: float) -> float:
    """E · (1 − (1 − k/E)^B): expected distinct routed experts hit by B tokens each routed to k of E."""
    return experts * (1.0 - (1.0 - active / experts) ** tokens)


@dataclass(frozen=True)
class StepTraffic:
    weight_bytes: float  # weight bytes read from HBM in one step
    flops: float
    experts_touched: float  # per MoE layer (0 for a dense model)

    @property
    def intensity(self) -> float:
        return self.flops / self.weight_bytes


def weight_read_function(m: ModelSpec, bytes_per_weight: float) -> Callable[[float], tuple[float, float]]:
    """A fast ``tokens -> (weight bytes read, experts touched per MoE layer)`` for one model and precision.

    Everything that does not depend on the token count is computed once, so callers can scan many batch sizes.
    """
    counts = param_counts(m)
    if m.moe is None:
        dense_bytes = counts.total * bytes_per_weight
        return lambda tokens: (dense_bytes, 0.0)
    moe = m.moe
    moe_layers = m.layers - moe.dense_layers
    one_expert = 3.0 * m.hidden * moe.expert_intermediate
    fixed = counts.total - moe_layers * moe.experts * one_expert
    per_touched = moe_layers * one_expert

    def read(tokens: float) -> tuple[float, float]:
        touched = expected_experts_touched(moe.experts, moe.active_experts, tokens)
        return (fixed + per_touched * touched) * bytes_per_weight, touched

    return read


def step_traffic(m: ModelSpec, tokens: float, bytes_per_weight: float) -> StepTraffic:
    """Weight bytes and FLOPs of one forward step over ``tokens`` tokens (decode: one per sequence)."""
    weight_bytes, touched = weight_read_function(m, bytes_per_weight)(tokens)
    return StepTraffic(weight_bytes, 2.0 * param_counts(m).active * tokens, touched)


def roofline_step_s(traffic: StepTraffic, g: GpuSpec, compute_dtype: str) -> float:
    """max(bytes ÷ HBM bandwidth, FLOPs ÷ peak) for one step on one GPU holding the whole model."""
    return max(traffic.weight_bytes / g.hbm_bandwidth_bytes_per_s, traffic.flops / g.peak_flops(compute_dtype))


def compute_bound_batch(traffic_at, ridge: float) -> int | None:
    """Smallest batch whose intensity reaches the ridge point (intensity only rises with batch), or None.

    For an MoE the bytes read, c0 + c1·(1 − q^B), are concave in B and positive at B = 0, so bytes ÷ B falls and
    the intensity rises with B: a bisection over whole batches finds the crossing.
    """
    if traffic_at(MAX_BATCH).intensity < ridge:
        return None
    if traffic_at(1).intensity >= ridge:
        return 1
    low, high = 1, MAX_BATCH  # intensity(low) < ridge ≤ intensity(high)
    while high - low > 1:
        mid = (low + high) // 2
        if traffic_at(mid).intensity >= ridge:
            high = mid
        else:
            low = mid
    return high


@dataclass(frozen=True)
class MoeVsDenseResult:
    batch: int
    experts: int
    active_experts: int
    total_params: float
    active_params: float
    experts_touched: float  # per MoE layer, expected
    experts_touched_fraction: float
    ridge_flops_per_byte: float
    moe_weight_read_bytes: float
    moe_step_flops: float
    moe_intensity: float  # FLOPs per byte
    moe_bound: str  # "memory" or "compute"
    moe_roofline_step_ms: float
    moe_compute_bound_batch: int | None
    dense_weight_read_bytes: float
    dense_step_flops: float
    dense_intensity: float
    dense_bound: str
    dense_roofline_step_ms: float
    dense_compute_bound_batch: int | None
    moe_over_dense_bytes_x: float
    moe_over_dense_step_x: float


@calculation("moe_vs_dense")
def moe_vs_dense(params: dict[str, Any]) -> dict[str, Any]:
    """A catalog MoE model at a decode batch versus a dense model with the same active parameters."""
    reject_unknown(params, {"model", "gpu", "weights", "batch"})
    m = catalog.model(params.get("model"))
    if m.moe is None:
        choices = ", ".join(sorted(k for k, v in catalog.models().items() if v.moe is not None))
        raise InputError("model", f"{m.id} is dense; choose a mixture-of-experts model: {choices}")
    g = catalog.gpu(params.get("gpu", "h100-sxm"))
    precision = catalog.precision(params.get("weights", "bf16"), field="weights")
    batch = read_int(params, "batch", 1, MAX_BATCH, 1)
    bpw = precision.bytes_per_value
    peak = g.peak_flops(precision.compute_dtype)
    ridge = peak / g.hbm_bandwidth_bytes_per_s
    counts = param_counts(m)
    moe_t = step_traffic(m, batch, bpw)

    def dense_at(tokens: float) -> StepTraffic:
        return StepTraffic(counts.active * bpw, 2.0 * counts.active * tokens, 0.0)

    dense_t = dense_at(batch)
    moe_s = roofline_step_s(moe_t, g, precision.compute_dtype)
    dense_s = roofline_step_s(dense_t, g, precision.compute_dtype)
    result = MoeVsDenseResult(
        batch=batch,
        experts=m.moe.experts,
        active_experts=m.moe.active_experts,
        total_params=counts.total,
        active_params=counts.active,
        experts_touched=moe_t.experts_touched,
        experts_touched_fraction=moe_t.experts_touched / m.moe.experts,
        ridge_flops_per_byte=ridge,
        moe_weight_read_bytes=moe_t.weight_bytes,
        moe_step_flops=moe_t.flops,
        moe_intensity=moe_t.intensity,
        moe_bound="compute" if moe_t.intensity >= ridge else "memory",
        moe_roofline_step_ms=moe_s * 1e3,
        moe_compute_bound_batch=compute_bound_batch(lambda b: step_traffic(m, b, bpw), ridge),
        dense_weight_read_bytes=dense_t.weight_bytes,
        dense_step_flops=dense_t.flops,
        dense_intensity=dense_t.intensity,
        dense_bound="compute" if dense_t.intensity >= ridge else "memory",
        dense_roofline_step_ms=dense_s * 1e3,
        dense_compute_bound_batch=compute_bound_batch(dense_at, ridge),
        moe_over_dense_bytes_x=moe_t.weight_bytes / dense_t.weight_bytes,
        moe_over_dense_step_x=moe_s / dense_s,
    )
    warnings = []
    if moe_t.weight_bytes > g.memory_bytes:
        warnings.append(
            f"{m.name} weights ({num(counts.total * bpw, 'bytes')} in {precision.id}) exceed one {g.name}; the step "
            "times are per-model roofline bounds, as if one GPU with this bandwidth held it all"
        )
    e, k = m.moe.experts, m.moe.active_experts
    derivations = {
        "experts_touched": Derivation(
            f"distinct experts touched per MoE layer ({m.name}, batch {batch})",
            "E × (1 − (1 − k/E)^B)",
            f"{num(e)} × (1 − (1 − {num(k)}/{num(e)})^{num(batch)})",
            moe_t.experts_touched,
            "dimensionless",
        ),
        "moe_weight_read_bytes": Derivation(
            f"weights read per decode step ({m.name}, {precision.id})",
            "(params outside routed experts + MoE layers × touched experts × 3 × hidden × expert_intermediate) × bytes",
            f"({num(counts.total - (m.layers - m.moe.dense_layers) * e * 3.0 * m.hidden * m.moe.expert_intermediate, 'params')}"
            f" + {num(m.layers - m.moe.dense_layers)} × {num(moe_t.experts_touched)} × 3 × {num(m.hidden)} × "
            f"{num(m.moe.expert_intermediate)}) × {num(bpw)} B",
            moe_t.weight_bytes,
            "bytes",
        ),
        "moe_intensity": Derivation(
            f"arithmetic intensity of an MoE decode step (batch {batch})",
            "2 × active params × batch ÷ weight bytes read",
            f"2 × {num(counts.active, 'params')} × {num(batch)} ÷ {num(moe_t.weight_bytes, 'bytes')}",
            moe_t.intensity,
            "dimensionless",
        ),
        "dense_intensity": Derivation(
            f"arithmetic intensity of a dense decode step with {num(counts.active, 'params')} parameters (batch {batch})",
            "2 × batch ÷ bytes per weight",
            f"2 × {num(batch)} ÷ {num(bpw)}",
            dense_t.intensity,
            "dimensionless",
        ),
        "ridge_flops_per_byte": Derivation(
            f"roofline ridge point ({g.name}, {precision.compute_dtype})",
            "peak FLOP/s ÷ HBM bandwidth",
            f"{num(peak, 'flop_per_s')} ÷ {num(g.hbm_bandwidth_bytes_per_s, 'bytes_per_s')}",
            ridge,
            "dimensionless",
        ),
    }
    return {"model": m.id, "gpu": g.id, "weights": precision.id, **asdict(result), "derivations": derivations, "warnings": warnings}
