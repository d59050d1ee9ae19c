"""Print the built site's combined page (``site/print_page/``) to ``site/handbook.pdf`` with Debian's Chromium.

Usage: ``python scripts/export_pdf.py [--site site] [--out site/handbook.pdf]`` (``make pdf`` builds the site first).

Chromium has no ``target-counter()``, so the table of contents gets its page numbers in two passes:

1. serve ``site/`` on 127.0.0.1 (Pyodide and mermaid need HTTP; every other address is refused and reported);
2. open the print page, wait until mermaid has drawn every diagram as SVG, open every answer, replace the plugin's
   table of contents with one entry per section and page, each with a fixed-width page-number slot, and put an
   invisible, absolutely positioned marker (no effect on layout) in front of every heading the contents lists;
3. print once; ``pdftotext`` (poppler) tells on which page each marker landed;
4. write those numbers into the slots, remove the markers, print again (same layout, so the same pages);
5. check the second print has as many pages as the first and an outline.

Each stage prints one progress line. The result is reproducible: the same site gives the same page count.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "widgets")]

from sitegen.assets import MIME_TYPES  # noqa: E402

PRINT_PAGE = "print_page/"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-first-run", "--disable-quic", "--disable-gpu", "--font-render-hinting=none"]
MARK = "HBPDFMARK"
MARK_RE = re.compile(MARK + r"(\d{4})")
PAGE_FORMAT = "A4"
MARGIN = {"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"}
RENDER_TIMEOUT_MS = 120_000

HEADER = """<div style="font-size:7.5pt;width:100%;padding:0 16mm;color:#666;font-family:sans-serif">
  LLM System Design Interview Handbook</div>"""
FOOTER = """<div style="font-size:7.5pt;width:100%;padding:0 16mm;color:#666;font-family:sans-serif;text-align:right">
  <span class="pageNumber"></span> / <span class="totalPages"></span></div>"""

# Runs in the print page. Returns what it did, for the progress lines and the checks.
PREPARE_JS = r"""
(mark) => {
  // Every collapsed answer, solution and quiz reply is part of the printed book; a design widget's mermaid source is
  // not (its diagram is printed, drawn).
  document.querySelectorAll(".hb-design__source").forEach((d) => d.remove());
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  const root = document.getElementById("print-site-page");
  // A link to a file the site serves (a notebook to download) cannot travel inside a PDF: keep its text, drop the
  // address of the export's local server.
  root.querySelectorAll("a[href]").forEach((a) => {
    const url = new URL(a.getAttribute("href"), location.href);
    if (url.origin === location.origin && url.pathname !== location.pathname) a.removeAttribute("href");
  });
  // One contents entry per section of the navigation and per page: the <section> elements the plugin writes.
  const entries = [];
  root.querySelectorAll(":scope > section.print-page[id], :scope > section.md-section[id], section.print-page[id]")
    .forEach((section) => {
      if (section.closest("#print-site-cover-page") || entries.some((e) => e.section === section)) return;
      const heading = section.querySelector("h1");
      if (!heading) return;
      const level = section.classList.contains("md-section") ? 0 : 1;
      const nested = section.parentElement.closest("section.md-section") ? 1 : 0;
      entries.push({ section, heading, id: section.id, level: level + nested, title: heading.textContent.trim() });
    });
  const nav = document.querySelector("#print-page-toc nav");
  const list = document.createElement("ol");
  list.className = "hb-toc";
  entries.forEach((entry, index) => {
    const code = String(index).padStart(4, "0");
    const item = document.createElement("li");
    item.className = "hb-toc__item hb-toc__item--" + (entry.section.classList.contains("md-section") ? "section" : "page");
    item.style.setProperty("--hb-toc-depth", entry.level);
    const link = document.createElement("a");
    link.href = "#" + entry.id;
    const title = document.createElement("span");
    title.className = "hb-toc__title";
    title.textContent = entry.title.replace(/\s*¶\s*$/, "");
    const leader = document.createElement("span");
    leader.className = "hb-toc__leader";
    const number = document.createElement("span");
    number.className = "hb-toc__page";
    number.dataset.mark = code;
    number.textContent = "000";
    link.append(title, leader, number);
    item.append(link);
    list.append(item);
    const marker = document.createElement("span");
    marker.className = "hb-pdf-mark";
    marker.textContent = mark + code;
    entry.heading.prepend(marker);
  });
  nav.replaceChildren(nav.querySelector(".print-page-toc-title") || document.createElement("h1"), list);
  // Internal links that lead nowhere inside the print page (the plugin prefixes heading ids only).
  const ids = new Set(Array.from(document.querySelectorAll("[id]"), (e) => e.id));
  const broken = [];
  document.querySelectorAll("#print-site-page a[href^='#']").forEach((a) => {
    const target = decodeURIComponent(a.getAttribute("href").slice(1));
    if (target && !ids.has(target)) broken.push(target);
  });
  return { entries: entries.length, broken };
}
"""

FILL_JS = r"""
(pages) => {
  document.querySelectorAll(".hb-toc__page[data-mark]").forEach((slot) => {
    const page = pages[slot.dataset.mark];
    slot.textContent = page === undefined ? "" : String(page);
  });
  document.querySelectorAll(".hb-pdf-mark").forEach((m) => m.remove());
  return document.querySelectorAll(".hb-toc__page").length;
}
"""

# Material replaces each <pre class="mermaid"> with a <div class="mermaid"> holding the SVG in a closed shadow root.
DIAGRAMS_JS = r"""
() => ({ pending: document.querySelectorAll("pre.mermaid").length,
         drawn: document.querySelectorAll("div.mermaid").length })
"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def log_message(self, format: str, *args) -> None:
        pass


def say(stage: int, total: int, message: str, started: float) -> None:
    print(f"[pdf {stage}/{total}] {message} ({time.monotonic() - started:.1f} s)", flush=True)


def pdf_pages_text(pdf: Path) -> list[str]:
    """The text of each page (poppler's pdftotext; pages are separated by form feeds)."""
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True).stdout
    return out.decode("utf-8").split("\f")[:-1] or [""]


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def marker_pages(pages: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for number, text in enumerate(pages, start=1):
        for match in MARK_RE.finditer(text):
            found.setdefault(match.group(1), number)
    return found


def export(site: Path, out: Path, chromium: str) -> dict:
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    total = 6
    for tool in ("pdftotext", "pdfinfo"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install -y poppler-utils (make pdf does this as root)")
    if not (site / PRINT_PAGE / "index.html").is_file():
        raise SystemExit(f"{site / PRINT_PAGE}index.html missing: build the site first (make build)")
    if not os.access(chromium, os.X_OK):
        raise SystemExit(f"Chromium not found at {chromium}: apt-get install -y chromium (or set CHROMIUM=...)")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(site)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/"
    say(1, total, f"serving {site} at {base}", started)
    outside: list[str] = []
    errors: list[str] = []
    try:
        with sync_playwright() as playwright, tempfile.TemporaryDirectory() as scratch:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1200, "height": 1600})

            def route(r):
                if r.request.url.startswith(base) or r.request.url.startswith("data:"):
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.emulate_media(media="print")
            page.goto(base + PRINT_PAGE, wait_until="load", timeout=RENDER_TIMEOUT_MS)
            page.wait_for_function(
                "() => document.querySelectorAll('pre.mermaid').length === 0", timeout=RENDER_TIMEOUT_MS)
            diagrams = page.evaluate(DIAGRAMS_JS)
            prepared = page.evaluate(PREPARE_JS, MARK)
            page.evaluate("document.fonts.ready")
            say(2, total, f"print page loaded: {diagrams['drawn']} diagrams drawn as SVG, "
                          f"{prepared['entries']} contents entries, {len(prepared['broken'])} internal links "
                          f"without a target", started)

            options = dict(format=PAGE_FORMAT, margin=MARGIN, print_background=True, display_header_footer=True,
                           header_template=HEADER, footer_template=FOOTER, outline=True, tagged=True)
            first = Path(scratch) / "first.pdf"
            page.pdf(path=str(first), **options)
            first_count = page_count(first)
            say(3, total, f"first print: {first_count} pages", started)

            located = marker_pages(pdf_pages_text(first))
            missing = prepared["entries"] - len(located)
            say(4, total, f"located {len(located)} of {prepared['entries']} contents entries in the first print", started)
            if missing:
                raise SystemExit(f"{missing} contents entries were not found in the first print")

            page.evaluate(FILL_JS, located)
            out.parent.mkdir(parents=True, exist_ok=True)
            partial = out.with_suffix(".pdf.part")
            page.pdf(path=str(partial), **options)
            browser.close()
        final_count = page_count(partial)
        say(5, total, f"second print with page numbers: {final_count} pages", started)
        if final_count != first_count:
            raise SystemExit(f"the second print has {final_count} pages, the first {first_count}: the layout moved")
        if MARK in "".join(pdf_pages_text(partial)):
            raise SystemExit("a page-number marker survived into the final PDF")
        partial.replace(out)
    finally:
        server.shutdown()
        server.server_close()
    if outside:
        raise SystemExit(f"the print page requested {len(outside)} address(es) off this machine: {outside[:3]}")
    summary = {"pages": final_count, "first_pages": first_count, "bytes": out.stat().st_size, "diagrams": diagrams["drawn"],
               "contents_entries": prepared["entries"], "broken_internal_links": prepared["broken"],
               "console_errors": errors, "seconds": round(time.monotonic() - started, 1)}
    say(6, total, f"wrote {out} ({final_count} pages, {out.stat().st_size / 1e6:.1f} MB)", started)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--out", type=Path, default=None, help="default: SITE/handbook.pdf")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM") or "/usr/bin/chromium")
    args = parser.parse_args(argv)
    out = args.out or args.site / "handbook.pdf"
    summary = export(args.site.resolve(), out.resolve(), args.chromium)
    # What the export saw, next to the PDF (tests/site/test_pdf.py reads it).
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if summary["broken_internal_links"]:
        print(f"warning: {len(summary['broken_internal_links'])} internal links without a target: "
              f"{sorted(set(summary['broken_internal_links']))[:10]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
