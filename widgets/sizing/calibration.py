"""How accurate is the model? Every usable published measurement (``data/measurements.json``) predicted and compared.

A row is read the way its source describes the benchmark:

* offline / max-throughput tables → ``max_throughput`` mode (output tokens/s of the TP group, or of all the row's
  GPUs when it lists more GPUs than one replica uses);
* online tables at an offered QPS → ``rate`` mode. A finite benchmark of ``N`` requests reports
  ``N`` requests ÷ (arrival window N/R + the last request's latency), so that is what is compared;
* an infinite offered rate with ``N`` requests, a static batch, ``batch=N`` → ``batch`` mode;
* ``concurrency=C`` / ``c=C`` → ``concurrency`` mode;
* GEMM kernel rows → :func:`sizing.latency.gemm_time_s`; all-reduce rows → :func:`sizing.comms.allreduce_time_s`.

Benchmarks run inside the engine's process (FasterTransformer, trtllm-bench, static-batch C++ benchmarks) pay no
HTTP/tokeniser overhead, served ones (Triton, NIM, any online server) do. Rows whose model, GPU or precision is
not in the catalog are skipped with the reason (they count once the catalog has them); a model the catalog lacks
may be given by its architecture in the row.

The error of a row is predicted ÷ measured − 1. Groups: ``throughput`` (offline and static-batch tokens/s),
``latency`` (TTFT, TPOT, prefill, end-to-end and served throughput), ``kernel``, ``collective``.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any

from . import catalog
from .comms import allreduce_time_s
from .efficiency import link
from .errors import InputError
from .latency import gemm_time_s
from .memory import Deployment, default_kv, read_engine, read_tp
from .registry import calculation
from .serving import estimate
from .specs import ModelSpec
from .validation import reject_unknown


@dataclass(frozen=True)
class Check:
    id: str
    description: str
    metric: str
    measured: float
    predicted: float
    error: float  # predicted ÷ measured − 1 (0 when skipped)
    group: str
    status: str  # "ok" or "skipped"
    reason: str = ""


@cache
def measurements() -> list[dict[str, Any]]:
    text = resources.files("sizing").joinpath("data").joinpath("measurements.json").read_text(encoding="utf-8")
    return json.loads(text)["measurements"]


def _describe(row: dict[str, Any]) -> str:
    model = row.get("model") or "—"
    parts = [str(model), f"{row.get('gpus')}× {row.get('gpu')}"]
    if row.get("tp"):
        parts.append(f"TP{row['tp']}")
    if row.get("weights"):
        parts.append(str(row["weights"]).upper())
    if isinstance(row.get("input_tokens"), int) and isinstance(row.get("output_tokens"), int):
        parts.append(f"{row['input_tokens']}/{row['output_tokens']}")
    parts.append(str(row.get("scenario", "")))
    return ", ".join(parts) + f" ({row.get('engine', '')})"


def _model(row: dict[str, Any]) -> ModelSpec:
    if "architecture" in row:
        problems: list[str] = []
        spec = catalog._parse_model(f"measurements.json {row['id']}.architecture", row["architecture"], problems)
        if problems:
            raise InputError("architecture", "; ".join(problems))
        return spec
    return catalog.model(row.get("model"))


def _served(row: dict[str, Any]) -> bool:
    text = f"{row.get('engine', '')} {row.get('scenario', '')}".lower()
    return any(word in text for word in ("triton", "nim", "online", "serving", "server", "concurrency", "qps", "rps"))


_RATE = re.compile(r"\b(?:qps|rps|rate)\s*[=:]?\s*(inf|[\d.]+)")
_CONC = re.compile(r"\bconcurrency\s*[=:]?\s*(\d+)|\bc\s*=\s*(\d+)")
_BATCH = re.compile(r"\b(?:batch(?:\s*size)?|bs)\s*[=:]?\s*(\d+)")
_THROUGHPUT_KEYS = ("output_tokens_per_s", "output_tokens_per_s_total", "tokens_per_s")


def _throughput(row: dict[str, Any]) -> float | None:
    if str(row.get("metric", "")).startswith(("output_tokens_per_s", "tokens_per_s")) and isinstance(row.get("value"), (int, float)):
        return float(row["value"])
    for key in _THROUGHPUT_KEYS:
        if isinstance(row.get(key), (int, float)) and not isinstance(row.get(key), bool):
            return float(row[key])
    return None


def mode_of(row: dict[str, Any]) -> tuple[str, float] | str:
    """(mode, load) for a serving row, or a reason it cannot be predicted."""
    scenario = str(row.get("scenario", "")).lower()
    if "offline" in scenario or "max throughput" in scenario:
        return "max_throughput", 0.0
    match = _RATE.search(scenario)
    if match:
        if match.group(1) == "inf":
            return "batch", float(row.get("requests", 500))
        return "rate", float(match.group(1))
    match = _CONC.search(scenario)
    if match:
        return "concurrency", float(match.group(1) or match.group(2))
    match = _BATCH.search(scenario)
    if match:
        return "batch", float(match.group(1))
    if ("server" in scenario or "interactive" in scenario) and isinstance(row.get("output_tokens"), int):
        # A valid MLPerf-style server run delivers its offered Poisson rate: requests/s = tokens/s ÷ output length.
        tokens = _throughput(row)
        if tokens:
            return "rate", tokens / row["output_tokens"]
    return f"load not stated in a form the model takes (scenario {row.get('scenario')!r})"


_METRIC = re.compile(r"^(?:mean_|median_|avg_|p50_)?"
                     r"(ttft|first_token_latency|itl|tpot|decode|prefill|e2e_latency|e2e|request_latency|total|latency)"
                     r"(?:_ms|_s)?(?:_per_token)?(?:_(?:mean|median|avg|p50))?(?:_(ms|s))?$")
_NAMES = {"ttft": "ttft_ms", "first_token_latency": "ttft_ms", "itl": "tpot_ms", "tpot": "tpot_ms",
          "decode": "tpot_ms", "prefill": "prefill_ms", "e2e": "e2e_ms", "e2e_latency": "e2e_ms",
          "request_latency": "e2e_ms", "total": "e2e_ms", "latency": "e2e_ms"}
_PRECISION_ALIASES = {"nvfp4": "fp4", "mxfp4": "fp4", "float16": "fp16", "bfloat16": "bf16", "e4m3": "fp8",
                      "float8": "fp8", "w4a16": "int4", "int4-awq": "int4", "awq": "int4"}


def _latency_metric(key: str) -> tuple[str, float] | None:
    """(our metric, scale to ms) for a latency column name such as ttft_ms_mean, itl_ms_median, avg_latency_s."""
    match = _METRIC.match(key)
    if not match:
        return None
    unit = "s" if key.endswith("_s") or "_s_" in key else "ms"
    return _NAMES[match.group(1)], 1000.0 if unit == "s" else 1.0


def _metrics(row: dict[str, Any], mode: str) -> list[tuple[str, float]]:
    """(our metric name, measured value) pairs the row reports."""
    found: dict[str, float] = {}
    metric = str(row.get("metric", ""))
    value = row.get("value")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if metric == "output_tokens_per_s_per_gpu":
            found["output_tokens_per_s_per_gpu"] = float(value)
        elif metric.startswith(("output_tokens_per_s", "tokens_per_s")):
            found["output_tokens_per_s"] = float(value)
        elif _latency_metric(metric):
            name, scale = _latency_metric(metric)
            found[name] = float(value) * scale
    for key, raw in row.items():
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            continue
        parsed = _latency_metric(key)
        if parsed and parsed[0] not in found:
            found[parsed[0]] = float(raw) * parsed[1]
    if "output_tokens_per_s" not in found and isinstance(row.get("output_tokens_per_s"), (int, float)):
        found["output_tokens_per_s"] = float(row["output_tokens_per_s"])
    if mode == "rate" and "output_tokens_per_s" in found and not row.get("requests"):
        del found["output_tokens_per_s"]  # the offered rate was derived from it, or an infinite run is not modelled
    return list(found.items())


def _precision(row: dict[str, Any], field: str) -> Any:
    """The row's precision. "FP4/FP8" (weights/KV written together) means FP4 weights and an FP8 KV cache; a row
    without a KV precision gets the default for its weights (``memory.default_kv``)."""
    def clean(text: str) -> str:
        text = text.strip().lower()
        return _PRECISION_ALIASES.get(text, text)

    weights_text = str(row.get("weights") or "bf16")
    weights = catalog.precision(clean(weights_text.split("/")[0]), field="weights")
    if field == "weights":
        return weights
    if row.get("kv"):
        return catalog.precision(clean(str(row["kv"]).split("/")[-1]), field="kv")
    if "/" in weights_text:
        return catalog.precision(clean(weights_text.split("/")[-1]), field="kv")
    return catalog.precision(default_kv(weights), field="kv")


def _predict_kernel(row: dict[str, Any]) -> list[Check] | str:
    g = catalog.gpu(row.get("gpu"))
    k = row["kernel"]
    t = gemm_time_s(g, k["tokens"], k["in_features"], k["out_features"], catalog.precision(k.get("dtype", "bf16")))
    return [_check(row, "kernel_time_ms", float(row["value"]), t * 1e3, "kernel")]


def _predict_collective(row: dict[str, Any]) -> list[Check] | str:
    g = catalog.gpu(row.get("gpu"))
    c = row.get("collective")
    if c is None:
        match = re.search(r"message\s+(\d+)\s*bytes", str(row.get("scenario", "")))
        if not match:
            return [_skip(row, "all-reduce row without a message size")]
        c = {"gpus": int(row["gpus"]), "message_bytes": int(match.group(1))}
    t = allreduce_time_s(c["gpus"], c["message_bytes"], g.interconnect_bytes_per_s, link(g))
    return [_check(row, "allreduce_ms", float(row["value"]), t * 1e3, "collective")]


def _check(row: dict[str, Any], metric: str, measured: float, predicted: float, group: str) -> Check:
    return Check(row["id"], _describe(row), metric, measured, predicted, predicted / measured - 1.0, group, "ok")


def _skip(row: dict[str, Any], reason: str) -> Check:
    metric = str(row.get("metric", ""))
    value = row.get("value")
    return Check(row["id"], _describe(row), metric, float(value) if isinstance(value, (int, float)) else 0.0, 0.0, 0.0,
                 "", "skipped", reason)


def predict_row(row: dict[str, Any]) -> list[Check]:
    """The row's metrics predicted; a row the model cannot take is skipped with the reason, never raised."""
    try:
        return _predict(row)
    except InputError as error:
        return [_skip(row, f"{error.field}: {error.message}")]
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as error:
        return [_skip(row, f"row not understood ({type(error).__name__}: {error})")]


def _predict(row: dict[str, Any]) -> list[Check]:
    try:
        if "kernel" in row:
            return _predict_kernel(row)
        if "collective" in row or "all_reduce" in str(row.get("scenario", "")):
            return _predict_collective(row)
        if str(row.get("metric", "")).startswith("kernel_time"):
            return [_skip(row, "kernel row without a GEMM shape ('kernel' field)")]
        mode = mode_of(row)
        if isinstance(mode, str):
            return [_skip(row, mode)]
        name, load = mode
        m = _model(row)
        g = catalog.gpu(row.get("gpu"))
        weights = _precision(row, "weights")
        kv = _precision(row, "kv")
        tp, gpus = int(row.get("tp") or 1), int(row.get("gpus") or 1)
        if int(row.get("pp") or 1) > 1:
            return [_skip(row, "pipeline parallelism is not modelled by the serving estimate")]
        if not isinstance(row.get("input_tokens"), int) or not isinstance(row.get("output_tokens"), int):
            return [_skip(row, "input/output lengths are not fixed numbers")]
        read_tp({"tp": tp}, m, g)
        if gpus % tp:
            return [_skip(row, f"gpus={gpus} is not a multiple of tp={tp} (pipeline parallelism is not modelled)")]
        d = Deployment(m, g, tp, weights, kv, read_engine({}))
        overhead = None if _served(row) else 0.0
        prompt, output = row["input_tokens"], row["output_tokens"]
        result = estimate(d, prompt, output, name, load, gpus, overhead)  # the row's load is for all its GPUs
    except InputError as error:
        return [_skip(row, f"{error.field}: {error.message}")]
    checks = []
    for metric, measured in _metrics(row, name):
        group = "latency"
        if metric == "output_tokens_per_s":
            predicted = result["deployment_output_tokens_per_s"] if gpus > tp else result["output_tokens_per_s"]
            if name == "rate" and row.get("requests"):
                n = float(row["requests"])
                predicted = n * output / (n / load + result["e2e_ms"] / 1e3)
            elif name in ("max_throughput", "batch"):
                group = "throughput"
        elif metric == "output_tokens_per_s_per_gpu":
            predicted = result["output_tokens_per_s_per_gpu"]
            group = "throughput"
        elif metric == "prefill_ms":
            predicted = result["ttft_ms"] - (0.0 if overhead == 0.0 else d.engine.request_overhead_s * 1e3)
        else:
            predicted = result[metric]
        checks.append(_check(row, metric, measured, predicted, group))
    return checks or [_skip(row, "no metric the model predicts")]


def report(rows: list[dict[str, Any]] | None = None) -> list[Check]:
    """Every metric of every row: measured, predicted, error — or skipped with the reason."""
    return [check for row in (measurements() if rows is None else rows) for check in predict_row(row)]


def summary(checks: list[Check]) -> dict[str, Any]:
    ok = [c for c in checks if c.status == "ok"]
    out: dict[str, Any] = {"rows_checked": len(ok), "rows_skipped": len(checks) - len(ok)}
    for group in ("throughput", "latency", "kernel", "collective"):
        errors = [abs(c.error) for c in ok if c.group == group]
        out[f"{group}_median_error"] = statistics.median(errors) if errors else 0.0
        out[f"{group}_rows"] = len(errors)
    ratios = [max(c.predicted / c.measured, c.measured / c.predicted) for c in ok if c.predicted > 0]
    out["worst_ratio_x"] = max(ratios) if ratios else 1.0
    return out


@calculation("accuracy")
def accuracy_calculation(params: dict[str, Any]) -> dict[str, Any]:
    """The model against every published measurement it can be checked on (see ``sizing.calibration``)."""
    reject_unknown(params, set())
    checks = report()
    result = summary(checks)
    result["rows"] = [asdict(c) for c in checks]
    result["warnings"] = [f"{c.id} skipped: {c.reason}" for c in checks if c.status != "ok"]
    return result


def worst(checks: list[Check], n: int = 10) -> list[Check]:
    return sorted((c for c in checks if c.status == "ok"), key=lambda c: -abs(math.log(max(c.predicted, 1e-12) / c.measured)))[:n]
