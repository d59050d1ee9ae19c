"""Design review: a scenario and a design (and optionally a company's lens) → an interviewer's findings and a level.

Each finding comes from one check in :data:`CHECKS` and carries a severity (critical, high, medium, low, info), the
evidence — a sentence whose numbers are fields of the result, computed by the model for this scenario and design
(``evidence`` holds ``{field}`` placeholders, ``evidence_text`` the same sentence formatted) — and what a stronger
answer does.

* Capacity (always, from ``sizing.design.size``, i.e. the ``fleet`` calculation): memory fit, SLO attainment,
  redundancy, fleet size, cost, the first-token latency budget, KV handoff time, regions.
* Missing pieces: admission control, observability, fallback, rollout, tenant isolation, retrieval freshness, tool
  guardrails and the rest (see CHECKS), each triggered by what the design lacks given what it has.
* A lens (``data/lenses.json``) raises the severity of the checks it prioritises by one step (never to critical)
  and adds one finding for components it looks for that no other finding already names.

Level signal, from the severities after the lens: any critical → ``below-bar``; two or more high → ``mid``; one high
or three or more medium → ``senior``; otherwise ``staff``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import design as designs
from .design import SCENARIO_PARAMS, DESIGN_PARAMS, Design
from .errors import InputError
from .formatting import format_field
from .registry import calculation
from .validation import read_choice, reject_unknown

SEVERITIES = ("critical", "high", "medium", "low", "info")
LEVELS = {
    "below-bar": "Below the bar: as drawn, the design does not serve the stated load.",
    "mid": "Mid-level signal: the core path works, but several gaps an interviewer would press on are open.",
    "senior": "Senior signal: sized with evidence and mostly complete; one or two gaps to close.",
    "staff": "Staff signal: sized with evidence, complete for the scenario, and the trade-offs are visible.",
}


@dataclass(frozen=True)
class Check:
    id: str
    category: str  # capacity | missing | structure
    title: str
    stronger: str


CHECKS: dict[str, Check] = {c.id: c for c in (
    Check("serving", "missing", "No component serves the model",
          "Put the model on the diagram as a fleet of replicas and size it: TP per replica, replicas, GPUs."),
    Check("disaggregation-pair", "missing", "Only one of the prefill and decode pools is drawn",
          "A disaggregated design needs both pools and the KV handoff between them; otherwise keep one aggregated fleet."),
    Check("memory-fit", "capacity", "Memory fit",
          "State weights per GPU against GPU memory first, then pick the smallest TP that leaves room for the KV cache."),
    Check("slo", "capacity", "SLO attainment",
          "Quote TTFT p95 and TPOT at the planned load next to their SLOs, and say which knob moves each."),
    Check("redundancy", "capacity", "A single replica carries the load",
          "Plan at least one spare replica per pool (N+1) so a GPU failure or a rolling deploy keeps the SLOs."),
    Check("fleet-size", "capacity", "Fleet size",
          "Derive replicas from capacity per replica at the SLOs with explicit headroom, then GPUs and their cost."),
    Check("cost", "capacity", "Cost",
          "Give cost per month and per million tokens, and name the lever that moves it most for this traffic."),
    Check("latency-budget", "capacity", "The first-token path exceeds the TTFT budget",
          "Budget the TTFT SLO hop by hop; move slow steps off the first-token path or run them in parallel."),
    Check("kv-transfer", "capacity", "The KV handoff is slower than one output token",
          "Overlap the KV transfer with prefill layer by layer, or use a faster interconnect between the pools."),
    Check("regions", "capacity", "One region",
          "Say what a regional outage does: a second region with its own capacity, or an explicit, accepted risk."),
    Check("admission-control", "missing", "No admission control",
          "Rate-limit per tenant in tokens as well as requests, bound the queue, and shed load early with a retry hint."),
    Check("auth", "missing", "No authentication",
          "Authenticate every call and resolve the tenant before it reaches any shared resource."),
    Check("entry", "missing", "No API gateway",
          "Front the service with a gateway that owns TLS, request limits, timeouts and API versioning."),
    Check("observability", "missing", "No metrics or alerts",
          "Export TTFT, TPOT, queue depth, errors and KV cache use per replica, and alert on the SLOs."),
    Check("tracing", "missing", "No request tracing",
          "Trace each request across every hop so a slow first token can be attributed to one component."),
    Check("autoscaling", "missing", "No autoscaling",
          "Scale on queue depth and latency rather than GPU utilisation, keeping warm spares for model load time."),
    Check("fallback", "missing", "No fallback",
          "Degrade instead of failing: a smaller model, a cached answer or a queue when the primary fleet is saturated."),
    Check("rollout", "missing", "No rollout plan",
          "Ship model and engine changes through a canary with automatic rollback on quality or latency regressions."),
    Check("caching", "missing", "No caching",
          "Reuse work: a prefix cache for shared system prompts, a response cache for repeated requests."),
    Check("tenant-isolation", "missing", "No isolation between tenants",
          "Isolate tenants: per-tenant quotas and fair queuing, partitioned caches and indexes, separate adapters."),
    Check("metering", "missing", "No usage metering",
          "Meter input and output tokens per tenant on the serving path; quotas and bills both read it."),
    Check("safety", "missing", "No safety filtering",
          "Filter prompts and answers for policy violations, streaming-aware for the output."),
    Check("pii", "missing", "No handling of personal data",
          "Redact personal data before prompts are logged or sent to third parties, and set retention."),
    Check("evaluation", "missing", "No evaluation",
          "Gate every model, prompt or index change on an offline suite and watch sampled online quality."),
    Check("audit", "missing", "No audit trail",
          "Keep an append-only record of requests, tool calls and results, with who triggered each."),
    Check("tool-guardrails", "missing", "Tools run without guardrails",
          "Validate tool arguments against allow-lists, require approval for irreversible actions, sandbox execution."),
    Check("secrets", "missing", "Tool credentials have no home",
          "Keep credentials in a secrets manager scoped per tenant and tool; never put them in the prompt."),
    Check("retrieval-embedding", "missing", "A vector index without an embedding service",
          "Embed queries with the same model that embedded the corpus, served next to the index."),
    Check("retrieval-freshness", "missing", "Indexes without an ingestion pipeline",
          "Show how documents enter and leave the index: parsing, chunking, embedding, deletes and re-indexing."),
    Check("retrieval-rerank", "missing", "Retrieval without a reranker",
          "Retrieve wide and rerank with a cross-encoder, so the prompt holds a few good chunks rather than many."),
    Check("training-handoff", "missing", "Trained weights have nowhere to go",
          "Register each trained model or adapter with its evaluation results before serving can load it."),
    Check("connectivity", "structure", "Components that connect to nothing",
          "Connect every component to the flow it serves, or drop it from the diagram."),
    Check("lens-expects", "missing", "What this interviewer looks for first",
          "Open with the components this interviewer cares about and the numbers that justify them."),
)}

# Evidence templates: {field} is a number of the result; literal braces are doubled, as in str.format.
_FIELD = re.compile(r"\{\{|\}\}|\{([a-z0-9_]+)\}")


def evidence_parts(template: str) -> list[tuple[str, str | None]]:
    """A template as (text, None) and (field, field) pieces, for renderers that wrap each number (the site build)."""
    parts: list[tuple[str, str | None]] = []
    position = 0
    for m in _FIELD.finditer(template):
        if m.start() > position:
            parts.append((template[position:m.start()], None))
        parts.append((m.group(0)[0], None) if m.group(1) is None else (m.group(1), m.group(1)))
        position = m.end()
    if position < len(template):
        parts.append((template[position:], None))
    return parts


def _fields(template: str) -> list[str]:
    return [field for _, field in evidence_parts(template) if field]


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _words(n: int) -> str:
    names = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    return names[n] if 0 <= n < len(names) else "many"


class _Review:
    def __init__(self, scenario: dict[str, Any], design: Design, lens: designs.Lens | None):
        self.scenario, self.design, self.lens = scenario, design, lens
        self.sizing = designs.size(scenario, design)
        self.diagram = designs.diagram(scenario, design, self.sizing)
        self.values: dict[str, Any] = {}
        self.findings: list[dict[str, Any]] = []

    def value(self, name: str, raw: Any) -> None:
        self.values[name] = raw

    def add(self, check: str, severity: str, evidence: str, components: tuple[str, ...] = ()) -> None:
        for name in _fields(evidence):
            if name not in self.values:
                raise KeyError(f"review evidence names {name!r}, which the review did not compute")
        spec = CHECKS[check]
        self.findings.append({"check": check, "category": spec.category, "severity": severity, "title": spec.title,
                              "evidence": evidence, "evidence_fields": _fields(evidence),
                              "stronger": spec.stronger, "components": list(components), "lens": False})


def _format(name: str, raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return str(raw)
    return format_field(name, raw)


def review(scenario: Mapping[str, Any], design: Mapping[str, Any] | Design | None = None, lens: str | None = None) -> dict[str, Any]:
    """Review ``design`` under ``scenario`` (the fleet's inputs plus optional ``regions`` and ``tenants``).

    ``design`` is a :class:`Design` or a mapping with ``components``, ``connections`` (``[[from, to], …]``),
    optionally ``labels`` and ``architecture``; when None the design is read from ``scenario`` itself. Keys of
    ``scenario`` the review does not use are ignored, and an ``estimate`` scenario's ``rate`` stands for
    ``requests_per_s``. Pure: the site build calls it for each transcript's design, the ``design_review`` calculation
    for the widget. To publish a review's numbers on a page, declare a ``design_review`` scenario with
    :func:`sizing.design.scenario_inputs` and use ``{{ review("NAME") }}``.
    """
    params = dict(scenario)
    if params.get("requests_per_s") in (None, "") and params.get("rate") not in (None, ""):
        params["requests_per_s"] = params["rate"]  # an `estimate` scenario (a transcript's) states its load as rate
    if design is None:
        parsed = designs.read_design(params)
    elif isinstance(design, Design):
        parsed = design
    else:
        parsed = designs.read_design({k: v for k, v in dict(design).items() if k in DESIGN_PARAMS})
    chosen = None
    if lens not in (None, ""):
        chosen = designs.lenses()[read_choice({"lens": lens}, "lens", designs.lenses())]
    scenario_params = {k: v for k, v in params.items() if k in SCENARIO_PARAMS}
    return _run(designs.read_scenario(scenario_params), parsed, chosen)


def _run(scenario: dict[str, Any], design: Design, lens: designs.Lens | None) -> dict[str, Any]:
    r = _Review(scenario, design, lens)
    d = r.diagram
    fleet = scenario["fleet"]
    numbers, failure = r.sizing
    for name in ("requests_per_s", "input_tokens", "output_tokens", "ttft_p95_slo_ms", "tpot_slo_ms"):
        r.value(name, fleet[name])
    r.value("tenants", scenario["tenants"])
    r.value("regions", scenario["regions"])
    has = design.has

    # -- structure of the serving path ---------------------------------------------------------------------------
    if not design.serving():
        r.add("serving", "critical", "The load of {requests_per_s} needs model replicas the design does not show.")
    if has("prefill-pool") != has("decode-pool"):
        r.add("disaggregation-pair", "critical", "A request whose prompt is processed has nowhere to generate its tokens, "
              "or a decode replica has no prompt to start from.", ("prefill-pool", "decode-pool"))

    # -- capacity --------------------------------------------------------------------------------------------------
    memory = None
    if failure is None:
        for name in ("tp", "gpus", "serving_replicas", "ttft_p95_ms", "tpot_ms", "headroom", "capacity_requests_per_s",
                     "cost_usd_per_month", "blended_usd_per_million_tokens", "input_usd_per_million_tokens",
                     "total_gpus", "total_cost_usd_per_month"):
            r.value(name, numbers[name])
        memory = designs.memory_at(scenario, numbers["tp"])
    elif fleet.get("tp") is not None:
        memory = designs.memory_at(scenario, fleet["tp"])  # a fixed TP: the fleet reports no fit as a missed SLO
    elif "fit" in failure.message:
        memory = designs.memory_at(scenario, None)
    if memory is not None:
        for name in ("memory_tp", "weights_gb_per_gpu", "memory_gb_per_gpu", "max_concurrency"):
            r.value(name, memory[name])
    if failure is not None and memory is not None and not memory["fits"]:
        r.add("memory-fit", "critical", "At TP {memory_tp} the weights take {weights_gb_per_gpu} of the "
              "{memory_gb_per_gpu} on each GPU: with the engine's workspace, no room is left for one sequence's KV cache.")
    elif failure is not None:
        unloaded = designs.fastest_unloaded(scenario)
        if unloaded:
            for name, raw in unloaded.items():
                r.value(name, raw)
            r.add("slo", "critical", "Even one request alone at TP {unloaded_tp} sees TTFT {unloaded_ttft_ms} and TPOT "
                  "{unloaded_tpot_ms}, against SLOs of {ttft_p95_slo_ms} (p95) and {tpot_slo_ms}: no fleet size meets them.")
        else:
            r.add("slo", "critical", "No tensor-parallel size of this model fits the GPU with room for one sequence, "
                  "so no fleet meets the SLOs.")
    else:
        r.add("memory-fit", "info", "At TP {tp} the weights take {weights_gb_per_gpu} of the {memory_gb_per_gpu} on "
              "each GPU; the rest holds the KV cache of up to {max_concurrency} sequences.")
        r.add("slo", "info", "At the planned load TTFT p95 is {ttft_p95_ms} against an SLO of {ttft_p95_slo_ms}, and "
              "TPOT is {tpot_ms} against {tpot_slo_ms}.")
        if design.disaggregated():
            for name in ("prefill_replicas", "decode_replicas", "prefill_gpus", "decode_gpus", "kv_transfer_ms",
                         "prefill_tp", "decode_tp"):
                r.value(name, numbers[name])
            single = [p for p, n in (("prefill-pool", numbers["prefill_replicas"]), ("decode-pool", numbers["decode_replicas"])) if n == 1]
            if single:
                r.add("redundancy", "high", "A pool with a single replica (prefill: {prefill_replicas}, decode: "
                      "{decode_replicas}) stops all traffic when that replica fails or restarts for a deploy.", tuple(single))
            r.add("fleet-size", "info", "Prefill: {prefill_replicas} × TP {prefill_tp} = {prefill_gpus}; decode: "
                  "{decode_replicas} × TP {decode_tp} = {decode_gpus}; {gpus} in total, with {headroom} of capacity spare "
                  "at {requests_per_s}.")
            if numbers["kv_transfer_ms"] > fleet["tpot_slo_ms"]:
                r.add("kv-transfer", "medium", "Moving one prompt's KV cache takes {kv_transfer_ms}, longer than the TPOT "
                      "SLO of {tpot_slo_ms}: the second token of every request arrives late.", ("kv-cache-tier",))
        else:
            r.value("replicas", numbers["replicas"])
            r.value("utilization", numbers["utilization"])
            if numbers["replicas"] == 1 and design.serving():
                r.add("redundancy", "high", "One replica of TP {tp} ({gpus}) carries all {requests_per_s}: a GPU "
                      "failure or a deploy takes the service down.", design.serving())
            r.add("fleet-size", "info", "The fleet is {replicas} × TP {tp} = {gpus}, running at {utilization} of its "
                  "capacity at the SLOs, which leaves {headroom} for bursts and failures.")
        if scenario["regions"] > 1:
            r.add("cost", "info", "{gpus} per region in {regions} regions, {total_gpus} in all, cost "
                  "{total_cost_usd_per_month}, at {blended_usd_per_million_tokens} in each region.")
        else:
            r.add("cost", "info", "The fleet costs {cost_usd_per_month}, or {blended_usd_per_million_tokens} with input "
                  "and output blended.")
        path = d["first_token_path"]
        if path:
            r.value("path_overhead_ms", d["path_overhead_ms"])
            r.value("path_latency_ms", d["path_latency_ms"])
            r.value("path_budget_share", d["path_budget_share"])
            if d["path_budget_share"] > 1.0:
                r.add("latency-budget", "high", "Components before the model add {path_overhead_ms} to its TTFT p95 of "
                      "{ttft_p95_ms}: {path_latency_ms} on the first-token path, {path_budget_share} of the "
                      "{ttft_p95_slo_ms} budget.", tuple(c for c in path if c not in designs.SERVING))
        if scenario["regions"] == 1 and design.serving():
            r.add("regions", "low", "All {gpus} sit in one region: a regional outage stops the service.")

    sized = failure is None

    # -- missing pieces -------------------------------------------------------------------------------------------
    if design.serving():
        if not has("rate-limiter"):
            evidence = ("At {requests_per_s} the fleet has {headroom} spare, up to {capacity_requests_per_s}; a burst "
                        "beyond that queues inside the engines and TTFT grows for everyone." if sized
                        else "Nothing limits what reaches the model replicas.")
            r.add("admission-control", "medium" if has("queue") else "high", evidence)
        if not has("auth"):
            r.add("auth", "medium", "Any caller reaches the model replicas; nothing ties a request to a tenant or a quota.")
        if not has("gateway"):
            r.add("entry", "low", "Clients would call the serving layer directly, with its limits and versions exposed.")
        if not has("observability"):
            r.add("observability", "high", "Nothing would show TTFT p95 drifting from the planned {ttft_p95_ms} toward the "
                  "SLO of {ttft_p95_slo_ms}, or TPOT from {tpot_ms} toward {tpot_slo_ms}." if sized
                  else "Nothing would show whether the fleet meets its SLOs.")
        if not has("tracing"):
            r.add("tracing", "low", "With several hops before the model, a slow first token cannot be pinned on one of them."
                  if len(d["first_token_path"]) > 2 else "A slow request cannot be followed across the components it touched.")
        if not has("autoscaler"):
            r.add("autoscaling", "medium", "The fleet is sized for the peak: {gpus} costing {cost_usd_per_month} "
                  "run all day, whatever the load." if sized else "Capacity is fixed whatever the load.")
        if not has("fallback-model"):
            r.add("fallback", "medium", "All traffic depends on one model on {gpus}; an overload or a bad deploy "
                  "has nowhere to send requests." if sized else "All traffic depends on one model.")
        if not has("canary-rollout"):
            r.add("rollout", "medium", "A new model or engine version reaches all {gpus} at once." if sized
                  else "A new model or engine version reaches every replica at once.")
        if not has("response-cache", "semantic-cache", "prompt-cache"):
            r.add("caching", "low", "Every request pays the full prefill of its prompt ({input_tokens}), with input "
                  "at {input_usd_per_million_tokens}." if sized else "Every request pays its full prefill.")
        if not has("safety-filter", "guardrails"):
            r.add("safety", "medium", "Prompts and answers reach users and logs without any policy check.")
        if not has("pii-redaction"):
            r.add("pii", "low", "Personal data in prompts would be stored in logs and traces as written.")
        if not has("eval-pipeline"):
            r.add("evaluation", "medium" if has("training-cluster") else "low",
                  "Nothing measures quality before a change ships" + (", including every trained adapter." if has("training-cluster") else "."))
        if not has("audit-log"):
            r.add("audit", "medium" if has("tool-executor") else "low",
                  "Actions taken by tools cannot be reconstructed afterwards." if has("tool-executor")
                  else "Who asked what, and what was returned, cannot be reconstructed afterwards.")
    multi_tenant = scenario["tenants"] > 1 or has("adapter-store", "billing")
    if multi_tenant and not has("tenant-isolation"):
        r.add("tenant-isolation", "high", "{tenants} tenants share {gpus}: one tenant's burst slows every other tenant, "
              "and shared caches can leak across tenants." if sized and scenario["tenants"] > 1
              else "Tenants share replicas, caches and adapters with no boundary between them.")
    if (multi_tenant or has("billing")) and not has("metering"):
        r.add("metering", "high" if has("billing") else "medium",
              "Usage costing {blended_usd_per_million_tokens} cannot be attributed to a tenant." if sized
              else "Usage cannot be attributed to a tenant.")
    if has("tool-executor") and not has("guardrails"):
        r.add("tool-guardrails", "high", "The model's tool calls run as issued: a prompt injection becomes an action.", ("tool-executor",))
    if has("tool-executor") and not has("secrets-manager"):
        r.add("secrets", "medium", "Tools need credentials, and the design does not say where they live.", ("tool-executor",))
    if has("vector-index") and not has("embedding-fleet"):
        r.add("retrieval-embedding", "high", "Queries cannot be turned into vectors to search the index.", ("vector-index",))
    if has("vector-index", "bm25-index") and not has("ingestion-pipeline"):
        r.add("retrieval-freshness", "medium", "The indexes are drawn, but not how documents get into them or are removed.")
    if has("vector-index", "bm25-index") and not has("reranker"):
        r.add("retrieval-rerank", "low", "Retrieved chunks go to the model in index order, relevant or not.")
    if has("training-cluster") and not has("model-registry", "adapter-store"):
        r.add("training-handoff", "medium", "Trained weights have no versioned home between the training cluster and serving.",
              ("training-cluster",))
    connected = {c for pair in design.connections for c in pair}
    orphans = tuple(c for c in design.components if c not in connected)
    if len(design.components) > 1 and orphans:
        names = _literal(", ".join(design.label(c) for c in orphans))
        r.add("connectivity", "low", f"Not connected: {names}.", orphans)

    # -- the lens ---------------------------------------------------------------------------------------------------
    if lens is not None:
        order = list(SEVERITIES)
        for finding in r.findings:
            if finding["check"] in lens.priorities:
                finding["lens"] = True
                if finding["severity"] != "critical":
                    finding["severity"] = order[max(1, order.index(finding["severity"]) - 1)]
        named = {c for f in r.findings for c in f["components"]}
        covered = {"rate-limiter": "admission-control", "autoscaler": "autoscaling", "fallback-model": "fallback",
                   "canary-rollout": "rollout", "observability": "observability", "tracing": "tracing",
                   "metering": "metering", "audit-log": "audit", "safety-filter": "safety", "guardrails": "tool-guardrails",
                   "pii-redaction": "pii", "eval-pipeline": "evaluation", "gateway": "entry", "tenant-isolation": "tenant-isolation"}
        fired = {f["check"] for f in r.findings}
        wanted = [c for c in lens.expects if not has(c) and c not in named and covered.get(c) not in fired]
        if wanted:
            labels = ", ".join(designs.components()[c].label for c in wanted)
            r.add("lens-expects", "medium", _literal(f"This interviewer looks first for: {labels}; the design has none of them."), tuple(wanted))
            r.findings[-1]["lens"] = True

    # -- summary ----------------------------------------------------------------------------------------------------
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    order_of = {c: i for i, c in enumerate(CHECKS)}
    r.findings.sort(key=lambda f: (rank[f["severity"]], order_of[f["check"]]))
    for finding in r.findings:
        finding["evidence_text"] = "".join(_format(field, r.values[field]) if field else text
                                           for text, field in evidence_parts(finding["evidence"]))
    counts = {s: sum(1 for f in r.findings if f["severity"] == s) for s in SEVERITIES}
    if counts["critical"]:
        level = "below-bar"
    elif counts["high"] >= 2:
        level = "mid"
    elif counts["high"] == 1 or counts["medium"] >= 3:
        level = "senior"
    else:
        level = "staff"
    gaps = counts["critical"] + counts["high"] + counts["medium"]
    result: dict[str, Any] = {
        **design.to_dict(),
        "lens": lens.id if lens else "",
        "lens_focus": lens.focus if lens else "",
        "level": level,
        "level_text": LEVELS[level],
        "level_reason": (f"{_words(counts['critical']).capitalize()} critical, {_words(counts['high'])} high and "
                         f"{_words(counts['medium'])} medium findings" + ("." if gaps else "; only low and informational ones remain.")),
        **{f"{s}_findings": counts[s] for s in SEVERITIES},
        "findings": r.findings,
        "mermaid": d["mermaid"],
        "nodes": d["nodes"],
        "first_token_path": d["first_token_path"],
        "sized": sized,
        "warnings": list(d["warnings"]),
    }
    for name, raw in r.values.items():
        result.setdefault(name, raw)
    return result


@calculation("design_review")
def design_review_calculation(params: dict[str, Any]) -> dict[str, Any]:
    """Findings, evidence and a level signal for a design under a scenario, optionally through a company's lens."""
    reject_unknown(params, SCENARIO_PARAMS | DESIGN_PARAMS | {"lens"})
    return review({k: v for k, v in params.items() if k != "lens"}, None, params.get("lens"))
