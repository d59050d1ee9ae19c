"""The Memory & fit calculator in Chromium: it computes what CPython computes, keeps its setting in the URL, reports
every kind of bad input next to its field, treats HTML in the URL as text, and stays offline and error-free; a page
without widgets requests no Pyodide file."""

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
        return str(value)
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


SETTINGS = [
    {"model": "llama-3.1-8b", "gpu": "l4", "tp": "1", "weights": "bf16", "kv": "bf16", "context_tokens": "4096"},
    {"model": "llama-3.1-405b", "gpu": "h200", "tp": "8", "weights": "fp8", "kv": "fp8", "context_tokens": "32768"},
    {"model": "mixtral-8x7b", "gpu": "a100-80gb", "tp": "2", "weights": "int4", "kv": "bf16", "context_tokens": "16384"},
    {"model": "deepseek-v3", "gpu": "h100-sxm", "tp": "8", "weights": "fp8", "kv": "bf16", "context_tokens": "8192"},
]


def _params(setting: dict) -> dict:
    return {k: int(v) if k in ("tp", "context_tokens") else v for k, v in setting.items()}


def test_build_time_page_is_the_default_scenario(site_dir):
    """Before any script runs, inputs hold the scenario's inputs and outputs its computed values."""
    from sizing import values

    soup = BeautifulSoup((site_dir / PAGE / "index.html").read_text(encoding="utf-8"), "html.parser")
    root = soup.select_one("[data-widget=memory-fit]")
    scenario = root["data-scenario"]
    for name in FIELDS:
        field = root.select_one(f"[name={name}]")
        shown = field.select_one("option[selected]")["value"] if field.name == "select" else field["value"]
        assert str(values.evaluate(f"{scenario}.{name}").raw) == shown, name
        assert root.select_one(f"label[for={field['id']}]") is not None, f"{name} has no label"
    for output in root.select("output[data-output]"):
        span = output.select_one("[data-key]")
        assert span["data-key"] == f"{scenario}.{output['data-output']}"
    select_ids = {name: [o["value"] for o in root.select(f"select[name={name}] option")] for name in ("model", "gpu", "weights")}
    from sizing import catalog

    # the choices are exactly the catalog's ids, so a catalog change cannot leave the page behind
    assert select_ids == {"model": list(catalog.models()), "gpu": list(catalog.gpus()), "weights": list(catalog.precisions())}
    assert len(root.select(".hb-derivation")) == 3


def test_computes_like_cpython_and_round_trips_the_url(watched, site_server):
    page, watch = watched
    watch.current = PAGE
    _open(page, site_server)
    assert page.evaluate("typeof loadPyodide") == "undefined", "Pyodide must not load before the reader uses the widget"
    for setting in SETTINGS:
        for name, value in setting.items():
            _set(page, name, value)
        _wait_ready(page)
        page.wait_for_function("(s) => new URLSearchParams(location.search).get('context_tokens') === s", arg=setting["context_tokens"])
        _wait_ready(page)
        _assert_matches_cpython(page, _params(setting))
        query = page.evaluate("() => Object.fromEntries(new URLSearchParams(location.search))")
        assert query == setting
    # open the URL in a fresh load: the same state and the same outputs
    url = page.url
    before = _outputs(page)
    page.goto(url, wait_until="domcontentloaded")
    _wait_ready(page)
    for name, value in SETTINGS[-1].items():
        assert page.locator(f"[data-widget=memory-fit] [name={name}]").input_value() == value
    assert _outputs(page) == before
    # reset: defaults back, URL cleared
    page.click("[data-widget=memory-fit] [data-action=reset]")
    assert page.evaluate("location.search") == ""
    assert page.locator("[data-widget=memory-fit] [name=model]").input_value() == "llama-3.1-70b"
    assert not watch.problems(), "\n".join(watch.problems())


BAD = [
    ("context_tokens", "", "enter a value"),
    ("context_tokens", "-5", "must be from"),
    ("context_tokens", "0", "must be from"),
    ("context_tokens", "abc", "must be a number"),
    ("context_tokens", "999999999", "must be from"),
    ("context_tokens", "200000", "-token context of"),
    ("tp", "0", "must be from"),
    ("tp", "3", "must divide"),
    ("tp", "1", "does not fit"),
]


def test_bad_inputs_show_their_messages(watched, site_server):
    page, watch = watched
    watch.current = PAGE
    _open(page, site_server)
    _set(page, "weights", "bf16")
    _wait_ready(page)
    for name, value, expected in BAD:
        _set(page, name, value)
        _wait_ready(page)
        message = _error(page, name)
        assert message, f"{name}={value!r}: no message next to the field"
        assert expected in message, f"{name}={value!r}: {message!r}"
        params = {"model": "llama-3.1-70b", "gpu": "h100-sxm", "tp": 4, "weights": "bf16", "kv": "bf16",
                  "context_tokens": 8192, name: int(value) if value.lstrip("-").isdigit() else value}
        model_error = _cpython(params).get("error")
        if model_error:
            assert message == model_error["message"]
        assert page.locator(f"[data-widget=memory-fit] [name={name}]").get_attribute("aria-invalid") == "true"
        text = page.locator("[data-widget=memory-fit]").inner_text()
        assert "NaN" not in text and "Traceback" not in text and "undefined" not in text
        _set(page, name, "4" if name == "tp" else "8192")
        _wait_ready(page)
        assert _error(page, name) == "", f"{name}: message stays after a good value"
    assert not watch.problems(), "\n".join(watch.problems())


def test_html_in_the_url_is_inert(watched, site_server):
    page, watch = watched
    watch.current = PAGE
    payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    _open(page, site_server, {"model": payload, "context_tokens": payload, "gpu": "h100-sxm"})
    _wait_ready(page)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("[data-widget=memory-fit] img").count() == 0
    assert page.locator("[data-widget=memory-fit] [name=context_tokens]").input_value() == payload
    message = _error(page, "model") or _error(page, "context_tokens")
    assert payload in message or "must be" in message
    assert not watch.problems(), "\n".join(watch.problems())


def test_page_without_widgets_requests_no_pyodide(watched, site_server):
    page, watch = watched
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    for path in ("index.html", "fundamentals/kv-cache/", "calculators/"):
        watch.current = path
        page.goto(site_server.base + path, wait_until="networkidle")
        page.mouse.wheel(0, 2000)
        page.wait_for_timeout(300)
    heavy = [url for url in requested if "/vendor/pyodide/" in url or "/wheels/" in url]
    assert not heavy, heavy
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
