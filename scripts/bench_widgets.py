"""Time every calculator in Chromium, and optionally take its screenshots (light and dark).

Usage: ``.venv/bin/python scripts/bench_widgets.py [--only WIDGET] [--shots DIR]`` after ``make build`` (``make
bench`` runs it). For each calculator spec in widgets/calculators/, prints the time from the first input change to
the first result computed in the browser (cold: Pyodide and the wheel load in a fresh browser context), and the time
of a recompute after an input change until the frame that shows it has been laid out and painted: for six changes
made right after the first result, and (warm) for twenty made after the runtime's idle warm-up (HB.warmUp) has
finished. Not a test: timings depend on the machine.
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
for folder in ("scripts", "widgets"):
    sys.path.insert(0, str(ROOT / folder))

from sitegen import calculators  # noqa: E402
from sitegen.assets import MIME_TYPES  # noqa: E402

READY = "(sel) => { const r = document.querySelector(sel); return r.dataset.state === 'ready' && !r.hasAttribute('data-busy'); }"
RECOMPUTE = """async ([sel, name, value]) => {
    const field = document.querySelector(sel + ' [name="' + name + '"]');
    const start = performance.now();
    field.value = value;
    field.dispatchEvent(new Event(field.tagName === 'SELECT' ? 'change' : 'input', {bubbles: true}));
    // requestAnimationFrame runs before the frame's style, layout and paint; the task queued from it runs after them
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    return performance.now() - start;
}"""


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # a page closed mid-download (the next calculator's context replaces it) is not a benchmark problem
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def log_message(self, format: str, *args) -> None:
        pass


def _toggle(spec) -> tuple[str, str, str]:
    """A field and two good values for it: the default and the first example's different value."""
    from sizing import scenarios

    scenario = scenarios.builtin()[spec.scenario]
    for example in spec.examples:
        for name, value in example.items():
            default = calculators.field_value(scenario.input(name).value)
            # written as the form writes it (a boolean select's options are "true" and "false", not "True")
            if calculators.field_value(value) != default:
                return name, default, calculators.field_value(value)
    raise SystemExit(f"{spec.widget}: no example changes a field, nothing to time")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="one widget name")
    parser.add_argument("--shots", type=Path, help="write light/dark screenshots of each calculator here")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    specs = calculators.load_specs()
    if args.only:
        specs = {args.only: specs[args.only]}
    server = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(ROOT / "site")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/"
    colds, earlies, warms = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for widget, spec in specs.items():
            root = f"[data-widget={widget}]"
            name, first, second = _toggle(spec)
            for scheme in ("light", "dark") if args.shots else ("light",):
                context = browser.new_context(viewport={"width": 1280, "height": 1600}, color_scheme=scheme)
                context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
                page = context.new_page()
                page.goto(base + calculators.page_url(spec.page), wait_until="networkidle")
                if scheme == "dark":
                    page.evaluate("document.body.setAttribute('data-md-color-scheme', 'slate')")
                start = time.perf_counter()
                page.evaluate(RECOMPUTE, [root, name, second])
                page.wait_for_function(READY, arg=root, timeout=120_000)
                cold_ms = (time.perf_counter() - start) * 1000
                early = [page.evaluate(RECOMPUTE, [root, name, v]) for v in (first, second) * 3]
                warm_up = page.evaluate("async () => { await HB.warmUp(() => {}); return HB.warm; }")
                warm = [page.evaluate(RECOMPUTE, [root, name, v]) for v in (first, second) * 10]
                snapshot = page.evaluate("HB.booted && HB.booted.snapshot")
                if scheme == "light":
                    colds.append(cold_ms)
                    earlies.extend(early)
                    warms.extend(warm)
                    print(f"{widget:16} cold first result {cold_ms:6.0f} ms; right after it {statistics.median(early):5.1f} ms "
                          f"(max {max(early):5.1f}); warm-up {warm_up['runs']:3} runs, {warm_up['spent_ms']:4.0f} ms; "
                          f"warm recompute median {statistics.median(warm):5.1f} ms, max {max(warm):5.1f} ms "
                          f"over {len(warm)} changes of {name} ({'from the snapshot' if snapshot else 'fresh start, no snapshot'})")
                if args.shots:
                    args.shots.mkdir(parents=True, exist_ok=True)
                    page.evaluate("(sel) => document.querySelector(sel + ' details')?.setAttribute('open', '')", root)
                    page.locator(root).screenshot(path=str(args.shots / f"{widget}-{scheme}.png"))
                context.close()
        browser.close()
    server.shutdown()
    if colds:
        print(f"all calculators: cold median {statistics.median(colds):.0f} ms (max {max(colds):.0f}); "
              f"right after it median {statistics.median(earlies):.1f} ms (max {max(earlies):.1f}); "
              f"warm median {statistics.median(warms):.1f} ms (max {max(warms):.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
