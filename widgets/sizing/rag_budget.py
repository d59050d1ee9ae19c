"""RAG capacity and a latency budget: the corpus and index from ``rag``, plus the fleet that embeds it, the fleet
that serves queries, and each stage of one query measured against an end-to-end SLO.

What this adds to ``rag.rag`` (whose chunking, index, ingestion and per-stage formulas it reuses unchanged):

* re-index window: the corpus costs ingestion_s × ingest_gpus GPU-seconds to embed; finishing it within W hours
  needs ⌈GPU-hours ÷ W⌉ GPUs, at the GPU's on-demand price per GPU-hour.
* query fleet at Q queries/s: each query keeps an encoder GPU busy for its embed time and a reranker GPU for its
  rerank time (both at the MFU the ``rag`` inputs give), so busy GPUs = Q × seconds per query, rounded up.
* the answer: with ``output_tokens`` > 0 the first token comes from the prefill stage and each later one takes one
  decode step of the LLM replica (``serving.estimate`` at ``llm_concurrency`` clients, ``llm_gpus``-way tensor
  parallel), so decode = (output − 1) × TPOT.
* budget: stages in order (embed query, ANN search, rerank, prefill, decode, network hops); the running total
  against ``slo_ms`` gives what is left after each stage, and the overrun when the total exceeds the SLO.
"""

from __future__ import annotations

import math
from typing import Any

from . import catalog
from .derivation import Derivation, num
from .memory import Deployment, default_kv, read_engine, read_tp
from .rag import _PARAMS as RAG_PARAMS
from .rag import rag
from .registry import calculation
from .serving import estimate
from .validation import read_choice, read_float, read_int, reject_unknown

STAGES = (
    ("embed_query_ms", "Embed query"),
    ("ann_search_ms", "ANN search"),
    ("rerank_ms", "Rerank"),
    ("prefill_ms", "LLM prefill"),
    ("decode_ms", "Decode answer"),
    ("hops_ms", "Network hops"),
)
RERANK_CURVE = (10, 20, 50, 100, 200, 500, 1000, 2000)

_PARAMS = set(RAG_PARAMS) | {"slo_ms", "reindex_hours", "queries_per_s", "output_tokens", "weights", "llm_concurrency"}


@calculation("rag_budget")
def rag_budget(params: dict[str, Any]) -> dict[str, Any]:
    """Index memory, embedding and query fleets, and a stage-by-stage latency budget against an end-to-end SLO."""
    reject_unknown(params, _PARAMS)
    base = rag({k: v for k, v in params.items() if k in RAG_PARAMS})
    slo_ms = read_float(params, "slo_ms", 1.0, 600_000.0, 2000.0)
    window_h = read_float(params, "reindex_hours", 0.01, 100_000.0, 24.0)
    qps = read_float(params, "queries_per_s", 0.0, 1_000_000.0, 10.0)
    output = read_int(params, "output_tokens", 0, 1_000_000, 200)
    concurrency = read_int(params, "llm_concurrency", 1, 4096, 1)
    g = catalog.gpu(base["gpu"])
    m = catalog.model(base["model"])
    names = list(catalog.precisions())
    weights = catalog.precision(read_choice(params, "weights", names, "bf16"), field="weights")
    kv = catalog.precision(default_kv(weights), field="weights")

    ingest_gpus = read_int(params, "ingest_gpus", 1, 100_000, 1)  # already checked by rag; same bounds
    candidates = read_int(params, "rerank_candidates", 1, 10_000, 50)
    gpu_hours = base["ingestion_s"] * ingest_gpus / 3600.0
    reindex_gpus = max(1, math.ceil(gpu_hours / window_h))
    embed_gpus = math.ceil(qps * base["embed_query_ms"] / 1e3)
    rerank_gpus = math.ceil(qps * base["rerank_ms"] / 1e3)

    context = base["context_tokens"]
    fits = context <= m.max_context_tokens
    warnings = list(base["warnings"])
    tpot_ms = 0.0
    decode_ms = 0.0
    if output > 0:
        tp = read_tp(params, m, g, name="llm_gpus", default=4)
        if context > m.max_context_tokens:
            fits = False  # rag has already said so
        elif context + output > m.max_context_tokens:
            fits = False
            warnings.append(
                f"the prompt, {base['context_tokens']:,.0f} tokens with its chunks, plus the {output:,}-token answer "
                f"exceed the {m.max_context_tokens:,}-token context of {m.id}: retrieve fewer or smaller chunks"
            )
        else:
            served = estimate(Deployment(m, g, tp, weights, kv, read_engine({})), max(1, round(context)), output,
                              "concurrency", float(concurrency), tp)
            tpot_ms = served["tpot_ms"]
            decode_ms = (output - 1) * tpot_ms
            if not served["fits"]:
                fits = False
                warnings.append(
                    f"does not fit: {m.id} in {weights.id} on {tp}× {g.id} leaves no room for the "
                    f"{context + output:,.0f}-token sequence; raise llm_gpus or use a narrower weight format"
                )
    elif context > m.max_context_tokens:
        fits = False

    stage_values = {**{k: base[k] for k, _ in STAGES if k != "decode_ms"}, "decode_ms": decode_ms}
    total_ms = sum(stage_values.values())
    stages, running = [], 0.0
    for key, label in STAGES:
        running += stage_values[key]
        stages.append({
            "label": label,
            "stage_ms": stage_values[key],
            "cumulative_ms": running,
            "left_ms": max(0.0, slo_ms - running),
            "over_ms": max(0.0, running - slo_ms),
        })
    first_over = next((s["label"] for s in stages if s["over_ms"] > 0), "")
    largest = max(STAGES, key=lambda s: stage_values[s[0]])[1]
    rerank_per_candidate = base["rerank_ms"] / candidates  # rerank time is linear in the candidates
    rerank_curve = [
        {"rerank_candidates": k, "total_ms": total_ms - base["rerank_ms"] + rerank_per_candidate * k, "slo_ms": slo_ms}
        for k in RERANK_CURVE
    ]

    result: dict[str, Any] = {k: v for k, v in base.items() if k not in {"derivations", "warnings"}}
    result.update({
        "weights": weights.id,
        "ingest_gpu_hours": gpu_hours,
        "reindex_hours": window_h,
        "reindex_gpus": reindex_gpus,
        "reindex_cost_usd": gpu_hours * g.price_usd_per_hour_on_demand,
        "rerank_candidates": candidates,
        "queries_per_s": qps,
        "query_embed_gpus": embed_gpus,
        "rerank_gpus": rerank_gpus,
        "output_tokens": output,
        "tpot_ms": tpot_ms,
        "decode_ms": decode_ms,
        "slo_ms": slo_ms,
        "total_ms": total_ms,
        "ttft_ms": total_ms - decode_ms,
        "budget_left_ms": max(0.0, slo_ms - total_ms),
        "overrun_ms": max(0.0, total_ms - slo_ms),
        "within_slo": total_ms <= slo_ms,
        "first_stage_over": first_over or "none",
        "largest_stage": largest,
        "fits": fits,
        "stages": stages,
        "rerank_curve": rerank_curve,
    })
    if total_ms > slo_ms:
        warnings.append(
            f"over budget: the stages add up to {num(total_ms / 1e3, 's')} against a {num(slo_ms / 1e3, 's')} SLO; "
            f"the budget runs out at {first_over.lower()}, and {largest.lower()} is the largest stage"
        )
    derivations = dict(base["derivations"])
    derivations["reindex_gpus"] = Derivation(
        f"GPUs to re-embed the corpus within {num(window_h * 3600.0, 's')}",
        "⌈indexed tokens × 2 × embedding params ÷ (MFU × peak) ÷ window⌉",
        f"⌈{num(gpu_hours, 'gpu_hours')} ÷ {num(window_h * 3600.0, 's')}⌉",
        float(reindex_gpus),
        "gpus",
    )
    derivations["query_embed_gpus"] = Derivation(
        "GPUs busy embedding queries",
        "⌈queries per second × embed time per query⌉",
        f"⌈{num(qps, 'requests_per_s')} × {num(base['embed_query_ms'] / 1e3, 's')}⌉",
        float(embed_gpus),
        "gpus",
    )
    derivations["decode_ms"] = Derivation(
        f"decoding the answer ({m.name}, {concurrency} concurrent)",
        "(output tokens − 1) × time per output token",
        f"({num(output, 'tokens')} − 1) × {num(tpot_ms / 1e3, 's')}",
        decode_ms / 1e3,
        "s",
    )
    derivations["total_ms"] = Derivation(
        "end-to-end latency of one query",
        "embed query + ANN search + rerank + prefill + decode + hops",
        " + ".join(num(stage_values[k] / 1e3, "s") for k, _ in STAGES),
        total_ms / 1e3,
        "s",
    )
    result["derivations"] = derivations
    result["warnings"] = warnings
    return result

