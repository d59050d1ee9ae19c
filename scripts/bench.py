"""``make bench``: how fast one ``estimate`` is, and how our errors compare with llm-analysis's on the same rows.

Run with ``python scripts/bench.py`` in an environment that has ``llm-analysis`` installed (``make bench`` builds
``.venv-bench`` from ``requirements-bench.txt``). The sizing model is imported from ``widgets/`` of this checkout.

llm-analysis (cli99/llm-analysis) gets the efficiencies its README recommends for inference — ``flops_efficiency``
0.7 and ``hbm_memory_efficiency`` 0.9 — and a fair model description built from our catalog: the SwiGLU FFN's three
matrices written as its two-matrix FFN of 1.5× the width (its bundled Llama configs use the raw width and so drop
a third of the FFN), GQA heads, experts and top-k. It has no model of load, so the comparison uses the rows it can
express: offline max-throughput (its largest batch that fits memory), static batches and batch-1 latencies. Rows
it cannot run (it refuses a batch that does not fit) are left out for both tools.

Exit status 1 if an estimate takes 2 ms or more, or our mean error is not at least 3× lower than llm-analysis's.
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "widgets"))

from sizing import api, calibration  # noqa: E402
from sizing.architecture import param_counts  # noqa: E402

TIMED = {"model": "llama-3.1-70b", "gpu": "h100-sxm", "gpus": 8, "tp": 4, "weights": "fp8", "input_tokens": 1000,
         "output_tokens": 300, "rate": 10}
LLM_ANALYSIS_GPU = {"h100-sxm": "h100-sxm-80gb", "a100-80gb": "a100-sxm-80gb", "a100-40gb": "a100-sxm-40gb"}
FLOPS_EFFICIENCY = 0.7  # llm-analysis README: "up to 0.7" for inference
HBM_EFFICIENCY = 0.9  # llm-analysis README: 0.9 for memory


def time_estimate(calls: int = 2000) -> float:
    """Median seconds per ``api.run("estimate", …)`` call (JSON in and out, as the widgets call it)."""
    text = json.dumps(TIMED)
    api.run("estimate", text)
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        api.run("estimate", text)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _llm_analysis_model(row: dict):
    from llm_analysis.config import ModelConfig

    m = calibration._model(row)
    ffn = m.moe.expert_intermediate if m.moe else m.intermediate
    width = 1.5 * ffn  # SwiGLU's gate, up and down (3·h·f) as a two-matrix FFN (2·h·1.5f)
    return ModelConfig(
        name=m.id, num_layers=m.layers, n_head=m.heads, hidden_dim=m.hidden, vocab_size=m.vocab,
        max_seq_len=m.max_context_tokens, num_key_value_heads=m.kv_heads, ffn_embed_dim=int(width),
        expansion_ratio=width / m.hidden, model_type="llama",
        moe_num_experts=m.moe.experts if m.moe else 1, moe_top_k=m.moe.active_experts if m.moe else 1,
    ), param_counts(m)


def llm_analysis_predict(row: dict, check: calibration.Check) -> float | None:
    """llm-analysis's value for one of our checks, or None when it cannot express or run the row."""
    from llm_analysis.analysis import LLMAnalysis
    from llm_analysis.config import ParallelismConfig, get_dtype_config_by_name, get_gpu_config_by_name

    mode = calibration.mode_of(row)
    if isinstance(mode, str) or mode[0] not in ("max_throughput", "batch") or row.get("gpu") not in LLM_ANALYSIS_GPU:
        return None
    name, load = mode
    tp = int(row.get("tp") or 1)
    model, _ = _llm_analysis_model(row)
    dtype = "w8a8e16" if str(row.get("weights")).lower() == "fp8" else "w16a16e16"
    analysis = LLMAnalysis(model, get_gpu_config_by_name(LLM_ANALYSIS_GPU[row["gpu"]]), get_dtype_config_by_name(dtype),
                           ParallelismConfig(tp_size=tp), flops_efficiency=FLOPS_EFFICIENCY,
                           hbm_memory_efficiency=HBM_EFFICIENCY)
    prompt, output = row["input_tokens"], row["output_tokens"]
    try:
        if name == "max_throughput":
            probe = analysis.inference(batch_size_per_gpu=1, seq_len=prompt, num_tokens_to_generate=output)
            batch = max(1, int(probe["decode_max_batch_size_per_gpu"]))
        else:
            batch = int(load)
        out = analysis.inference(batch_size_per_gpu=batch, seq_len=prompt, num_tokens_to_generate=output)
    except (AssertionError, ValueError, ZeroDivisionError):
        return None
    tokens_per_s = batch * output / out["total_latency"]
    return {
        "output_tokens_per_s": tokens_per_s,
        "output_tokens_per_s_per_gpu": tokens_per_s / tp,
        "ttft_ms": out["prefill_latency"] * 1e3,
        "prefill_ms": out["prefill_latency"] * 1e3,
        "tpot_ms": out["decode_latency"] * 1e3,
        "e2e_ms": out["total_latency"] * 1e3,
    }.get(check.metric)


def compare() -> tuple[list[tuple[calibration.Check, float]], str]:
    import llm_analysis.logger as la_logger

    la_logger.logger.setLevel(logging.ERROR)
    rows = {r["id"]: r for r in calibration.measurements()}
    pairs = []
    for check in calibration.report():
        if check.status != "ok" or check.group not in ("throughput", "latency"):
            continue
        theirs = llm_analysis_predict(rows[check.id], check)
        if theirs is not None and theirs > 0:
            pairs.append((check, theirs))
    return pairs, metadata.version("llm-analysis")


def main() -> int:
    seconds = time_estimate()
    print(f"estimate: {seconds * 1e6:,.0f} µs per call (median of 2,000 api.run calls; target < 2,000 µs)")
    try:
        pairs, version = compare()
    except ImportError:
        print("llm-analysis is not installed here: pip install llm-analysis (make bench uses .venv-bench)")
        return 1
    print(f"\nrows both tools can express: {len(pairs)}; llm-analysis {version} with flops_efficiency "
          f"{FLOPS_EFFICIENCY}, hbm_memory_efficiency {HBM_EFFICIENCY}")
    print(f"{'row':<6} {'metric':<28} {'measured':>11} {'ours':>11} {'error':>7} {'llm-analysis':>13} {'error':>7}")
    ours, theirs = [], []
    for check, value in pairs:
        their_error = value / check.measured - 1.0
        ours.append(abs(check.error))
        theirs.append(abs(their_error))
        print(f"{check.id:<6} {check.metric:<28} {check.measured:>11,.1f} {check.predicted:>11,.1f} {check.error:>+7.1%} "
              f"{value:>13,.1f} {their_error:>+7.1%}")
    ours_mape, theirs_mape = statistics.mean(ours), statistics.mean(theirs)
    ratio = theirs_mape / ours_mape
    print(f"\nMAPE  ours {ours_mape:.1%}  llm-analysis {theirs_mape:.1%}  ({ratio:.1f}× lower; target ≥ 3×)")
    print(f"median ours {statistics.median(ours):.1%}  llm-analysis {statistics.median(theirs):.1%}")
    return 0 if seconds < 2e-3 and ratio >= 3.0 else 1


if __name__ == "__main__":
    sys.exit(main())
