"""What the generic calculator tests (test_calculators.py) do not cover, on the Memory & fit calculator: its selects
are the catalog, a page without widgets requests no Pyodide (or mermaid) file, the widget mounts after instant
navigation and is usable from the keyboard, and it says so when Python cannot load."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup

PAGE = "calculators/memory/"
FIELDS = ("model", "gpu", "tp", "weights", "kv", "context_tokens")


def _cpython(params: dict) -> dict:
    from sizing import api

    return json.loads(api.run("memory", json.dumps(params)))


def _display(name: str, value) -> str:
    from sizing.formatting import format_field

    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return format_field(name, value)
    return str(value)


def _open(page, server, query: dict | None = None) -> None:
    page.goto(server.base + PAGE + ("?" + urlencode(query) if query else ""), wait_until="domcontentloaded")
    page.wait_for_function("() => document.querySelector('[data-widget=memory-fit]')?.dataset.state")


def _wait_ready(page) -> None:
    page.wait_for_function(
        "() => ['ready', 'error', 'unavailable'].includes(document.querySelector('[data-widget=memory-fit]').dataset.state)"
        " && !document.querySelector('[data-widget=memory-fit]').hasAttribute('data-busy')")


def _outputs(page) -> dict[str, tuple[str, str]]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[data-widget=memory-fit] [data-output]')]
        .filter(o => o.tagName === 'OUTPUT').map(o => [o.dataset.output, [o.dataset.value, o.textContent.trim()]]))""")


def _set(page, name: str, value: str) -> None:
    field = page.locator(f"[data-widget=memory-fit] [name={name}]")
    if field.evaluate("e => e.tagName") == "SELECT":
        field.select_option(value)
    else:
        field.fill(value)


def _error(page, name: str) -> str:
    box = page.locator(f"[data-widget=memory-fit] [data-error-for={name}]")
    return box.text_content().strip() if box.is_visible() else ""


def _assert_matches_cpython(page, params: dict) -> None:
    expected = _cpython(params)
    assert "error" not in expected, expected
    shown = _outputs(page)
    assert shown, "no outputs"
    for name, (raw, text) in shown.items():
        value = expected[name]
        if isinstance(value, bool) or isinstance(value, str):
            assert raw == str(value).lower() if isinstance(value, bool) else raw == value, (name, raw, value)
        else:
            assert float(raw) == pytest.approx(value, rel=1e-12, abs=0), (name, raw, value)
        assert text == _display(name, value), (name, text)
    derivations = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
        '[data-widget=memory-fit] [data-derivations] .hb-derivation')].map(d => [d.dataset.output,
        [d.querySelector('.hb-derivation__substitution').textContent, d.querySelector('.hb-derivation__result').textContent]]))""")
    assert derivations == {k: [d["substitution"], d["result_text"]] for k, d in expected["derivations"].items()}


def test_choices_are_the_catalog(site_dir):
    """The selects offer exactly the catalog's ids, so a catalog change cannot leave the page behind."""
    from sizing import catalog

    soup = BeautifulSoup((site_dir / PAGE / "index.html").read_text(encoding="utf-8"), "html.parser")
    root = soup.select_one("[data-widget=memory-fit]")
    select_ids = {name: [o["value"] for o in root.select(f"select[name={name}] option")] for name in ("model", "gpu", "weights")}
    assert select_ids == {"model": list(catalog.models()), "gpu": list(catalog.gpus()), "weights": list(catalog.precisions())}


def test_page_without_widgets_requests_no_pyodide_or_mermaid(watched, site_server):
    page, watch = watched
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    for path in ("index.html", "fundamentals/kv-cache/", "calculators/"):
        watch.current = path
        page.goto(site_server.base + path, wait_until="networkidle")
        page.mouse.wheel(0, 2000)
        page.wait_for_timeout(300)
    heavy = [url for url in requested if "/vendor/pyodide/" in url or "/wheels/" in url or "/vendor/mermaid/" in url]
    assert not heavy, heavy  # none of these pages draws a diagram, so mermaid is not fetched either
    # and the calculator page itself loads none until the reader uses it
    watch.current = PAGE
    page.goto(site_server.base + PAGE, wait_until="networkidle")
    heavy = [url for url in requested if "/vendor/pyodide/" in url or "/wheels/" in url]
    assert not heavy, heavy
    assert not watch.problems(), "\n".join(watch.problems())


def test_keyboard_copy_link_and_instant_navigation(watched, site_server, built_site_url):
    """Arrive on the calculators index, follow the link with Material's instant navigation: the widget mounts; it is
    usable from the keyboard alone; "copy link" offers the URL that restores the setting."""
    page, watch = watched

    def sitemap(route) -> None:  # Material navigates instantly only to URLs of its sitemap (see test_offline)
        response = route.fetch()
        route.fulfill(response=response, body=response.text().replace(built_site_url, site_server.base))

    page.route("**/sitemap.xml", sitemap)
    watch.current = "calculators/ -> " + PAGE
    page.goto(site_server.base + "calculators/", wait_until="networkidle")
    page.evaluate("window.__sameDocument = true")
    page.locator("article a[href$='memory/']").first.click()
    page.wait_for_url(site_server.base + PAGE)
    page.wait_for_function("() => document.querySelector('[data-widget=memory-fit]')?.dataset.state === 'idle'")
    assert page.evaluate("window.__sameDocument === true"), "navigation was not instant"

    page.focus("[data-widget=memory-fit] [name=model]")
    page.keyboard.press("Tab")  # to the GPU select
    assert page.evaluate("document.activeElement.name") == "gpu"
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("8")
    _wait_ready(page)
    assert page.evaluate("new URLSearchParams(location.search).get('tp')") == "8"
    _assert_matches_cpython(page, {"model": "llama-3.1-70b", "gpu": "h100-sxm", "tp": 8, "weights": "fp8", "kv": "bf16",
                                   "context_tokens": 8192})
    page.focus("[data-widget=memory-fit] [data-action=copy]")
    page.keyboard.press("Enter")
    link = page.locator("[data-widget=memory-fit] [data-link]")
    link.wait_for(state="visible")
    assert link.input_value() == page.url and "tp=8" in page.url
    assert not watch.problems(), "\n".join(watch.problems())


def test_a_clear_message_when_python_cannot_load(browser, site_server):
    """With the Pyodide files unreachable, the widget says so and keeps the build's values (never blank)."""
    context = browser.new_context()
    context.route("**/*", lambda route: route.abort() if "/vendor/pyodide/" in route.request.url
                  or not route.request.url.startswith(site_server.base) else route.continue_())
    page = context.new_page()
    try:
        _open(page, site_server)
        before = _outputs(page)
        _set(page, "tp", "2")
        page.wait_for_function("() => document.querySelector('[data-widget=memory-fit]').dataset.state === 'unavailable'")
        status = page.locator("[data-widget=memory-fit] [data-status]").text_content()
        assert "could not start Python" in status
        assert _outputs(page) == before and all(text for _, text in before.values())
    finally:
        context.close()


def test_python_starts_from_the_snapshot_and_without_it(browser, site_server, site_dir):
    """When the build shipped a memory snapshot, the runtime starts from it; if it cannot be fetched, Python starts
    from scratch and computes the same result."""
    index = json.loads((site_dir / "assets" / "wheels" / "index.json").read_text(encoding="utf-8"))
    results = {}
    for blocked in (False, True):
        context = browser.new_context()
        def route(route, blocked=blocked) -> None:  # Playwright passes the request as a second argument when asked
            url = route.request.url
            if (blocked is True and "/snapshot-" in url) or not url.startswith(site_server.base):
                route.abort()
            else:
                route.continue_()

        context.route("**/*", lambda r: route(r))
        context.set_default_timeout(120_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            _open(page, site_server, {"tp": "8"})
            _wait_ready(page)
            booted = page.evaluate("HB.booted")
            assert booted == {"snapshot": "snapshot" in index and not blocked}, (blocked, booted)
            results[blocked] = _outputs(page)
            assert not errors, errors
        finally:
            context.close()
    assert results[False] == results[True]
