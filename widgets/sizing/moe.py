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

Expert-parallel layout over an EP group of P GPUs (P divides E), with data-parallel attention: each GPU holds every
weight outside the routed experts, E ÷ P routed experts per MoE layer, and B ÷ P of the step's sequences.

* tokens an expert sees per step (uniform routing) = B · k ÷ E
* dispatch message per GPU per MoE layer (the collectives convention: the bytes one GPU sends in total, its own share
  included) = (B ÷ P) · k · hidden · bytes per activation
* all-to-all volume per step that crosses GPUs = 2 (dispatch and combine) · MoE layers · B · k · hidden
  · bytes per activation · (P − 1) ÷ P: a routed copy stays local with probability 1 ÷ P.
* weights one GPU reads per step = (params outside routed experts + MoE layers · (E ÷ P) · (1 − (1 − k/E)^B)
  · 3 · hidden · expert_intermediate) · bytes per weight; its FLOPs = 2 · N_active · B ÷ P (balanced routing);
  its roofline step time = max(bytes ÷ bandwidth, FLOPs ÷ peak), with the all-to-all not included.

Left out on purpose: KV-cache reads and attention-score FLOPs (they depend on context length, not on the
MoE/dense choice), and routing skew (real routers are not uniform; skewed routing concentrates tokens on fewer
experts, so fewer distinct experts are touched than this estimate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from . import catalog
from .architecture import param_counts
from .derivation import Derivation, num
from .errors import InputError
from .registry import calculation
from .specs import GpuSpec, ModelSpec
from .validation import read_int, reject_unknown

MAX_BATCH = 1 << 20
MAX_EXPERTS = 1024
CURVE_MIN_TOP = 1024  # the chart's batch axis reaches at least this far, and past both compute-bound batches


def with_experts(m: ModelSpec, experts: int, active_experts: int) -> ModelSpec:
    """The same architecture with a different number of routed experts and top-k (expert width unchanged)."""
    return replace(m, moe=replace(m.moe, experts=experts, active_experts=active_experts))


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


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
    tokens_per_expert: float  # routed tokens one expert sees per step, B·k ÷ E
    ep: int
    experts_per_gpu: int
    sequences_per_gpu: float  # B ÷ P (data-parallel attention)
    ep_weight_bytes_per_gpu: float  # weights one EP rank holds
    ep_weight_read_bytes_per_gpu: float  # weights one EP rank reads in one step
    ep_roofline_step_ms: float  # one rank's roofline step, all-to-all excluded
    dispatch_message_bytes: float  # one GPU's dispatch per MoE layer (collectives convention)
    all_to_all_bytes: float  # dispatch + combine over all MoE layers of one step, crossing GPUs, whole group
    all_to_all_bytes_per_gpu: float


def batch_axis(*batches: int | None) -> list[int]:
    """Powers of two from 1 to the first at or above twice the largest given batch (at least CURVE_MIN_TOP)."""
    reach = max([CURVE_MIN_TOP] + [2 * b for b in batches if b])
    axis, b = [], 1
    while b < MAX_BATCH and (not axis or axis[-1] < reach):
        axis.append(b)
        b *= 2
    return axis + [b] if axis[-1] < reach else axis


@calculation("moe_vs_dense")
def moe_vs_dense(params: dict[str, Any]) -> dict[str, Any]:
    """A catalog MoE model at a decode batch versus a dense model with the same active parameters, and its
    expert-parallel layout over ``ep`` GPUs. ``experts`` and ``active_experts`` (blank: the model's own) change the
    routed expert count and top-k of the same architecture."""
    reject_unknown(params, {"model", "gpu", "weights", "batch", "experts", "active_experts", "ep", "dispatch"})
    m = catalog.model(params.get("model"))
    if m.moe is None:
        choices = ", ".join(sorted(k for k, v in catalog.models().items() if v.moe is not None))
        raise InputError("model", f"{m.id} is dense; choose a mixture-of-experts model: {choices}")
    g = catalog.gpu(params.get("gpu", "h100-sxm"))
    precision = catalog.precision(params.get("weights", "bf16"), field="weights")
    dispatch = catalog.precision(params.get("dispatch", "bf16"), field="dispatch")
    batch = read_int(params, "batch", 1, MAX_BATCH, 1)
    experts = read_int(params, "experts", 1, MAX_EXPERTS, m.moe.experts)
    active = read_int(params, "active_experts", 1, experts, min(m.moe.active_experts, experts))
    ep = read_int(params, "ep", 1, experts, 1)
    if experts % ep:
        raise InputError("ep", f"must divide the {experts} routed experts evenly: one of {', '.join(map(str, divisors(experts)))}")
    if (experts, active) != (m.moe.experts, m.moe.active_experts):
        m = with_experts(m, experts, active)
    bpw = precision.bytes_per_value
    peak = g.peak_flops(precision.compute_dtype)
    bandwidth = g.hbm_bandwidth_bytes_per_s
    ridge = peak / bandwidth
    counts = param_counts(m)
    read_weights = weight_read_function(m, bpw)

    def moe_at(tokens: float) -> StepTraffic:
        weight_bytes, touched = read_weights(tokens)
        return StepTraffic(weight_bytes, 2.0 * counts.active * tokens, touched)

    def dense_at(tokens: float) -> StepTraffic:
        return StepTraffic(counts.active * bpw, 2.0 * counts.active * tokens, 0.0)

    moe_t, dense_t = moe_at(batch), dense_at(batch)
    moe_s = roofline_step_s(moe_t, g, precision.compute_dtype)
    dense_s = roofline_step_s(dense_t, g, precision.compute_dtype)
    moe_cb = compute_bound_batch(moe_at, ridge)
    dense_cb = compute_bound_batch(dense_at, ridge)

    # Expert-parallel layout (module docstring).
    moe_layers = m.layers - m.moe.dense_layers
    one_expert_bytes = 3.0 * m.hidden * m.moe.expert_intermediate * bpw
    routed_bytes = moe_layers * experts * one_expert_bytes
    fixed_bytes = counts.total * bpw - routed_bytes
    per_gpu = experts // ep
    touched_fraction = moe_t.experts_touched / experts
    ep_read = fixed_bytes + moe_layers * per_gpu * touched_fraction * one_expert_bytes
    ep_s = max(ep_read / bandwidth, moe_t.flops / ep / peak)
    act = dispatch.bytes_per_value
    routed_activation_bytes = batch * active * m.hidden * act  # one MoE layer, one direction, whole group
    all_to_all = 2.0 * moe_layers * routed_activation_bytes * (ep - 1) / ep

    result = MoeVsDenseResult(
        batch=batch,
        experts=experts,
        active_experts=active,
        total_params=counts.total,
        active_params=counts.active,
        experts_touched=moe_t.experts_touched,
        experts_touched_fraction=touched_fraction,
        ridge_flops_per_byte=ridge,
        moe_weight_read_bytes=moe_t.weight_bytes,
        moe_step_flops=moe_t.flops,
        moe_intensity=moe_t.intensity,
        moe_bound="compute" if moe_t.intensity >= ridge else "memory",
        moe_roofline_step_ms=moe_s * 1e3,
        moe_compute_bound_batch=moe_cb,
        dense_weight_read_bytes=dense_t.weight_bytes,
        dense_step_flops=dense_t.flops,
        dense_intensity=dense_t.intensity,
        dense_bound="compute" if dense_t.intensity >= ridge else "memory",
        dense_roofline_step_ms=dense_s * 1e3,
        dense_compute_bound_batch=dense_cb,
        moe_over_dense_bytes_x=moe_t.weight_bytes / dense_t.weight_bytes,
        moe_over_dense_step_x=moe_s / dense_s,
        tokens_per_expert=batch * active / experts,
        ep=ep,
        experts_per_gpu=per_gpu,
        sequences_per_gpu=batch / ep,
        ep_weight_bytes_per_gpu=fixed_bytes + moe_layers * per_gpu * one_expert_bytes,
        ep_weight_read_bytes_per_gpu=ep_read,
        ep_roofline_step_ms=ep_s * 1e3,
        dispatch_message_bytes=routed_activation_bytes / ep,
        all_to_all_bytes=all_to_all,
        all_to_all_bytes_per_gpu=all_to_all / ep,
    )
    curve = []
    for b in batch_axis(batch, moe_cb, dense_cb):
        moe_b, dense_b = moe_at(b), dense_at(b)
        curve.append({
            "batch": b,
            "moe_step_ms": roofline_step_s(moe_b, g, precision.compute_dtype) * 1e3,
            "dense_step_ms": roofline_step_s(dense_b, g, precision.compute_dtype) * 1e3,
            "moe_weight_read_gb": moe_b.weight_bytes / 1e9,
            "dense_weight_read_gb": dense_b.weight_bytes / 1e9,
        })
    warnings = []
    if result.ep_weight_bytes_per_gpu > g.memory_bytes:
        where = f"one {g.name}" if ep == 1 else f"each of {ep} {g.name} GPUs"
        warnings.append(
            f"{m.name} weights ({num(result.ep_weight_bytes_per_gpu, 'bytes')} per GPU in {precision.id} with "
            f"expert parallelism {ep}) exceed {where}; the single-GPU step times are roofline bounds, as if one GPU "
            "with this bandwidth held it all"
        )
    if batch < ep:
        warnings.append(f"batch {batch} is smaller than the expert-parallel group of {ep}: some GPUs hold no sequence")
    e, k = experts, active
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
            f"({num(counts.total - moe_layers * e * 3.0 * m.hidden * m.moe.expert_intermediate, 'params')}"
            f" + {num(moe_layers)} × {num(moe_t.experts_touched)} × 3 × {num(m.hidden)} × "
            f"{num(m.moe.expert_intermediate)}) × {num(bpw)} B",
            moe_t.weight_bytes,
            "bytes",
        ),
        "moe_step_flops": Derivation(
            f"FLOPs of one decode step (batch {batch})",
            "2 × active params × batch",
            f"2 × {num(counts.active, 'params')} × {num(batch)}",
            moe_t.flops,
            "flop",
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
            f"{num(peak, 'flop_per_s')} ÷ {num(bandwidth, 'bytes_per_s')}",
            ridge,
            "dimensionless",
        ),
        "ep_weight_read_bytes_per_gpu": Derivation(
            f"weights one GPU reads per step with expert parallelism {ep}",
            "params outside routed experts × bytes + MoE layers × (E ÷ P) × touched share × one expert's bytes",
            f"{num(fixed_bytes, 'bytes')} + {num(moe_layers)} × {num(per_gpu)} × {num(touched_fraction, 'ratio')} × "
            f"{num(one_expert_bytes, 'bytes')}",
            ep_read,
            "bytes",
        ),
        "all_to_all_bytes": Derivation(
            f"all-to-all bytes per decode step across {ep} GPUs ({dispatch.id} activations)",
            "2 (dispatch, combine) × MoE layers × batch × k × hidden × bytes × (P − 1) ÷ P",
            f"2 × {num(moe_layers)} × {num(batch)} × {num(k)} × {num(m.hidden)} × {num(act)} B × "
            f"{num(ep - 1)} ÷ {num(ep)}",
            all_to_all,
            "bytes",
        ),
    }
    return {
        "model": m.id,
        "gpu": g.id,
        "weights": precision.id,
        "dispatch": dispatch.id,
        **asdict(result),
        "curve": curve,
        "derivations": derivations,
        "warnings": warnings,
    }
