"""Company signals and the role taxonomy: the schema of ``companies/*.yaml`` and ``companies/roles.yaml``, and the loader.

One YAML file per company (its id is the file name) and one file for the roles. The loader reads every file, collects
every problem as ``companies/<file>: <field path>: <message>`` and raises one :class:`CompanyDataError` listing them
all, so a writer fixes a whole file in one pass.

Every claim names a source: an id from the file's ``sources`` table (``url``, ``title``, ``as_of``) or ``handbook``,
which marks the claim as this handbook's assessment, dated by the file's ``as_of``. Prose fields obey the number
rule (no typed quantity: a digit may not start a token; levels such as IC5 or SDE2 are names) and may carry
``{{ v("KEY") }}`` markers, which the page build renders from the model. The data holds no compensation figures.

PyYAML is a build dependency only; the model (``widgets/sizing``) never reads YAML.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

COMPANIES_DIR = "companies"
ROLES_FILE = "roles.yaml"
ASSESSMENT = "handbook"  # the source id of a claim that is the handbook's own assessment

# Review lenses (shared with the design-review engine, widgets/sizing/data/lenses.json when it exists).
LENSES: dict[str, dict[str, str]] = {
    "cost-first": {
        "title": "Cost first",
        "tell": "The first follow-up is about price: cost per call, per million tokens, per customer, or what happens to the bill when traffic doubles.",
        "open_with": "State the token profile and traffic, size the fleet, and put a cost per million tokens on the board before drawing boxes; then name the two levers you would pull first (precision, batching, caching, routing to a smaller model).",
        "avoid": "A fifteen-minute architecture tour with no unit cost, or adding an expensive component without saying what it buys.",
    },
    "latency-first": {
        "title": "Latency first",
        "tell": "The interviewer asks for percentiles, not averages, and pushes on what the scheduler does when the batch grows.",
        "open_with": "Pin down the time to first token and time per output token targets at a percentile, then show how batch size trades them against throughput with one sized replica.",
        "avoid": "Quoting throughput without the latency it was measured at, or treating tail latency as an afterthought.",
    },
    "reliability-and-audit": {
        "title": "Reliability and audit",
        "tell": "Questions about retries, duplicates, what is logged with each decision, and what an auditor or regulator can reconstruct later.",
        "open_with": "Name the invariants first (no double action, every decision reproducible), then the idempotency key, the decision log and the failure modes they close.",
        "avoid": "Treating logging as observability only, or designing a cache without saying how a stale value is detected and recorded.",
    },
    "safety-and-evaluation": {
        "title": "Safety and evaluation",
        "tell": "The interviewer steers towards release gates, golden sets, judge models, red-teaming and what happens when an automated eval and a human disagree.",
        "open_with": "Define what must not ship and how you would know: the eval suite, its contamination risks, the judge's own biases, and the gate that blocks a release.",
        "avoid": "Treating evaluation as a dashboard after launch, or trusting one automated score without a human check.",
    },
    "scale-and-efficiency": {
        "title": "Scale and efficiency",
        "tell": "Numbers get big early: thousands of GPUs, billions of users, collectives across pods, and the question of what breaks first as the system grows.",
        "open_with": "Size the dominant resource (GPUs, interconnect bandwidth, memory) from the traffic, name the failure domain and the blast radius, then show the bottleneck moving as scale grows.",
        "avoid": "A design that works for one cluster with no word on sharding, isolation between tenants or the cost of coordination.",
    },
    "developer-experience": {
        "title": "Developer experience",
        "tell": "The questions are about the person on the other end of the API or the editor: how fast the first result appears, how simple deployment is, what happens when their input is unusual.",
        "open_with": "Start from the user's workflow and the latency they feel, then show the system that keeps that path fast and safe for inputs you cannot predict.",
        "avoid": "Optimising the back end while the user-visible path (first token, first deploy, first error message) stays slow or opaque.",
    },
}

# Emphasis topics: the columns of the comparison matrix. A company ranks up to five of them.
TOPICS: dict[str, str] = {
    "inference-internals": "Inference internals",
    "safety-evaluation": "Safety and evaluation",
    "distributed-systems": "Distributed systems",
    "scale-isolation": "Scale and tenant isolation",
    "cost-efficiency": "Cost and efficiency",
    "enterprise-compliance": "Enterprise compliance",
    "reliability-correctness": "Reliability and correctness",
    "data-platform": "Data platform",
    "retrieval": "Retrieval",
    "experimentation": "Experimentation",
    "latency-context": "Latency and context",
    "execution-security": "Execution security",
    "open-ecosystem": "Open ecosystem",
}
MAX_EMPHASIS = 5

# Calculator widgets (shared-ids.md) and the calculation each one runs, used when widgets/calculators/*.json is absent.
WIDGET_CALCULATIONS: dict[str, tuple[str, ...]] = {
    "memory-fit": ("memory",),
    "serving-latency": ("estimate",),
    "fleet-cost": ("fleet",),
    "kv-cache": ("model", "memory", "prefix_cache"),
    "rag-capacity": ("rag",),
    "fine-tuning": ("fine_tuning",),
    "pretraining": ("training",),
    "collectives": ("collectives",),
    "moe-vs-dense": ("moe_vs_dense",),
    "speculative": ("speculative",),
}
WIDGET_PAGES: dict[str, str] = {
    "memory-fit": "calculators/memory.md",
    "serving-latency": "calculators/serving-latency.md",
    "fleet-cost": "calculators/fleet-cost.md",
    "kv-cache": "calculators/kv-cache.md",
    "rag-capacity": "calculators/rag.md",
    "fine-tuning": "calculators/training.md",
    "pretraining": "calculators/training.md",
    "collectives": "calculators/collectives.md",
    "moe-vs-dense": "calculators/moe.md",
    "speculative": "calculators/speculative.md",
}

ROUND_TYPES: dict[str, str] = {
    "system_design": "System design",
    "ml_depth": "ML depth",
    "research": "Research or paper deep-dive",
    "coding": "Coding",
    "behavioural": "Behavioural or values",
}
ROLE_ERAS = ("classic", "llm")

_ID = re.compile(r"^[a-z0-9][a-z0-9\-]*$")
_MARKER = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_CODE = re.compile(r"`[^`]*`")
_MARKER_KEY = re.compile(r"""\{\{\s*v\(\s*["']([^"']+)["']""")
_DIGITS = re.compile(r"\d+")
# Compensation is out of scope: currency amounts and pay vocabulary are refused outright.
_PAY = re.compile(r"\b(salary|salaries|total comp|compensation|TC\b|equity grant|RSU|bonus)", re.IGNORECASE)


class CompanyDataError(ValueError):
    """Every problem in the company and role data, one per line, each naming the file and the field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("company data is invalid:\n  " + "\n  ".join(problems))


# ---------------------------------------------------------------------------------------------------------------------
# Typed records


@dataclass(frozen=True)
class Source:
    id: str
    url: str
    title: str
    as_of: str


@dataclass(frozen=True)
class Claim:
    text: str
    source: str  # a source id or ASSESSMENT


@dataclass(frozen=True)
class CompanyRole:
    title: str
    track: str
    note: str
    role: str | None  # a role id in roles.yaml
    source: str


@dataclass(frozen=True)
class Emphasis:
    topic: str
    detail: str
    source: str


@dataclass(frozen=True)
class SignatureQuestion:
    id: str
    title: str  # a short heading for the question
    question: str
    probes: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class LevelDelta:
    lower: str
    upper: str
    lower_bar: str
    upper_bar: str
    source: str


@dataclass(frozen=True)
class SizedQuestion:
    question: str  # a signature question id
    scenarios: tuple[str, ...]
    derive: tuple[str, ...]  # value keys shown as derivations
    widget: str
    widget_scenario: str
    narrative: str


@dataclass(frozen=True)
class Company:
    id: str
    name: str
    as_of: str
    review_lens: str
    summary: str
    roles: tuple[CompanyRole, ...]
    emphasis: tuple[Emphasis, ...]
    leveling: Claim
    ladder: tuple[str, ...]
    signature_questions: tuple[SignatureQuestion, ...]
    level_deltas: tuple[LevelDelta, ...]
    vocabulary: tuple[str, ...]
    traps: tuple[str, ...]
    first_five_minutes: tuple[str, ...]
    sized: SizedQuestion
    chapters: tuple[str, ...]
    transcripts: tuple[str, ...]
    sources: dict[str, Source]
    path: str

    def source_label(self, source: str) -> tuple[str, str | None]:
        """(text, url) for a claim's source: the dated title, or the handbook's dated assessment."""
        if source == ASSESSMENT:
            return (f"the handbook's assessment, as of {self.as_of}", None)
        item = self.sources[source]
        return (f"{item.title}, as of {item.as_of}", item.url)

    def question(self, ident: str) -> SignatureQuestion:
        return next(q for q in self.signature_questions if q.id == ident)


@dataclass(frozen=True)
class Role:
    id: str
    title: str
    era: str
    summary: str
    day_to_day: str
    rounds: dict[str, tuple[int, int]]  # round type -> (fewest, most)
    design_focus: str
    prepare: tuple[str, ...]
    pitfalls: tuple[str, ...]
    companies: tuple[str, ...]
    chapters: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Roles:
    as_of: str
    roles: tuple[Role, ...]
    sources: dict[str, Source]
    path: str

    def source_label(self, source: str) -> tuple[str, str | None]:
        if source == ASSESSMENT:
            return (f"the handbook's assessment, as of {self.as_of}", None)
        item = self.sources[source]
        return (f"{item.title}, as of {item.as_of}", item.url)


@dataclass(frozen=True)
class Data:
    companies: tuple[Company, ...]
    roles: Roles


# ---------------------------------------------------------------------------------------------------------------------
# Field readers: each appends a problem naming the file and the field, and returns a usable default


class _Reader:
    def __init__(self, where: str, problems: list[str]):
        self.where = where
        self.problems = problems

    def fail(self, field: str, message: str) -> None:
        self.problems.append(f"{self.where}: {field}: {message}")

    def mapping(self, record: Any, field: str, allowed: set[str], required: set[str]) -> dict:
        if not isinstance(record, dict):
            self.fail(field, "must be a mapping of field → value")
            return {}
        for key in record:
            if key not in allowed:
                self.fail(f"{field}.{key}" if field else str(key), f"unknown field; expected one of {', '.join(sorted(allowed))}")
        for key in sorted(required - set(record)):
            self.fail(f"{field}.{key}" if field else key, "is required")
        return record

    def prose(self, value: Any, field: str, *, minimum: int = 3) -> str:
        if not isinstance(value, str) or len(value.strip()) < minimum:
            self.fail(field, "must be a non-empty sentence of text")
            return ""
        text = " ".join(value.split())
        for problem in prose_problems(text):
            self.fail(field, problem)
        return text

    def word(self, value: Any, field: str) -> str:
        """A name (level, title, term): text without the number rule's sentence checks beyond a leading digit."""
        return self.prose(value, field, minimum=1)

    def ident(self, value: Any, field: str) -> str:
        if not isinstance(value, str) or not _ID.match(value):
            self.fail(field, f"must be a lower-case hyphenated id (got {value!r})")
            return ""
        return value

    def items(self, value: Any, field: str, *, minimum: int = 1) -> list:
        if not isinstance(value, list) or len(value) < minimum:
            self.fail(field, f"must be a list of at least {minimum} item{'s' if minimum != 1 else ''}")
            return []
        return value

    def strings(self, value: Any, field: str, *, minimum: int = 1) -> tuple[str, ...]:
        return tuple(self.prose(item, f"{field}[{i}]", minimum=1) for i, item in enumerate(self.items(value, field, minimum=minimum)))

    def date(self, value: Any, field: str) -> str:
        if isinstance(value, _dt.date):
            return value.isoformat()
        if isinstance(value, str):
            try:
                return _dt.date.fromisoformat(value).isoformat()
            except ValueError:
                pass
        self.fail(field, f"must be a date written YYYY-MM-DD (got {value!r})")
        return ""

    def source(self, value: Any, field: str, sources: dict[str, Source]) -> str:
        if value == ASSESSMENT:
            return value
        if not isinstance(value, str) or value not in sources:
            known = ", ".join(sorted(sources)) or "none declared"
            self.fail(field, f"names source {value!r}, which is not in this file's sources ({known}) "
                             f"and is not {ASSESSMENT!r} (the handbook's own assessment)")
            return ASSESSMENT
        return value


def prose_problems(text: str) -> list[str]:
    """Number-rule and scope problems in one prose field (markers and code spans are exempt)."""
    problems: list[str] = []
    bare = _CODE.sub(" ", _MARKER.sub(" ", text))
    for match in _DIGITS.finditer(bare):
        start = match.start()
        before = bare[start - 1] if start else ""
        if before.isalnum() or before == "_":
            continue
        if before in "-." and start >= 2 and (bare[start - 2].isalnum() or bare[start - 2] == "_"):
            continue
        context = bare[max(0, start - 20): match.end() + 20]
        problems.append(f"typed number {match.group()!r} in {context!r}: publish quantities with {{{{ v(\"KEY\") }}}} "
                        "markers or write small counts as words")
        break
    if "$" in bare or "€" in bare or "£" in bare or _PAY.search(bare):
        problems.append("mentions pay or a currency amount: compensation figures are out of scope for company data")
    if "{{" in text:
        for marker in _MARKER.findall(text):
            if not _MARKER_KEY.search(marker):
                problems.append(f"marker {marker!r}: only {{{{ v(\"KEY\") }}}} markers may appear in data prose")
    return problems


def marker_keys(text: str) -> list[str]:
    return _MARKER_KEY.findall(text)


# ---------------------------------------------------------------------------------------------------------------------
# Parsing


_COMPANY_FIELDS = {
    "name", "as_of", "review_lens", "summary", "roles", "emphasis", "leveling", "signature_questions", "level_deltas",
    "vocabulary", "traps", "first_five_minutes", "sized_question", "related", "sources",
}


def _sources(r: _Reader, value: Any) -> dict[str, Source]:
    found: dict[str, Source] = {}
    if value is None:
        return found
    if not isinstance(value, dict):
        r.fail("sources", "must be a mapping of source id → {url, title, as_of}")
        return found
    for key, item in value.items():
        field = f"sources.{key}"
        if key == ASSESSMENT:
            r.fail(field, f"{ASSESSMENT!r} is reserved for the handbook's own assessment")
            continue
        r.ident(key, field)
        item = r.mapping(item, field, {"url", "title", "as_of"}, {"url", "title", "as_of"})
        url = item.get("url")
        if not isinstance(url, str) or not url.startswith("https://"):
            r.fail(f"{field}.url", f"must be an https:// address (got {url!r})")
            url = ""
        title = r.prose(item.get("title"), f"{field}.title", minimum=3)
        found[key] = Source(key, url, " ".join(str(title).split()), r.date(item.get("as_of"), f"{field}.as_of"))
    return found


def parse_company(record: Any, ident: str, where: str, problems: list[str]) -> Company | None:
    start = len(problems)
    r = _Reader(where, problems)
    if not isinstance(record, dict):
        r.fail("(file)", "must be a YAML mapping")
        return None
    record = r.mapping(record, "", _COMPANY_FIELDS, _COMPANY_FIELDS - {"sources"})
    sources = _sources(r, record.get("sources"))
    name = r.word(record.get("name"), "name")
    as_of = r.date(record.get("as_of"), "as_of")
    lens = record.get("review_lens")
    if lens not in LENSES:
        r.fail("review_lens", f"must be one of {', '.join(LENSES)} (got {lens!r})")
    summary = r.prose(record.get("summary"), "summary", minimum=40)

    roles = []
    for i, item in enumerate(r.items(record.get("roles"), "roles")):
        f = f"roles[{i}]"
        item = r.mapping(item, f, {"title", "track", "note", "role", "source"}, {"title", "track", "note", "source"})
        role = item.get("role")
        if role is not None:
            r.ident(role, f"{f}.role")
        roles.append(CompanyRole(r.word(item.get("title"), f"{f}.title"), r.word(item.get("track"), f"{f}.track"),
                                 r.prose(item.get("note"), f"{f}.note"), role, r.source(item.get("source"), f"{f}.source", sources)))

    emphasis = []
    entries = r.items(record.get("emphasis"), "emphasis", minimum=3)
    if len(entries) > MAX_EMPHASIS:
        r.fail("emphasis", f"ranks at most {MAX_EMPHASIS} topics, most important first (got {len(entries)})")
    seen_topics: set[str] = set()
    for i, item in enumerate(entries):
        f = f"emphasis[{i}]"
        item = r.mapping(item, f, {"topic", "detail", "source"}, {"topic", "detail", "source"})
        topic = item.get("topic")
        if topic not in TOPICS:
            r.fail(f"{f}.topic", f"must be one of {', '.join(TOPICS)} (got {topic!r})")
        elif topic in seen_topics:
            r.fail(f"{f}.topic", f"{topic!r} is ranked twice")
        seen_topics.add(topic)
        emphasis.append(Emphasis(str(topic), r.prose(item.get("detail"), f"{f}.detail"), r.source(item.get("source"), f"{f}.source", sources)))

    leveling_raw = r.mapping(record.get("leveling"), "leveling", {"ladder", "note", "source"}, {"ladder", "note", "source"})
    ladder = tuple(r.word(x, f"leveling.ladder[{i}]") for i, x in enumerate(r.items(leveling_raw.get("ladder"), "leveling.ladder")))
    leveling = Claim(r.prose(leveling_raw.get("note"), "leveling.note"), r.source(leveling_raw.get("source"), "leveling.source", sources))

    questions = []
    for i, item in enumerate(r.items(record.get("signature_questions"), "signature_questions")):
        f = f"signature_questions[{i}]"
        keys = {"id", "title", "question", "probes", "source"}
        item = r.mapping(item, f, keys, keys)
        title = r.word(item.get("title"), f"{f}.title")
        if "{{" in title:
            r.fail(f"{f}.title", "is a heading: write it without value markers")
        questions.append(SignatureQuestion(r.ident(item.get("id"), f"{f}.id"), title, r.prose(item.get("question"), f"{f}.question", minimum=20),
                                           r.strings(item.get("probes"), f"{f}.probes", minimum=2), r.source(item.get("source"), f"{f}.source", sources)))
    question_ids = [q.id for q in questions]
    for q in set(question_ids):
        if q and question_ids.count(q) > 1:
            r.fail("signature_questions", f"id {q!r} is used twice")

    deltas = []
    for i, item in enumerate(r.items(record.get("level_deltas"), "level_deltas")):
        f = f"level_deltas[{i}]"
        keys = {"lower", "upper", "lower_bar", "upper_bar", "source"}
        item = r.mapping(item, f, keys, keys)
        lower, upper = r.word(item.get("lower"), f"{f}.lower"), r.word(item.get("upper"), f"{f}.upper")
        for side, level in (("lower", lower), ("upper", upper)):
            if level and ladder and level not in ladder:
                r.fail(f"{f}.{side}", f"level {level!r} is not on the ladder ({', '.join(ladder)})")
        deltas.append(LevelDelta(lower, upper, r.prose(item.get("lower_bar"), f"{f}.lower_bar"),
                                 r.prose(item.get("upper_bar"), f"{f}.upper_bar"), r.source(item.get("source"), f"{f}.source", sources)))

    sized_raw = r.mapping(record.get("sized_question"), "sized_question",
                          {"question", "scenarios", "derive", "widget", "widget_scenario", "narrative"},
                          {"question", "scenarios", "derive", "widget", "widget_scenario", "narrative"})
    sized_q = sized_raw.get("question")
    if questions and sized_q not in question_ids:
        r.fail("sized_question.question", f"must name one of this company's signature questions ({', '.join(question_ids)}); got {sized_q!r}")
    scenarios = tuple(r.ident(x, f"sized_question.scenarios[{i}]") for i, x in enumerate(r.items(sized_raw.get("scenarios"), "sized_question.scenarios")))
    derive = []
    for i, key in enumerate(r.items(sized_raw.get("derive"), "sized_question.derive")):
        if not isinstance(key, str) or "." not in key or key.split(".", 1)[0] not in scenarios:
            r.fail(f"sized_question.derive[{i}]", f"must be SCENARIO.FIELD for a scenario listed in sized_question.scenarios (got {key!r})")
        derive.append(str(key))
    widget = sized_raw.get("widget")
    if widget not in WIDGET_CALCULATIONS:
        r.fail("sized_question.widget", f"must be a calculator widget: {', '.join(WIDGET_CALCULATIONS)} (got {widget!r})")
    # The preset the calculator opens: one of the question's scenarios, or one of the calculator's own calculation
    # that mirrors it (a calculator cannot open another calculation's inputs it has no field for).
    widget_scenario = sized_raw.get("widget_scenario")
    if not isinstance(widget_scenario, str) or not widget_scenario:
        r.fail("sized_question.widget_scenario", f"must name a scenario (got {widget_scenario!r})")
    sized = SizedQuestion(str(sized_q), scenarios, tuple(derive), str(widget), str(widget_scenario),
                          r.prose(sized_raw.get("narrative"), "sized_question.narrative", minimum=40))

    related = r.mapping(record.get("related"), "related", {"chapters", "transcripts"}, {"chapters", "transcripts"})
    chapters = tuple(r.items(related.get("chapters"), "related.chapters"))
    for i, chapter in enumerate(chapters):
        if not isinstance(chapter, str) or not chapter.endswith(".md") or chapter.startswith("/"):
            r.fail(f"related.chapters[{i}]", f"must be a docs/-relative page path ending in .md (got {chapter!r})")
    transcripts_raw = related.get("transcripts")
    if transcripts_raw is None:
        transcripts_raw = []
    if not isinstance(transcripts_raw, list):
        r.fail("related.transcripts", "must be a list of transcript ids (an empty list when none fits yet)")
        transcripts_raw = []
    transcripts = tuple(r.ident(x, f"related.transcripts[{i}]") for i, x in enumerate(transcripts_raw))

    company = Company(
        id=ident, name=name, as_of=as_of, review_lens=str(lens), summary=summary, roles=tuple(roles),
        emphasis=tuple(emphasis), leveling=leveling, ladder=ladder, signature_questions=tuple(questions),
        level_deltas=tuple(deltas), vocabulary=r.strings(record.get("vocabulary"), "vocabulary", minimum=3),
        traps=r.strings(record.get("traps"), "traps", minimum=2),
        first_five_minutes=r.strings(record.get("first_five_minutes"), "first_five_minutes", minimum=3), sized=sized,
        chapters=tuple(str(c) for c in chapters), transcripts=transcripts, sources=sources, path=where,
    )
    unused = set(sources) - _cited(company)
    for key in sorted(unused):
        r.fail(f"sources.{key}", "is declared but no claim cites it")
    return company if len(problems) == start else None


def _cited(company: Company) -> set[str]:
    cited = {role.source for role in company.roles} | {e.source for e in company.emphasis} | {company.leveling.source}
    cited |= {q.source for q in company.signature_questions} | {d.source for d in company.level_deltas}
    return cited


def _rounds(r: _Reader, value: Any, field: str) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    value = r.mapping(value, field, set(ROUND_TYPES), {"system_design", "coding"})
    for key, span in value.items():
        if key not in ROUND_TYPES:
            continue
        if isinstance(span, int) and not isinstance(span, bool):
            span = [span, span]
        if (not isinstance(span, list) or len(span) != 2 or not all(isinstance(x, int) and not isinstance(x, bool) for x in span)
                or not 0 <= span[0] <= span[1] <= 6):
            r.fail(f"{field}.{key}", f"must be a count or [fewest, most] between 0 and 6 (got {span!r})")
            continue
        found[key] = (span[0], span[1])
    return found


def parse_roles(record: Any, where: str, problems: list[str]) -> Roles | None:
    start = len(problems)
    r = _Reader(where, problems)
    record = r.mapping(record, "", {"as_of", "sources", "roles"}, {"as_of", "roles"})
    sources = _sources(r, record.get("sources"))
    as_of = r.date(record.get("as_of"), "as_of")
    roles = []
    keys = {"id", "title", "era", "summary", "day_to_day", "rounds", "design_focus", "prepare", "pitfalls", "companies",
            "chapters", "source"}
    for i, item in enumerate(r.items(record.get("roles"), "roles")):
        f = f"roles[{i}]"
        item = r.mapping(item, f, keys, keys - {"companies"})
        era = item.get("era")
        if era not in ROLE_ERAS:
            r.fail(f"{f}.era", f"must be one of {', '.join(ROLE_ERAS)} (got {era!r})")
        companies = tuple(r.ident(x, f"{f}.companies[{j}]") for j, x in enumerate(item.get("companies") or []))
        chapters = tuple(r.items(item.get("chapters"), f"{f}.chapters"))
        for j, chapter in enumerate(chapters):
            if not isinstance(chapter, str) or not chapter.endswith(".md"):
                r.fail(f"{f}.chapters[{j}]", f"must be a docs/-relative page path ending in .md (got {chapter!r})")
        roles.append(Role(
            id=r.ident(item.get("id"), f"{f}.id"), title=r.word(item.get("title"), f"{f}.title"), era=str(era),
            summary=r.prose(item.get("summary"), f"{f}.summary", minimum=40),
            day_to_day=r.prose(item.get("day_to_day"), f"{f}.day_to_day", minimum=40),
            rounds=_rounds(r, item.get("rounds"), f"{f}.rounds"),
            design_focus=r.prose(item.get("design_focus"), f"{f}.design_focus"),
            prepare=r.strings(item.get("prepare"), f"{f}.prepare", minimum=2),
            pitfalls=r.strings(item.get("pitfalls"), f"{f}.pitfalls", minimum=1),
            companies=companies, chapters=tuple(str(c) for c in chapters),
            source=r.source(item.get("source"), f"{f}.source", sources),
        ))
    ids = [role.id for role in roles]
    for ident in sorted({i for i in ids if ids.count(i) > 1}):
        r.fail("roles", f"id {ident!r} is used twice")
    used = {role.source for role in roles}
    for key in sorted(set(sources) - used):
        r.fail(f"sources.{key}", "is declared but no role cites it")
    return Roles(as_of, tuple(roles), sources, where) if len(problems) == start else None


def _load_yaml(path: Path, where: str, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        problems.append(f"{where}: (file): not valid YAML ({' '.join(str(error).split())})")
    except OSError as error:
        problems.append(f"{where}: (file): cannot be read ({error})")
    return None


def load(root: Path, *, check_references: bool = True) -> Data:
    """Read and validate every company file and the roles file under ``root/companies``; raise CompanyDataError."""
    folder = root / COMPANIES_DIR
    problems: list[str] = []
    companies: list[Company] = []
    for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
        if path.name in (ROLES_FILE, "roles.yml"):
            continue
        where = f"{COMPANIES_DIR}/{path.name}"
        ident = path.stem
        if not _ID.match(ident):
            problems.append(f"{where}: (file): the file name is the company id and must be lower-case and hyphenated")
            continue
        record = _load_yaml(path, where, problems)
        if record is not None or not problems or not problems[-1].startswith(where):
            company = parse_company(record, ident, where, problems)
            if company:
                companies.append(company)
    roles_path = folder / ROLES_FILE
    roles = None
    if not roles_path.is_file():
        problems.append(f"{COMPANIES_DIR}/{ROLES_FILE}: (file): missing; the role taxonomy lives there")
    else:
        where = f"{COMPANIES_DIR}/{ROLES_FILE}"
        record = _load_yaml(roles_path, where, problems)
        if record is not None:
            roles = parse_roles(record, where, problems)
    if not problems and roles is not None and check_references:
        problems.extend(reference_problems(root, companies, roles))
    if problems:
        raise CompanyDataError(problems)
    assert roles is not None
    return Data(tuple(companies), roles)


# ---------------------------------------------------------------------------------------------------------------------
# Cross-references: chapters, scenarios, value keys, widgets, transcripts, roles


def calculator_specs(root: Path) -> dict[str, Any]:
    """The calculator specs that exist (``widgets/calculators/*.json``), by widget name."""
    from . import calculators

    folder = root / "widgets" / "calculators"
    return calculators.load_specs(folder) if folder.is_dir() else {}


def known_widgets(root: Path) -> dict[str, tuple[str, ...]]:
    """Calculator widgets and their calculations: the specs that exist, plus the shared names still to land."""
    found = {name: (spec.calculation,) for name, spec in calculator_specs(root).items()}
    for name, calcs in WIDGET_CALCULATIONS.items():
        found.setdefault(name, calcs)
    return found


def known_transcripts(root: Path) -> set[str] | None:
    """Transcript ids (``transcripts/<id>.yaml``), or None while no transcript exists yet."""
    folder = root / "transcripts"
    ids = {p.stem for p in folder.glob("*.yaml")} | {p.stem for p in folder.glob("*.yml")} if folder.is_dir() else set()
    return ids or None


def reference_problems(root: Path, companies: list[Company] | tuple[Company, ...], roles: Roles) -> list[str]:
    from sizing import scenarios as scenario_data
    from sizing.values import evaluate

    problems: list[str] = []
    docs = root / "docs"
    builtin = scenario_data.builtin()
    specs = calculator_specs(root)
    widgets = known_widgets(root)
    transcripts = known_transcripts(root)
    role_ids = {role.id for role in roles.roles}
    company_ids = {c.id for c in companies}

    def check_key(where: str, field: str, key: str) -> None:
        try:
            evaluate(key)
        except Exception as error:  # any failure to evaluate is a dangling reference
            problems.append(f"{where}: {field}: value {key!r} does not evaluate ({error})")

    for c in companies:
        for i, chapter in enumerate(c.chapters):
            if not (docs / chapter).is_file():
                problems.append(f"{c.path}: related.chapters[{i}]: no page docs/{chapter}")
        for i, ident in enumerate(c.transcripts):
            if transcripts is not None and ident not in transcripts:
                problems.append(f"{c.path}: related.transcripts[{i}]: no transcript transcripts/{ident}.yaml")
        for i, name in enumerate(c.sized.scenarios):
            if name not in builtin:
                problems.append(f"{c.path}: sized_question.scenarios[{i}]: no scenario {name!r} in widgets/sizing/data/scenarios")
        for i, key in enumerate(c.sized.derive):
            check_key(c.path, f"sized_question.derive[{i}]", key)
        scenario = builtin.get(c.sized.widget_scenario)
        if scenario is None:
            problems.append(f"{c.path}: sized_question.widget_scenario: no scenario {c.sized.widget_scenario!r} in "
                            "widgets/sizing/data/scenarios")
        spec = specs.get(c.sized.widget)
        calcs = widgets.get(c.sized.widget)
        if spec is not None and scenario is not None:
            # the calculator exists: it must be able to open the scenario (every input a field or its fixed value)
            from . import calculators

            try:
                calculators.preset_query(spec, scenario, builtin[spec.scenario])
            except (ValueError, KeyError) as error:
                problems.append(f"{c.path}: sized_question.widget_scenario: the {c.sized.widget} calculator cannot open "
                                f"{scenario.name!r} ({error})")
        elif calcs is None:
            problems.append(f"{c.path}: sized_question.widget: no calculator widget {c.sized.widget!r}")
        elif scenario is not None and calcs and scenario.calculation not in calcs:
            problems.append(f"{c.path}: sized_question.widget_scenario: {scenario.name!r} runs {scenario.calculation!r} but the "
                            f"{c.sized.widget} calculator runs {', '.join(calcs)}")
        for field, text in _prose_fields(c):
            for key in marker_keys(text):
                check_key(c.path, field, key)
        for i, role in enumerate(c.roles):
            if role.role is not None and role.role not in role_ids:
                problems.append(f"{c.path}: roles[{i}].role: no role {role.role!r} in {COMPANIES_DIR}/{ROLES_FILE}")
        if len(_values_on_page(c)) < 3:
            problems.append(f"{c.path}: sized_question: the page must show at least three values (derive keys plus narrative markers)")
    for i, role in enumerate(roles.roles):
        for j, ident in enumerate(role.companies):
            if ident not in company_ids:
                problems.append(f"{roles.path}: roles[{i}].companies[{j}]: no company file {COMPANIES_DIR}/{ident}.yaml")
        for j, chapter in enumerate(role.chapters):
            if not (docs / chapter).is_file():
                problems.append(f"{roles.path}: roles[{i}].chapters[{j}]: no page docs/{chapter}")
    return problems


def _prose_fields(c: Company) -> list[tuple[str, str]]:
    fields = [("summary", c.summary), ("sized_question.narrative", c.sized.narrative), ("leveling.note", c.leveling.text)]
    fields += [(f"emphasis[{i}].detail", e.detail) for i, e in enumerate(c.emphasis)]
    fields += [(f"first_five_minutes[{i}]", t) for i, t in enumerate(c.first_five_minutes)]
    fields += [(f"traps[{i}]", t) for i, t in enumerate(c.traps)]
    return fields


def _values_on_page(c: Company) -> set[str]:
    keys = set(c.sized.derive)
    for _, text in _prose_fields(c):
        keys.update(marker_keys(text))
    return keys
