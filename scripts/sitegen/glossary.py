"""Every abbreviation links to its glossary entry.

The abbreviation snippet (``docs/includes/abbreviations.md``) makes Markdown wrap each known term in
``<abbr title="…">``; this module wraps those in a link to ``glossary.md#<term>`` — except where a link cannot go:
inside another link, a heading, code or preformatted text. Terms without a glossary entry are left alone, and the
test over the built site checks that every entry the abbreviations name exists.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

GLOSSARY_PAGE = "glossary.md"
_ENTRY = re.compile(r"\{\s*#([a-z0-9][a-z0-9\-]*)\s*\}")
_ABBR = re.compile(r"<abbr\b[^>]*>([^<]+)</abbr>")
_BLOCKED = {"a", "h1", "h2", "h3", "h4", "h5", "h6", "code", "pre", "kbd", "samp", "summary", "svg", "button"}


def entry_id(term: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")


def glossary_entries(docs_dir: Path) -> set[str]:
    """The anchor ids the glossary page declares (``### TTFT { #ttft }``)."""
    page = docs_dir / GLOSSARY_PAGE
    return set(_ENTRY.findall(page.read_text(encoding="utf-8"))) if page.exists() else set()


def glossary_href(page_url: str, entry: str) -> str:
    """A link from the page at ``page_url`` (MkDocs' directory URL, e.g. ``serving/kv-cache/``) to an entry."""
    base = posixpath.dirname(page_url.rstrip("/")) if not page_url.endswith("/") else page_url.rstrip("/")
    target = posixpath.relpath("glossary", base or ".")
    return f"{target}/#{entry}"


def link_abbreviations(html: str, page_url: str, entries: set[str]) -> str:
    """Wrap each ``<abbr>`` that has a glossary entry in a link to it, outside links, headings and code."""
    out: list[str] = []
    position = 0
    blocked_depth = 0
    stack: list[str] = []
    for match in re.finditer(r"<abbr\b[^>]*>[^<]+</abbr>|<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(/?)>", html):
        text = match.group(0)
        out.append(html[position:match.start()])
        position = match.end()
        if text.startswith("<abbr"):
            term = _ABBR.match(text).group(1)
            entry = entry_id(term)
            if blocked_depth == 0 and entry in entries:
                out.append(f'<a class="hb-abbr" href="{glossary_href(page_url, entry)}">{text}</a>')
            else:
                out.append(text)
            continue
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        out.append(text)
        if self_closing or name not in _BLOCKED:
            continue
        if closing:
            if name in stack:
                while stack:
                    top = stack.pop()
                    blocked_depth -= 1
                    if top == name:
                        break
        else:
            stack.append(name)
            blocked_depth += 1
    out.append(html[position:])
    return "".join(out)
