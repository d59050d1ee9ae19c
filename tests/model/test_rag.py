"""RAG sizing: chunk counts, index bytes (flat, HNSW, IVF-PQ, BM25), ingestion, query budget, tenants."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sizing import api
from sizing.rag import chunks_per_document, hnsw_graph_bytes_per_vector, ivfpq_bytes

PEAK = 989.4e12  # H100 SXM dense BF16
N_70B = 70_553_706_496  # hand count in test_training.py


def run(**params) -> dict:
    answer = json.loads(api.run("rag", json.dumps(params)))
    assert "error" not in answer, answer
    return answer


def test_chunk_counts_by_hand():
    # T 2000, C 512, V 64 → stride 448: 1 + ⌈(2000 − 512)/448⌉ = 1 + ⌈3.32⌉ = 5
    assert chunks_per_document(2000, 512, 64) == 5
    assert chunks_per_document(512, 512, 64) == 1  # fits in one chunk
    assert chunks_per_document(513, 512, 0) == 2
    assert chunks_per_document(1000, 100, 50) == 1 + math.ceil(900 / 50) == 19


def test_hnsw_graph_bytes_follow_hnswlib_layout():
    # M 16: level 0 = 32 ids × 4 B + 4 B count = 132; upper = (16·4 + 4)/15 = 4.533; bookkeeping 20 → 156.53 B
    assert hnsw_graph_bytes_per_vector(16) == pytest.approx(132 + 68 / 15 + 20)
    # M 32: 64·4 + 4 = 260; (32·4 + 4)/31 = 4.258; + 20
    assert hnsw_graph_bytes_per_vector(32) == pytest.approx(260 + 132 / 31 + 20)


def test_ivfpq_bytes():
    # 1M vectors, d 768, 64-byte codes, 4000 lists: 1e6·(64 + 8) + 4000·768·4 + 256·768·4
    assert ivfpq_bytes(1e6, 768, 64, 4000) == 72e6 + 12_288_000 + 786_432


def test_corpus_of_a_million_documents():
    out = run(
        documents=1_000_000, tokens_per_document=2000, chunk_tokens=512, overlap_tokens=64, embedding_dim=1024,
        vector_dtype="fp32", index="hnsw", hnsw_m=16, bm25_bytes_per_token=1.0, tenants=3,
    )
    assert out["chunks_per_document"] == 5
    assert out["chunks"] == 5_000_000
    assert out["indexed_tokens"] == 1_000_000 * (2000 + 4 * 64)  # 2,256 tokens per document after overlap
    assert out["per_vector_bytes"] == 1024 * 4
    assert out["raw_vectors_bytes"] == 5_000_000 * 4096  # 20.48 GB
    assert out["hnsw_index_bytes"] == pytest.approx(5_000_000 * (4096 + 132 + 68 / 15 + 20))
    assert out["ann_index_bytes"] == out["hnsw_index_bytes"]
    assert out["bm25_index_bytes"] == 2_256_000_000
    assert out["tenant_index_bytes"] == pytest.approx(out["hnsw_index_bytes"] + 2_256_000_000)
    assert out["all_tenants_index_bytes"] == pytest.approx(3 * out["tenant_index_bytes"])
    # default nlist = round(4·√5,000,000) = round(8944.27) = 8944; default m = gcd(1024, 64) = 64
    assert out["ivf_lists"] == 8944 and out["pq_subquantizers"] == 64
    assert out["ivfpq_index_bytes"] == 5_000_000 * 72 + 8944 * 1024 * 4 + 256 * 1024 * 4


def test_smaller_vector_types_shrink_flat_storage():
    int8 = run(documents=1000, tokens_per_document=100, chunk_tokens=512, embedding_dim=768, vector_dtype="int8", index="flat")
    binary = run(documents=1000, tokens_per_document=100, chunk_tokens=512, embedding_dim=768, vector_dtype="binary", index="flat")
    assert int8["ann_index_bytes"] == 1000 * 768
    assert binary["ann_index_bytes"] == 1000 * 768 / 8


def test_ingestion_throughput_and_time():
    out = run(documents=1_000_000, tokens_per_document=2000, chunk_tokens=512, overlap_tokens=64, embed_params=335e6, embed_mfu=0.3, ingest_gpus=2)
    rate = 0.3 * PEAK * 2 / (2 * 335e6)  # MFU × peak × GPUs ÷ 2·P = 886,030 tokens/s
    assert out["embed_tokens_per_s"] == pytest.approx(rate)
    assert out["ingestion_s"] == pytest.approx(2_256_000_000 / rate)


def test_query_latency_budget():
    out = run(
        query_tokens=30, ann_search_ms=5, rerank_params=560e6, rerank_candidates=50, chunk_tokens=512,
        context_chunks=5, prompt_tokens=500, model="llama-3.1-70b", llm_gpus=4, prefill_mfu=0.5, embed_params=335e6,
        embed_mfu=0.3, hop_ms=1,
    )
    embed = 2 * 335e6 * 30 / (PEAK * 0.3)
    rerank = 2 * 560e6 * 50 * (30 + 512) / (PEAK * 0.3)  # 102 ms: the reranker is not free
    context = 500 + 5 * 512 + 30  # 3,090 tokens
    prefill = (2 * N_70B * context + 2 * 80 * context**2 * 8192) / (4 * PEAK * 0.5)  # 227 ms
    hops = 4 * 1e-3  # embed, ANN, rerank, LLM
    assert out["context_tokens"] == context
    assert out["embed_query_ms"] == pytest.approx(embed * 1e3)
    assert out["rerank_ms"] == pytest.approx(rerank * 1e3)
    assert out["prefill_ms"] == pytest.approx(prefill * 1e3)
    assert out["hops_ms"] == pytest.approx(4.0)
    assert out["query_latency_ms"] == pytest.approx((embed + 5e-3 + rerank + prefill + hops) * 1e3)
    no_rerank = run(query_tokens=30, ann_search_ms=5, hop_ms=1, llm_gpus=4)
    assert no_rerank["rerank_ms"] == 0 and no_rerank["hops_ms"] == pytest.approx(3.0)


def test_bad_inputs_name_their_field():
    for params, field in [
        ({"overlap_tokens": 512, "chunk_tokens": 512}, "overlap_tokens"),
        ({"embedding_dim": 1000, "pq_subquantizers": 64}, "pq_subquantizers"),
        ({"vector_dtype": "fp64"}, "vector_dtype"),
        ({"index": "annoy"}, "index"),
        ({"hnsw_m": 1}, "hnsw_m"),
        ({"documents": 0}, "documents"),
        ({"tenants": -3}, "tenants"),
    ]:
        answer = json.loads(api.run("rag", json.dumps(params)))
        assert answer["error"]["field"] == field, (params, answer)
    assert "from 0 to chunk_tokens" in json.loads(api.run("rag", json.dumps({"overlap_tokens": 600})))["error"]["message"]


@settings(max_examples=100, deadline=None)
@given(tokens=st.integers(1, 100_000), chunk=st.integers(2, 4096), overlap_share=st.floats(0, 0.9))
def test_chunks_cover_the_document(tokens, chunk, overlap_share):
    overlap = min(chunk - 1, int(chunk * overlap_share))
    n = chunks_per_document(tokens, chunk, overlap)
    stride = chunk - overlap
    # the last chunk starts at (n − 1)·stride and must reach the end; one fewer chunk would not
    assert (n - 1) * stride + chunk >= tokens
    assert n == 1 or (n - 2) * stride + chunk < tokens


@settings(max_examples=60, deadline=None)
@given(m=st.integers(2, 256))
def test_more_neighbours_mean_a_bigger_graph(m):
    assert hnsw_graph_bytes_per_vector(m + 1) > hnsw_graph_bytes_per_vector(m) >= 8 * m


def test_knowledge_base_scenario():
    from sizing.values import evaluate

    # 2000-token documents in 480-token chunks with 64 overlap (stride 416): 1 + ⌈1520/416⌉ = 1 + 4 = 5 chunks each
    assert evaluate("rag-knowledge-base.chunks").raw == 5_000_000
    assert evaluate("rag-knowledge-base.hnsw_index_bytes").raw == pytest.approx(5e6 * (4096 + 132 + 68 / 15 + 20))
    assert evaluate("rag-knowledge-base.query_latency_ms").kind == "computed"
    assert evaluate("rag-knowledge-base.chunk_tokens").kind == "input"
