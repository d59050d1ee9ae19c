"""The pages of the site as Markdown sources: the authored ones under ``docs/`` and any generated from data files.

One list feeds both the build (which adds generated pages with ``File.generated``) and ``make values`` (which scans
every page for markers without building), so the ledger the two produce is the same.

To generate pages from data (companies, transcripts, …), write a function ``root -> Iterable[PageSource]`` and add it
to :data:`GENERATORS`. Generated pages are never written into ``docs/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

DOCS_DIR = "docs"
# Folders of docs/ that are not pages; mkdocs.yml's exclude_docs must name the same ones.
EXCLUDED_DIRS = ("includes/", "assets/overrides/")
MARKDOWN_SUFFIXES = (".md",)


@dataclass(frozen=True)
class PageSource:
    src_path: str  # path relative to docs/, forward slashes ("interview/loop.md")
    markdown: str
    generated: bool = False


Generator = Callable[[Path], Iterable[PageSource]]


def _company_pages(root: Path) -> Iterable[PageSource]:
    from .company_pages import generate  # imported late: company_pages imports PageSource from here

    return generate(root)


def _transcript_pages(root: Path) -> Iterable[PageSource]:
    from .transcripts import pages  # imported late: transcripts imports PageSource from here

    return pages(root)


GENERATORS: list[Generator] = [_company_pages, _transcript_pages]


def is_page(relative: str) -> bool:
    """Whether a docs/-relative path is a Markdown page the site builds (mirrors mkdocs' defaults and exclude_docs)."""
    parts = relative.split("/")
    if any(part.startswith(".") for part in parts) or parts[0] == "templates":
        return False
    if any(relative.startswith(prefix) for prefix in EXCLUDED_DIRS):
        return False
    return relative.endswith(MARKDOWN_SUFFIXES)


def authored_pages(root: Path) -> Iterator[PageSource]:
    docs = root / DOCS_DIR
    for path in sorted(docs.rglob("*")):
        relative = path.relative_to(docs).as_posix()
        if path.is_file() and is_page(relative):
            yield PageSource(relative, path.read_text(encoding="utf-8-sig"))


def generated_pages(root: Path) -> Iterator[PageSource]:
    seen: set[str] = set()
    for generator in GENERATORS:
        for page in generator(root):
            if page.src_path in seen:
                raise ValueError(f"generated page {page.src_path!r} is produced twice")
            seen.add(page.src_path)
            yield PageSource(page.src_path, page.markdown, generated=True)


def page_sources(root: Path) -> list[PageSource]:
    """Every page's Markdown, authored first; a generated page may not shadow an authored one."""
    authored = list(authored_pages(root))
    taken = {page.src_path for page in authored}
    generated = list(generated_pages(root))
    for page in generated:
        if page.src_path in taken:
            raise ValueError(f"generated page {page.src_path!r} would replace docs/{page.src_path}")
    return authored + generated
