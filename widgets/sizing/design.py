"""Architecture designs: the palette, reference designs, parsing a reader's design, its numbers and its diagram.

A design is a set of palette components (``data/components.json``), directed connections between them (the way
requests or data flow) and optional custom labels. Its numbers come from the model: the serving components are sized
by the ``fleet`` calculation for the scenario (aggregated, or prefill/decode pools when the design has them), and the
components on the way to the model take their declared latency. The *first-token path* is the slowest chain of
connections that ends at the model (prefill pool, serving fleet, or decode pool when nothing else serves); its latency
is the sum of those components' latencies plus the model's TTFT p95, and each component's *budget share* is its
latency over the TTFT p95 SLO.

The mermaid source is generated here, never typed: every label is escaped (``#lt;`` style entities for mermaid, so
text such as ``<script>`` is drawn as text), every number is formatted by ``sizing.formatting``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from . import catalog
from .errors import InputError
from .fleet import FLEET_PARAMS
from .formatting import format_field
from .memory import TP_CHOICES, read_engine, read_tokens, read_tp
from .registry import calculation
from .validation import read_choice, read_float, read_int, reject_unknown

KINDS = ("edge", "control", "cache", "serving", "retrieval", "storage", "data", "safety", "agent", "business",
         "operations", "training")
SERVING = ("serving-fleet", "prefill-pool", "decode-pool")
MAX_LABEL_CHARS = 60
MAX_REGIONS = 16
MAX_TENANTS = 1_000_000

SCENARIO_PARAMS = (set(FLEET_PARAMS) - {"disaggregate"}) | {"regions", "tenants"}
DESIGN_PARAMS = {"architecture", "components", "connections", "labels"}

_ID = re.compile(r"^[a-z][a-z0-9\-]*$")


# --------------------------------------------------------------------------------------------------------------------
# Data: the palette, the reference designs and the review lenses


@dataclass(frozen=True)
class Component:
    id: str
    label: str
    kind: str
    purpose: str
    latency_ms: float | None  # added before the first token when on the path; None: not on the request path
    latency_source: str | None


@dataclass(frozen=True)
class Architecture:
    id: str
    title: str
    summary: str
    components: tuple[str, ...]
    connections: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Lens:
    id: str
    label: str
    focus: str
    priorities: tuple[str, ...]  # review check ids this lens raises one severity step
    expects: tuple[str, ...]  # components this lens looks for first


class DesignDataError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("design data is invalid:\n  " + "\n  ".join(problems))
        self.problems = problems


def _load(name: str) -> Any:
    return json.loads(resources.files("sizing").joinpath("data", name).read_text(encoding="utf-8"))


def _text(record: dict, key: str, where: str, problems: list[str]) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}.{key}: must be a non-empty string")
        return ""
    return value


def _records(document: Any, key: str, origin: str) -> list:
    records = document.get(key) if isinstance(document, dict) else None
    if not isinstance(records, list) or not records:
        raise DesignDataError([f"{origin}: expected an object with a non-empty list {key!r}"])
    return records


def parse_components(document: Any, origin: str = "components.json") -> dict[str, Component]:
    problems: list[str] = []
    found: dict[str, Component] = {}
    for index, record in enumerate(_records(document, "components", origin)):
        where = f"{origin}: components[{index}]"
        if not isinstance(record, dict):
            problems.append(f"{where}: must be an object")
            continue
        extra = set(record) - {"id", "label", "kind", "purpose", "latency_ms"}
        if extra:
            problems.append(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
        ident = record.get("id")
        if not isinstance(ident, str) or not _ID.match(ident):
            problems.append(f"{where}.id: must be a lower-case hyphenated id (got {ident!r})")
            continue
        where = f"{origin}: components[{index}] ({ident})"
        if ident in found:
            problems.append(f"{where}.id: declared twice")
        kind = record.get("kind")
        if kind not in KINDS:
            problems.append(f"{where}.kind: must be one of {', '.join(KINDS)} (got {kind!r})")
        latency, source = None, None
        if "latency_ms" in record:
            item = record["latency_ms"]
            if (not isinstance(item, dict) or set(item) != {"value", "source"} or isinstance(item["value"], bool)
                    or not isinstance(item["value"], (int, float)) or not 0 <= item["value"] <= 10_000):
                problems.append(f"{where}.latency_ms: must be {{value: 0 to 10,000, source: why}}")
            elif not isinstance(item["source"], str) or len(item["source"].strip()) < 8:
                problems.append(f"{where}.latency_ms.source: must say where the value comes from")
            else:
                latency, source = float(item["value"]), item["source"]
        found[ident] = Component(ident, _text(record, "label", where, problems), str(kind),
                                 _text(record, "purpose", where, problems), latency, source)
    if problems:
        raise DesignDataError(problems)
    return found


def _pairs(value: Any) -> list[tuple[str, str]] | None:
    if not isinstance(value, list):
        return None
    out = []
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            return None
        out.append((pair[0], pair[1]))
    return out


def parse_architectures(document: Any, palette: Mapping[str, Component], origin: str = "architectures.json") -> dict[str, Architecture]:
    problems: list[str] = []
    found: dict[str, Architecture] = {}
    for index, record in enumerate(_records(document, "architectures", origin)):
        where = f"{origin}: architectures[{index}]"
        if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not _ID.match(record["id"]):
            problems.append(f"{where}.id: must be a lower-case hyphenated id")
            continue
        where = f"{where} ({record['id']})"
        extra = set(record) - {"id", "title", "summary", "components", "connections"}
        if extra:
            problems.append(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
        parts = record.get("components")
        if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
            problems.append(f"{where}.components: must be a non-empty list of component ids")
            continue
        for part in parts:
            if part not in palette:
                problems.append(f"{where}.components: unknown component {part!r}")
        if len(set(parts)) != len(parts):
            problems.append(f"{where}.components: a component is listed twice")
        pairs = _pairs(record.get("connections"))
        if pairs is None:
            problems.append(f"{where}.connections: must be a list of [from, to] pairs of component ids")
            continue
        for a, b in pairs:
            if a not in parts or b not in parts or a == b:
                problems.append(f"{where}.connections: [{a!r}, {b!r}] must join two different components of the design")
        if record["id"] in found:
            problems.append(f"{where}.id: declared twice")
        found[record["id"]] = Architecture(record["id"], _text(record, "title", where, problems),
                                           _text(record, "summary", where, problems), tuple(parts), tuple(pairs))
    if problems:
        raise DesignDataError(problems)
    return found


def parse_lenses(document: Any, palette: Mapping[str, Component], origin: str = "lenses.json") -> dict[str, Lens]:
    problems: list[str] = []
    found: dict[str, Lens] = {}
    for index, record in enumerate(_records(document, "lenses", origin)):
        where = f"{origin}: lenses[{index}]"
        if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not _ID.match(record["id"]):
            problems.append(f"{where}.id: must be a lower-case hyphenated id")
            continue
        where = f"{where} ({record['id']})"
        extra = set(record) - {"id", "label", "focus", "priorities", "expects"}
        if extra:
            problems.append(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
        lists = {}
        for key in ("priorities", "expects"):
            value = record.get(key)
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                problems.append(f"{where}.{key}: must be a non-empty list of ids")
                value = []
            lists[key] = tuple(value)
        for part in lists["expects"]:
            if part not in palette:
                problems.append(f"{where}.expects: unknown component {part!r}")
        found[record["id"]] = Lens(record["id"], _text(record, "label", where, problems),
                                   _text(record, "focus", where, problems), lists["priorities"], lists["expects"])
    if problems:
        raise DesignDataError(problems)
    return found


@cache
def components() -> dict[str, Component]:
    return parse_components(_load("components.json"))


@cache
def architectures() -> dict[str, Architecture]:
    return parse_architectures(_load("architectures.json"), components())


@cache
def lenses() -> dict[str, Lens]:
    return parse_lenses(_load("lenses.json"), components())


# --------------------------------------------------------------------------------------------------------------------
# A reader's design


@dataclass(frozen=True)
class Design:
    architecture: str | None
    components: tuple[str, ...]
    connections: tuple[tuple[str, str], ...]
    labels: tuple[tuple[str, str], ...]  # (component id, custom label), only for components that have one

    def has(self, *ids: str) -> bool:
        return any(i in self.components for i in ids)

    def label(self, ident: str) -> str:
        return dict(self.labels).get(ident) or components()[ident].label

    def serving(self) -> tuple[str, ...]:
        return tuple(c for c in self.components if c in SERVING)

    def disaggregated(self) -> bool:
        return self.has("prefill-pool") and self.has("decode-pool")

    def to_dict(self) -> dict[str, Any]:
        return {"architecture": self.architecture, "components": list(self.components),
                "connections": [list(p) for p in self.connections], "labels": dict(self.labels)}


def _id_list(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,]+", value.strip().lower()) if part]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip().lower() for v in value]
    raise InputError(field, "must be a list of component ids or a comma-separated string of them")


def _connection_list(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, str):
        out = []
        for part in [p for p in re.split(r"[\s,]+", value.strip().lower()) if p]:
            ends = part.split(">")
            if len(ends) != 2 or not all(ends):
                raise InputError("connections", f"{part!r} is not a connection; write from>to, e.g. gateway>auth")
            out.append((ends[0], ends[1]))
        return out
    pairs = _pairs(value) if isinstance(value, list) else None
    if pairs is None:
        raise InputError("connections", "must be a list of [from, to] pairs or a string such as gateway>auth,auth>router")
    return [(a.strip().lower(), b.strip().lower()) for a, b in pairs]


def _label_map(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError:
            raise InputError("labels", "must be an object of component id → label (or that object as JSON)") from None
    if not isinstance(value, dict):
        raise InputError("labels", "must be an object of component id → label")
    out = {}
    for key, text in value.items():
        if not isinstance(text, str):
            raise InputError("labels", f"the label of {key!r} must be text")
        clean = " ".join(text.split())
        if len(clean) > MAX_LABEL_CHARS:
            raise InputError("labels", f"the label of {key!r} must be at most {MAX_LABEL_CHARS} characters (got {len(clean)})")
        if clean:
            out[str(key)] = clean
    return out


def read_design(params: Mapping[str, Any]) -> Design:
    """The design in ``params``: a reference ``architecture`` and/or explicit ``components``, ``connections``, ``labels``.

    Explicit components replace the reference's (and its connections unless connections are given too).
    """
    palette = components()
    architecture = None
    raw_arch = params.get("architecture")
    if raw_arch not in (None, ""):
        architecture = read_choice(params, "architecture", architectures())
    base = architectures()[architecture] if architecture else None
    if params.get("components") not in (None, ""):
        parts = _id_list(params["components"], "components")
        default_connections: list[tuple[str, str]] = []
    else:
        parts = list(base.components) if base else []
        default_connections = list(base.connections) if base else []
    seen: set[str] = set()
    for part in parts:
        if part not in palette:
            shown = ", ".join(sorted(palette)[:16])
            raise InputError("components", f"unknown component {part!r}; expected one of {shown}, …")
        if part in seen:
            raise InputError("components", f"{part!r} is listed twice; each component appears once")
        seen.add(part)
    if params.get("connections") not in (None, ""):
        pairs = _connection_list(params["connections"])
    elif isinstance(params.get("connections"), list):
        pairs = []
    else:
        pairs = default_connections
    connections: list[tuple[str, str]] = []
    for a, b in pairs:
        for end in (a, b):
            if end not in seen:
                raise InputError("connections", f"{end!r} is not one of the design's components")
        if a == b:
            raise InputError("connections", f"{a!r} cannot connect to itself")
        if (a, b) not in connections:
            connections.append((a, b))
    labels = _label_map(params.get("labels") if params.get("labels") is not None else {})
    for key in labels:
        if key not in seen:
            raise InputError("labels", f"{key!r} is not one of the design's components")
    return Design(architecture, tuple(parts), tuple(connections), tuple(sorted(labels.items())))


# --------------------------------------------------------------------------------------------------------------------
# The scenario: validated up front, so a failure of the fleet sizing afterwards is a finding, not an input error


def read_scenario(params: Mapping[str, Any]) -> dict[str, Any]:
    """Check the scenario inputs the way ``fleet`` reads them; returns the fleet's parameters, cleaned, plus
    ``regions`` and ``tenants``."""
    m = catalog.model(params.get("model"))
    g = catalog.gpu(params.get("gpu"))
    clean: dict[str, Any] = {"model": m.id, "gpu": g.id}
    if params.get("tp") not in (None, ""):
        clean["tp"] = read_tp(dict(params), m, g)
    names = list(catalog.precisions())
    for name in ("weights", "kv"):
        if params.get(name) not in (None, ""):
            clean[name] = read_choice(params, name, names)
    read_engine(dict(params))
    for name in ("max_batch_size", "max_num_tokens", "kv_fraction"):
        if params.get(name) not in (None, ""):
            clean[name] = params[name]
    clean["requests_per_s"] = read_float(params, "requests_per_s", 0.001, 100_000.0)
    clean["input_tokens"], clean["output_tokens"] = read_tokens(dict(params), m)
    clean["ttft_p95_slo_ms"] = read_float(params, "ttft_p95_slo_ms", 1.0, 600_000.0, 1000.0)
    clean["tpot_slo_ms"] = read_float(params, "tpot_slo_ms", 1.0, 10_000.0, 50.0)
    clean["headroom"] = read_float(params, "headroom", 0.0, 0.9, 0.2)
    clean["spot_fraction"] = read_float(params, "spot_fraction", 0.0, 1.0, 0.0)
    clean["kv_link_gb_per_s"] = read_float(params, "kv_link_gb_per_s", 0.1, 10_000.0, 50.0)
    return {"fleet": clean, "regions": read_int(params, "regions", 1, MAX_REGIONS, 1),
            "tenants": read_int(params, "tenants", 1, MAX_TENANTS, 1)}


def _api():
    from . import api  # late: api imports this module

    return api


def size(scenario: dict[str, Any], design: Design) -> tuple[dict[str, Any], InputError | None]:
    """The fleet for the scenario, disaggregated when the design has both pools; (numbers, the sizing failure)."""
    params = dict(scenario["fleet"], disaggregate=design.disaggregated())
    try:
        fleet = _api().compute("fleet", params)
    except InputError as error:
        return {}, error
    regions = scenario["regions"]
    numbers = {k: v for k, v in fleet.items() if k not in {"derivations", "warnings"}}
    if design.disaggregated():
        numbers["serving_replicas"] = fleet["prefill_replicas"] + fleet["decode_replicas"]
        numbers["tp"] = fleet["prefill_tp"]
    else:
        numbers["serving_replicas"] = fleet["replicas"]
        numbers["utilization"] = fleet["utilization"]
    numbers["capacity_requests_per_s"] = fleet["requests_per_s"] / max(1e-12, 1.0 - fleet["headroom"])
    numbers["regions"] = regions
    numbers["total_gpus"] = fleet["gpus"] * regions
    numbers["total_cost_usd_per_month"] = fleet["cost_usd_per_month"] * regions
    numbers["fleet_warnings"] = list(fleet.get("warnings", []))
    return numbers, None


def fastest_unloaded(scenario: dict[str, Any]) -> dict[str, Any] | None:
    """One request alone on the largest TP that fits: the best latency this model and GPU can give."""
    fleet = scenario["fleet"]
    m = catalog.model(fleet.get("model"))
    g = catalog.gpu(fleet.get("gpu"))
    options = [int(fleet["tp"])] if fleet.get("tp") not in (None, "") else [
        tp for tp in reversed(TP_CHOICES) if tp <= g.max_scale_up_gpus and m.heads % tp == 0]
    keep = ("model", "gpu", "weights", "kv", "max_batch_size", "max_num_tokens", "kv_fraction", "input_tokens", "output_tokens")
    for tp in options:
        params = {k: v for k, v in fleet.items() if k in keep}
        params.update(tp=tp, concurrency=1)
        try:
            out = _api().compute("estimate", params)
        except InputError:
            continue
        if out.get("fits"):
            return {"unloaded_tp": tp, "unloaded_ttft_ms": out["ttft_ms"], "unloaded_tpot_ms": out["tpot_ms"]}
    return None


def memory_at(scenario: dict[str, Any], tp: int | None) -> dict[str, Any]:
    """Weights and memory per GPU at ``tp`` (or the scale-up domain's largest TP when none fits)."""
    fleet = scenario["fleet"]
    g = catalog.gpu(fleet.get("gpu"))
    m = catalog.model(fleet.get("model"))
    if tp is None:
        tp = max(t for t in TP_CHOICES if t <= max(1, g.max_scale_up_gpus) and m.heads % t == 0)
    params = {k: fleet[k] for k in ("model", "gpu", "weights", "kv", "max_batch_size", "max_num_tokens", "kv_fraction") if k in fleet}
    params.update(tp=tp, context_tokens=int(fleet["input_tokens"]) + int(fleet["output_tokens"]))
    out = _api().compute("memory", params)
    return {"memory_tp": tp, "weights_gb_per_gpu": out["weights_gb_per_gpu"], "memory_gb_per_gpu": out["memory_gb_per_gpu"],
            "max_concurrency": out["max_concurrency"], "fits": out["fits"]}


# --------------------------------------------------------------------------------------------------------------------
# The first-token path


def _targets(design: Design) -> list[str]:
    if design.has("prefill-pool"):
        return ["prefill-pool"]
    if design.has("serving-fleet"):
        return ["serving-fleet"]
    return [c for c in ("decode-pool",) if design.has(c)]


def first_token_path(design: Design) -> list[str]:
    """The chain of components before the model whose latencies add up the most (cycles broken at the first revisit)."""
    targets = _targets(design)
    if not targets:
        return []
    palette = components()
    into: dict[str, list[str]] = {c: [] for c in design.components}
    for a, b in design.connections:
        into[b].append(a)
    # Depth-first from the model backwards; an edge back to a component still open closes a cycle (an agent loop) and
    # is dropped, which leaves a DAG whose longest chain is found once per component.
    dag: dict[str, list[str]] = {}
    state: dict[str, int] = {}

    def visit(node: str) -> None:
        state[node] = 1
        dag[node] = []
        for p in into[node]:
            if p in SERVING or state.get(p) == 1:
                continue
            dag[node].append(p)
            if p not in state:
                visit(p)
        state[node] = 2

    visit(targets[0])
    memo: dict[str, tuple[float, list[str]]] = {}

    def longest(node: str) -> tuple[float, list[str]]:
        if node not in memo:
            options = [longest(p) for p in dag[node]]
            top = max(options, key=lambda o: (o[0], len(o[1])), default=(0.0, []))  # ties: more hops, then the first
            memo[node] = (top[0] + (palette[node].latency_ms or 0.0), top[1] + [node])
        return memo[node]

    return longest(targets[0])[1]


# --------------------------------------------------------------------------------------------------------------------
# The diagram


_SHAPES = {  # kind -> (open, close) of a mermaid node around a quoted label
    "edge": ('(["', '"])'), "serving": ('["', '"]'), "cache": ('[("', '")]'), "storage": ('[("', '")]'),
    "control": ('("', '")'), "business": ('("', '")'), "operations": ('[["', '"]]'), "safety": ('[/"', '"/]'),
    "retrieval": ('["', '"]'), "agent": ('["', '"]'), "training": ('["', '"]'), "data": ('[/"', '"/]'),
}
_CONTROL_PLANE = {"operations", "business", "training"}


def mermaid_text(text: str) -> str:
    """Text safe inside a quoted mermaid label: markup characters become mermaid entity codes, drawn as text."""
    out = text.replace("#", "#35;")
    for char, code in (("&", "#amp;"), ("<", "#lt;"), (">", "#gt;"), ('"', "#quot;"), ("`", "#96;"),
                       ("{", "#123;"), ("}", "#125;"), ("|", "#124;"), ("%", "#37;")):
        out = out.replace(char, code)
    return " ".join(out.split())


def node_id(component: str) -> str:
    return "n_" + component.replace("-", "_")


def _f(name: str, value: float) -> str:
    return format_field(name, value)


def annotations(design: Design, numbers: dict[str, Any], path: list[str], ttft_slo_ms: float) -> dict[str, list[str]]:
    """The model's numbers each component carries in the diagram (lines of text, formatted by sizing.formatting)."""
    palette = components()
    lines: dict[str, list[str]] = {c: [] for c in design.components}
    ok = bool(numbers)
    regions = numbers.get("regions", 1)
    each_region = f" per region × {regions}" if regions > 1 else ""
    for c in design.components:
        spec = palette[c]
        if c == "serving-fleet" and ok and not design.disaggregated():
            lines[c] += [f"{numbers['replicas']} × TP {numbers['tp']} = {_f('gpus', numbers['gpus'])}{each_region}",
                         f"{_f('capacity_requests_per_s', numbers['capacity_requests_per_s_per_replica'])} per replica at the SLOs",
                         f"TTFT p95 {_f('ttft_p95_ms', numbers['ttft_p95_ms'])} · TPOT {_f('tpot_ms', numbers['tpot_ms'])}",
                         f"{_f('ttft_p95_ms', numbers['ttft_p95_ms'])} = {_f('share', numbers['ttft_p95_ms'] / ttft_slo_ms)} of the TTFT budget",
                         f"{_f('total_cost_usd_per_month', numbers['total_cost_usd_per_month'])}"]
        elif c == "prefill-pool" and ok and design.disaggregated():
            lines[c] += [f"{numbers['prefill_replicas']} × TP {numbers['prefill_tp']} = {_f('gpus', numbers['prefill_gpus'])}{each_region}",
                         f"TTFT p95 {_f('ttft_p95_ms', numbers['ttft_p95_ms'])} = {_f('share', numbers['ttft_p95_ms'] / ttft_slo_ms)} of the TTFT budget"]
        elif c == "decode-pool" and ok and design.disaggregated():
            lines[c] += [f"{numbers['decode_replicas']} × TP {numbers['decode_tp']} = {_f('gpus', numbers['decode_gpus'])}{each_region}",
                         f"batch {_f('decode_batch', numbers['decode_batch'])} · TPOT {_f('tpot_ms', numbers['tpot_ms'])}"]
        elif c == "kv-cache-tier" and ok and design.disaggregated():
            lines[c] += [f"{_f('kv_transfer_gb_per_s', numbers['kv_transfer_gb_per_s'])} of KV handoff",
                         f"{_f('kv_transfer_ms', numbers['kv_transfer_ms'])} per request"]
        elif c == "rate-limiter" and ok:
            lines[c].append(f"{_f('requests_per_s', numbers['requests_per_s'])} planned, {_f('capacity_requests_per_s', numbers['capacity_requests_per_s'])} at the SLOs")
        elif c == "autoscaler" and ok:
            lines[c].append(f"headroom {_f('headroom', numbers['headroom'])} at the planned load")
        elif c == "metering" and ok:
            lines[c].append(f"{_f('blended_usd_per_million_tokens', numbers['blended_usd_per_million_tokens'])} blended")
        if spec.latency_ms is not None:
            where = (f" = {_f('share', spec.latency_ms / ttft_slo_ms)} of the TTFT budget" if c in path
                     else " (off the first-token path)")
            lines[c].append(f"{_f('latency_ms', spec.latency_ms)}{where}")
    return lines


def mermaid_source(design: Design, lines: Mapping[str, list[str]], path: list[str]) -> str:
    palette = components()
    out = ["flowchart TD"]
    if not design.components:
        out.append('  empty["No components yet"]')
    for c in design.components:
        spec = palette[c]
        opening, closing = _SHAPES[spec.kind]
        text = "<br/>".join([f"<b>{mermaid_text(design.label(c))}</b>"] + [mermaid_text(line) for line in lines.get(c, [])])
        out.append(f"  {node_id(c)}{opening}{text}{closing}")
    on_path = set(zip(path, path[1:]))
    for a, b in design.connections:
        dotted = palette[a].kind in _CONTROL_PLANE or palette[b].kind in _CONTROL_PLANE
        arrow = "==>" if (a, b) in on_path else ("-.->" if dotted else "-->")
        out.append(f"  {node_id(a)} {arrow} {node_id(b)}")
    serving = [node_id(c) for c in design.serving()]
    if serving:
        out.append("  classDef serving stroke-width:3px")
        out.append(f"  class {','.join(serving)} serving")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------------------------------
# The calculation


def diagram(scenario: dict[str, Any], design: Design,
            sized: tuple[dict[str, Any], InputError | None] | None = None) -> dict[str, Any]:
    """Numbers, first-token path, per-component annotations and the mermaid source of a design under a scenario."""
    numbers, failure = sized if sized is not None else size(scenario, design)
    ttft_slo_ms = scenario["fleet"]["ttft_p95_slo_ms"]
    path = first_token_path(design)
    palette = components()
    overhead_ms = sum(palette[c].latency_ms or 0.0 for c in path)
    model_ms = numbers.get("ttft_p95_ms", 0.0) if path else 0.0
    lines = annotations(design, numbers, path, ttft_slo_ms)
    result: dict[str, Any] = {
        **design.to_dict(),
        "nodes": [{"id": c, "label": design.label(c), "kind": palette[c].kind, "lines": lines[c],
                   "latency_ms": palette[c].latency_ms, "on_first_token_path": c in path} for c in design.components],
        "first_token_path": path,
        "path_overhead_ms": overhead_ms,
        "path_latency_ms": overhead_ms + model_ms,
        "path_budget_share": (overhead_ms + model_ms) / ttft_slo_ms,
        "ttft_p95_slo_ms": ttft_slo_ms,
        "sized": failure is None,
        "mermaid": mermaid_source(design, lines, path),
        "warnings": [],
    }
    result.update({k: v for k, v in numbers.items() if k != "fleet_warnings"})
    result["warnings"] += numbers.get("fleet_warnings", [])
    if failure is not None:
        result["warnings"].append(f"the fleet could not be sized: {failure.field}: {failure.message}")
    return result


@calculation("diagram")
def diagram_calculation(params: dict[str, Any]) -> dict[str, Any]:
    """A design (reference ``architecture`` or ``components``/``connections``/``labels``) under a scenario → diagram."""
    reject_unknown(params, SCENARIO_PARAMS | DESIGN_PARAMS)
    scenario = read_scenario(params)
    return diagram(scenario, read_design(params))


def palette_data() -> dict[str, Any]:
    """What a design widget needs before Python loads: the palette, reference designs, lenses and catalog ids."""
    return {
        "components": [{"id": c.id, "label": c.label, "kind": c.kind, "purpose": c.purpose} for c in components().values()],
        "architectures": [{"id": a.id, "title": a.title, "summary": a.summary, "components": list(a.components),
                           "connections": [list(p) for p in a.connections]} for a in architectures().values()],
        "lenses": [{"id": lens.id, "label": lens.label, "focus": lens.focus} for lens in lenses().values()],
        "models": list(catalog.models()),
        "gpus": list(catalog.gpus()),
        "precisions": list(catalog.precisions()),
    }


def scenario_inputs(design: Mapping[str, Any]) -> dict[str, str]:
    """A design mapping (``components`` list, ``connections`` pairs, optional ``labels``) as the string inputs a
    ``design_review`` or ``diagram`` scenario declares: ``{"components": "a,b", "connections": "a>b", …}``."""
    parsed = read_design({k: v for k, v in design.items() if k in DESIGN_PARAMS})
    out = {"components": ",".join(parsed.components), "connections": ",".join(f"{a}>{b}" for a, b in parsed.connections)}
    if parsed.labels:
        out["labels"] = json.dumps(dict(parsed.labels), sort_keys=True)
    if parsed.architecture:
        out["architecture"] = parsed.architecture
    return out
