"""Time the Memory & fit calculator in Chromium and take its screenshots (light and dark).

Usage: ``.venv/bin/python scripts/bench_memory_fit.py [--shots DIR]`` after ``make build``. Prints the time from the
first input change to the first result computed in the browser (cold: Pyodide and the wheel load), and the time of
a recompute after an input change, up to the next painted frame (warm). Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from sitegen.assets import MIME_TYPES  # noqa: E402

READY = "() => document.querySelector('[data-widget=memory-fit]').dataset.state === 'ready'"
RECOMPUTE = """async (v) => {
    const field = document.querySelector('[data-widget=memory-fit] [name=tp]');
    const start = performance.now();
    field.value = v;
    field.dispatchEvent(new Event('input', {bubbles: true}));
    await new Promise((resolve) => requestAnimationFrame(() => resolve()));
    return performance.now() - start;
}"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def log_message(self, format: str, *args) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=Path, help="write light/dark screenshots of the widget here")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(ROOT / "site")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/calculators/memory/"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"])
        for scheme in ("light", "dark"):
            context = browser.new_context(viewport={"width": 1280, "height": 1600}, color_scheme=scheme)
            context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("http://127.0.0.1") else r.abort())
            page = context.new_page()
            page.goto(url, wait_until="networkidle")
            if scheme == "dark":
                page.evaluate("document.body.setAttribute('data-md-color-scheme', 'slate')")
            start = time.perf_counter()
            page.fill("[data-widget=memory-fit] [name=tp]", "2")
            page.wait_for_function(READY, timeout=120_000)
            cold_ms = (time.perf_counter() - start) * 1000
            warm = [page.evaluate(RECOMPUTE, v) for v in ("1", "8", "4", "2") * 5]
            print(f"{scheme}: cold first result {cold_ms:.0f} ms; warm recompute median {statistics.median(warm):.1f} ms, "
                  f"max {max(warm):.1f} ms over {len(warm)} changes")
            if args.shots:
                args.shots.mkdir(parents=True, exist_ok=True)
                page.fill("[data-widget=memory-fit] [name=tp]", "1")
                page.click("[data-widget=memory-fit] summary")
                page.locator("[data-widget=memory-fit]").screenshot(path=str(args.shots / f"memory-fit-{scheme}.png"))
                page.fill("[data-widget=memory-fit] [name=context_tokens]", "-5")
                page.locator("[data-widget=memory-fit] form").screenshot(path=str(args.shots / f"memory-fit-error-{scheme}.png"))
            context.close()
        browser.close()
    server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
