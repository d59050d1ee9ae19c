"""The generated mock-interview pages as built: margin notes, verdicts that agree between margin and table, the
candidate's figures marked as claims (not model values), the diagram, and the nav entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from sitegen import transcripts
from sitegen.audit import MAIN_CONTENT, audit_html


@pytest.fixture(scope="module")
def loaded(root: Path) -> list[transcripts.Transcript]:
    return transcripts.load_all(root)


def _soup(site_dir: Path, path: str) -> BeautifulSoup:
    return BeautifulSoup((site_dir / path).read_text(encoding="utf-8"), "html.parser")


def test_every_transcript_page_is_built_with_its_notes(site_dir, loaded):
    for t in loaded:
        soup = _soup(site_dir, f"transcripts/{t.id}/index.html")
        article = soup.select_one(MAIN_CONTENT)
        notes = article.select("[data-annotation]")
        assert len(notes) == sum(1 for _ in t.annotations()) >= 8, t.id
        assert {n["data-annotation"] for n in notes} <= set(transcripts.KINDS)
        assert len(article.select(".hb-turn")) == len(t.turns)
        assert article.select_one("pre.mermaid, div.mermaid"), t.id
        assert not audit_html(str(soup), t.id)


def test_margin_and_table_verdicts_agree(site_dir, loaded):
    for t in loaded:
        article = _soup(site_dir, f"transcripts/{t.id}/index.html").select_one(MAIN_CONTENT)
        margin = {n["data-claim"]: n["data-verdict"] for n in article.select('[data-annotation="number-check"]')}
        rows = article.select(".hb-checks tbody tr")
        table = {}
        for row in rows:
            claim = row.select_one(".hb-claim")["data-key"].rsplit(".", 1)[1]
            table[claim] = row.select_one("[data-verdict]")["data-verdict"]
            assert row.select_one(".hb-value[data-key]"), (t.id, claim, "the model's figure is a ledger value")
        expected = {c.claim.id: c.verdict for c in t.checks}
        assert margin == table == expected, t.id


def test_candidate_figures_are_claims_not_model_values(site_dir, site_ledger, loaded):
    for t in loaded:
        article = _soup(site_dir, f"transcripts/{t.id}/index.html").select_one(MAIN_CONTENT)
        claims = article.select(".hb-claim")
        assert claims, t.id
        for span in claims:
            assert span["data-kind"] == "claim" and span["data-key"].startswith(f"claim.{t.id}.")
            assert "hb-value" not in span.get("class", [])
            assert span["data-key"] not in site_ledger
            claim = t.claims[span["data-key"].rsplit(".", 1)[1]]
            assert float(span["data-value"]) == pytest.approx(claim.si)
            assert span.get_text() == claim.said


def test_index_and_nav(site_dir, loaded):
    soup = _soup(site_dir, "transcripts/index.html")
    links = {a["href"].strip("/").split("/")[-1] for a in soup.select(f"{MAIN_CONTENT} table a")}
    assert {t.id for t in loaded} <= links
    nav = [a.get_text(" ", strip=True) for a in soup.select(".md-nav__link")]
    assert any("Mock interviews" in text for text in nav)
    assert any("Grade your own mock" in text for text in nav)
