"""Calculations over one catalog entry: what a model's config implies, and what a GPU's datasheet implies."""

from __future__ import annotations

from typing import Any

from . import catalog, efficiency
from .architecture import kv_bytes_per_token, kv_derivation, kv_values_per_token, param_counts, params_derivation
from .derivation import Derivation, num
from .registry import calculation
from .validation import reject_unknown


@calculation("model")
def model_facts(params: dict[str, Any]) -> dict[str, Any]:
    """Parameter counts and KV bytes per token in every precision for one catalog model."""
    reject_unknown(params, {"model"})
    m = catalog.model(params.get("model"))
    counts = param_counts(m)
    result: dict[str, Any] = {
        "model": m.id,
        "params": counts.total,
        "active_params": counts.active,
        "published_params": m.published_params,
        "embedding_params": counts.embedding,
        "attention_params": counts.attention,
        "ffn_params": counts.ffn_dense + counts.ffn_experts,
        "layer_attention_params": counts.per_layer_attention,
        "params_count_error": counts.total / m.published_params - 1.0,
        "derivations": {"params": params_derivation(m)},
    }
    mha_values = 2 * m.layers * m.heads * m.head_dim
    result["kv_saving_vs_mha_x"] = mha_values / kv_values_per_token(m)
    result["derivations"]["kv_saving_vs_mha_x"] = Derivation(
        f"KV cache saved by {'MLA' if m.mla else 'grouped-query attention'} ({m.name})",
        "(2 × layers × heads × head_dim) ÷ (values the model actually caches per token)",
        f"(2 × {num(m.layers)} × {num(m.heads)} × {num(m.head_dim)}) ÷ {num(kv_values_per_token(m))}",
        result["kv_saving_vs_mha_x"],
        "multiplier",
    )
    for precision in catalog.precisions().values():
        field = f"kv_{precision.id}_bytes_per_token"
        result[field] = kv_bytes_per_token(m, precision.bytes_per_value)
        result["derivations"][field] = kv_derivation(m, precision.bytes_per_value, precision.id)
        weights_field = f"weights_{precision.id}_bytes"
        result[weights_field] = counts.total * precision.bytes_per_value
        result["derivations"][weights_field] = Derivation(
            f"weights ({m.name}, {precision.id})",
            "parameters × bytes per value",
            f"{num(counts.total, 'params')} × {num(precision.bytes_per_value)} B",
            result[weights_field],
            "bytes",
        )
    return result


@calculation("gpu")
def gpu_facts(params: dict[str, Any]) -> dict[str, Any]:
    """Ratios a datasheet implies (the roofline ridge point for each compute dtype), and the fractions of the
    datasheet that the model's calibration says real kernels and collectives reach on this GPU."""
    reject_unknown(params, {"gpu"})
    g = catalog.gpu(params.get("gpu"))
    device = efficiency.device(g)
    link = efficiency.link(g)
    result: dict[str, Any] = {
        "gpu": g.id,
        "hbm_efficiency": device.hbm_efficiency,
        "gemm_peak_mfu": device.mfu_max_wide,
        "gemm_half_efficiency_tokens": device.gemm_half_tokens,
        "attention_efficiency": device.attention_efficiency,
        "efficiency_note": device.note,
        "allreduce_latency_us": link.latency_s * 1e6,
        "allreduce_hop_latency_us": link.hop_latency_s * 1e6,
        "allreduce_bus_efficiency": link.bus_efficiency,
        "link_note": link.note,
        "achievable_hbm_bytes_per_s": g.hbm_bandwidth_bytes_per_s * device.hbm_efficiency,
        "derivations": {},
    }
    result["derivations"]["achievable_hbm_bytes_per_s"] = Derivation(
        f"achievable memory bandwidth ({g.name})",
        "datasheet HBM bandwidth × fitted streaming efficiency",
        f"{num(g.hbm_bandwidth_bytes_per_s, 'bytes_per_s')} × {num(device.hbm_efficiency, 'ratio')}",
        result["achievable_hbm_bytes_per_s"],
        "bytes_per_s",
    )
    for dtype, peak in g.peak_flops_per_s.items():
        field = f"ridge_{dtype}_flops_per_byte"
        result[field] = peak / g.hbm_bandwidth_bytes_per_s
        result["derivations"][field] = Derivation(
            f"roofline ridge point ({g.name}, {dtype})",
            "peak FLOP/s ÷ HBM bandwidth",
            f"{num(peak, 'flop_per_s')} ÷ {num(g.hbm_bandwidth_bytes_per_s, 'bytes_per_s')}",
            result[field],
            "dimensionless",
        )
    return result


@calculation("engine")
def engine_defaults(params: dict[str, Any]) -> dict[str, Any]:
    """The serving-engine settings and fitted overheads the model assumes (see ``sizing.efficiency``)."""
    reject_unknown(params, set())
    e = efficiency.ENGINE
    return {
        "kv_memory_fraction": e.kv_memory_fraction,
        "max_batch_size": e.max_batch_size,
        "max_num_tokens": e.max_num_tokens,
        "cuda_context_bytes": e.cuda_context_bytes,
        "step_overhead_ms": e.step_overhead_s * 1e3,
        "layer_overhead_us": e.layer_overhead_s * 1e6,
        "request_overhead_ms": e.request_overhead_s * 1e3,
        "narrow_dtype_efficiency": e.narrow_dtype_factor,
        "moe_gemm_efficiency": e.moe_gemm_factor,
        "elementwise_per_hidden_bytes": e.elementwise_bytes_per_hidden,
        "engine_note": efficiency.ENGINE_NOTE,
    }
