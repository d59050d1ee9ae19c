"""Study-group exports written with the site: Anki cards, ``llms.txt`` and a plain-Markdown copy of every page.

* ``exports/anki.csv``: one card per question (front: the question, back: its full answer as HTML; tags by track and
  difficulty) and per quiz item. Anki's file headers (``#separator``, ``#html``, ``#columns``, ``#tags column``) let
  *File → Import* map the columns without questions.
* ``<page>/index.md`` next to each page's ``index.html``: the page's Markdown with every value marker replaced by the
  text the page shows, and derivation and inputs blocks as plain text and tables.
* ``llms.txt`` (llmstxt.org): the site's title and summary, then one link per page to its Markdown copy, grouped by
  the navigation's sections.

Pure functions; ``sitegen.build`` feeds them the pages as the build renders them.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import dataclass

from bs4 import BeautifulSoup, NavigableString, Tag

ANKI_FILE = "exports/anki.csv"
LLMS_FILE = "llms.txt"
ANKI_COLUMNS = ("Front", "Back", "Tags")
QUESTION_ID = re.compile(r"^q-(?P<track>[a-z]+(?:-[a-z]+)*)-\d{3}$")
_VALUE_SPAN = re.compile(r'<span class="hb-value"[^>]*>(.*?)</span>', re.S)


@dataclass(frozen=True)
class Card:
    front: str  # HTML
    back: str  # HTML
    tags: tuple[str, ...]
    anchor: str  # the question's id, or the quiz heading's id with the item's number
    page: str  # the page's URL (site-relative)


# ----------------------------------------------------------------------------------------------------------------------
# Plain Markdown

def _block_text(block_html: str) -> str:
    """A derivation, inputs, measurements or calculator block as plain Markdown."""
    soup = BeautifulSoup(block_html, "html.parser")
    widget = soup.select_one("[data-widget][data-config]")
    if widget is not None:  # a calculator at its default setting: its results, then its arithmetic
        results = widget.select_one("table.hb-widget__outputs")
        parts = [_block_text(str(results))] if results is not None else []
        parts += [_block_text(str(d)) for d in widget.select(".hb-derivation")]
        return "\n\n".join(parts)
    derivation = soup.select_one(".hb-derivation")
    if derivation is not None:
        quantity = derivation.select_one(".hb-derivation__quantity")
        rows = [(dt.get_text(" ", strip=True), dd.get_text(" ", strip=True))
                for dt, dd in zip(derivation.find_all("dt"), derivation.find_all("dd"))]
        width = max((len(name) for name, _ in rows), default=0)
        lines = [quantity.get_text(" ", strip=True)] if quantity else []
        lines += [f"{name.ljust(width)}  {text}" for name, text in rows]
        return "```text\n" + "\n".join(lines) + "\n```"
    table = soup.find("table")
    if table is not None:
        rows = [[cell.get_text(" ", strip=True).replace("|", "\\|") for cell in row.find_all(["th", "td"])]
                for row in table.find_all("tr")]
        rows = [row for row in rows if row]
        if rows:
            out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
            out += ["| " + " | ".join(row) + " |" for row in rows[1:]]
            return "\n".join(out)
    return soup.get_text(" ", strip=True)


def plain_markdown(markdown: str, blocks: dict[str, str]) -> str:
    """A page's rendered Markdown with value spans reduced to their text and block placeholders to plain blocks."""
    text = _VALUE_SPAN.sub(lambda m: html.unescape(m.group(1)), markdown)
    lines = []
    for line in text.split("\n"):
        token = next((t for t in blocks if t in line), None)
        if token is None:
            lines.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        lines.extend((indent + piece) if piece else "" for piece in _block_text(blocks[token]).split("\n"))
    lines += ["## Optional", "",
              f"- [Question cards]({ANKI_FILE}): every question and quiz item with its answer, as CSV for Anki",
              "- [The whole handbook as one PDF](handbook.pdf): built by `make pdf`", ""]
    return "\n".join(lines).rstrip() + "\n"


# ----------------------------------------------------------------------------------------------------------------------
# Anki cards

def _clean(fragment: Tag) -> str:
    """HTML for a card: links and value spans reduced to their text (relative links break inside Anki)."""
    for element in fragment.select("a.headerlink, .hb-copy-link"):
        element.decompose()
    for element in fragment.find_all(["a", "span", "abbr"]):
        element.unwrap()
    for element in fragment.find_all(True):
        for attribute in ("id", "title", "data-key", "data-value", "data-kind", "data-difficulty", "href"):
            element.attrs.pop(attribute, None)
    return "".join(str(child) for child in fragment.children).strip()


def _answer_of(details: Tag) -> str:
    summary = details.find("summary")
    if summary is not None:
        summary.decompose()
    return _clean(details)


def _text_of(tag: Tag) -> str:
    copy = BeautifulSoup(str(tag), "html.parser")
    for element in copy.select("a.headerlink"):
        element.decompose()
    return " ".join(copy.get_text(" ", strip=True).split()).replace(" ?", "?").replace(" .", ".").replace(" ,", ",")


def cards_from_page(page_html: str, page_url: str, page_title: str) -> list[Card]:
    """The questions (headings with ``data-difficulty`` and a ``q-`` id) and quiz items of one page's content."""
    soup = BeautifulSoup(page_html, "html.parser")
    cards: list[Card] = []
    for heading in soup.find_all(attrs={"data-difficulty": True}):
        match = QUESTION_ID.match(heading.get("id", ""))
        if heading.name not in ("h2", "h3", "h4") or match is None:
            continue
        details = None
        for sibling in heading.find_next_siblings():
            if sibling.name in ("h1", "h2", "h3", "h4"):
                break
            if sibling.name == "details":
                details = sibling
                break
        if details is None:
            continue
        track, difficulty = match.group("track"), heading["data-difficulty"]
        cards.append(Card(front=html.escape(_text_of(heading)), back=_answer_of(details),
                          tags=(f"track::{track}", f"difficulty::{difficulty}", "type::question"),
                          anchor=heading["id"], page=page_url))
    for heading in soup.find_all(["h2", "h3"], id=re.compile(r"^quiz-")):
        listing = heading.find_next_sibling()
        if listing is None or listing.name != "ol":
            continue
        track = page_url.strip("/").split("/")[0] or "home"  # the page's track folder ("fine-tuning")
        for number, item in enumerate(listing.find_all("li", recursive=False), start=1):
            details = item.find("details")
            if details is None:
                continue
            details.extract()
            question = _clean(item)
            cards.append(Card(front=question, back=_answer_of(details),
                              tags=(f"track::{track}", "type::quiz"),
                              anchor=f"{heading['id']}-{number}", page=page_url))
    return cards


def anki_csv(cards: list[Card], site_name: str) -> str:
    """Cards as a CSV file Anki imports (HTML fields; the third column is the tags, space-separated)."""
    out = io.StringIO()
    out.write("#separator:Comma\n#html:true\n#columns:" + ",".join(ANKI_COLUMNS) + "\n#tags column:3\n")
    writer = csv.writer(out, lineterminator="\n")
    for card in cards:
        source = f'<p class="source">{html.escape(site_name)}: {html.escape(card.page)}#{html.escape(card.anchor)}</p>'
        writer.writerow([card.front, card.back + source, " ".join(card.tags)])
    return out.getvalue()


def read_anki_csv(text: str) -> list[dict[str, str]]:
    """Parse the file back (what a test and an importer do): header lines start with '#'."""
    body = "\n".join(line for line in text.split("\n") if not line.startswith("#"))
    return list(csv.DictReader(io.StringIO(body), fieldnames=list(ANKI_COLUMNS)))


# ----------------------------------------------------------------------------------------------------------------------
# llms.txt

@dataclass(frozen=True)
class PageEntry:
    title: str
    markdown_url: str  # site-relative URL of the page's Markdown copy
    description: str
    section: str  # the top-level navigation section ("" for top-level pages)


def llms_txt(site_name: str, summary: str, entries: list[PageEntry]) -> str:
    lines = [f"# {site_name}", "", f"> {' '.join(summary.split())}", "",
             "Every page is linked as plain Markdown, with each computed value written out as the page shows it.", ""]
    sections: dict[str, list[PageEntry]] = {}
    for entry in entries:
        sections.setdefault(entry.section or "Start here", []).append(entry)
    for section, items in sections.items():
        lines += [f"## {section}", ""]
        for entry in items:
            note = f": {' '.join(entry.description.split())}" if entry.description else ""
            lines.append(f"- [{entry.title}]({entry.markdown_url}){note}")
        lines.append("")
    lines += ["## Optional", "",
              f"- [Question cards]({ANKI_FILE}): every question and quiz item with its answer, as CSV for Anki",
              "- [The whole handbook as one PDF](handbook.pdf): built by `make pdf`", ""]
    return "\n".join(lines).rstrip() + "\n"


def notebook_markdown(notebook_json: str) -> str:
    """A notebook as plain Markdown: its Markdown cells as they are, its code cells fenced (the outputs are computed
    when the site is built; the page shows them, and the downloadable notebook recomputes them)."""
    cells = json.loads(notebook_json).get("cells", [])
    parts = []
    for cell in cells:
        source = "".join(cell.get("source", []))
        if cell.get("cell_type") == "markdown":
            parts.append(source.strip())
        elif cell.get("cell_type") == "code" and source.strip():
            parts.append(f"```python\n{source.rstrip()}\n```")
    return "\n\n".join(parts) + "\n"
