"""Retrieval-augmented generation: corpus → chunks → index bytes, ingestion time, query latency budget, tenants.

Chunking (a sliding window of C tokens with overlap V, stride S = C − V, every document T tokens long — the
average stands in for all):
  chunks per document n = 1 if T ≤ C, else 1 + ⌈(T − C) ÷ S⌉;
  indexed tokens per document = T + (n − 1)·V (every extra chunk repeats V tokens).

Index bytes, per tenant (N = chunks, d = embedding dimension, b = bytes per vector component):
* flat: N·d·b.
* HNSW, as hnswlib lays it out (hnswalg.h): level 0 keeps 2·M neighbour ids of 4 B plus a 4 B count; a node
  reaches level l ≥ 1 with probability M^(−l), so it has 1/(M − 1) upper levels on average, each M·4 + 4 B;
  plus 20 B of bookkeeping (8 B label, 8 B pointer to the upper lists, 4 B level). Graph per vector =
  2·M·4 + 4 + (M·4 + 4) ÷ (M − 1) + 20, on top of the N·d·b vectors. (FAISS's rule of thumb counts only
  d·4 + M·2·4 B per vector: its wiki, "Guidelines to choose an index".)
* IVF-PQ (FAISS IndexIVFPQ, 8-bit codes): m bytes of code + 8 B id per vector in the inverted lists, plus the
  coarse centroids nlist·d·4 B and the PQ codebooks 256·d·4 B. Default nlist = 4·√N, the low end of the FAISS
  wiki's 4·√N to 16·√N.
* BM25 inverted index: indexed tokens × bytes per token (an input; postings compress to about a byte per
  document-term pair without positions — Manning, Raghavan & Schütze, Introduction to Information Retrieval,
  ch. 5 — and positions add more).

Ingestion: an embedding model of P parameters costs 2·P FLOPs per token, so tokens/s = MFU·peak·GPUs ÷ (2·P) and
the time is indexed tokens ÷ tokens/s (attention over short chunks and tokenisation left out).

Query latency budget (one query, nothing queued): embed the query 2·P·q ÷ (peak·MFU); ANN search (an input,
measured on your index); rerank k candidates with a cross-encoder of R parameters, 2·R·k·(q + C) ÷ (peak·MFU);
LLM prefill of the prompt, the retrieved chunks and the query, 2·N·L + 2·layers·L²·d_attn over the LLM's GPUs;
plus a network hop per remote call. The sum is the time to first token before decoding starts.

Tenants: each tenant has its own corpus of this size and its own index, so bytes and ingestion multiply.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from . import catalog
from .derivation import Derivation, num
from .errors import InputError
from .prefix_cache import prefill_flops
from .registry import calculation
from .validation import read_choice, read_float, read_int, reject_unknown

VECTOR_DTYPES = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "int8": 1.0, "binary": 1.0 / 8.0}
INDEXES = ("flat", "hnsw", "ivf-pq")
HNSW_ID_BYTES = 4.0  # hnswlib tableint
HNSW_COUNT_BYTES = 4.0  # linklistsizeint, one per neighbour list
HNSW_BOOKKEEPING_BYTES = 8.0 + 8.0 + 4.0  # label (size_t), pointer to upper-level lists, level (int)
IVF_ID_BYTES = 8.0  # FAISS idx_t
PQ_CENTROIDS = 256  # 8-bit codes


def chunks_per_document(tokens: float, chunk: int, overlap: int) -> int:
    """1 if T ≤ C, else 1 + ⌈(T − C) ÷ (C − V)⌉."""
    if tokens <= chunk:
        return 1
    return 1 + math.ceil((tokens - chunk) / (chunk - overlap))


def hnsw_graph_bytes_per_vector(m: int) -> float:
    """2·M·4 + 4 (level 0) + (M·4 + 4) ÷ (M − 1) (expected upper levels) + 20 (bookkeeping)."""
    level0 = 2 * m * HNSW_ID_BYTES + HNSW_COUNT_BYTES
    upper = (m * HNSW_ID_BYTES + HNSW_COUNT_BYTES) / (m - 1)
    return level0 + upper + HNSW_BOOKKEEPING_BYTES


def ivfpq_bytes(vectors: float, dim: int, code_bytes: int, lists: int) -> float:
    """N·(m + 8) + nlist·d·4 + 256·d·4."""
    return vectors * (code_bytes + IVF_ID_BYTES) + lists * dim * 4.0 + PQ_CENTROIDS * dim * 4.0


@dataclass(frozen=True)
class RagResult:
    chunks_per_document: int
    chunks: float
    indexed_tokens: float
    per_vector_bytes: float
    raw_vectors_bytes: float
    flat_index_bytes: float
    hnsw_graph_per_vector_bytes: float
    hnsw_index_bytes: float
    ivf_lists: int
    pq_subquantizers: int
    ivfpq_index_bytes: float
    ann_index_bytes: float  # the chosen index
    bm25_index_bytes: float
    tenant_index_bytes: float  # chosen ANN index + BM25
    all_tenants_index_bytes: float
    embed_tokens_per_s: float
    ingestion_s: float
    all_tenants_ingestion_s: float
    context_tokens: float  # prompt + retrieved chunks + query, fed to the LLM
    embed_query_ms: float
    ann_search_ms: float
    rerank_ms: float
    prefill_ms: float
    hops_ms: float
    query_latency_ms: float


_PARAMS = {
    "documents", "tokens_per_document", "chunk_tokens", "overlap_tokens", "embedding_dim", "vector_dtype", "index",
    "hnsw_m", "ivf_lists", "pq_subquantizers", "bm25_bytes_per_token", "embed_params", "gpu", "ingest_gpus",
    "embed_mfu", "query_tokens", "ann_search_ms", "rerank_params", "rerank_candidates", "context_chunks",
    "prompt_tokens", "model", "llm_gpus", "prefill_mfu", "hop_ms", "tenants",
}


@calculation("rag")
def rag(params: dict[str, Any]) -> dict[str, Any]:
    """Chunks, index bytes (flat, HNSW, IVF-PQ, BM25), ingestion time and a query latency budget for a corpus."""
    reject_unknown(params, _PARAMS)
    documents = read_int(params, "documents", 1, 10**12, 1_000_000)
    tokens = read_float(params, "tokens_per_document", 1.0, 1e8, 2000.0)
    chunk = read_int(params, "chunk_tokens", 1, 1_000_000, 512)
    overlap = read_int(params, "overlap_tokens", 0, 1_000_000, 64)
    if overlap >= chunk:
        raise InputError("overlap_tokens", f"must be from 0 to chunk_tokens − 1 = {chunk - 1} (got {overlap})")
    dim = read_int(params, "embedding_dim", 1, 65536, 1024)
    dtype = read_choice(params, "vector_dtype", VECTOR_DTYPES, "fp32")
    index = read_choice(params, "index", INDEXES, "hnsw")
    hnsw_m = read_int(params, "hnsw_m", 2, 512, 16)
    code_bytes = read_int(params, "pq_subquantizers", 1, dim, math.gcd(dim, 64))
    if dim % code_bytes:
        raise InputError("pq_subquantizers", f"must divide embedding_dim {dim} (got {code_bytes})")
    bm25_per_token = read_float(params, "bm25_bytes_per_token", 0.0, 64.0, 1.0)
    embed_params = read_float(params, "embed_params", 1e6, 1e11, 335e6)
    g = catalog.gpu(params.get("gpu", "h100-sxm"))
    ingest_gpus = read_int(params, "ingest_gpus", 1, 100_000, 1)
    embed_mfu = read_float(params, "embed_mfu", 0.01, 1.0, 0.3)
    query_tokens = read_float(params, "query_tokens", 1.0, 100_000.0, 30.0)
    ann_ms = read_float(params, "ann_search_ms", 0.0, 100_000.0, 5.0)
    rerank_params = read_float(params, "rerank_params", 0.0, 1e11, 0.0)
    candidates = read_int(params, "rerank_candidates", 1, 10_000, 50)
    context_chunks = read_int(params, "context_chunks", 0, 10_000, 5)
    prompt_tokens = read_float(params, "prompt_tokens", 0.0, 1e7, 500.0)
    m = catalog.model(params.get("model", "llama-3.1-70b"))
    llm_gpus = read_int(params, "llm_gpus", 1, 64, 4)
    prefill_mfu = read_float(params, "prefill_mfu", 0.01, 1.0, 0.5)
    hop_ms = read_float(params, "hop_ms", 0.0, 10_000.0, 0.0)
    tenants = read_int(params, "tenants", 1, 10_000_000, 1)

    per_doc = chunks_per_document(tokens, chunk, overlap)
    chunks = float(documents * per_doc)
    indexed = documents * (tokens + (per_doc - 1) * overlap)
    per_vector = dim * VECTOR_DTYPES[dtype]
    raw = chunks * per_vector
    graph = hnsw_graph_bytes_per_vector(hnsw_m)
    lists = read_int(params, "ivf_lists", 1, 10**9, max(1, min(int(chunks), round(4 * math.sqrt(chunks)))))
    ivfpq = ivfpq_bytes(chunks, dim, code_bytes, lists)
    by_index = {"flat": raw, "hnsw": raw + chunks * graph, "ivf-pq": ivfpq}
    bm25 = indexed * bm25_per_token
    tenant_bytes = by_index[index] + bm25

    peak = g.peak_flops("bf16")
    embed_rate = embed_mfu * peak * ingest_gpus / (2.0 * embed_params)
    ingestion = indexed / embed_rate
    context = prompt_tokens + context_chunks * chunk + query_tokens
    embed_query_s = 2.0 * embed_params * query_tokens / (peak * embed_mfu)
    rerank_s = 2.0 * rerank_params * candidates * (query_tokens + chunk) / (peak * embed_mfu)
    prefill_s = prefill_flops(m, context) / (llm_gpus * peak * prefill_mfu)
    calls = 3 + (1 if rerank_params > 0 else 0)  # embed, ANN, (rerank), LLM
    hops = calls * hop_ms / 1e3
    total_s = embed_query_s + ann_ms / 1e3 + rerank_s + prefill_s + hops

    result = RagResult(
        chunks_per_document=per_doc,
        chunks=chunks,
        indexed_tokens=indexed,
        per_vector_bytes=per_vector,
        raw_vectors_bytes=raw,
        flat_index_bytes=raw,
        hnsw_graph_per_vector_bytes=graph,
        hnsw_index_bytes=by_index["hnsw"],
        ivf_lists=lists,
        pq_subquantizers=code_bytes,
        ivfpq_index_bytes=ivfpq,
        ann_index_bytes=by_index[index],
        bm25_index_bytes=bm25,
        tenant_index_bytes=tenant_bytes,
        all_tenants_index_bytes=tenants * tenant_bytes,
        embed_tokens_per_s=embed_rate,
        ingestion_s=ingestion,
        all_tenants_ingestion_s=tenants * ingestion,
        context_tokens=context,
        embed_query_ms=embed_query_s * 1e3,
        ann_search_ms=ann_ms,
        rerank_ms=rerank_s * 1e3,
        prefill_ms=prefill_s * 1e3,
        hops_ms=hops * 1e3,
        query_latency_ms=total_s * 1e3,
    )
    warnings = []
    if context > m.max_context_tokens:
        warnings.append(f"the prompt and {context_chunks} chunks ({num(context, 'tokens')}) exceed {m.name}'s context window")
    if index == "ivf-pq" and lists > chunks:
        warnings.append("more IVF lists than vectors: most lists would be empty")
    derivations = {
        "chunks": Derivation(
            "chunks in the corpus",
            "documents × (1 + ⌈(tokens per document − chunk) ÷ (chunk − overlap)⌉)",
            f"{num(documents)} × {num(per_doc)}",
            chunks,
            "dimensionless",
        ),
        "hnsw_index_bytes": Derivation(
            f"HNSW index (M = {hnsw_m}, {dtype} vectors)",
            "chunks × (d × bytes + 2·M·4 + 4 + (M·4 + 4) ÷ (M − 1) + 20)",
            f"{num(chunks)} × ({num(dim)} × {num(VECTOR_DTYPES[dtype])} + {num(graph)}) B",
            by_index["hnsw"],
            "bytes",
        ),
        "ivfpq_index_bytes": Derivation(
            f"IVF-PQ index ({code_bytes} B codes, {lists} lists)",
            "chunks × (m + 8) + nlist × d × 4 + 256 × d × 4",
            f"{num(chunks)} × ({num(code_bytes)} + 8) + {num(lists)} × {num(dim)} × 4 + 256 × {num(dim)} × 4 B",
            ivfpq,
            "bytes",
        ),
        "ingestion_s": Derivation(
            "embedding the corpus",
            "indexed tokens × 2 × embedding params ÷ (MFU × peak × GPUs)",
            f"{num(indexed, 'tokens')} × 2 × {num(embed_params, 'params')} ÷ ({num(embed_mfu, 'ratio')} × "
            f"{num(peak, 'flop_per_s')} × {num(ingest_gpus)})",
            ingestion,
            "s",
        ),
        "query_latency_ms": Derivation(
            "retrieval and prefill before the first token",
            "embed query + ANN search + rerank + LLM prefill + hops",
            " + ".join(num(v, "s") for v in (embed_query_s, ann_ms / 1e3, rerank_s, prefill_s, hops)),
            total_s,
            "s",
        ),
    }
    return {"gpu": g.id, "model": m.id, "index": index, "vector_dtype": dtype, **asdict(result), "derivations": derivations, "warnings": warnings}
