"""Study-group exports written by the build: Anki CSV, llms.txt and the plain-Markdown copy of every page."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from sitegen import exports

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import anchors  # noqa: E402

DIFFICULTIES = {"easy", "medium", "hard"}


@pytest.fixture(scope="module")
def pages(site_dir: Path) -> dict[str, str]:
    """Built content pages (not redirects, the print page or the 404 page): URL -> HTML."""
    found, _ = anchors.scan_site(site_dir)
    return {url: (site_dir / url / "index.html" if not url.endswith(".html") else site_dir / url)
            .read_text(encoding="utf-8") for url in found}


@pytest.fixture(scope="module")
def cards(site_dir: Path) -> list[dict[str, str]]:
    path = site_dir / exports.ANKI_FILE
    assert path.is_file(), f"{path} missing"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#separator:Comma\n#html:true\n"), "Anki's file headers are missing"
    return exports.read_anki_csv(text)


def test_anki_csv_parses_back_with_one_card_per_question(cards, pages):
    questions = {}
    for url, html in pages.items():
        for attrs in re.findall(r'<h[2-4]\b([^>]*\bdata-difficulty="[^"]*"[^>]*)>', anchors.article_html(html) or ""):
            anchor = re.search(r'\bid="(q-[^"]+)"', attrs)
            if anchor:
                questions[anchor.group(1)] = (url, re.search(r'data-difficulty="([^"]*)"', attrs).group(1))
    question_cards = [card for card in cards if "type::question" in card["Tags"].split()]
    assert len(questions) > 100
    assert len(question_cards) == len(questions)
    for card in cards:
        assert set(card) == set(exports.ANKI_COLUMNS) and None not in card.values(), card
        assert card["Front"].strip() and card["Back"].strip(), card
        tags = card["Tags"].split()
        assert any(tag.startswith("track::") for tag in tags), tags
    for card in question_cards:
        anchor = re.search(r"#(q-[\w-]+)</p>$", card["Back"]).group(1)
        url, difficulty = questions.pop(anchor)
        assert f"difficulty::{difficulty}" in card["Tags"].split() and difficulty in DIFFICULTIES
        assert f"track::{anchor[2:].rsplit('-', 1)[0]}" in card["Tags"].split()
        assert url in card["Back"]
        assert "href=" not in card["Back"] and "hb-value" not in card["Back"]  # links break inside Anki
    assert not questions, f"questions without a card: {sorted(questions)[:5]}"
    assert sum("type::quiz" in card["Tags"].split() for card in cards) > 50


def test_every_page_has_a_plain_markdown_copy(site_dir, pages, site_ledger):
    missing, leftovers = [], []
    for url in pages:
        copy = site_dir / (url + "index.md" if url.endswith("/") or url == "" else url[: -len(".html")] + ".md")
        if not copy.is_file():
            missing.append(url)
            continue
        text = re.sub(r"```.*?```|`[^`\n]*`", "", copy.read_text(encoding="utf-8"), flags=re.S)  # code shows syntax
        if re.search(r"\{\{|\}\}|hbblock|hb-value", text):
            leftovers.append(url)
    assert not missing, f"pages without index.md: {missing[:5]}"
    assert not leftovers, f"markers or placeholders left in the Markdown copies: {leftovers[:5]}"
    # A value's text is in the copy of each page that shows it (a sample spread over the ledger).
    keys = sorted(site_ledger)
    absent = []
    for key in keys[:: max(1, len(keys) // 40)]:
        entry = site_ledger[key]
        for src in entry["pages"]:
            copy = site_dir / (src[:-3] + ("/index.md" if not src.endswith("index.md") else ".md")
                               if src != "index.md" else "index.md")
            if copy.is_file() and not any(text in copy.read_text(encoding="utf-8") for text in entry["texts"]):
                absent.append(f"{key} on {src}")
    assert not absent, f"values missing from Markdown copies: {absent[:5]}"


def test_llms_txt_links_to_every_page(site_dir, pages):
    text = (site_dir / exports.LLMS_FILE).read_text(encoding="utf-8")
    assert text.startswith("# ") and "\n> " in text
    links = re.findall(r"^- \[[^\]]+\]\(([^)]+)\)", text, re.M)
    assert len(links) >= len(pages)
    broken = [link for link in links if link != "handbook.pdf" and not (site_dir / link).is_file()]
    assert not broken, broken


def test_plain_markdown_keeps_block_indentation():
    block = ('<div class="hb-derivation" data-key="k"><p class="hb-derivation__quantity">weights</p><dl>'
             '<dt>formula</dt><dd>a × b</dd><dt>result</dt><dd><span class="hb-value" data-key="k">7 GB</span></dd>'
             '</dl></div>')
    markdown = ('Weights take <span class="hb-value" data-key="k" title="t">7&lt;8 GB</span>.\n\n'
                '??? solution "Solution"\n\n    hbblockaaaaaa\n')
    plain = exports.plain_markdown(markdown, {"hbblockaaaaaa": block})
    assert plain.startswith("Weights take 7<8 GB.")
    assert "    ```text\n    weights\n    formula  a × b\n    result   7 GB\n    ```\n" in plain
