"""The number guarantee over the built site: no typed number, every shown value is in the ledger as shown."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from sitegen.audit import MAIN_CONTENT, audit_html
from sitegen.markers import raw_text

MIN_MARKED_VALUES = 50


@pytest.fixture(scope="session")
def soups(site_dir: Path, built_pages: list[Path]) -> dict[str, BeautifulSoup]:
    return {page.relative_to(site_dir).as_posix(): BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
            for page in built_pages}


def test_no_typed_numbers_anywhere(site_dir, built_pages):
    offenders = []
    for page in built_pages:
        offenders += audit_html(page.read_text(encoding="utf-8"), page.relative_to(site_dir).as_posix())
    report = "\n".join(f"  {offender}" for offender in offenders)
    assert not offenders, f"{len(offenders)} typed number(s) in page content (use a value marker):\n{report}"


def test_enough_marked_values(soups, record_property):
    count = sum(len(soup.select(f"{MAIN_CONTENT} .hb-value[data-key]")) for soup in soups.values())
    record_property("marked_values", count)
    print(f"\nmarked values across the site: {count} (threshold {MIN_MARKED_VALUES})")
    assert count >= MIN_MARKED_VALUES, f"only {count} marked values across the site; the handbook needs {MIN_MARKED_VALUES}+"


def test_every_marked_value_matches_the_ledger(soups, site_ledger):
    problems = []
    seen: set[str] = set()
    for page, soup in soups.items():
        for element in soup.select(".hb-value, .hb-derivation"):
            key = element.get("data-key")
            entry = site_ledger.get(key)
            if entry is None:
                problems.append(f"{page}: {key!r} is not in values.json")
                continue
            seen.add(key)
            if element.get("data-value") != raw_text(entry["value"]):
                problems.append(f"{page}: {key!r} data-value {element.get('data-value')!r} != ledger {entry['value']!r}")
            if element.get("data-kind") != entry["kind"]:
                problems.append(f"{page}: {key!r} data-kind {element.get('data-kind')!r} != ledger {entry['kind']!r}")
            if "hb-value" in element.get("class", []):
                text = element.get_text()
                if text not in entry["texts"]:
                    problems.append(f"{page}: {key!r} shows {text!r}, not one of the ledger's {entry['texts']!r}")
                explanation = entry.get("formula", entry.get("source"))
                if html.unescape(element.get("title", "")) != explanation:
                    problems.append(f"{page}: {key!r} tooltip differs from the ledger's formula/source")
    unused = sorted(set(site_ledger) - seen)
    assert not unused, f"ledger keys shown on no page: {unused}"
    assert not problems, "\n".join(problems)


PRINT_PAGE = "print_page/index.html"  # every page again, for the PDF: audited like the others, not a ledger page


def test_ledger_pages_are_where_the_values_are(soups, site_ledger):
    shown: dict[str, set[str]] = {}
    for page, soup in soups.items():
        if page == PRINT_PAGE:
            continue
        for element in soup.select(".hb-value[data-key]"):
            shown.setdefault(element["data-key"], set()).add(page)
    for key, entry in site_ledger.items():
        expected = {_html_path(src) for src in entry["pages"]}
        assert shown.get(key, set()) == expected, key


def test_derivation_blocks_are_complete(soups):
    for page, soup in soups.items():
        for block in soup.select(".hb-derivation"):
            assert block.get("data-kind") == "computed", page
            for part in ("quantity", "formula", "substitution", "result"):
                assert block.select_one(f".hb-derivation__{part}").get_text(strip=True), (page, part)
            result = block.select_one(".hb-derivation__result .hb-value")
            assert result is not None and result["data-key"] == block["data-key"], page


def test_no_marker_syntax_left_outside_code(soups):
    for page, soup in soups.items():
        for string in soup.find_all(string=True):
            if any(parent.name in {"code", "pre", "script", "style"} for parent in string.parents):
                continue
            assert "{{" not in string and "}}" not in string, (page, str(string)[:80])


def _html_path(src: str) -> str:
    """docs/ source path -> built page path under use_directory_urls (index.md -> index.html, a/b.md -> a/b/index.html)."""
    stem = src[: -len(".md")]
    if stem == "index" or stem.endswith("/index"):
        return f"{stem}.html"
    return f"{stem}/index.html"
