"""The built company and role pages: each company page carries its sized question (derivations, inputs, values, a way
to the calculator), the index's matrix matches the data, the lens page covers every lens, every link resolves."""

from __future__ import annotations

import posixpath
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from sitegen import companies as data
from sitegen import markers
from sitegen.company_pages import emphasis_matrix


@pytest.fixture(scope="module")
def loaded(root):
    return data.load(root)


def _soup(site_dir: Path, page: str) -> BeautifulSoup:
    path = site_dir / page / "index.html"
    assert path.is_file(), f"{page} was not built"
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _article(soup: BeautifulSoup):
    article = soup.select_one("article.md-content__inner")
    assert article is not None
    return article


def test_every_company_page_builds_with_its_sized_question(site_dir, loaded, root):
    assert len(loaded.companies) >= 15
    specs = data.calculator_specs(root)
    for c in loaded.companies:
        article = _article(_soup(site_dir, f"companies/{c.id}"))
        heading = article.find(id="sized")
        assert heading is not None, c.id
        section = []
        for node in heading.find_all_next():
            if node.name == "h2":
                break
            section.append(node)
        derivations = [n for n in section if n.name == "div" and "hb-derivation" in (n.get("class") or [])]
        assert [d["data-key"] for d in derivations] == list(c.sized.derive), c.id
        inputs = {n["data-scenario"] for n in section if n.name == "div" and "hb-inputs" in (n.get("class") or [])}
        assert inputs == set(c.sized.scenarios), c.id
        values = {span["data-key"] for span in article.select("[data-key]")}
        assert len(values) >= 3, c.id
        if "calc_link" in markers.FUNCTIONS and c.sized.widget in specs:
            links = [n for n in section if n.name == "a" and "hb-calc-link" in (n.get("class") or [])]
            assert links, c.id
            page = specs[c.sized.widget].page.removesuffix(".md")
            assert posixpath.normpath(posixpath.join(f"companies/{c.id}", links[0]["href"].split("?")[0])) == page, c.id
        else:  # the calculator lands with another branch: the page names it and the scenario
            assert c.sized.widget_scenario in " ".join(n.get_text() for n in section), c.id


def test_sources_are_dated_footnotes(site_dir, loaded):
    for c in loaded.companies:
        article = _article(_soup(site_dir, f"companies/{c.id}"))
        notes = article.select_one("div.footnote")
        assert notes is not None, c.id
        text = notes.get_text(" ")
        for source in c.sources.values():
            assert notes.find("a", href=source.url) is not None, (c.id, source.id)
            assert source.as_of in text
        assert "handbook's assessment" in text, c.id


def test_index_matrix_matches_the_data(site_dir, loaded):
    article = _article(_soup(site_dir, "companies"))
    table = article.find("table")
    rows = table.find("tbody").find_all("tr")
    topics, expected = emphasis_matrix(loaded.companies)
    assert len(rows) == len(loaded.companies)
    for row, (company, marks) in zip(rows, expected):
        cells = row.find_all("td")
        assert cells[0].find("a")["href"].rstrip("/").endswith(company.id)
        assert [cell.get_text(strip=True) for cell in cells[1:1 + len(topics)]] == marks
        first = topics.index(company.emphasis[0].topic)
        assert cells[1 + first].get_text(strip=True) == "●●●"


def test_lens_page_covers_every_lens_and_company(site_dir, loaded):
    article = _article(_soup(site_dir, "companies/lenses"))
    for ident in data.LENSES:
        assert article.find(id=ident) is not None, ident
    for c in loaded.companies:
        heading = article.find(id=c.review_lens)
        section = []
        for node in heading.find_all_next():
            if node.name == "h2":
                break
            section.append(node)
        targets = {posixpath.normpath(posixpath.join("companies/lenses", n["href"].split("#", 1)[0]))
                   for n in section if n.name == "a" and n.get("href")}
        assert f"companies/{c.id}" in targets, (c.id, targets)


def test_role_pages_and_table(site_dir, loaded):
    article = _article(_soup(site_dir, "roles"))
    linked = {a["href"].strip("./").rstrip("/") for a in article.select("table a")}
    assert {r.id for r in loaded.roles.roles} <= linked
    for r in loaded.roles.roles:
        page = _article(_soup(site_dir, f"roles/{r.id}"))
        assert page.find("h1").get_text(strip=True).startswith(r.title)


def test_links_from_generated_pages_resolve(site_dir, loaded):
    pages = ["companies", "companies/lenses", "roles"] + [f"companies/{c.id}" for c in loaded.companies] + \
            [f"roles/{r.id}" for r in loaded.roles.roles]
    for page in pages:
        for a in _article(_soup(site_dir, page)).select("a[href]"):
            href = a["href"]
            if href.startswith(("http://", "https://", "#", "mailto:")):
                continue
            target = href.split("#", 1)[0].split("?", 1)[0]
            resolved = site_dir / posixpath.normpath(posixpath.join(page, target))
            assert resolved.is_file() or (resolved / "index.html").is_file(), (page, href)
