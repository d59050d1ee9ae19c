"""The KV cache of one serving replica: bytes per token by attention kind, long-context pressure, a shared
system prompt, and where a sequence's cache can live when HBM runs out.

Every byte count comes from ``architecture.kv_bytes_per_token`` (and its per-GPU form); the attention variants
are the catalog model with one field changed, so there is exactly one KV formula:

* MHA: kv_heads = heads (every query head keeps its own K and V).
* GQA: kv_heads = the model's own when it already groups query heads (1 < kv_heads < heads); otherwise
  gcd(heads, 8), the eight KV heads the Llama 3 family and the GQA paper's main experiments use (Ainslie et al.
  2023, "GQA: Training Generalized Multi-Query Transformer Models from Multi-Head Checkpoints").
* MQA: kv_heads = 1 (Shazeer 2019, "Fast Transformer Decoding: One Write-Head is All You Need").
* MLA: the model's own latent (kv_lora_rank + qk_rope_head_dim from the catalog) when it has one; otherwise the
  DeepSeek-V2 paper's sizing, latent = 4·head_dim and decoupled RoPE key = head_dim ÷ 2 (DeepSeek-AI 2024,
  arXiv:2405.04434, §2.1.3 and Table 1), a declared assumption since such a model does not exist.

Capacity: ``memory.plan`` gives the KV budget per GPU and the tokens it holds; the sequences a replica holds at a
context length is ⌊capacity ÷ context⌋ (each sequence reserves its full length), capped by the engine's batch limit
in the scalar result but not in the chart, which shows what memory alone allows. The variants reuse the catalog
model's weights and budget: only the cache changes.

Shared system prompt of P tokens in a context of T (T > P): without sharing each running sequence holds its own
copy; with prefix sharing (vLLM's automatic prefix caching, SGLang's radix tree) one copy serves all, so the memory
freed at S running sequences is (S − 1)·P·(KV bytes per token per GPU), and the replica holds
⌊(capacity − P) ÷ (T − P)⌋ sequences. Block-granular sharing rounds P down to whole blocks; that is ignored.

Offload tiers, per GPU of the replica, each rank moving its own shard in parallel:

* HBM: the KV budget; reading one sequence's shard once = shard ÷ HBM bandwidth (what every decode step pays).
* host DRAM over the GPU's host link: capacity an input; reload = shard ÷ host-link bandwidth. The link is the
  catalog's interconnect for PCIe-attached GPUs, otherwise the per-generation figure in ``data/host_links.json``.
* local NVMe: capacity and read bandwidth per GPU are inputs (one drive per GPU); reload = shard ÷ NVMe bandwidth.
* recompute: the prefill of the whole context, ``prefix_cache.prefill_flops`` ÷ (tp · peak · MFU).
Reload times are floors: the link's nominal rate, no protocol overhead, nothing else on the link.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from functools import cache
from importlib import resources
from typing import Any

from . import catalog
from .architecture import kv_bytes_per_token, kv_bytes_per_token_per_gpu, kv_derivation
from .catalog import CatalogError, _Checker
from .derivation import Derivation, num
from .errors import InputError
from .memory import DEPLOYMENT_PARAMS, MAX_TOKENS, Deployment, memory_derivations, plan, read_deployment
from .prefix_cache import prefill_flops
from .registry import calculation
from .specs import GpuSpec, MlaSpec, ModelSpec, Source
from .validation import read_float, read_int, reject_unknown

GQA_DEFAULT_KV_HEADS = 8  # Llama 3 family; Ainslie et al. 2023
MLA_LATENT_PER_HEAD_DIM = 4  # DeepSeek-V2: d_c = 4·d_h
MLA_ROPE_PER_HEAD_DIM = 0.5  # DeepSeek-V2: d_h^R = d_h ÷ 2
CURVE_START_TOKENS = 1024
KINDS = ("mha", "gqa", "mqa", "mla")


# ---------------------------------------------------------------------------------------------------------------
# Host links (data/host_links.json)


@cache
def host_links() -> dict[str, tuple[float, Source]]:
    """generation → (bytes/s each way between one GPU and its host, source)."""
    filename = "host_links.json"
    text = resources.files("sizing").joinpath("data").joinpath(filename).read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise CatalogError([f"{filename}: not valid JSON ({error})"]) from None
    items = document.get("host_links") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise CatalogError([f"{filename}: expected an object with a list 'host_links'"])
    problems: list[str] = []
    table: dict[str, tuple[float, Source]] = {}
    for index, record in enumerate(items):
        label = record.get("generation", "?") if isinstance(record, dict) else "?"
        c = _Checker(f"{filename}: host_links[{index}] ({label})", record, problems)
        c.unknown({"generation", "link", "bytes_per_s", "source"})
        generation = c.get("generation", "str", default="")
        if generation and generation not in catalog.GENERATIONS:
            c.fail("generation", f"unknown generation {generation!r}; expected one of {', '.join(catalog.GENERATIONS)}")
        link = c.get("link", "str", default="")
        if link and link not in catalog.INTERCONNECTS:
            c.fail("link", f"unknown link {link!r}; expected one of {', '.join(catalog.INTERCONNECTS)}")
        rate = float(c.get("bytes_per_s", "positive", default=1.0))
        source = c.source()
        if generation in table:
            c.fail("generation", f"duplicate generation {generation!r}")
        table[generation] = (rate, source)
    missing = [g for g in catalog.GENERATIONS if g not in table]
    if missing:
        problems.append(f"{filename}: no host link for generation(s) {', '.join(missing)}")
    if problems:
        raise CatalogError(problems)
    return table


def host_link_bytes_per_s(g: GpuSpec) -> float:
    """A PCIe-attached GPU's catalog interconnect is its host link; others use their generation's entry."""
    if g.interconnect_kind.startswith("pcie"):
        return g.interconnect_bytes_per_s
    return host_links()[g.generation][0]


# ---------------------------------------------------------------------------------------------------------------
# Attention variants of one shape


def attention_kind(m: ModelSpec) -> str:
    if m.mla is not None:
        return "mla"
    if m.kv_heads == m.heads:
        return "mha"
    if m.kv_heads == 1:
        return "mqa"
    return "gqa"


def gqa_kv_heads(m: ModelSpec) -> int:
    """The model's own group count when it is GQA, else gcd(heads, 8)."""
    if attention_kind(m) == "gqa":
        return m.kv_heads
    return math.gcd(m.heads, GQA_DEFAULT_KV_HEADS)


def mla_spec(m: ModelSpec) -> tuple[MlaSpec, bool]:
    """The model's MLA latent, or the DeepSeek-V2 sizing for its head_dim; the flag says it was assumed."""
    if m.mla is not None:
        return m.mla, False
    d = m.head_dim
    return MlaSpec(
        kv_lora_rank=MLA_LATENT_PER_HEAD_DIM * d,
        qk_rope_head_dim=max(1, int(d * MLA_ROPE_PER_HEAD_DIM)),
        qk_nope_head_dim=d,
        v_head_dim=d,
        q_lora_rank=0,
    ), True


def variants(m: ModelSpec) -> dict[str, ModelSpec]:
    """The same shape (layers, heads, head_dim) with each attention kind; the model itself under its own kind."""
    latent, _ = mla_spec(m)
    out = {
        "mha": replace(m, name=f"{m.name} as MHA", kv_heads=m.heads, mla=None),
        "gqa": replace(m, name=f"{m.name} as GQA", kv_heads=gqa_kv_heads(m), mla=None),
        "mqa": replace(m, name=f"{m.name} as MQA", kv_heads=1, mla=None),
        "mla": replace(m, name=f"{m.name} as MLA", mla=latent),
    }
    out[attention_kind(m)] = m
    return out


def context_points(max_tokens: int) -> list[int]:
    """1,024 doubling up to the model's window, plus the window itself when it is not a power of two."""
    points, t = [], CURVE_START_TOKENS
    while t <= max_tokens:
        points.append(t)
        t *= 2
    if not points or points[-1] != max_tokens:
        points.append(max_tokens)
    return points


def sequences_held(capacity_tokens: float, context_tokens: int) -> int:
    return int(capacity_tokens // context_tokens) if capacity_tokens > 0 else 0


# ---------------------------------------------------------------------------------------------------------------

_PARAMS = set(DEPLOYMENT_PARAMS) | {
    "context_tokens", "prefix_tokens", "prefill_mfu", "host_memory_gb_per_gpu", "nvme_gb_per_gpu", "nvme_gb_per_s",
    "host_link_gb_per_s",
}


@calculation("kv_cache")
def kv_cache(params: dict[str, Any]) -> dict[str, Any]:
    """KV bytes per token by attention kind, sequences that fit against context, prefix sharing, offload tiers."""
    reject_unknown(params, _PARAMS)
    d = read_deployment(params, tp_default=1)
    m, g = d.model, d.gpu
    context = read_int(params, "context_tokens", 1, MAX_TOKENS, 8192)
    if context > m.max_context_tokens:
        raise InputError("context_tokens", f"must be at most the {m.max_context_tokens:,}-token context of {m.id} (got {context:,})")
    prefix = read_int(params, "prefix_tokens", 0, MAX_TOKENS, 0)
    if prefix >= context:
        raise InputError("prefix_tokens", f"must be from 0 to context_tokens − 1 = {context - 1:,} (got {prefix:,})")
    mfu = read_float(params, "prefill_mfu", 0.01, 1.0, 0.5)
    host_gb = read_float(params, "host_memory_gb_per_gpu", 0.0, 100_000.0, 256.0)
    nvme_gb = read_float(params, "nvme_gb_per_gpu", 0.0, 10_000_000.0, 3840.0)
    nvme_rate = read_float(params, "nvme_gb_per_s", 0.001, 1000.0, 7.0) * 1e9
    link_rate = read_float(params, "host_link_gb_per_s", 0.001, 10_000.0, host_link_bytes_per_s(g) / 1e9) * 1e9

    b = d.kv.bytes_per_value
    p = plan(d, context)
    per_gpu = p.kv_per_gpu_bytes_per_token
    kinds = variants(m)
    own = attention_kind(m)
    latent, latent_assumed = mla_spec(m)
    by_kind = {k: kv_bytes_per_token(v, b) for k, v in kinds.items()}
    per_gpu_by_kind = {k: kv_bytes_per_token_per_gpu(v, b, d.tp) for k, v in kinds.items()}
    budget = p.kv_budget_bytes_per_gpu

    # Long-context pressure: what memory alone allows at each context length, for each attention kind.
    curve_contexts = context_points(m.max_context_tokens)
    context_curve = []
    for t in curve_contexts:
        # "context" (no unit suffix) labels the chart's axis ticks as bare numbers; the axis title names the unit
        point: dict[str, Any] = {"context_tokens": t, "context": t, "sequences": sequences_held(p.kv_capacity_tokens, t)}
        for k in KINDS:
            point[f"{k}_sequences"] = sequences_held(budget // per_gpu_by_kind[k], t) if budget > 0 else 0
        context_curve.append(point)

    # Shared system prompt.
    shared = 0
    if p.fits and p.kv_capacity_tokens >= prefix:
        shared = min(d.engine.max_batch_size, sequences_held(p.kv_capacity_tokens - prefix, context - prefix))
    prefix_saved = max(p.max_concurrency - 1, 0) * prefix * per_gpu
    peak = g.peak_flops(d.weights.compute_dtype)
    replica_flops = d.tp * peak * mfu

    # Offload tiers for one sequence's shard on each GPU.
    shard = context * per_gpu

    def reload_curve_point(t: int) -> dict[str, Any]:
        s = t * per_gpu
        return {
            "context_tokens": t,
            "context": t,
            "host_reload_ms": s / link_rate * 1e3,
            "nvme_reload_ms": s / nvme_rate * 1e3,
            "recompute_ms": prefill_flops(m, t) / replica_flops * 1e3,
        }

    here = reload_curve_point(context)
    recompute_s = here["recompute_ms"] / 1e3
    host_s, nvme_s = shard / link_rate, shard / nvme_rate
    hbm_s = shard / g.hbm_bandwidth_bytes_per_s

    result: dict[str, Any] = {
        "model": m.id, "gpu": g.id, "tp": d.tp, "weights": d.weights.id, "kv": d.kv.id,
        "attention": own.upper(),
        "kv_bytes_per_token": by_kind[own],
        "mha_kv_bytes_per_token": by_kind["mha"],
        "gqa_kv_bytes_per_token": by_kind["gqa"],
        "mqa_kv_bytes_per_token": by_kind["mqa"],
        "mla_kv_bytes_per_token": by_kind["mla"],
        "gqa_kv_heads": kinds["gqa"].kv_heads,
        "mla_latent_dim": latent.kv_lora_rank + latent.qk_rope_head_dim,
        "mla_latent_assumed": latent_assumed,
        "kv_per_gpu_bytes_per_token": per_gpu,
        "context_tokens": context,
        "sequence_kv_bytes": context * by_kind[own],
        "sequence_kv_bytes_per_gpu": shard,
        "weights_gb_per_gpu": p.weights_bytes_per_gpu / 1e9,
        "kv_budget_gb_per_gpu": budget / 1e9,
        "kv_capacity_tokens": p.kv_capacity_tokens,
        "max_concurrency": p.max_concurrency,
        "concurrency_limited_by": p.limited_by,
        "fits": p.fits,
        "prefix_tokens": prefix,
        "prefix_kv_bytes": prefix * by_kind[own],
        "prefix_saved_gb_per_gpu": prefix_saved / 1e9,
        "shared_prefix_max_concurrency": shared,
        "prefix_prefill_ms": prefill_flops(m, prefix) / replica_flops * 1e3,
        "host_link_gb_per_s": link_rate / 1e9,
        "nvme_gb_per_s": nvme_rate / 1e9,
        "host_memory_gb_per_gpu": host_gb,
        "nvme_gb_per_gpu": nvme_gb,
        "hbm_sequences": sequences_held(p.kv_capacity_tokens, context),
        "host_sequences": int(host_gb * 1e9 // shard),
        "nvme_sequences": int(nvme_gb * 1e9 // shard),
        "hbm_read_ms": hbm_s * 1e3,
        "host_reload_ms": host_s * 1e3,
        "nvme_reload_ms": nvme_s * 1e3,
        "recompute_ms": recompute_s * 1e3,
        "recompute_vs_host_x": recompute_s / host_s,
        "recompute_vs_nvme_x": recompute_s / nvme_s,
        "context_curve": context_curve,
        "offload_curve": [reload_curve_point(t) for t in curve_contexts],
    }

    derivations = {
        "kv_bytes_per_token": kv_derivation(m, b, d.kv.id),
        **{f"{k}_kv_bytes_per_token": kv_derivation(kinds[k], b, d.kv.id) for k in KINDS if k != own},
        "sequence_kv_bytes": Derivation(
            f"KV cache of one {context:,}-token sequence",
            "context tokens × KV bytes per token",
            f"{num(context, 'tokens')} × {num(by_kind[own], 'bytes')}",
            context * by_kind[own],
            "bytes",
        ),
    }
    mem = memory_derivations(d, p)
    derivations["kv_capacity_tokens"] = mem["kv_capacity_tokens"]
    derivations["max_concurrency"] = mem["max_concurrency"]
    derivations["prefix_saved_gb_per_gpu"] = Derivation(
        "memory a shared system prompt frees per GPU",
        "(running sequences − 1) × prefix tokens × KV bytes per token per GPU",
        f"({num(p.max_concurrency, 'count')} − 1) × {num(prefix, 'tokens')} × {num(per_gpu, 'bytes')}",
        prefix_saved,
        "bytes",
    )
    derivations["shared_prefix_max_concurrency"] = Derivation(
        "sequences that fit when one copy of the prefix serves all",
        "min(max batch size, ⌊(KV capacity − prefix) ÷ (context − prefix)⌋)",
        f"min({num(d.engine.max_batch_size, 'count')}, ⌊({num(p.kv_capacity_tokens, 'tokens')} − {num(prefix, 'tokens')})"
        f" ÷ ({num(context, 'tokens')} − {num(prefix, 'tokens')})⌋)",
        float(shared),
        "count",
    )
    derivations["host_reload_ms"] = Derivation(
        "bring one sequence's KV back from host memory (each GPU its own shard)",
        "context × KV bytes per token per GPU ÷ host-link bandwidth",
        f"{num(context, 'tokens')} × {num(per_gpu, 'bytes')} ÷ {num(link_rate, 'bytes_per_s')}",
        host_s,
        "s",
    )
    derivations["nvme_reload_ms"] = Derivation(
        "bring one sequence's KV back from local NVMe (one drive per GPU)",
        "context × KV bytes per token per GPU ÷ NVMe read bandwidth",
        f"{num(context, 'tokens')} × {num(per_gpu, 'bytes')} ÷ {num(nvme_rate, 'bytes_per_s')}",
        nvme_s,
        "s",
    )
    derivations["recompute_ms"] = Derivation(
        f"recompute the sequence's prefill instead ({m.name})",
        "(2 × N × T + 2 × layers × T² × d_attn) ÷ (tp × peak × MFU)",
        f"{num(prefill_flops(m, context), 'flop')} ÷ ({d.tp} × {num(peak, 'flop_per_s')} × {num(mfu, 'ratio')})",
        recompute_s,
        "s",
    )

    warnings = []
    if not p.fits:
        need = p.weights_bytes_per_gpu + p.workspace_bytes_per_gpu + p.context_bytes_per_gpu
        warnings.append(
            f"does not fit: {m.id} in {d.weights.id} needs {num(need, 'bytes')} per GPU for weights and workspace "
            f"on {d.tp}× {g.id} ({num(g.memory_bytes, 'bytes')} each), leaving no room for one {context:,}-token sequence"
        )
    if own == "mla" and d.tp > 1:
        warnings.append(
            f"{m.name}'s latent cache has no head axis: each of the {d.tp} GPUs keeps all of it, so tensor "
            "parallelism does not divide it"
        )
    elif m.kv_heads < d.tp:
        warnings.append(
            f"{m.name} has {m.kv_heads} KV heads for {d.tp} GPUs: heads are copied so every GPU holds one, and "
            "tensor parallelism stops dividing the cache"
        )
    result["derivations"] = derivations
    result["warnings"] = warnings
    return result
