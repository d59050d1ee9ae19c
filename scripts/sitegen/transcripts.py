"""Annotated mock interviews: the ``transcripts/*.yaml`` schema, its loader and the pages generated from it.

A transcript is data. The dialogue (``turns``) is quoted speech, so it holds no value markers; a figure the candidate
says is a *claim* (``[[id]]`` in the turn's text, declared under ``claims`` with the value and unit as said) and a
figure the interviewer gives is an input of the transcript's scenario (``[[@input]]``). Claims render as
``<span class="hb-claim" data-key="claim.<transcript>.<id>" data-kind="claim">`` (the candidate's words, exempt from
the number audit like every element with ``data-key``, and never in the value ledger, which holds the model's numbers
only); scenario inputs render through ``{{ v(...) }}``. Everything else the page says about numbers (annotations,
notes, the debrief) uses ordinary value markers, and the loader refuses a typed number anywhere in prose or speech.

A ``number-check`` annotation compares a claim with the model's value for a key. The verdict is computed, never
written: *right* when the claim is within the tolerance of the model's value (relative), *lucky* when it is within
tolerance although a claim it was derived from (``via``) is not, *wrong* otherwise.

Every problem is reported with the file and the field (``transcripts/api.yaml: turns[3].notes[0].key: …``), all
of them at once.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import audit, markers
from .pages import PageSource

FOLDER = "transcripts"
PAGE_DIR = "transcripts"
KINDS = ("signal", "probe-missed", "number-check", "level-signal", "red-flag")
KIND_LABELS = {"signal": "Signal", "probe-missed": "Probe missed", "number-check": "Number check",
               "level-signal": "Level signal", "red-flag": "Red flag"}
SPEAKERS = ("interviewer", "candidate")
VERDICTS = ("right", "lucky", "wrong")
CLAIM_KINDS = ("estimate", "assumption")
# The design palette shared by the diagram builder, the design review and the transcripts (briefs: shared ids).
PALETTE = {
    "gateway": "API gateway", "auth": "Auth", "rate-limiter": "Rate limiter", "router": "Router",
    "response-cache": "Response cache", "semantic-cache": "Semantic cache", "prompt-cache": "Prompt cache",
    "serving-fleet": "Serving fleet", "prefill-pool": "Prefill pool", "decode-pool": "Decode pool",
    "kv-cache-tier": "KV cache tier", "autoscaler": "Autoscaler", "queue": "Queue", "batch-scheduler": "Batch scheduler",
    "embedding-fleet": "Embedding fleet", "vector-index": "Vector index", "bm25-index": "BM25 index",
    "reranker": "Reranker", "document-store": "Document store", "ingestion-pipeline": "Ingestion pipeline",
    "feature-store": "Feature store", "safety-filter": "Safety filter", "pii-redaction": "PII redaction",
    "guardrails": "Guardrails", "tool-executor": "Tool executor", "agent-orchestrator": "Agent orchestrator",
    "metering": "Metering", "billing": "Billing", "observability": "Observability", "tracing": "Tracing",
    "eval-pipeline": "Eval pipeline", "canary-rollout": "Canary rollout", "model-registry": "Model registry",
    "fallback-model": "Fallback model", "tenant-isolation": "Tenant isolation", "audit-log": "Audit log",
    "training-cluster": "Training cluster", "adapter-store": "Adapter store", "object-store": "Object store",
    "secrets-manager": "Secrets manager",
}
LENSES = ("cost-first", "latency-first", "reliability-and-audit", "safety-and-evaluation", "scale-and-efficiency",
          "developer-experience")
# Calculator widget -> its page under docs/ (briefs: shared ids).
CALCULATOR_PAGES = {
    "memory-fit": "calculators/memory.md", "serving-latency": "calculators/serving-latency.md",
    "fleet-cost": "calculators/fleet-cost.md", "kv-cache": "calculators/kv-cache.md", "rag-capacity": "calculators/rag.md",
    "fine-tuning": "calculators/training.md", "pretraining": "calculators/training.md",
    "collectives": "calculators/collectives.md", "moe-vs-dense": "calculators/moe.md",
    "speculative": "calculators/speculative.md",
}

_ID = re.compile(r"^[a-z0-9][a-z0-9\-]*$")
_CLAIM_ID = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_REF = re.compile(r"\[\[(@?)([^\[\]]*)\]\]")
_MARKER = re.compile(r"\{\{.*?\}\}", re.S)
_CODE = re.compile(r"`[^`]*`")
_NUMBER_IN_SAID = re.compile(r"\d[\d,]*(?:\.\d+)?")
_NUMBER_WORDS = {word: n for n, word in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty".split())} | {"a": 1, "an": 1}

# Units a claim may be stated in: symbol -> (unit family of sizing.formatting, size of one symbol in SI units).
# A multiplier word may precede the unit ("million tokens/s", "thousand GPUs").
_MULTIPLIERS = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
CLAIM_UNITS: dict[str, tuple[str, float]] = {
    "": ("dimensionless", 1.0), "layers": ("dimensionless", 1.0), "requests": ("dimensionless", 1.0),
    "B": ("bytes", 1.0), "KB": ("bytes", 1e3), "MB": ("bytes", 1e6), "GB": ("bytes", 1e9), "TB": ("bytes", 1e12),
    "PB": ("bytes", 1e15), "KiB": ("bytes", 2.0**10), "MiB": ("bytes", 2.0**20), "GiB": ("bytes", 2.0**30),
    "TiB": ("bytes", 2.0**40),
    "us": ("s", 1e-6), "ms": ("s", 1e-3), "s": ("s", 1.0), "min": ("s", 60.0), "h": ("s", 3600.0), "days": ("s", 86400.0),
    "GB/s": ("bytes_per_s", 1e9), "TB/s": ("bytes_per_s", 1e12),
    "tokens/s": ("tokens_per_s", 1.0), "req/s": ("requests_per_s", 1.0), "GPUs": ("gpus", 1.0),
    "tokens": ("tokens", 1.0), "params": ("params", 1.0), "$": ("usd", 1.0), "$/h": ("usd_per_hour", 1.0),
    "$/month": ("usd_per_month", 1.0), "$ per million tokens": ("usd_per_million_tokens", 1.0),
    "%": ("ratio", 0.01), "x": ("multiplier", 1.0),
}
# Unit families that compare as the same quantity (a bare count checks against a count-like field).
_SAME = {"dimensionless": {"dimensionless", "gpus", "params", "tokens"}, "gpus": {"gpus", "dimensionless"},
         "params": {"params", "dimensionless"}, "tokens": {"tokens", "dimensionless"}}


class TranscriptError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("transcript data is invalid:\n  " + "\n  ".join(problems))
        self.problems = problems


# --------------------------------------------------------------------------------------------------------------------
# The data


@dataclass(frozen=True)
class Claim:
    id: str
    said: str  # the words as spoken ("1,500 tokens per second per GPU")
    value: float  # the number as said (1500)
    unit: str  # the unit as said ("tokens/s"), with an optional multiplier word ("million tokens/s")
    what: str  # what it is a figure of ("decode throughput per GPU")
    kind: str  # estimate | assumption

    @property
    def si(self) -> float:
        return self.value * unit_size(self.unit)[1]


@dataclass(frozen=True)
class Note:
    kind: str
    text: str  # prose; may hold value markers
    claim: str | None = None  # number-check only
    key: str | None = None
    tolerance: float = 0.0
    via: tuple[str, ...] = ()


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str  # Markdown with [[claim]] / [[@input]] references
    notes: tuple[Note, ...]


@dataclass(frozen=True)
class Check:
    claim: Claim
    key: str
    model_si: float
    tolerance: float
    via: tuple[str, ...]
    verdict: str
    turn: int


@dataclass(frozen=True)
class Transcript:
    id: str
    path: str  # "transcripts/api.yaml"
    title: str
    question: str
    company: str | None
    lens: str | None
    level: str
    role: str
    weak: bool
    scenario: str
    scenarios: tuple[str, ...]  # every scenario whose inputs the page lists (the primary one first)
    claims: dict[str, Claim]
    turns: tuple[Turn, ...]
    strengths: tuple[str, ...]
    gaps: tuple[str, ...]
    verdict: str
    calibrated: str
    calibration: str
    level_up: tuple[str, ...]
    debrief: str | None
    components: tuple[str, ...]
    connections: tuple[tuple[str, str], ...]
    figures: dict[str, tuple[tuple[str, str], ...]]  # component -> ((key, label), …)
    calculators: tuple[tuple[str, str], ...]  # (widget, scenario)
    checks: tuple[Check, ...]

    def annotations(self) -> Iterator[tuple[int, Note]]:
        for index, turn in enumerate(self.turns):
            for note in turn.notes:
                yield index, note


def unit_size(unit: str) -> tuple[str, float]:
    """(family, SI size) of a claim's unit as said; raises ValueError naming the allowed units."""
    words = unit.split(" ", 1)
    scale = 1.0
    if words[0] in _MULTIPLIERS:
        scale = _MULTIPLIERS[words[0]]
        unit = words[1] if len(words) > 1 else ""
    if unit not in CLAIM_UNITS:
        allowed = ", ".join(repr(u) for u in CLAIM_UNITS)
        raise ValueError(f"unknown unit {unit!r}; expected one of {allowed}, optionally after thousand/million/billion/trillion")
    family, size = CLAIM_UNITS[unit]
    return family, size * scale


def compatible(claim_family: str, field_family: str) -> bool:
    if claim_family == field_family:
        return True
    return field_family in _SAME.get(claim_family, set())


def verdict(claimed_si: float, model_si: float, tolerance: float, premises_right: bool) -> str:
    """right / lucky / wrong: within ``tolerance`` (relative to the model's value), and whether the premises held."""
    if model_si == 0:
        close = claimed_si == 0
    else:
        close = abs(claimed_si / model_si - 1.0) <= tolerance
    if not close:
        return "wrong"
    return "right" if premises_right else "lucky"


# --------------------------------------------------------------------------------------------------------------------
# Loading and validation


class _Problems:
    def __init__(self, path: str):
        self.path = path
        self.items: list[str] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(f"{self.path}: {field}: {message}")


def _text(record: dict, name: str, where: str, problems: _Problems, *, required: bool = True) -> str | None:
    value = record.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.add(f"{where}{name}", "must be a non-empty string")
        return None
    return value.strip()


def _texts(record: dict, name: str, where: str, problems: _Problems, minimum: int = 1) -> tuple[str, ...]:
    value = record.get(name)
    if not isinstance(value, list) or len(value) < minimum or not all(isinstance(v, str) and v.strip() for v in value):
        problems.add(f"{where}{name}", f"must be a list of at least {minimum} non-empty string(s)")
        return ()
    return tuple(v.strip() for v in value)


def _unknown(record: dict, allowed: set[str], where: str, problems: _Problems) -> None:
    for key in record:
        if key not in allowed:
            problems.add(f"{where}{key}", f"unknown field; expected one of {', '.join(sorted(allowed))}")


def typed_numbers(text: str) -> list[str]:
    """Numbers typed into prose: what the site audit would flag, outside markers, code spans and references."""
    stripped = _MARKER.sub(" ", text)
    stripped = _CODE.sub(" ", stripped)
    stripped = _REF.sub(" ", stripped)
    return [match.group() for match in audit.numbers_in_text(stripped)]


def _prose(text: str | None, field: str, problems: _Problems, resolve: Callable[[str], Any], *, markers_ok: bool) -> None:
    """A prose field: no typed numbers; markers (where allowed) must parse and evaluate."""
    if text is None:
        return
    found = typed_numbers(text)
    if found:
        problems.add(field, f"typed number(s) {', '.join(repr(n) for n in found)}; publish numbers through a "
                            "value marker (annotations) or a claim / scenario reference (dialogue)")
    if not markers_ok:
        if "{{" in text or "}}" in text:
            problems.add(field, "value markers are not allowed in the dialogue; a candidate's figure is a claim "
                                "([[id]]) and an interviewer's is a scenario input ([[@input]])")
        return
    try:
        found_markers = markers.find_markers(text, field)
    except markers.MarkerError as error:
        problems.add(field, error.message)
        return
    for marker in found_markers:
        if marker.function != "v":
            problems.add(field, f"only inline v() markers belong in a transcript, not {marker.function}()")
            continue
        try:
            resolve(marker.key)
        except Exception as error:  # noqa: BLE001 — any failure must name the file and field
            problems.add(field, f"value key {marker.key!r} does not evaluate: {error}")


def _claim(cid: str, record: Any, problems: _Problems) -> Claim | None:
    where = f"claims.{cid}."
    if not _CLAIM_ID.match(str(cid)):
        problems.add(f"claims.{cid}", "a claim id is lower-case letters, digits and underscores")
    if not isinstance(record, dict):
        problems.add(f"claims.{cid}", "must be an object with said, value, unit, what")
        return None
    _unknown(record, {"said", "value", "unit", "what", "kind"}, where, problems)
    said = _text(record, "said", where, problems)
    what = _text(record, "what", where, problems)
    value = record.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        problems.add(f"{where}value", "must be a non-negative number: the figure as the candidate said it")
        value = None
    unit = record.get("unit", "")
    if not isinstance(unit, str):
        problems.add(f"{where}unit", "must be a string")
        unit = None
    else:
        try:
            unit_size(unit)
        except ValueError as error:
            problems.add(f"{where}unit", str(error))
            unit = None
    kind = record.get("kind", "estimate")
    if kind not in CLAIM_KINDS:
        problems.add(f"{where}kind", f"must be one of {', '.join(CLAIM_KINDS)}")
    if said is not None and value is not None:
        numbers = [float(n.replace(",", "")) for n in _NUMBER_IN_SAID.findall(said)]
        numbers += [float(_NUMBER_WORDS[w]) for w in re.findall(r"[a-z]+", said.lower()) if w in _NUMBER_WORDS]
        if not numbers:
            problems.add(f"{where}said", "must contain the figure as spoken (digits, or a number word up to twenty)")
        elif not any(math.isclose(n, value, rel_tol=1e-9) for n in numbers):
            problems.add(f"{where}said", f"the figure said ({said!r}) does not contain the value {value!r}")
    if None in (said, what, value, unit) or kind not in CLAIM_KINDS:
        return None
    return Claim(str(cid), said, float(value), unit, what, kind)


def _note(record: Any, where: str, problems: _Problems, claims: dict[str, Claim], speaker: str) -> Note | None:
    if not isinstance(record, dict):
        problems.add(where.rstrip("."), "must be an object with kind and text")
        return None
    kind = record.get("kind")
    allowed = {"kind", "text"} | ({"claim", "key", "tolerance", "via"} if kind == "number-check" else set())
    _unknown(record, allowed, where, problems)
    if kind not in KINDS:
        problems.add(f"{where}kind", f"must be one of {', '.join(KINDS)} (got {kind!r})")
        return None
    text = _text(record, "text", where, problems)
    if kind != "number-check":
        return Note(kind, text) if text else None
    claim = record.get("claim")
    if claim not in claims:
        problems.add(f"{where}claim", f"must name a declared claim (got {claim!r}; declared: {', '.join(sorted(claims))})")
    key = record.get("key")
    if not isinstance(key, str) or "." not in key:
        problems.add(f"{where}key", "must be the value key of the model's figure ('<scenario>.<field>', 'model.<id>.<field>', …)")
    tolerance = record.get("tolerance")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 < tolerance < 1:
        problems.add(f"{where}tolerance", "must be a relative tolerance above 0 and below 1 (0.2 is within a fifth)")
    via = record.get("via", [])
    if not isinstance(via, list) or not all(isinstance(v, str) for v in via):
        problems.add(f"{where}via", "must be a list of claim ids the figure was derived from")
        via = []
    for item in via:
        if item not in claims:
            problems.add(f"{where}via", f"{item!r} is not a declared claim")
    if speaker != "candidate":
        problems.add(f"{where}kind", "a number check belongs to a candidate's turn")
    if text is None or claim not in claims or not isinstance(key, str) or not isinstance(tolerance, (int, float)):
        return None
    return Note(kind, text, claim, key, float(tolerance), tuple(via))


def _design(record: Any, problems: _Problems, resolve: Callable[[str], Any]):
    components: list[str] = []
    connections: list[tuple[str, str]] = []
    figures: dict[str, tuple[tuple[str, str], ...]] = {}
    if not isinstance(record, dict):
        problems.add("design", "must be an object with components, connections and figures")
        return (), (), {}
    _unknown(record, {"components", "connections", "figures"}, "design.", problems)
    raw = record.get("components")
    if not isinstance(raw, list) or len(raw) < 3:
        problems.add("design.components", "must list at least three component ids from the shared palette")
        raw = []
    for index, item in enumerate(raw):
        if item not in PALETTE:
            problems.add(f"design.components[{index}]", f"unknown component {item!r}; the palette is: {', '.join(PALETTE)}")
        elif item in components:
            problems.add(f"design.components[{index}]", f"{item!r} is listed twice")
        else:
            components.append(item)
    raw = record.get("connections")
    if not isinstance(raw, list) or not raw:
        problems.add("design.connections", "must be a list of [from, to] pairs")
        raw = []
    for index, pair in enumerate(raw):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            problems.add(f"design.connections[{index}]", "must be a pair [from, to] of component ids")
            continue
        for end in pair:
            if end not in components:
                problems.add(f"design.connections[{index}]", f"{end!r} is not one of design.components")
        connections.append((pair[0], pair[1]))
    raw = record.get("figures", {})
    if not isinstance(raw, dict):
        problems.add("design.figures", "must map a component id to a list of {key, label}")
        raw = {}
    for component, items in raw.items():
        where = f"design.figures.{component}"
        if component not in components:
            problems.add(where, "names a component that is not in design.components")
        if not isinstance(items, list):
            problems.add(where, "must be a list of {key, label}")
            continue
        parsed = []
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                problems.add(f"{where}[{index}]", "must be an object with a value 'key' and an optional 'label'")
                continue
            _unknown(item, {"key", "label"}, f"{where}[{index}].", problems)
            label = item.get("label", "")
            if not isinstance(label, str) or typed_numbers(label):
                problems.add(f"{where}[{index}].label", "must be words (the number comes from the key)")
                label = ""
            try:
                resolve(item["key"])
            except Exception as error:  # noqa: BLE001
                problems.add(f"{where}[{index}].key", f"value key {item['key']!r} does not evaluate: {error}")
                continue
            parsed.append((item["key"], label))
        figures[component] = tuple(parsed)
    return tuple(components), tuple(connections), figures


def load_file(path: Path, root: Path, resolve: Callable[[str], Any], scenario_table: dict[str, Any]) -> tuple[Transcript | None, list[str]]:
    """One transcript, validated; returns (transcript or None, every problem found)."""
    import yaml  # PyYAML ships with MkDocs

    relative = path.relative_to(root).as_posix()
    problems = _Problems(relative)
    try:
        record = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        problems.add("(file)", f"not valid YAML: {error}")
        return None, problems.items
    if not isinstance(record, dict):
        problems.add("(file)", "must be a mapping of fields")
        return None, problems.items
    allowed = {"id", "title", "question", "company", "lens", "level", "role", "weak", "scenario", "scenarios", "claims",
               "turns", "summary", "design", "calculators"}
    _unknown(record, allowed, "", problems)
    tid = record.get("id")
    if not isinstance(tid, str) or not _ID.match(tid):
        problems.add("id", f"must be a lower-case hyphenated id (got {tid!r})")
    elif tid != path.stem:
        problems.add("id", f"must equal the file name's stem {path.stem!r}")
    title = _text(record, "title", "", problems)
    question = _text(record, "question", "", problems)
    level = _text(record, "level", "", problems)
    role = _text(record, "role", "", problems)
    company = _text(record, "company", "", problems, required=False)
    if company is not None and not _ID.match(company):
        problems.add("company", "must be a company id (lower-case, hyphenated)")
    lens = record.get("lens")
    if lens is not None and lens not in LENSES:
        problems.add("lens", f"must be one of {', '.join(LENSES)}")
    weak = record.get("weak", False)
    if not isinstance(weak, bool):
        problems.add("weak", "must be true or false")
    for name, value in (("title", title), ("question", question), ("role", role)):
        _prose(value, name, problems, resolve, markers_ok=False)

    scenario = record.get("scenario")
    if scenario not in scenario_table:
        problems.add("scenario", f"must name a scenario in widgets/sizing/data/scenarios/transcripts.json (got {scenario!r})")
    elif not scenario_table[scenario].origin.startswith("scenarios/transcripts.json"):
        problems.add("scenario", f"{scenario!r} is declared in {scenario_table[scenario].origin}; a transcript's scenario "
                                 "lives in scenarios/transcripts.json")
    extra = record.get("scenarios", [])
    if not isinstance(extra, list) or not all(isinstance(s, str) for s in extra):
        problems.add("scenarios", "must be a list of scenario names")
        extra = []
    for index, name in enumerate(extra):
        if name not in scenario_table:
            problems.add(f"scenarios[{index}]", f"unknown scenario {name!r}")
    primary_inputs = {item.name for item in scenario_table[scenario].inputs} if scenario in scenario_table else set()

    claims: dict[str, Claim] = {}
    raw_claims = record.get("claims")
    if not isinstance(raw_claims, dict) or not raw_claims:
        problems.add("claims", "must map claim ids to the candidate's figures (said, value, unit, what)")
        raw_claims = {}
    for cid, item in raw_claims.items():
        claim = _claim(cid, item, problems)
        if claim is not None:
            claims[claim.id] = claim

    turns: list[Turn] = []
    used_claims: set[str] = set()
    raw_turns = record.get("turns")
    if not isinstance(raw_turns, list) or len(raw_turns) < 6:
        problems.add("turns", "must be a list of at least six turns")
        raw_turns = []
    for index, item in enumerate(raw_turns):
        where = f"turns[{index}]."
        if not isinstance(item, dict):
            problems.add(f"turns[{index}]", "must be an object with speaker and text")
            continue
        _unknown(item, {"speaker", "text", "notes"}, where, problems)
        speaker = item.get("speaker")
        if speaker not in SPEAKERS:
            problems.add(f"{where}speaker", f"must be one of {', '.join(SPEAKERS)}")
        text = _text(item, "text", where, problems)
        if text is not None:
            _prose(text, f"{where}text", problems, resolve, markers_ok=False)
            for match in _REF.finditer(text):
                is_input, name = match.group(1) == "@", match.group(2)
                if is_input:
                    if speaker != "interviewer":
                        problems.add(f"{where}text", f"[[@{name}]]: only the interviewer states the scenario's inputs; "
                                                     "a candidate's figure is a claim")
                    elif name not in primary_inputs:
                        problems.add(f"{where}text", f"[[@{name}]] is not an input of scenario {scenario!r}")
                else:
                    if speaker != "candidate":
                        problems.add(f"{where}text", f"[[{name}]]: only the candidate makes claims")
                    elif name not in claims:
                        problems.add(f"{where}text", f"[[{name}]] is not a declared claim")
                    used_claims.add(name)
        notes: list[Note] = []
        raw_notes = item.get("notes", [])
        if not isinstance(raw_notes, list):
            problems.add(f"{where}notes", "must be a list of annotations")
            raw_notes = []
        for n, raw in enumerate(raw_notes):
            note = _note(raw, f"{where}notes[{n}].", problems, claims, str(speaker))
            if note is None:
                continue
            _prose(note.text, f"{where}notes[{n}].text", problems, resolve, markers_ok=True)
            notes.append(note)
        if speaker in SPEAKERS and text is not None:
            turns.append(Turn(speaker, text, tuple(notes)))
    for cid in claims:
        if cid not in used_claims:
            problems.add(f"claims.{cid}", "is never said in a candidate's turn ([[id]])")

    # Number checks: evaluate the model's value, compare, compute the verdict (premises first).
    checks: dict[str, Check] = {}
    pending = [(index, n, note) for index, turn in enumerate(turns) for n, note in enumerate(turn.notes)
               if note.kind == "number-check"]
    order = {note.claim: position for position, (_, _, note) in enumerate(pending)}
    seen_claims: set[str] = set()
    for index, n, note in pending:
        where = f"turns[{index}].notes[{n}].claim"
        if note.claim in seen_claims:
            problems.add(where, f"{note.claim!r} is checked twice")
            continue
        seen_claims.add(note.claim)
        for premise in note.via:
            if premise not in order:
                problems.add(where.replace(".claim", ".via"), f"{premise!r}: a premise must itself have a number check")
            elif order[premise] > order[note.claim]:
                problems.add(where.replace(".claim", ".via"), f"{premise!r}: the premise must be checked before the claim it supports")
    for index, n, note in pending:
        where = f"turns[{index}].notes[{n}]"
        claim = claims[note.claim]
        try:
            value = resolve(note.key)
        except Exception as error:  # noqa: BLE001
            problems.add(f"{where}.key", f"value key {note.key!r} does not evaluate: {error}")
            continue
        if not value.numeric:
            problems.add(f"{where}.key", f"{note.key!r} is {value.raw!r}, not a number")
            continue
        from sizing.formatting import unit_for_field

        family, scale = unit_for_field(value.field)
        claim_family, _ = unit_size(claim.unit)
        if not compatible(claim_family, family):
            problems.add(f"claims.{claim.id}.unit", f"{claim.unit!r} measures {claim_family}, but {note.key!r} is in {family}")
            continue
        premises_right = all(checks[p].verdict == "right" for p in note.via if p in checks)
        model_si = float(value.raw) * scale
        checks[note.claim] = Check(claim, note.key, model_si, note.tolerance, note.via,
                                   verdict(claim.si, model_si, note.tolerance, premises_right), index)

    summary = record.get("summary")
    strengths = gaps = level_up = ()
    verdict_text = calibrated = calibration = debrief = None
    if not isinstance(summary, dict):
        problems.add("summary", "must be an object: strengths, gaps, verdict, calibrated, calibration, level_up")
    else:
        _unknown(summary, {"strengths", "gaps", "verdict", "calibrated", "calibration", "level_up", "debrief"},
                 "summary.", problems)
        strengths = _texts(summary, "strengths", "summary.", problems)
        gaps = _texts(summary, "gaps", "summary.", problems)
        level_up = _texts(summary, "level_up", "summary.", problems)
        verdict_text = _text(summary, "verdict", "summary.", problems)
        calibrated = _text(summary, "calibrated", "summary.", problems)
        calibration = _text(summary, "calibration", "summary.", problems)
        debrief = _text(summary, "debrief", "summary.", problems, required=bool(weak))
        for name, items in (("strengths", strengths), ("gaps", gaps), ("level_up", level_up)):
            for n, item in enumerate(items):
                _prose(item, f"summary.{name}[{n}]", problems, resolve, markers_ok=True)
        for name, item in (("verdict", verdict_text), ("calibration", calibration), ("debrief", debrief)):
            _prose(item, f"summary.{name}", problems, resolve, markers_ok=True)
    components, connections, figures = _design(record.get("design"), problems, resolve)

    calculators: list[tuple[str, str]] = []
    raw_calcs = record.get("calculators", [])
    if not isinstance(raw_calcs, list):
        problems.add("calculators", "must be a list of {widget, scenario}")
        raw_calcs = []
    for index, item in enumerate(raw_calcs):
        where = f"calculators[{index}]"
        if not isinstance(item, dict) or item.get("widget") not in CALCULATOR_PAGES or item.get("scenario") not in scenario_table:
            problems.add(where, f"must be {{widget, scenario}} with a widget among {', '.join(CALCULATOR_PAGES)} "
                               "and a known scenario")
            continue
        if (root / "widgets" / "calculators" / f"{item['widget']}.json").is_file():
            from . import calculators as calculator_specs  # the calculator's own rule for which presets it opens

            try:
                calculator_specs.calc_link(item["widget"], item["scenario"], f"{PAGE_DIR}/{path.stem}.md",
                                           scenario_table.__getitem__)
            except (ValueError, KeyError) as error:
                problems.add(f"{where}.scenario", str(error))
                continue
        calculators.append((item["widget"], item["scenario"]))

    if problems.items:
        return None, problems.items
    transcript = Transcript(
        id=tid, path=relative, title=title, question=question, company=company, lens=lens, level=level, role=role,
        weak=weak, scenario=scenario, scenarios=tuple(dict.fromkeys([scenario, *extra])), claims=claims,
        turns=tuple(turns), strengths=strengths, gaps=gaps, verdict=verdict_text, calibrated=calibrated,
        calibration=calibration, level_up=level_up, debrief=debrief, components=components, connections=connections,
        figures=figures, calculators=tuple(calculators), checks=tuple(sorted(checks.values(), key=lambda c: c.turn)),
    )
    return transcript, []


def load_all(root: Path, resolve: Callable[[str], Any] | None = None) -> list[Transcript]:
    """Every ``transcripts/*.yaml``, validated; raises TranscriptError listing every problem in every file."""
    from sizing import scenarios as scenario_data
    from sizing.values import evaluate

    resolve = resolve or evaluate
    table = scenario_data.builtin()
    folder = root / FOLDER
    found: list[Transcript] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        transcript, issues = load_file(path, root, resolve, table)
        problems.extend(issues)
        if transcript is not None:
            found.append(transcript)
    if problems:
        raise TranscriptError(problems)
    return found


# --------------------------------------------------------------------------------------------------------------------
# Rendering (Markdown with value markers; the site build renders the markers like any page's)


def _esc(text: str) -> str:
    return markers._text_html(text)  # HTML-escaped, with Markdown's active characters as entities


def claim_span(transcript: Transcript, claim: Claim) -> str:
    check = next((c for c in transcript.checks if c.claim.id == claim.id), None)
    role = "assumption" if claim.kind == "assumption" else "estimate"
    title = f"The candidate's {role} ({claim.what}), as said; not a model value"
    if check is not None:
        title += f"; checked below: {check.verdict}"
    return (f'<span class="hb-claim" data-key="claim.{transcript.id}.{claim.id}" '
            f'data-value="{markers.raw_text(claim.si)}" data-kind="claim" title="{html.escape(title)}">'
            f"{_esc(claim.said)}</span>")


def _speech(transcript: Transcript, text: str) -> str:
    def replace(match: re.Match) -> str:
        if match.group(1) == "@":
            return f'{{{{ v("{transcript.scenario}.{match.group(2)}") }}}}'
        return claim_span(transcript, transcript.claims[match.group(2)])

    return _REF.sub(replace, text)


VERDICT_LABELS = {"right": "Right", "lucky": "Lucky", "wrong": "Wrong"}


def _note_html(transcript: Transcript, note: Note) -> str:
    attributes = f'class="hb-note hb-note--{note.kind}" data-annotation="{note.kind}"'
    head = KIND_LABELS[note.kind]
    extra = ""
    if note.kind == "number-check":
        check = next(c for c in transcript.checks if c.claim.id == note.claim)
        attributes += f' data-verdict="{check.verdict}" data-claim="{note.claim}"'
        head += f" · {VERDICT_LABELS[check.verdict]}"
        extra = (f'Said: {claim_span(transcript, check.claim)}. Model: {{{{ v("{check.key}") }}}}. ')
    return (f'<div {attributes} markdown>\n<p class="hb-note__kind">{head}</p>\n\n{extra}{note.text}\n\n</div>')


def _mermaid(transcript: Transcript, resolve: Callable[[str], Any]) -> str:
    def node(component: str) -> str:
        return component.replace("-", "_")

    # Left to right reads best for a short pipeline; a larger design is laid out top-down so its labels stay legible.
    direction = "LR" if len(transcript.components) <= 7 else "TB"
    lines = ["```mermaid", f"flowchart {direction}"]
    for component in transcript.components:
        label = PALETTE[component]
        for key, suffix in transcript.figures.get(component, ()):
            text = resolve(key).text()
            label += f"<br/>{text}{' ' + suffix if suffix else ''}"
        lines.append(f'  {node(component)}["{label}"]')
    for start, end in transcript.connections:
        lines.append(f"  {node(start)} --> {node(end)}")
    lines.append("```")
    return "\n".join(lines)


def _calculator_links(transcript: Transcript, root: Path) -> list[str]:
    """Preset links to the calculators that exist in this tree (a calculator lands with its spec file)."""
    return [f'{{{{ calc_link("{widget}", "{scenario}") }}}}' for widget, scenario in transcript.calculators
            if (root / "widgets" / "calculators" / f"{widget}.json").is_file()]


def page_markdown(transcript: Transcript, root: Path, resolve: Callable[[str], Any]) -> str:
    t = transcript
    meta = [f"**Level targeted:** {_esc(t.level)}", f"**Role:** {_esc(t.role)}"]
    company = _company(root, t.company) if t.company else None
    if company:  # shown once the company has its page (companies/<id>.yaml, generated as companies/<id>.md)
        meta.append(f"**Company:** [{_esc(company)}](../companies/{t.company}.md)")
    if t.lens:
        meta.append(f"**Lens:** {t.lens.replace('-', ' ')}")
    if t.weak:
        meta.append("**A weak answer**, with its debrief")
    parts = [
        "---", f"title: {_yaml_string(t.title)}", f"description: {_yaml_string(t.question)}", "---", "",
        f"# {_esc(t.title)}", "", f'<div class="hb-transcript-meta" data-transcript="{t.id}" markdown>', "",
        " · ".join(meta), "", "</div>", "", f"> {_esc(t.question)}", "",
        "The dialogue runs down the left; the margin carries the interviewer's rubric: signals given, probes "
        "missed, level signals, red flags and a check of every figure the candidate says against the model. Hover a "
        "number to see where it comes from; the model's inputs are listed after the checked numbers.", "",
        "## The interview", "", '<div class="hb-transcript" markdown>', "",
    ]
    for index, turn in enumerate(t.turns):
        speaker = "Interviewer" if turn.speaker == "interviewer" else "Candidate"
        parts += [f'<div class="hb-turn hb-turn--{turn.speaker}" id="turn-{index + 1}" markdown>',
                  '<div class="hb-turn__speech" markdown>', "",
                  f'<p class="hb-turn__speaker">{speaker}</p>', "", _speech(t, turn.text), "", "</div>"]
        if turn.notes:
            parts += ['<div class="hb-turn__notes" markdown>', ""]
            for note in turn.notes:
                parts += [_note_html(t, note), ""]
            parts += ["</div>"]
        parts += ["</div>", ""]
    parts += ["</div>", "", "## Checked numbers", "",
              "Each figure the candidate said, against the model's value for the same quantity. *Right* is within the "
              "check's tolerance; *lucky* is within it although a figure it was built on is wrong; *wrong* is outside it.",
              "", '<div class="hb-checks" markdown>', "", "| figure | the candidate said | the model | verdict |",
              "|---|---|---|---|"]
    for check in t.checks:
        parts.append(f"| {_esc(check.claim.what)} | {claim_span(t, check.claim)} | {{{{ v(\"{check.key}\") }}}} | "
                     f'<span class="hb-verdict hb-verdict--{check.verdict}" data-verdict="{check.verdict}">'
                     f"{VERDICT_LABELS[check.verdict]}</span> |")
    parts += ["", "</div>", "", "### The model's inputs", "",
              "The interviewer's requirements and the candidate's stated choices, as the model's declared inputs:", ""]
    for name in t.scenarios:
        parts += [f"{{{{ inputs(\"{name}\") }}}}", ""]
    links = _calculator_links(t, root)
    if links:
        parts += ["Try the interview's numbers yourself: " + "; ".join(links) + ".", ""]
    parts += ["## The architecture", "",
              "The design the candidate converged on, with the figures from the scenario:", "", _mermaid(t, resolve), ""]
    if review_scenario_name(t.id) in review_scenarios(root):
        review = review_scenario_name(t.id)
        parts += ["## The design, reviewed", "",
                  "The handbook's design review reads the same design against the interview's traffic and targets, the way "
                  "a strong interviewer would, with the model's numbers as evidence:", "",
                  f'{{{{ review("{review}") }}}}', "",
                  f"Change the design and see what the review says in the [design review](../calculators/design-review.md) "
                  "(start from the closest reference design there).", ""]
    parts += ["## The interviewer's notes", "", "**What went well**", ""]
    parts += [f"- {item}" for item in t.strengths]
    parts += ["", "**What was missing**", ""]
    parts += [f"- {item}" for item in t.gaps]
    parts += ["", "## Verdict and level", "", f"**Verdict.** {t.verdict}", "",
              f"**Calibrated at:** {_esc(t.calibrated)}. {t.calibration}", "",
              "**What would have moved the level up**", ""]
    parts += [f"- {item}" for item in t.level_up]
    if t.debrief:
        parts += ["", "## Debrief", "", t.debrief]
    parts += ["", "Grade your own mock with the same rubric: [the self-grading sheet](../interview/self-grading.md).", ""]
    return "\n".join(parts)


def _company(root: Path, ident: str) -> str | None:
    """The company's display name from companies/<id>.yaml, or None when the handbook has no page for it."""
    import yaml

    path = root / "companies" / f"{ident}.yaml"
    if not path.is_file():
        return None
    try:
        record = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return None  # the companies loader reports a broken file with its own file and field
    name = record.get("name") if isinstance(record, dict) else None
    return name if isinstance(name, str) and name.strip() else ident


def _yaml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def index_markdown(transcripts: list[Transcript]) -> str:
    lines = [
        "---", "title: Mock interviews", "description: Annotated mock design interviews whose every figure is checked "
        "against the model.", "---", "", "# Mock interviews", "",
        "Full design rounds written down turn by turn, with the interviewer's rubric in the margin. Every figure a "
        "candidate says is checked against the model: where the candidate is wrong, or right for the wrong reason, "
        "the note shows the computed value and the arithmetic behind it. Read one for the rhythm of a round, then grade "
        "your own with [the self-grading sheet](../interview/self-grading.md).", "",
        "| interview | level targeted | calibrated | checked figures |", "|---|---|---|---|",
    ]
    for t in transcripts:
        counts = {v: sum(1 for c in t.checks if c.verdict == v) for v in VERDICTS}
        summary = ", ".join(f"{_count_word(n)} {v}" for v, n in counts.items() if n) or "none"
        weak = " (weak answer)" if t.weak else ""
        lines.append(f"| [{_esc(t.title)}]({t.id}.md){weak} | {_esc(t.level)} | {_esc(t.calibrated)} | {summary} |")
    lines += ["", "How to use them: cover the margin, read a candidate's turn, and say what you would have written "
              "in the note before you look.", ""]
    return "\n".join(lines)


_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


def _count_word(n: int) -> str:
    return _WORDS[n] if n < len(_WORDS) else "many"


def pages(root: Path) -> Iterator[PageSource]:
    """The generator for pages.GENERATORS: transcripts/index.md and one page per transcript."""
    from sizing.values import evaluate

    transcripts = load_all(root, evaluate)
    if not transcripts:
        return
    yield PageSource(f"{PAGE_DIR}/index.md", index_markdown(transcripts))
    for transcript in transcripts:
        yield PageSource(f"{PAGE_DIR}/{transcript.id}.md", page_markdown(transcript, root, evaluate))


# --------------------------------------------------------------------------------------------------------------------
# The design review of each transcript's design (issue: the review engine runs at build time on every transcript)

REVIEW_SOURCE = "the design the candidate converged on (transcripts/{file}, design)"


def review_scenario_name(transcript_id: str) -> str:
    return f"tx-{transcript_id}-review"


def review_scenarios(root: Path) -> dict[str, Any]:
    """A ``design_review`` scenario per transcript whose interview sizes a serving fleet: the fleet's inputs (from the
    transcript's first ``fleet`` or ``estimate`` scenario) plus the design and the transcript's lens. Generated, not
    declared, so the design has one source: the transcript file."""
    import yaml
    from sizing import scenarios as scenario_data
    from sizing.design import SCENARIO_PARAMS, scenario_inputs

    builtin = scenario_data.builtin()
    found: dict[str, Any] = {}
    for path in sorted((root / FOLDER).glob("*.yaml")):
        try:
            record = yaml.safe_load(path.read_text(encoding="utf-8"))
            names = [record["scenario"], *record.get("scenarios", [])]
            design = record["design"]
        except (yaml.YAMLError, KeyError, TypeError):
            continue  # the transcript loader reports a malformed file with its field
        fleet = next((builtin[n] for n in names if n in builtin and builtin[n].calculation in ("fleet", "estimate")), None)
        if fleet is None:
            continue
        inputs = []
        for item in fleet.inputs:
            name = "requests_per_s" if item.name == "rate" and fleet.calculation == "estimate" else item.name
            if name in SCENARIO_PARAMS:
                inputs.append(scenario_data.ScenarioInput(name, item.value, item.source))
        source = REVIEW_SOURCE.format(file=path.name)
        for name, value in scenario_inputs({"components": design["components"], "connections": design["connections"]}).items():
            inputs.append(scenario_data.ScenarioInput(name, value, source))
        if record.get("lens"):
            inputs.append(scenario_data.ScenarioInput("lens", record["lens"], f"the lens of transcripts/{path.name}"))
        name = review_scenario_name(path.stem)
        found[name] = scenario_data.Scenario(name=name, title=f"Design review of the {path.stem} transcript",
                                             calculation="design_review", inputs=tuple(inputs), origin=f"transcripts/{path.name}")
    return found
