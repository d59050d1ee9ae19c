"""Pages generated from the company and role data (``companies/*.yaml``, ``companies/roles.yaml``).

* ``companies/index.md`` — the comparison matrix (emphasis by company, computed from each file's ranked list) and
  the sized signature question of every company;
* ``companies/<id>.md`` — one page per company, its signature question sized by the model (derivations, the
  scenario's inputs, a link that opens the matching calculator);
* ``companies/lenses.md`` — which review lens an interviewer is holding, and how to adapt the first minutes;
* ``roles/index.md`` and ``roles/<id>.md`` — the role taxonomy and how each loop differs.

Numbers reach these pages only through markers (``{{ v() }}``, ``{{ derive() }}``, ``{{ inputs() }}``), which the
build renders from the model like any authored page; dates are shown as code. Nothing is written into ``docs/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from . import companies as data
from .companies import Company, Data, Role
from .pages import PageSource

_WORDS = ("none", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty")
_RANK_MARKS = ("●●●", "●●○", "●○○")  # first, second, third; lower ranks get a faint mark
_LOWER_MARK = "○○○"
_SHORT_TOPICS = {
    "inference-internals": "Inference", "safety-evaluation": "Safety & eval", "distributed-systems": "Distributed",
    "scale-isolation": "Scale & isolation", "cost-efficiency": "Cost", "enterprise-compliance": "Compliance",
    "reliability-correctness": "Reliability", "data-platform": "Data platform", "retrieval": "Retrieval",
    "experimentation": "Experiments", "latency-context": "Latency & context", "execution-security": "Exec security",
    "open-ecosystem": "Open ecosystem",
}
_COUNT_LABELS = {"max_concurrency": "sequences at once", "replicas": "replicas", "chunks": "chunks"}
_FRONT_TITLE = re.compile(r"^title:\s*[\"']?(.+?)[\"']?\s*$", re.MULTILINE)
_HEADING = re.compile(r"^#\s+(.+?)\s*$", re.MULTILINE)


def words(n: int) -> str:
    """A small count as a word (the number rule); larger counts never occur in these pages."""
    if not 0 <= n < len(_WORDS):
        raise ValueError(f"count {n} is too large to write as a word")
    return _WORDS[n]


def span_words(low: int, high: int) -> str:
    if low == high:
        return words(low)
    return f"up to {words(high)}" if low == 0 else f"{words(low)} to {words(high)}"


def headline(key: str) -> str:
    """``{{ v(KEY) }}``, followed by what it counts when the formatted value carries no unit of its own."""
    from sizing.values import evaluate

    value = evaluate(key)
    marker = f'{{{{ v("{key}") }}}}'
    if any(ch.isalpha() for ch in value.text()):
        return marker
    label = _COUNT_LABELS.get(value.field, value.field.replace("_", " "))
    return f"{marker} {label}"


def _calc_link_ready(root: Path, widget: str) -> bool:
    """Whether ``calc_link`` can render: the marker exists and the widget's spec is in widgets/calculators/."""
    from . import markers

    return "calc_link" in markers.FUNCTIONS and widget in data.calculator_specs(root)


def _page_title(root: Path, chapter: str) -> str:
    path = root / "docs" / chapter
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    front = _FRONT_TITLE.search(text.split("\n---", 1)[0]) if text.startswith("---") else None
    if front:
        return front.group(1)
    heading = _HEADING.search(text)
    return heading.group(1) if heading else chapter


def _lower_first(text: str) -> str:
    """Lower-case the first letter of a sentence-case title, leaving an acronym ("KV cache") alone."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first[1].isupper():
        return text
    return text[0].lower() + text[1:]


def _escape_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _front(title: str, description: str) -> str:
    return f'---\ntitle: "{title}"\ndescription: "{description}"\n---\n\n'


# ---------------------------------------------------------------------------------------------------------------------
# Sources as footnotes (footnote markers are outside the number rule; dates are code)


class _Notes:
    def __init__(self, owner: Company | data.Roles):
        self.owner = owner
        self.used: list[str] = []

    def ref(self, source: str) -> str:
        if source not in self.used:
            self.used.append(source)
        return f"[^{source}]"

    def block(self) -> str:
        lines = []
        for source in self.used:
            if source == data.ASSESSMENT:
                lines.append(f"[^{source}]: The handbook's assessment, as of `{self.owner.as_of}`; "
                             "no public source states it.")
            else:
                item = self.owner.sources[source]
                lines.append(f"[^{source}]: [{item.title}]({item.url}), checked `{item.as_of}`.")
        return "\n".join(lines) + "\n" if lines else ""


def _widget_link(root: Path, company: Company) -> str:
    widget, scenario = company.sized.widget, company.sized.widget_scenario
    if _calc_link_ready(root, widget):
        return f'To explore around these numbers, {{{{ calc_link("{widget}", "{scenario}") }}}}.'
    page = data.WIDGET_PAGES.get(widget)
    if page and (root / "docs" / page).is_file():
        return f"[Open the calculator](../{page}) and set it to the scenario `{scenario}`."
    return f"The `{widget}` calculator opens this scenario as `{scenario}`."


# ---------------------------------------------------------------------------------------------------------------------
# Company pages


def company_page(root: Path, c: Company, d: Data) -> str:
    notes = _Notes(c)
    lens = data.LENSES[c.review_lens]
    roles_by_id = {role.id: role for role in d.roles.roles}
    out = [_front(c.name, f"What {c.name} emphasises in LLM system design interviews, how it levels, and its signature question sized by the model.")]
    out.append(f"# {c.name}\n\n{c.summary}\n\n")
    out.append(f'!!! abstract "Lens: {lens["title"].lower()}"\n\n'
               f"    Interviewers here usually review a design through the **{lens['title'].lower()}** lens. "
               f"[How to recognise it and adapt the first minutes](lenses.md#{c.review_lens}); "
               f'<a class="hb-calc-link" href="../../calculators/design-review/?lens={c.review_lens}">have a design '
               f"reviewed through it</a>. Signals as of `{c.as_of}`.\n\n")

    out.append("## What they emphasise\n\nMost important first.\n\n")
    for i, e in enumerate(c.emphasis):
        out.append(f"{i + 1}. **{data.TOPICS[e.topic]}.** {e.detail}{notes.ref(e.source)}\n")
    out.append("\n## Roles and tracks\n\n| Role | Track | What to expect | Role guide |\n|---|---|---|---|\n")
    for role in c.roles:
        guide = f"[{roles_by_id[role.role].title}](../roles/{role.role}.md)" if role.role else "—"
        out.append(f"| {_escape_cell(role.title)} | {_escape_cell(role.track)} | {_escape_cell(role.note)}{notes.ref(role.source)} | {guide} |\n")

    out.append("\n## Levels\n\n")
    out.append("Ladder: " + " → ".join(f"**{level}**" for level in c.ladder) + ". ")
    out.append(f"{c.leveling.text}{notes.ref(c.leveling.source)}\n\n")
    for delta in c.level_deltas:
        out.append(f"### {delta.lower} versus {delta.upper}\n\n")
        out.append(f"- **{delta.lower}:** {delta.lower_bar}\n- **{delta.upper}:** {delta.upper_bar}{notes.ref(delta.source)}\n\n")

    out.append("## Signature questions\n\n")
    for q in c.signature_questions:
        sized = " (sized below)" if q.id == c.sized.question else ""
        out.append(f'### {q.title}{sized} {{ #{q.id} }}\n\n> {q.question}{notes.ref(q.source)}\n\nWhat it probes:\n\n')
        out.extend(f"- {probe}\n" for probe in q.probes)
        out.append("\n")

    out.append(sized_section(root, c))

    out.append("## Vocabulary to use\n\n" + ", ".join(f"*{term}*" for term in c.vocabulary) + ".\n\n")
    out.append("## Traps\n\n" + "".join(f"- {trap}\n" for trap in c.traps) + "\n")
    out.append("## The first five minutes\n\n" + "".join(f"{i + 1}. {step}\n" for i, step in enumerate(c.first_five_minutes)) + "\n")

    out.append("## Related\n\n")
    out.extend(f"- [{_page_title(root, chapter)}](../{chapter})\n" for chapter in c.chapters)
    transcripts = data.known_transcripts(root) or set()
    for ident in c.transcripts:
        out.append(f"- Mock interview: [{ident}](../transcripts/{ident}.md)\n" if ident in transcripts else f"- Mock interview `{ident}`\n")
    out.append(f"- [All companies compared](index.md) · [Which lens is the interviewer holding?](lenses.md)\n\n")
    out.append(notes.block())
    return "".join(out)


def sized_section(root: Path, c: Company) -> str:
    q = c.question(c.sized.question)
    out = [f"## The signature question, sized {{ #sized }}\n\n"
           f"The numbers behind [{_lower_first(q.title)}](#{q.id}), computed by the model from the "
           f"declared inputs below.\n\n{c.sized.narrative}\n\n"]
    for key in c.sized.derive:
        out.append(f'{{{{ derive("{key}") }}}}\n\n')
    for name in c.sized.scenarios:
        out.append(f'??? info "Inputs of `{name}` and their sources"\n\n    {{{{ inputs("{name}") }}}}\n\n')
    out.append(f"{_widget_link(root, c)}\n\n")
    return "".join(out)


# ---------------------------------------------------------------------------------------------------------------------
# Index, lenses


def emphasis_matrix(companies: tuple[Company, ...]) -> tuple[list[str], list[tuple[Company, list[str]]]]:
    """Topics that any company ranks (most-ranked first) and, per company, a mark per topic from its rank."""
    weight: dict[str, int] = {}
    for c in companies:
        for rank, e in enumerate(c.emphasis):
            weight[e.topic] = weight.get(e.topic, 0) + (data.MAX_EMPHASIS - rank)
    topics = sorted(weight, key=lambda t: (-weight[t], list(data.TOPICS).index(t)))
    rows = []
    for c in companies:
        ranks = {e.topic: i for i, e in enumerate(c.emphasis)}
        rows.append((c, [_mark(ranks.get(t)) for t in topics]))
    return topics, rows


def _mark(rank: int | None) -> str:
    if rank is None:
        return ""
    return _RANK_MARKS[rank] if rank < len(_RANK_MARKS) else _LOWER_MARK


def index_page(root: Path, d: Data) -> str:
    topics, rows = emphasis_matrix(d.companies)
    first = {}
    for c in d.companies:
        first.setdefault(c.emphasis[0].topic, []).append(c)
    out = [_front("Companies", f"How {words(len(d.companies))} companies weigh the same LLM design question differently, computed from the company files.")]
    out.append("# Companies\n\n")
    out.append(f"The same design question is judged differently at each company. These {words(len(d.companies))} pages "
               "collect, for each one, what its interviewers emphasise, how it levels, its signature questions and what "
               "to say first, and each page sizes its signature question with the model, so the numbers you bring are "
               "computed, not remembered. Read the pages for the companies you target; skim the matrix for the pattern.\n\n")
    out.append("## Emphasis by company\n\nEach company file ranks the topics its interviewers press hardest. "
               "●●● is first, ●●○ second, ●○○ third, ○○○ further down; columns are ordered by how much weight all the "
               "companies together give the topic. Each company's usual review lens is on its page and in "
               "[the lens guide](lenses.md).\n\n")
    out.append('<div class="hb-matrix" markdown>\n\n')
    out.append("| Company | " + " | ".join(_SHORT_TOPICS[t] for t in topics) + " |\n")
    out.append("|---|" + "|".join(":-:" for _ in topics) + "|\n")
    for c, marks in rows:
        out.append(f"| [{c.name}]({c.id}.md) | " + " | ".join(marks) + " |\n")
    out.append("\n</div>\n\n")
    shared = [(t, cs) for t, cs in sorted(first.items(), key=lambda kv: (-len(kv[1]), list(data.TOPICS).index(kv[0]))) if len(cs) > 1]
    alone = sum(1 for cs in first.values() if len(cs) == 1)
    if shared:
        parts = [f"**{data.TOPICS[t].lower()}** leads at {words(len(cs))} ({' and '.join(c.name for c in cs)})" for t, cs in shared]
        out.append("Read down the first marks: " + "; ".join(parts) + f". Each of the other {words(alone)} companies "
                   "leads with a topic of its own, which is why the same generic answer lands differently at each.\n\n")
    out.append("## Signature questions, sized\n\n| Company | Question | Sized with | One number |\n|---|---|---|---|\n")
    for c in d.companies:
        q = c.question(c.sized.question)
        key = c.sized.derive[0]
        out.append(f"| [{c.name}]({c.id}.md#sized) | {_escape_cell(q.title)} | "
                   f"`{'`, `'.join(c.sized.scenarios)}` | {headline(key)} |\n")
    out.append("\nEach number is computed from the scenario's declared inputs; the company page shows the derivation "
               "and the inputs with their sources. See also [the role taxonomy](../roles/index.md) and "
               "[which lens an interviewer is holding](lenses.md).\n")
    return "".join(out)


def lenses_page(root: Path, d: Data) -> str:
    out = [_front("Which lens is this interviewer holding?", "Recognise the review lens behind an interviewer's first questions and adapt the first minutes of your answer.")]
    out.append("# Which lens is this interviewer holding?\n\n")
    out.append("Interviewers review the same design through different lenses: one wants the cost per call, another the "
               "tail latency, a third the audit trail. The lens rarely changes the skeleton of a good answer, but it "
               "changes what you say first and where you spend the deep dive. Listen to the first two follow-ups, match "
               "them to a lens below, and lead with the numbers that lens cares about. The companies listed hold the "
               "lens most often; any interviewer may hold any lens. For the general method see "
               f"[three lenses: token flow, compute, safety](../frameworks/lenses.md).\n\n")
    by_lens: dict[str, list[Company]] = {}
    for c in d.companies:
        by_lens.setdefault(c.review_lens, []).append(c)
    for ident, lens in data.LENSES.items():
        holders = by_lens.get(ident, [])
        out.append(f"## {lens['title']} {{ #{ident} }}\n\n")
        out.append(f"**How to tell.** {lens['tell']}\n\n**Open with.** {lens['open_with']}\n\n**Avoid.** {lens['avoid']}\n\n")
        if holders:
            out.append(f"**Usually held at** {words(len(holders))} of the companies here. A number each would expect you to bring:\n\n")
            for c in holders:
                key = c.sized.derive[0]
                q = c.question(c.sized.question)
                out.append(f"- [{c.name}]({c.id}.md#sized): {_lower_first(q.title)} — {headline(key)}\n")
            out.append("\n")
        else:
            out.append("No company in these pages holds this lens most often, but interviewers anywhere may.\n\n")
    return "".join(out)


# ---------------------------------------------------------------------------------------------------------------------
# Roles


def _role_companies(role: Role, d: Data) -> list[Company]:
    linked = set(role.companies) | {c.id for c in d.companies if any(r.role == role.id for r in c.roles)}
    return [c for c in d.companies if c.id in linked]


def roles_index(root: Path, d: Data) -> str:
    out = [_front("Roles", "The role taxonomy: how the interview loop differs for ML engineers, systems engineers, scientists and the LLM-era roles.")]
    out.append("# Roles\n\n")
    out.append("Titles that look alike on a job description lead to different loops. The table counts the rounds of each "
               "type in a typical onsite loop, and the list below it says what the design round focuses on; the role pages add what to "
               "prepare and the companies that hire for each. Counts vary by company and level: treat them as the "
               f"handbook's assessment, as of `{d.roles.as_of}`, and confirm with your recruiter.\n\n")
    kinds = list(data.ROUND_TYPES)
    for era, heading in (("classic", "Established roles"), ("llm", "Roles of the LLM era")):
        roles = [r for r in d.roles.roles if r.era == era]
        if not roles:
            continue
        out.append(f"## {heading}\n\n")
        out.append('<div class="hb-loops" markdown>\n\n| Role | ' + " | ".join(data.ROUND_TYPES[k] for k in kinds) + " |\n")
        out.append("|---|" + "|".join(":-:" for _ in kinds) + "|\n")
        for r in roles:
            cells = [span_words(*r.rounds[k]) if k in r.rounds else "none" for k in kinds]
            out.append(f"| [{r.title}]({r.id}.md) | " + " | ".join(cells) + " |\n")
        out.append("\n</div>\n\nWhat the design round focuses on:\n\n")
        out.extend(f"- **{r.title}:** {_lower_first(r.design_focus)}\n" for r in roles)
        out.append("\n")
    out.append("See also [the companies](../companies/index.md) and [level expectations](../interview/levels.md).\n")
    return "".join(out)


def role_page(root: Path, r: Role, d: Data) -> str:
    notes = _Notes(d.roles)
    out = [_front(r.title, f"What the {r.title.lower()} loop looks like, what its design round focuses on, and how to prepare.")]
    out.append(f"# {r.title}\n\n{r.summary}{notes.ref(r.source)}\n\n")
    out.append(f"**Day to day.** {r.day_to_day}\n\n")
    out.append("## The loop\n\n| Round | How many |\n|---|---|\n")
    for kind, label in data.ROUND_TYPES.items():
        if kind in r.rounds:
            out.append(f"| {label} | {span_words(*r.rounds[kind])} |\n")
    out.append(f"\n**Design round focus.** {r.design_focus}\n\n")
    out.append("## Prepare\n\n" + "".join(f"- {item}\n" for item in r.prepare) + "\n")
    out.append("## Pitfalls\n\n" + "".join(f"- {item}\n" for item in r.pitfalls) + "\n")
    hiring = _role_companies(r, d)
    if hiring:
        out.append("## Where this loop runs\n\n")
        for c in hiring:
            titles = [role.title for role in c.roles if role.role == r.id]
            detail = f" ({'; '.join(titles)})" if titles else ""
            lens = data.LENSES[c.review_lens]["title"].lower()
            out.append(f"- [{c.name}](../companies/{c.id}.md){detail}, usually reviewed through the {lens} lens\n")
        out.append("\n")
    out.append("## Read next\n\n")
    out.extend(f"- [{_page_title(root, chapter)}](../{chapter})\n" for chapter in r.chapters)
    out.append("- [All roles](index.md)\n\n")
    out.append(notes.block())
    return "".join(out)


# ---------------------------------------------------------------------------------------------------------------------


def generate(root: Path) -> Iterator[PageSource]:
    """Every company and role page; no pages while ``companies/`` holds no data (a fresh checkout of the model only)."""
    folder = root / data.COMPANIES_DIR
    if not folder.is_dir() or not any(folder.glob("*.yaml")):
        return
    d = data.load(root)
    yield PageSource("companies/index.md", index_page(root, d))
    yield PageSource("companies/lenses.md", lenses_page(root, d))
    for c in d.companies:
        yield PageSource(f"companies/{c.id}.md", company_page(root, c, d))
    yield PageSource("roles/index.md", roles_index(root, d))
    for r in d.roles.roles:
        yield PageSource(f"roles/{r.id}.md", role_page(root, r, d))
