"""Calculations over one catalog entry: what a model's config implies, and what a GPU's datasheet implies."""

from __future__ import annotations

from typing import Any

from . import catalog
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
    """Ratios a datasheet implies: the roofline ridge point (FLOPs per byte) for each compute dtype."""
    reject_unknown(params, {"gpu"})
    g = catalog.gpu(params.get("gpu"))
    result: dict[str, Any] = {"gpu": g.id, "derivations": {}}
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
