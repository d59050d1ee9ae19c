"""Designs: the palette data, parsing a design, the first-token path, the generated mermaid and the design review.

Review findings are asserted exactly (check and severity, in order) on fixed designs under one chat scenario, so a
change to a rule or a threshold shows up here as a diff of findings.
"""

import json
import math

import pytest

from sizing import api, design, review
from sizing.errors import InputError

BASE = {"model": "llama-3.1-70b", "gpu": "h100-sxm", "weights": "fp8", "requests_per_s": 20, "input_tokens": 1000,
        "output_tokens": 300, "ttft_p95_slo_ms": 800, "tpot_slo_ms": 40}

# The shared identifiers every helper uses (briefs/shared-ids.md): the palette and the lenses must be exactly these.
PALETTE = ("gateway auth rate-limiter router response-cache semantic-cache prompt-cache serving-fleet prefill-pool "
           "decode-pool kv-cache-tier autoscaler queue batch-scheduler embedding-fleet vector-index bm25-index reranker "
           "document-store ingestion-pipeline feature-store safety-filter pii-redaction guardrails tool-executor "
           "agent-orchestrator metering billing observability tracing eval-pipeline canary-rollout model-registry "
           "fallback-model tenant-isolation audit-log training-cluster adapter-store object-store secrets-manager").split()
LENSES = ["cost-first", "latency-first", "reliability-and-audit", "safety-and-evaluation", "scale-and-efficiency",
          "developer-experience"]


def run(name, **params):
    out = json.loads(api.run(name, json.dumps({**BASE, **params})))
    assert "error" not in out, out
    return out


def error(name, **params):
    out = json.loads(api.run(name, json.dumps({**BASE, **params})))
    assert "error" in out, out
    return out["error"]


def findings(result):
    return [(f["severity"], f["check"]) for f in result["findings"]]


# -- data ------------------------------------------------------------------------------------------------------------


def test_palette_and_lenses_are_the_shared_ids():
    assert list(design.components()) == PALETTE
    assert list(design.lenses()) == LENSES
    assert list(design.architectures()) == ["llm-api", "rag", "multi-tenant-fine-tuning", "pd-disaggregation",
                                            "agent-with-tools"]


def test_lens_priorities_name_review_checks():
    for lens in design.lenses().values():
        assert set(lens.priorities) <= set(review.CHECKS), lens.id


def test_bad_data_names_the_file_and_field():
    with pytest.raises(design.DesignDataError) as caught:
        design.parse_components({"components": [{"id": "x", "label": "X", "kind": "teapot", "purpose": "p",
                                                 "latency_ms": {"value": 3, "source": "?"}}]})
    assert caught.value.problems == [
        "components.json: components[0] (x).kind: must be one of " + ", ".join(design.KINDS) + " (got 'teapot')",
        "components.json: components[0] (x).latency_ms.source: must say where the value comes from",
    ]
    with pytest.raises(design.DesignDataError) as caught:
        design.parse_architectures({"architectures": [{"id": "a", "title": "A", "summary": "s", "components": ["gateway"],
                                                       "connections": [["gateway", "auth"]]}]}, design.components())
    assert caught.value.problems == [
        "architectures.json: architectures[0] (a).connections: ['gateway', 'auth'] must join two different components of the design"]


# -- parsing a design ---------------------------------------------------------------------------------------------------


def test_design_from_a_reference_or_from_strings():
    ref = design.read_design({"architecture": "llm-api"})
    assert ref.components == design.architectures()["llm-api"].components
    sketch = design.read_design({"components": "gateway, serving-fleet ,observability", "connections": "gateway>serving-fleet",
                                 "labels": '{"serving-fleet": "  Chat   fleet "}'})
    assert sketch.components == ("gateway", "serving-fleet", "observability")
    assert sketch.connections == (("gateway", "serving-fleet"),)
    assert sketch.label("serving-fleet") == "Chat fleet"  # whitespace collapsed
    assert sketch.label("gateway") == "API gateway"
    # lists work the same way (a transcript's design), and a repeated connection is kept once
    same = design.read_design({"components": ["gateway", "serving-fleet", "observability"],
                               "connections": [["gateway", "serving-fleet"], ["gateway", "serving-fleet"]],
                               "labels": {"serving-fleet": "Chat fleet"}})
    assert same == sketch


@pytest.mark.parametrize("params, field, message", [
    ({"components": "gateway,teapot"}, "components", "unknown component 'teapot'"),
    ({"components": "gateway,gateway"}, "components", "'gateway' is listed twice"),
    ({"components": "gateway,auth", "connections": "gateway>router"}, "connections", "'router' is not one of"),
    ({"components": "gateway,auth", "connections": "gateway>gateway"}, "connections", "cannot connect to itself"),
    ({"components": "gateway,auth", "connections": "gateway-auth"}, "connections", "write from>to"),
    ({"components": "gateway", "labels": {"gateway": "x" * 61}}, "labels", "at most 60 characters"),
    ({"components": "gateway", "labels": {"auth": "A"}}, "labels", "'auth' is not one of"),
    ({"architecture": "monolith"}, "architecture", "unknown value 'monolith'"),
])
def test_bad_designs_name_their_field(params, field, message):
    with pytest.raises(InputError) as caught:
        design.read_design(params)
    assert caught.value.field == field and message in caught.value.message


def test_unknown_parameters_and_bad_scenarios_are_input_errors():
    assert error("diagram", architecture="llm-api", lens="cost-first")["field"] == "lens"  # lens is the review's
    assert error("design_review", architecture="llm-api", lens="kindness")["field"] == "lens"
    assert error("design_review", architecture="llm-api", regions=0)["field"] == "regions"
    assert error("design_review", architecture="llm-api", model="gpt-9")["field"] == "model"


# -- the first-token path, annotations and mermaid ----------------------------------------------------------------------


def test_first_token_path_takes_the_slower_parallel_branch():
    out = run("diagram", architecture="rag")
    # dense branch: embedding 10 ms + vector index 10 ms = 20 ms; keyword branch: BM25 8 ms, so the dense one counts
    assert out["first_token_path"] == ["gateway", "auth", "rate-limiter", "safety-filter", "embedding-fleet",
                                       "vector-index", "reranker", "serving-fleet"]
    # 3 + 2 + 1 + 20 + 10 + 10 + 40 = 86 ms before the model, then the fleet's own TTFT p95
    assert out["path_overhead_ms"] == 86.0
    assert out["path_latency_ms"] == pytest.approx(86.0 + out["ttft_p95_ms"])
    assert out["path_budget_share"] == pytest.approx((86.0 + out["ttft_p95_ms"]) / 800)


def test_an_agent_loop_is_broken_where_it_closes():
    out = run("diagram", architecture="agent-with-tools")
    # serving-fleet → orchestrator → serving-fleet is a cycle; the path ends at the model once
    assert out["first_token_path"] == ["gateway", "auth", "rate-limiter", "agent-orchestrator", "serving-fleet"]
    assert out["path_overhead_ms"] == 6.0  # 3 + 2 + 1, the orchestrator declares no latency


def test_serving_annotations_are_the_fleet_numbers():
    out = run("diagram", architecture="llm-api")
    fleet = run("fleet")
    assert (out["tp"], out["replicas"], out["gpus"]) == (fleet["tp"], fleet["replicas"], fleet["gpus"])
    node = next(n for n in out["nodes"] if n["id"] == "serving-fleet")
    assert node["lines"][0] == f"{fleet['replicas']} × TP {fleet['tp']} = {fleet['gpus']} GPUs"
    gateway = next(n for n in out["nodes"] if n["id"] == "gateway")
    assert gateway["lines"] == ["3 ms = 0.375% of the TTFT budget"]  # 3 ms ÷ 800 ms
    assert 'n_gateway(["<b>API gateway</b><br/>3 ms = 0.375#37; of the TTFT budget"])' in out["mermaid"]
    assert "  n_router ==> n_serving_fleet" in out["mermaid"]  # on the first-token path
    assert "  n_serving_fleet -.-> n_observability" in out["mermaid"]  # control plane


def test_disaggregated_pools_are_sized_separately():
    out = run("diagram", architecture="pd-disaggregation")
    fleet = run("fleet", disaggregate=True)
    assert out["gpus"] == fleet["prefill_gpus"] + fleet["decode_gpus"] == fleet["gpus"]
    decode = next(n for n in out["nodes"] if n["id"] == "decode-pool")
    assert decode["lines"][0] == f"{fleet['decode_replicas']} × TP {fleet['decode_tp']} = {fleet['decode_gpus']} GPUs"
    assert out["first_token_path"][-1] == "prefill-pool"


def test_labels_are_escaped_for_mermaid():
    assert design.mermaid_text('<script>alert("x")</script> #1 & `y` {z} |w| %') == (
        "#lt;script#gt;alert(#quot;x#quot;)#lt;/script#gt; #35;1 #amp; #96;y#96; #123;z#125; #124;w#124; #37;")
    out = run("diagram", components="gateway,serving-fleet", labels={"gateway": '<img src=x onerror="alert(1)">'})
    assert "<img" not in out["mermaid"] and '"alert' not in out["mermaid"]
    assert "#lt;img src=x onerror=#quot;alert(1)#quot;#gt;" in out["mermaid"]


def test_an_empty_design_still_draws():
    out = run("diagram", components="")
    assert out["components"] == [] and out["first_token_path"] == []
    assert out["mermaid"] == 'flowchart TD\n  empty["No components yet"]\n'


# -- the review ----------------------------------------------------------------------------------------------------------


def test_review_of_the_llm_api_reference():
    out = run("design_review", architecture="llm-api")
    assert findings(out) == [
        ("medium", "safety"), ("low", "regions"), ("low", "tracing"), ("low", "pii"), ("low", "evaluation"),
        ("low", "audit"), ("info", "memory-fit"), ("info", "slo"), ("info", "fleet-size"), ("info", "cost")]
    assert out["level"] == "staff"
    assert out["level_reason"] == "No critical, no high and one medium findings."
    fleet = run("fleet")
    size = next(f for f in out["findings"] if f["check"] == "fleet-size")
    assert size["evidence"] == ("The fleet is {replicas} × TP {tp} = {gpus}, running at {utilization} of its capacity "
                                "at the SLOs, which leaves {headroom} for bursts and failures.")
    assert size["evidence_fields"] == ["replicas", "tp", "gpus", "utilization", "headroom"]
    assert (out["replicas"], out["tp"], out["gpus"], out["utilization"]) == (
        fleet["replicas"], fleet["tp"], fleet["gpus"], fleet["utilization"])


def test_the_default_sketch_through_the_cost_lens():
    from sizing import scenarios

    out = run("design_review", **scenarios.builtin()["design-review-sketch"].params())
    assert findings(out) == [
        ("high", "admission-control"), ("high", "autoscaling"), ("high", "tenant-isolation"), ("high", "metering"),
        ("high", "retrieval-embedding"), ("medium", "auth"), ("medium", "fallback"), ("medium", "rollout"),
        ("medium", "caching"), ("medium", "safety"), ("medium", "retrieval-freshness"), ("medium", "lens-expects"),
        ("low", "fleet-size"), ("low", "cost"), ("low", "regions"), ("low", "tracing"), ("low", "pii"),
        ("low", "evaluation"), ("low", "audit"), ("low", "retrieval-rerank"), ("info", "memory-fit"), ("info", "slo")]
    assert out["level"] == "mid"
    lensed = {f["check"] for f in out["findings"] if f["lens"]}
    assert lensed == {"autoscaling", "metering", "caching", "lens-expects", "fleet-size", "cost"}
    expects = next(f for f in out["findings"] if f["check"] == "lens-expects")
    # the cost lens looks for response-cache, prompt-cache, autoscaler and metering; the last two have findings
    assert expects["evidence_text"] == ("This interviewer looks first for: Response cache, Prompt (prefix) cache; "
                                        "the design has none of them.")


def test_a_lens_raises_its_priorities_one_step():
    plain = {check: severity for severity, check in findings(run("design_review", architecture="llm-api"))}
    lensed = run("design_review", architecture="llm-api", lens="reliability-and-audit")
    raised = {f["check"]: f["severity"] for f in lensed["findings"]}
    assert (plain["regions"], raised["regions"]) == ("low", "medium")
    assert (plain["audit"], raised["audit"]) == ("low", "medium")
    assert raised["safety"] == plain["safety"] == "medium"  # not a priority of this lens
    assert lensed["level"] == "senior"  # three medium findings or more


def test_a_model_that_does_not_fit_is_critical():
    out = run("design_review", architecture="llm-api", tp=1, weights="bf16")
    assert findings(out)[0] == ("critical", "memory-fit")
    assert out["level"] == "below-bar"
    memory = json.loads(api.run("memory", json.dumps({"model": "llama-3.1-70b", "gpu": "h100-sxm", "tp": 1,
                                                      "weights": "bf16", "context_tokens": 1300})))
    # 70.6B parameters × 2 bytes ≈ 141 GB of weights against 80 GiB = 85.9 GB
    assert out["weights_gb_per_gpu"] == memory["weights_gb_per_gpu"] == pytest.approx(141.1, abs=0.1)
    assert out["memory_gb_per_gpu"] == pytest.approx(80 * 2**30 / 1e9)
    assert out["findings"][0]["evidence_text"] == (
        "At TP 1 the weights take 141 GB of the 85.9 GB on each GPU: with the engine's workspace, no room is left "
        "for one sequence's KV cache.")


def test_an_unreachable_slo_is_critical_with_the_unloaded_latency():
    out = run("design_review", architecture="llm-api", tpot_slo_ms=5)
    assert findings(out) == [("critical", "slo"), ("medium", "safety"), ("low", "tracing"), ("low", "pii"),
                             ("low", "evaluation"), ("low", "audit")]
    alone = json.loads(api.run("estimate", json.dumps({"model": "llama-3.1-70b", "gpu": "h100-sxm", "weights": "fp8",
                                                       "tp": 8, "input_tokens": 1000, "output_tokens": 300,
                                                       "concurrency": 1})))
    assert (out["unloaded_tp"], out["unloaded_tpot_ms"]) == (8, alone["tpot_ms"])
    assert alone["tpot_ms"] > 5


def test_a_single_replica_has_no_redundancy():
    out = run("design_review", architecture="llm-api", requests_per_s=0.5)
    assert (out["replicas"], out["tp"], out["gpus"]) == (1, 1, 1)
    first = out["findings"][0]
    assert (first["severity"], first["check"]) == ("high", "redundancy")
    assert first["evidence_text"] == ("One replica of TP 1 (1 GPU) carries all 0.5 req/s: a GPU failure or a deploy "
                                      "takes the service down.")


def test_a_missing_model_is_critical_and_stops_the_missing_piece_checks():
    out = run("design_review", components="")
    assert findings(out) == [("critical", "serving"), ("info", "memory-fit"), ("info", "slo"), ("info", "fleet-size"),
                             ("info", "cost")]
    assert out["findings"][0]["evidence_text"] == "The load of 20 req/s needs model replicas the design does not show."


def test_an_agent_without_guardrails():
    out = run("design_review", components="gateway,agent-orchestrator,serving-fleet,tool-executor",
              connections="gateway>agent-orchestrator,agent-orchestrator>serving-fleet,agent-orchestrator>tool-executor")
    assert findings(out) == [
        ("high", "admission-control"), ("high", "observability"), ("high", "tool-guardrails"), ("medium", "auth"),
        ("medium", "autoscaling"), ("medium", "fallback"), ("medium", "rollout"), ("medium", "safety"),
        ("medium", "audit"), ("medium", "secrets"), ("low", "regions"), ("low", "tracing"), ("low", "caching"),
        ("low", "pii"), ("low", "evaluation"), ("info", "memory-fit"), ("info", "slo"), ("info", "fleet-size"),
        ("info", "cost")]
    assert out["level"] == "mid"


def test_disaggregation_with_one_decode_replica():
    out = run("design_review", architecture="pd-disaggregation")
    assert findings(out)[:2] == [("high", "redundancy"), ("medium", "fallback")]
    assert out["decode_replicas"] == 1
    assert out["findings"][0]["components"] == ["decode-pool"]


def test_regions_multiply_the_fleet():
    one = run("design_review", architecture="llm-api")
    two = run("design_review", architecture="llm-api", regions=2)
    assert two["total_gpus"] == 2 * one["gpus"]
    assert two["total_cost_usd_per_month"] == pytest.approx(2 * one["cost_usd_per_month"])
    assert "regions" not in {f["check"] for f in two["findings"]}


def test_labels_with_markup_or_braces_stay_text_in_evidence():
    label = '<script>alert("x")</script> {gpus}'
    out = run("design_review", components="gateway,serving-fleet,observability", connections="gateway>serving-fleet",
              labels={"observability": label})
    orphan = next(f for f in out["findings"] if f["check"] == "connectivity")
    assert orphan["evidence_text"] == f"Not connected: {label}."  # not substituted, not interpreted
    assert orphan["evidence_fields"] == []
    assert review.evidence_parts(orphan["evidence"]) == [("Not connected: <script>alert(\"x\")</script> ", None),
                                                         ("{", None), ("gpus", None), ("}", None), (".", None)]


def test_the_pure_function_matches_the_calculation():
    scenario = {k: v for k, v in BASE.items()}
    transcript_design = {"components": ["gateway", "rate-limiter", "serving-fleet", "observability"],
                         "connections": [["gateway", "rate-limiter"], ["rate-limiter", "serving-fleet"],
                                         ["serving-fleet", "observability"]]}
    direct = review.review(scenario, transcript_design, "latency-first")
    through_api = run("design_review", components="gateway,rate-limiter,serving-fleet,observability",
                      connections="gateway>rate-limiter,rate-limiter>serving-fleet,serving-fleet>observability",
                      lens="latency-first")
    assert json.loads(json.dumps(direct)) == through_api


def test_level_rule():
    # below-bar with a critical; mid with two highs; senior with one high or three mediums; staff otherwise
    cases = {"below-bar": run("design_review", components=""), "mid": run("design_review", components="gateway,serving-fleet"),
             "staff": run("design_review", architecture="llm-api")}
    for level, out in cases.items():
        counts = {s: out[f"{s}_findings"] for s in review.SEVERITIES}
        assert out["level"] == level
        expected = ("below-bar" if counts["critical"] else "mid" if counts["high"] >= 2 else
                    "senior" if counts["high"] == 1 or counts["medium"] >= 3 else "staff")
        assert expected == level
        assert sum(counts.values()) == len(out["findings"])
        assert not math.isnan(out["critical_findings"])


def test_a_transcript_design_becomes_scenario_inputs():
    transcript = {"components": ["gateway", "serving-fleet"], "connections": [["gateway", "serving-fleet"]],
                  "labels": {"serving-fleet": "Chat fleet"}}
    inputs = design.scenario_inputs(transcript)
    assert inputs == {"components": "gateway,serving-fleet", "connections": "gateway>serving-fleet",
                      "labels": '{"serving-fleet": "Chat fleet"}'}
    # an estimate-style scenario (rate, gpus) reviews the same as the fleet-style one
    estimate_style = {k: v for k, v in BASE.items() if k != "requests_per_s"} | {"rate": 20, "gpus": 8, "tp": 2}
    assert review.review(estimate_style, transcript) == review.review({**BASE, "tp": 2}, transcript)
    assert run("design_review", **inputs)["findings"] == review.review(BASE, transcript)["findings"]
