"""The audit of the number rule over built HTML, and the check for markers left unrendered.

The rule, word for word: in the main content of every page (``article.md-content__inner``), outside ``code``,
``pre``, ``kbd``, ``samp``, ``script``, ``style``, ``svg``, ``math``, notebook execution output, footnote markers,
header links, annotation indexes and elements carrying ``data-key``, no numeric run may start a token. A run starts
a token unless it directly follows a letter, digit or underscore, or follows ``-`` or ``.`` that itself follows one
(``H100``, ``FP8``, ``p95``, ``Llama-3.1-70B`` are names; ``TP=4``, ``27,000``, ``$36M``, ``30 ms``, ``8x7B`` are
numbers). Only text nodes are read, never attributes.

Text is read in document order; the edge of a block element, a line break or an exempt element ends a stretch of
text, so "A" in one table cell and "100" in the next never read as "A100".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from bs4 import BeautifulSoup, Comment, NavigableString, Tag
from bs4.element import CData, Declaration, Doctype, ProcessingInstruction

EXEMPT_TAGS = frozenset({"code", "pre", "kbd", "samp", "script", "style", "svg", "math", "template", "noscript"})
# Notebook execution output as nbconvert / mkdocs-jupyter render it (JupyterLab and classic templates), with the
# execution-count prompts ("In [3]:") that belong to it.
NOTEBOOK_OUTPUT_CLASSES = frozenset({
    "jp-OutputArea", "jp-OutputArea-output", "jp-Cell-outputWrapper", "jp-OutputPrompt", "jp-InputPrompt",
    "output_wrapper", "output_area", "input_prompt", "output_prompt",
})
# A notebook's code cells are code: mkdocs-jupyter renders them in <pre> and again, as plain text for its copy button,
# in a hidden div.clipboard-copy-txt.
NOTEBOOK_CODE_CLASSES = frozenset({"jp-InputArea", "clipboard-copy-txt"})
MATH_CLASSES = frozenset({"arithmatex", "katex", "MathJax"})
INLINE_TAGS = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "cite", "data", "del", "dfn", "em", "i", "ins", "mark", "q", "s", "small",
    "span", "strong", "sub", "sup", "time", "u", "var", "font",
})  # not <label>: content tabs put their labels side by side, and "Option A" + "2 GPUs" must not read as "A2"
# Material turns "(1)" inside an element with class "annotate" into an annotation index at run time.
_ANNOTATION_MARK = re.compile(r"\(\d+\)!?")
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"\w")
CONTEXT = 40
MAIN_CONTENT = "article.md-content__inner"


@dataclass(frozen=True)
class Offender:
    page: str
    number: str  # the numeric run
    context: str  # the text around it, the run marked with »«

    def __str__(self) -> str:
        return f"{self.page}: {self.number!r} in {self.context!r}"


def _classes(tag: Tag) -> set[str]:
    value = tag.get("class") or []
    return set(value.split() if isinstance(value, str) else value)


def is_exempt(tag: Tag) -> bool:
    """Whether a whole element (and everything inside it) is outside the rule."""
    if tag.name in EXEMPT_TAGS or tag.has_attr("data-key"):
        return True
    classes = _classes(tag)
    if classes & (NOTEBOOK_OUTPUT_CLASSES | NOTEBOOK_CODE_CLASSES | MATH_CLASSES):
        return True
    if tag.name == "a" and "headerlink" in classes:
        return True
    if "md-annotation__index" in classes:
        return True
    if tag.name == "sup" and (str(tag.get("id", "")).startswith("fnref")
                              or tag.find("a", class_="footnote-ref") is not None):
        return True
    return False


_BREAK = None  # a stretch boundary in the stream of text pieces


def _text_stream(node: Tag, in_annotate: bool = False) -> Iterator[tuple[str, bool] | None]:
    """(text, inside an .annotate element) pieces in document order, with None where a stretch of text ends."""
    for child in node.children:
        if isinstance(child, (Comment, CData, Declaration, Doctype, ProcessingInstruction)):
            continue
        if isinstance(child, NavigableString):
            yield (str(child), in_annotate)
            continue
        if not isinstance(child, Tag):
            continue
        if is_exempt(child):
            yield _BREAK
            continue
        if child.name == "br":
            yield _BREAK
            continue
        block = child.name not in INLINE_TAGS
        if block:
            yield _BREAK
        yield from _text_stream(child, in_annotate or "annotate" in _classes(child))
        if block:
            yield _BREAK


def _stretches(article: Tag) -> Iterator[tuple[str, list[tuple[int, int]]]]:
    """Each stretch of text with the ranges that are annotation indexes (exempt)."""
    text: list[str] = []
    annotation: list[tuple[int, int]] = []
    length = 0
    for piece in _text_stream(article, "annotate" in _classes(article)):
        if piece is _BREAK:
            if text:
                yield "".join(text), annotation
            text, annotation, length = [], [], 0
            continue
        content, in_annotate = piece
        if in_annotate:
            annotation.extend((length + m.start(), length + m.end()) for m in _ANNOTATION_MARK.finditer(content))
        text.append(content)
        length += len(content)
    if text:
        yield "".join(text), annotation


def starts_token(text: str, index: int) -> bool:
    """Whether the numeric run at ``text[index]`` starts a token (the rule above)."""
    if index == 0:
        return True
    before = text[index - 1]
    if _WORD.match(before):
        return False
    if before in "-." and index >= 2 and _WORD.match(text[index - 2]):
        return False
    return True


def numbers_in_text(text: str, exempt: list[tuple[int, int]] = ()) -> Iterator[re.Match]:
    """The numeric runs of ``text`` that start a token, outside the exempt ranges."""
    for match in _DIGITS.finditer(text):
        if any(a <= match.start() < b for a, b in exempt):
            continue
        if starts_token(text, match.start()):
            yield match


def _context(text: str, match: re.Match) -> str:
    before = text[max(0, match.start() - CONTEXT): match.start()]
    after = text[match.end(): match.end() + CONTEXT]
    return " ".join(f"{before}»{match.group()}«{after}".split())


def audit_html(html: str, page: str) -> list[Offender]:
    """Typed numbers in a page's main content. A page without ``article.md-content__inner`` has none to audit."""
    soup = BeautifulSoup(html, "html.parser")
    offenders = []
    for article in soup.select(MAIN_CONTENT):
        for text, annotation in _stretches(article):
            for match in numbers_in_text(text, annotation):
                offenders.append(Offender(page, match.group(), _context(text, match)))
    return offenders


# --------------------------------------------------------------------------------------------------------------------
# Markers that reached the HTML (e.g. through a snippet, which is inserted after markers are rendered)

LEFTOVER_EXEMPT = frozenset({"code", "pre", "kbd", "samp", "script", "style", "svg", "math", "template"})


def leftover_markers(html: str) -> list[str]:
    """Text nodes outside code that still contain ``{{`` or ``}}``, one short snippet each."""
    soup = BeautifulSoup(html, "html.parser")
    found = []
    for string in soup.find_all(string=True):
        if isinstance(string, (Comment, CData, Declaration, Doctype, ProcessingInstruction)):
            continue
        if any(parent.name in LEFTOVER_EXEMPT for parent in string.parents if isinstance(parent, Tag)):
            continue
        text = str(string)
        match = re.search(r"\{\{|\}\}", text)
        if match:
            found.append(" ".join(text[max(0, match.start() - 40): match.end() + 80].split()))
    return found
