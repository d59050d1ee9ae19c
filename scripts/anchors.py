"""The registry of published anchors: every heading id of every built page, so links shared by readers keep working.

    python scripts/anchors.py --site site --write         # rewrite tests/site/anchors.json from the built site
    python scripts/anchors.py --site site                 # check the built site against the registry
    python scripts/anchors.py --site site --explicit-ids  # write each built heading id into docs/ as { #id }

The rule (``tests/site/test_anchors.py``): an anchor in the registry must still exist on its page, or on the page
its page now redirects to (mkdocs-redirects, ``redirect_maps`` in mkdocs.yml). It may never disappear, and may move
to another page only together with a redirect. New anchors are allowed; ``make anchors`` adds them to the registry.

``--explicit-ids`` makes the ids stable against edits of the heading text: it writes the id the build gave each
heading of an authored page into the Markdown (``## Demand { #demand }``), so the HTML does not change.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "tests" / "site" / "anchors.json"
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
NOT_PAGES = ("print_page/", "search/", "assets/", "404.html")
MAIN = "article.md-content__inner"


def page_url(site: Path, html_file: Path) -> str:
    """The page's address relative to the site root, as readers link to it ("serving/capacity/", "" for home)."""
    rel = html_file.relative_to(site).as_posix()
    return rel[: -len("index.html")] if rel.endswith("index.html") else rel


_REFRESH = re.compile(r'<meta\s+http-equiv="refresh"\s+content="[^"]*?url=([^"]+)"', re.I)
_ARTICLE = re.compile(r'<article class="md-content__inner[^"]*"[^>]*>(.*?)</article>', re.S)
_HEADING_ID = re.compile(r'<h([1-6])\b[^>]*?\sid="([^"]+)"')


def article_html(html: str) -> str | None:
    """The main content of a built page (Material's article element), or None for a page without one."""
    match = _ARTICLE.search(html)
    return match.group(1) if match else None


def scan_site(site: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    """(page -> its heading ids in document order, old page -> the page it redirects to).

    Read with regular expressions over Material's fixed markup: parsing every page takes a minute on this machine.
    """
    anchors: dict[str, list[str]] = {}
    redirects: dict[str, str] = {}
    for html_file in sorted(site.rglob("*.html")):
        url = page_url(site, html_file)
        if url.startswith(NOT_PAGES):
            continue
        html = html_file.read_text(encoding="utf-8")
        article = article_html(html)
        refresh = _REFRESH.search(html)
        if article is None and refresh is not None:  # a mkdocs-redirects stub
            resolved = urljoin("http://site/" + url, refresh.group(1).strip())
            redirects[url] = urlsplit(resolved).path.lstrip("/")
            continue
        if article is not None:
            anchors[url] = [anchor for _, anchor in _HEADING_ID.findall(article)]
    return anchors, redirects


def registry_from(anchors: dict[str, list[str]]) -> dict:
    return {"comment": "Published anchors (page -> heading ids). Regenerate with 'make anchors'; an anchor may move "
                       "to another page only with a redirect and must never disappear (tests/site/test_anchors.py).",
            "pages": {page: sorted(set(ids)) for page, ids in sorted(anchors.items())}}


def problems(registry: dict, anchors: dict[str, list[str]], redirects: dict[str, str]) -> list[str]:
    """Every registered anchor that a reader's link can no longer reach, with what happened to it."""
    where: dict[str, set[str]] = {}
    for page, ids in anchors.items():
        for anchor in ids:
            where.setdefault(anchor, set()).add(page)
    found = []
    for page, ids in sorted(registry["pages"].items()):
        target, seen = page, set()
        while target in redirects and target not in seen:  # follow redirect chains
            seen.add(target)
            target = redirects[target]
        current = set(anchors.get(target, ()))
        for anchor in ids:
            if anchor in current:
                continue
            elsewhere = sorted(where.get(anchor, ()))
            if elsewhere:
                found.append(f"{page}#{anchor} moved to {', '.join(elsewhere)} without a redirect from {page} "
                             f"(add it to redirect_maps in mkdocs.yml)")
            elif target not in anchors:
                found.append(f"{page}#{anchor}: the page {target or '(home)'} is gone and no redirect leads on")
            else:
                found.append(f"{page}#{anchor} disappeared (keep the id: '{{ #{anchor} }}' on the heading)")
    return found


# ----------------------------------------------------------------------------------------------------------------------
# Writing the built ids into the Markdown

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_ATTRS = re.compile(r"\{:?\s*([^{}]*)\}\s*$")


def markdown_headings(text: str) -> list[tuple[int, int, str]]:
    """(line index, level, line) of every ATX heading outside fenced code."""
    found, fence = [], None
    for index, line in enumerate(text.splitlines()):
        match = _FENCE.match(line)
        if match:
            fence = None if fence == match.group(1) else (fence or match.group(1))
            continue
        if fence:
            continue
        heading = _HEADING.match(line)
        if heading:
            found.append((index, len(heading.group(1)), line))
    return found


def with_explicit_id(line: str, anchor: str) -> str:
    attrs = _ATTRS.search(line)
    if attrs is None:
        return f"{line.rstrip()} {{ #{anchor} }}"
    if re.search(r"(^|\s)#[\w-]", attrs.group(1)):
        return line
    return line[: attrs.start()] + "{ #" + anchor + " " + attrs.group(1).strip() + " }"


def add_explicit_ids(docs: Path, site: Path) -> list[str]:
    """Give every heading of every authored page the id the build gave it; returns what it changed or skipped."""
    report = []
    for md in sorted(docs.rglob("*.md")):
        rel = md.relative_to(docs).as_posix()
        if rel.startswith(("includes/", "assets/")):
            continue
        html_file = site / (rel[:-3] + "/index.html" if not rel.endswith("index.md") else rel[:-8] + "index.html")
        if rel == "index.md":
            html_file = site / "index.html"
        if not html_file.is_file():
            report.append(f"skipped {rel}: {html_file} not built")
            continue
        article = BeautifulSoup(html_file.read_text(encoding="utf-8"), "html.parser").select_one(MAIN)
        built = [(int(h.name[1]), h.get("id")) for h in article.find_all(HEADINGS)] if article else []
        text = md.read_text(encoding="utf-8")
        headings = markdown_headings(text)
        if [level for level, _ in built] != [level for _, level, _ in headings] or any(a is None for _, a in built):
            report.append(f"skipped {rel}: {len(headings)} Markdown headings, {len(built)} built ones")
            continue
        lines = text.splitlines(keepends=True)
        changed = 0
        for (index, _, line), (_, anchor) in zip(headings, built):
            new = with_explicit_id(line, anchor)
            if new != line:
                ending = lines[index][len(lines[index].rstrip("\r\n")):]
                lines[index] = new + ending
                changed += 1
        if changed:
            md.write_text("".join(lines), encoding="utf-8")
            report.append(f"{rel}: {changed} heading ids written")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--registry", type=Path, default=REGISTRY)
    parser.add_argument("--write", action="store_true", help="rewrite the registry from the built site")
    parser.add_argument("--explicit-ids", action="store_true", help="write built heading ids into docs/")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"{args.site} is not built: run 'make build'", file=sys.stderr)
        return 2
    if args.explicit_ids:
        for line in add_explicit_ids(ROOT / "docs", args.site):
            print(line)
        return 0
    anchors, redirects = scan_site(args.site)
    if args.write:
        registry = registry_from(anchors)
        if args.registry.is_file():  # a registered anchor is never dropped by regenerating
            old = json.loads(args.registry.read_text(encoding="utf-8"))
            for page, ids in old["pages"].items():  # a moved page keeps its entry: its redirect must stay
                if page in redirects:
                    registry["pages"][page] = ids
            found = problems(old, anchors, redirects)
            if found:
                print("not rewriting the registry; these anchors would be lost:\n  " + "\n  ".join(found),
                      file=sys.stderr)
                return 1
        args.registry.write_text(json.dumps(registry, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        total = sum(len(ids) for ids in registry["pages"].values())
        print(f"{args.registry}: {total} anchors on {len(registry['pages'])} pages")
        return 0
    found = problems(json.loads(args.registry.read_text(encoding="utf-8")), anchors, redirects)
    print("\n".join(found) or "every registered anchor is reachable")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
