"""RAG capacity and latency budget: re-index fleet, query fleet, decode stage and the budget against an SLO."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sizing import api, catalog

PEAK = 989.4e12  # H100 SXM dense BF16


def run(**params) -> dict:
    answer = json.loads(api.run("rag_budget", json.dumps(params)))
    assert "error" not in answer, answer
    return answer


BASE = dict(
    documents=1_000_000, tokens_per_document=2000, chunk_tokens=480, overlap_tokens=64, embedding_dim=1024,
    embed_params=304e6, gpu="h100-sxm", ingest_gpus=1, embed_mfu=0.3, query_tokens=30, ann_search_ms=5,
    rerank_params=304e6, rerank_candidates=50, context_chunks=5, prompt_tokens=500, model="llama-3.1-70b",
    llm_gpus=4, prefill_mfu=0.5, hop_ms=1, slo_ms=4000, output_tokens=150, queries_per_s=50, reindex_hours=6,
)


def test_rag_fields_pass_through_unchanged():
    rag = json.loads(api.run("rag", json.dumps({k: v for k, v in BASE.items() if k not in
                                                {"slo_ms", "output_tokens", "queries_per_s", "reindex_hours"}})))
    out = run(**BASE)
    for key in ("chunks", "hnsw_index_bytes", "bm25_index_bytes", "ingestion_s", "prefill_ms", "rerank_ms"):
        assert out[key] == rag[key], key
    assert out["ttft_ms"] == pytest.approx(rag["query_latency_ms"])


def test_reindex_and_query_fleets_by_hand():
    out = run(**BASE)
    # 2000 tokens, chunk 480, overlap 64 → 1 + ⌈1520 ÷ 416⌉ = 5 chunks, 2000 + 4 × 64 = 2,256 indexed tokens/doc
    indexed = 1_000_000 * 2256
    seconds = indexed * 2 * 304e6 / (0.3 * PEAK)  # 4,621 s on one GPU
    assert out["ingest_gpu_hours"] == pytest.approx(seconds / 3600)
    assert out["reindex_gpus"] == math.ceil(seconds / 3600 / 6) == 1
    assert out["reindex_cost_usd"] == pytest.approx(seconds / 3600 * catalog.gpu("h100-sxm").price_usd_per_hour_on_demand)
    # a 30-token query: 2 × 304M × 30 ÷ (0.3 × peak) = 61.5 µs of a GPU; at 50 q/s: 3.1 ms per s → 1 GPU
    embed_s = 2 * 304e6 * 30 / (0.3 * PEAK)
    assert out["query_embed_gpus"] == math.ceil(50 * embed_s) == 1
    # rerank 50 × (30 + 480) tokens: 2 × 304M × 25,500 ÷ (0.3 × peak) = 52.2 ms per query; × 50 q/s = 2.6 → 3 GPUs
    rerank_s = 2 * 304e6 * 50 * 510 / (0.3 * PEAK)
    assert out["rerank_ms"] == pytest.approx(rerank_s * 1e3)
    assert out["rerank_gpus"] == 3
    # a tighter window needs more GPUs: 1.28 GPU-hours in 0.25 h → 6
    assert run(**{**BASE, "reindex_hours": 0.25})["reindex_gpus"] == math.ceil(seconds / 3600 / 0.25) == 6


def test_budget_adds_up_stage_by_stage():
    out = run(**BASE)
    stages = out["stages"]
    assert [s["label"] for s in stages] == ["Embed query", "ANN search", "Rerank", "LLM prefill", "Decode answer", "Network hops"]
    assert sum(s["stage_ms"] for s in stages) == pytest.approx(out["total_ms"])
    assert stages[-1]["cumulative_ms"] == pytest.approx(out["total_ms"])
    # decode = (150 − 1) × TPOT from serving.estimate of the same replica
    assert out["decode_ms"] == pytest.approx(149 * out["tpot_ms"])
    assert out["hops_ms"] == 4.0  # embed, ANN, rerank, LLM: four calls × 1 ms
    assert out["within_slo"] is (out["total_ms"] <= 4000)
    assert out["budget_left_ms"] == pytest.approx(max(0.0, 4000 - out["total_ms"]))
    for s in stages:
        assert s["left_ms"] == pytest.approx(max(0.0, 4000 - s["cumulative_ms"]))


def test_overrun_names_the_stage_that_spends_the_budget():
    out = run(**{**BASE, "slo_ms": 200})
    assert out["within_slo"] is False
    assert out["overrun_ms"] == pytest.approx(out["total_ms"] - 200)
    assert out["first_stage_over"] == "LLM prefill"  # 57 ms after rerank, then ~215 ms of prefill
    assert out["largest_stage"] == "Decode answer"
    assert any(w.startswith("over budget") for w in out["warnings"])


def test_no_answer_tokens_means_a_ttft_budget():
    out = run(**{**BASE, "output_tokens": 0})
    assert out["decode_ms"] == 0.0
    assert out["total_ms"] == pytest.approx(out["ttft_ms"])


def test_rerank_curve_is_linear_in_candidates():
    out = run(**BASE)
    curve = {p["rerank_candidates"]: p["total_ms"] for p in out["rerank_curve"]}
    assert curve[50] == pytest.approx(out["total_ms"])
    assert curve[100] - curve[50] == pytest.approx(out["rerank_ms"])


def test_too_many_chunks_for_the_window_does_not_fit():
    out = run(**{**BASE, "context_chunks": 300})  # 300 × 480 = 144,000 tokens > 131,072
    assert out["fits"] is False
    assert any("context" in w for w in out["warnings"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"slo_ms": 0}, "slo_ms"),
        ({"slo_ms": -5}, "slo_ms"),
        ({"documents": 0}, "documents"),
        ({"documents": 10**13}, "documents"),
        ({"reindex_hours": 0}, "reindex_hours"),
        ({"llm_gpus": 3}, "llm_gpus"),
        ({"queries_per_s": -1}, "queries_per_s"),
    ],
)
def test_bad_inputs_name_their_field(params, field):
    answer = json.loads(api.run("rag_budget", json.dumps({**BASE, **params})))
    assert answer["error"]["field"] == field


@settings(max_examples=40, deadline=None)
@given(
    slo=st.floats(1.0, 60_000.0),
    output=st.integers(0, 2000),
    candidates=st.integers(1, 500),
    concurrency=st.integers(1, 64),
)
def test_budget_identities(slo, output, candidates, concurrency):
    out = run(**{**BASE, "slo_ms": slo, "output_tokens": output, "rerank_candidates": candidates, "llm_concurrency": concurrency})
    assert sum(s["stage_ms"] for s in out["stages"]) == pytest.approx(out["total_ms"])
    # exactly one of "left" and "overrun" is non-zero (or both zero on the line)
    assert out["budget_left_ms"] * out["overrun_ms"] == 0
    assert out["total_ms"] + out["budget_left_ms"] - out["overrun_ms"] == pytest.approx(slo)
    assert out["within_slo"] == (out["overrun_ms"] == 0)
