"""Browser fixtures: the built site served over HTTP on 127.0.0.1, and Debian's Chromium driven by Playwright.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (or ``$CHROMIUM``) with background
networking off. Every request is routed; anything that leaves 127.0.0.1 is recorded and aborted.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sitegen.assets import MIME_TYPES

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-gpu",
]
LOCAL_HOST = "127.0.0.1"


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def log_message(self, format: str, *args) -> None:  # keep the test output readable
        pass


@dataclass
class Server:
    base: str  # http://127.0.0.1:PORT/
    port: int


@pytest.fixture(scope="session")
def site_server(site_dir: Path) -> Iterator[Server]:
    server = http.server.ThreadingHTTPServer((LOCAL_HOST, 0), functools.partial(_Handler, directory=str(site_dir)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield Server(base=f"http://{LOCAL_HOST}:{server.server_port}/", port=server.server_port)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        pytest.fail(f"Chromium not found at {path}: 'apt-get install -y chromium' (make test does this as root) "
                    "or set CHROMIUM=/path/to/chromium")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield instance
        finally:
            instance.close()


@dataclass
class Watch:
    """What one browser context did: requests that tried to leave 127.0.0.1, console errors, uncaught exceptions."""

    external: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    current: str = ""  # the page being checked, to say where a problem happened

    def problems(self) -> list[str]:
        return [f"request left {LOCAL_HOST}: {url}" for url in self.external] + self.errors


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return True
    return parts.hostname == LOCAL_HOST


@pytest.fixture
def watched(browser, site_server):
    """A fresh context whose every request is routed: local ones continue, others are recorded and aborted."""
    watch = Watch()
    context = browser.new_context()
    context.set_default_timeout(120_000)

    def route(route) -> None:
        url = route.request.url
        if is_local(url):
            route.continue_()
        else:
            watch.external.append(f"{url} (from {watch.current or 'page'})")
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error"
            and watch.errors.append(f"console error on {watch.current}: {message.text}"))
    page.on("pageerror", lambda error: watch.errors.append(f"uncaught exception on {watch.current}: {error}"))
    page.on("response", lambda response: response.status >= 400
            and watch.errors.append(f"HTTP {response.status} on {watch.current}: {response.url}"))
    try:
        yield page, watch
    finally:
        context.close()


@pytest.fixture(scope="session")
def built_site_url(root: Path) -> str:
    """The site_url the pages were built with (Material's instant navigation compares links with the sitemap's URLs)."""
    match = re.search(r"^site_url:\s*(\S+)\s*$", (root / "mkdocs.yml").read_text(encoding="utf-8"), re.MULTILINE)
    assert match, "mkdocs.yml has no site_url (Material's instant navigation needs one)"
    return match.group(1).strip("\"'")


_AXE_RUN = """async (selector) => {
    // axe reads colours as they are drawn: a button still fading between its hover and resting colours can fail the
    // contrast check half-way, so let every finite animation and transition finish first.
    await Promise.all(document.getAnimations()
        .filter((a) => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
        .map((a) => a.finished.catch(() => null)));
    const r = await axe.run(document.querySelector(selector), {resultTypes: ['violations']});
    return r.violations.filter((v) => ['serious', 'critical'].includes(v.impact))
        .map((v) => v.id + ': ' + v.help + ' — ' + v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', '));
}"""


@pytest.fixture(scope="session")
def axe(root: Path):
    """axe(page, selector) -> the serious or critical accessibility violations inside selector (axe-core, vendored
    from npm for the tests only), checked once transitions have settled."""
    source = (root / "node_modules" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")

    def run(page, selector: str) -> list[str]:
        if page.evaluate("typeof axe") != "object":
            page.add_script_tag(content=source)
        return page.evaluate(_AXE_RUN, selector)

    return run
