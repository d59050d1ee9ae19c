"""The offline PDF (``make pdf`` → ``site/handbook.pdf``; ``make test`` makes it before pytest runs).

Read with poppler's command-line tools (pdftotext, pdfinfo, pdftohtml, pdftoppm), as a reader's viewer would see it.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

MIN_PAGES = 120
MIN_INTERNAL_LINKS = 500
LEDGER_SAMPLE = 60  # ledger values looked up in the PDF's text, spread evenly over the sorted keys
MERMAID_SOURCE = ("graph TD", "graph LR", "flowchart TD", "flowchart LR", "sequenceDiagram", "-->")
_SPACE = re.compile(r"[\s\u00a0\u2009\u202f]+")


def _squash(text: str) -> str:
    """Text without whitespace: pdftotext breaks lines (and a value) wherever the page did."""
    return _SPACE.sub("", text)


@pytest.fixture(scope="module")
def pdf(site_dir: Path) -> Path:
    path = site_dir / "handbook.pdf"
    if not path.is_file():
        pytest.fail("site/handbook.pdf is missing: run 'make pdf' (make test makes it before the tests)")
    for tool in ("pdftotext", "pdfinfo", "pdftohtml", "pdftoppm"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found: apt-get install -y poppler-utils (make pdf installs it as root)")
    return path


@pytest.fixture(scope="module")
def pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True).stdout
    return text.decode("utf-8").split("\f")[:-1]


@pytest.fixture(scope="module")
def outline(pdf: Path) -> ET.Element:
    xml = subprocess.run(["pdftohtml", "-xml", "-i", "-stdout", "-q", "-f", "1", "-l", "1", str(pdf)],
                         check=True, capture_output=True).stdout
    found = ET.fromstring(xml).find("outline")
    assert found is not None, "the PDF has no outline (bookmarks)"
    return found


def test_page_count(pdf, pages):
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    count = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert count == len(pages)
    assert count >= MIN_PAGES, f"the PDF has {count} pages; the whole handbook needs at least {MIN_PAGES}"
    assert re.search(r"^Tagged:\s+yes", info, re.M), "the PDF is not tagged"


def test_outline_lists_every_chapter(outline, site_dir):
    titles = [item.text or "" for item in outline.iter("item")]
    assert len(titles) > 100, f"only {len(titles)} bookmarks"
    # Each built page's <h1> is a bookmark (the print page and the 404 page aside).
    missing = []
    for page in sorted(site_dir.rglob("index.html")):
        rel = page.relative_to(site_dir).as_posix()
        if rel.startswith(("print_page/", "search/")):
            continue
        article = re.search(r'<article class="md-content__inner[^"]*"[^>]*>(.*?)</article>',
                            page.read_text(encoding="utf-8"), re.S)
        h1 = re.search(r"<h1\b[^>]*>(.*?)</h1>", article.group(1), re.S) if article else None
        if h1 is not None:
            title = html.unescape(re.sub(r"<a class=\"(?:headerlink|anchor-link)\".*?</a>|<[^>]+>", "", h1.group(1), flags=re.S))
            if _squash(title) not in {_squash(t) for t in titles}:
                missing.append(f"{rel}: {title}")
    assert not missing, "pages without a bookmark: " + "; ".join(missing)


def test_contents_page_numbers_point_at_the_chapters(pdf, pages):
    contents = [n for n, text in enumerate(pages[:10]) if "Contents" in text]
    assert contents, "no contents page in the first pages"
    first = contents[0] + 1
    layout = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", "-f", str(first), "-l", str(first + 5), str(pdf),
                             "-"], check=True, capture_output=True).stdout.decode("utf-8")
    entries = []
    for line in layout.splitlines():
        match = re.match(r"^(\S.*?\S)\s{2,}(\d+)$", line.strip())  # "Title      12"; not the footer "2 / 513"
        if match:
            entries.append((match.group(1), int(match.group(2))))
    assert len(entries) > 50, f"the contents has only {len(entries)} numbered entries"
    wrong = [(title, number) for title, number in entries
             if not (0 < number <= len(pages) and _squash(title)[:30] in _squash(pages[number - 1]))]
    assert not wrong, f"contents entries whose page does not show the title: {wrong[:5]}"
    numbers = [number for _, number in entries]
    assert numbers == sorted(numbers), "contents page numbers are not increasing"


def test_ledger_values_are_in_the_text(pages, site_ledger):
    body = _squash("".join(pages))
    keys = sorted(site_ledger)
    step = max(1, len(keys) // LEDGER_SAMPLE)
    sample = keys[::step]
    missing = [(key, site_ledger[key]["texts"]) for key in sample
               if not any(_squash(text) in body for text in site_ledger[key]["texts"])]
    assert not missing, f"{len(missing)} of {len(sample)} sampled ledger values are not in the PDF: {missing[:5]}"


def test_no_mermaid_source(pages):
    text = "\n".join(pages)
    found = [needle for needle in MERMAID_SOURCE if needle in text]
    assert not found, f"mermaid source text in the PDF (a diagram was not drawn): {found}"


def test_internal_links_and_no_local_addresses(pdf):
    raw = pdf.read_bytes()
    internal = raw.count(b"/Subtype /Link") - raw.count(b"/URI (")
    assert internal >= MIN_INTERNAL_LINKS, f"only {internal} internal links in the PDF"
    local = re.findall(rb"/URI \((https?://(?:127\.0\.0\.1|localhost)[^)]*)\)", raw)
    assert not local, f"links to the export's local server: {local[:3]}"


def test_first_pages_render(pdf, tmp_path):
    """The first pages as images (looked at by a person when the export changes): each has ink, none is blank."""
    subprocess.run(["pdftoppm", "-gray", "-r", "24", "-f", "1", "-l", "3", str(pdf), str(tmp_path / "p")], check=True)
    images = sorted(tmp_path.glob("p-*.pgm"))
    assert len(images) == 3
    for image in images:
        data = image.read_bytes()
        header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
        width, height = int(header.group(1)), int(header.group(2))
        pixels = data[header.end():]
        assert len(pixels) == width * height
        ink = sum(1 for value in pixels if value < 160) / len(pixels)
        assert ink > 0.002, f"{image.name} is blank ({ink:.4f} of the page inked)"


def test_export_summary_is_clean(site_dir):
    """export_pdf.py writes what it saw next to the PDF: no console errors, no internal link without a target."""
    path = site_dir / "handbook.json"
    if not path.is_file():
        pytest.fail("site/handbook.json missing: make pdf writes it with the PDF")
    summary = json.loads(path.read_text(encoding="utf-8"))
    assert summary["console_errors"] == []
    assert summary["broken_internal_links"] == []
    assert summary["first_pages"] == summary["pages"], "the two prints differ in page count"
