"""The diagram builder and the design review in Chromium, offline: the build-time diagram renders, an edit recomputes in
Pyodide exactly as CPython does, the mermaid source renders to an SVG of real size, the design survives a copied link,
copy and download work, errors sit next to their field, and labels carrying HTML or script are drawn as text."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from sizing import api, scenarios

BUILDER = "calculators/diagram-builder/"
REVIEW = "calculators/design-review/"


def _axe(page, axe) -> list[str]:
    """Serious or critical accessibility violations inside the widget (the diagram's shadow root included)."""
    page.mouse.move(0, 0)  # Material's hover and focus colours for buttons are its theme's, not the widget's
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    return axe(page, "[data-widget]")


def _cpython(name: str, params: dict) -> dict:
    return json.loads(api.run(name, json.dumps(params)))


def _open(page, server, path: str, query: dict | None = None) -> None:
    page.goto(server.base + path + ("?" + urlencode(query) if query else ""), wait_until="domcontentloaded")
    page.wait_for_function("() => document.querySelector('[data-widget]')?.dataset.state")


def _computed(page) -> None:
    page.wait_for_function(
        """() => { const r = document.querySelector('[data-widget]');
                   return ['ready', 'error', 'unavailable'].includes(r.dataset.state) && !r.hasAttribute('data-busy')
                          && (r.dataset.state !== 'ready' || ['drawn', 'failed'].includes(r.dataset.diagram)); }""")


def _svg_size(page) -> dict:
    """Mermaid draws inside the canvas's own (open) shadow root: measure the SVG there."""
    return page.evaluate("""() => { const host = document.querySelector('[data-widget] .hb-diagram__canvas');
        const svg = host && host.shadowRoot && host.shadowRoot.querySelector('svg');
        if (!svg) return null;
        const box = svg.getBoundingClientRect();
        return {width: box.width, height: box.height, nodes: svg.querySelectorAll('g.node').length,
                text: host.shadowRoot.textContent}; }""")


def _params(page) -> dict:
    return page.evaluate("""() => Object.fromEntries(new URLSearchParams(location.search))""")


def _api_params(query: dict, lens: bool) -> dict:
    out = {k: v for k, v in query.items() if k not in {"architecture", "labels", "lens"} and v != ""}
    out["components"] = query.get("components", "")
    out["connections"] = query.get("connections", "")
    out["labels"] = json.loads(query["labels"]) if query.get("labels") else {}
    if lens and query.get("lens"):
        out["lens"] = query["lens"]
    return out


def test_build_time_diagram_renders_without_python(watched, site_server):
    page, watch = watched
    watch.current = BUILDER
    _open(page, site_server, BUILDER)
    # Material swaps the build's <pre class="mermaid"> for its own host element once the vendored mermaid has drawn it
    page.wait_for_function("() => document.querySelector('figure.hb-diagram div.mermaid') !== null")
    assert page.evaluate("() => window.pyodide === undefined && typeof loadPyodide === 'undefined'")
    box = page.locator("figure.hb-diagram div.mermaid").bounding_box()
    assert box["width"] > 300 and box["height"] > 300
    assert watch.problems() == []


def test_builder_recomputes_like_cpython_and_draws(watched, site_server, axe):
    page, watch = watched
    watch.current = BUILDER
    _open(page, site_server, BUILDER)
    page.wait_for_function("() => document.querySelector('[data-widget]').dataset.state === 'idle'")
    assert _axe(page, axe) == []
    page.fill("[data-widget=diagram-builder] [name=requests_per_s]", "45")
    _computed(page)
    assert _axe(page, axe) == []
    root = page.locator("[data-widget=diagram-builder]")
    assert root.get_attribute("data-state") == "ready" and root.get_attribute("data-diagram") == "drawn"
    query = _params(page)
    assert query["requests_per_s"] == "45" and query["architecture"] == "llm-api"
    expected = _cpython("diagram", _api_params(query, lens=False))
    assert page.locator("[data-mermaid-source]").text_content() == expected["mermaid"]
    outputs = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[data-widget] output[data-output]')]
        .map(o => [o.dataset.output, o.dataset.value]))""")
    assert outputs["gpus"] == str(expected["gpus"]) and outputs["serving_replicas"] == str(expected["serving_replicas"])
    svg = _svg_size(page)
    assert svg["width"] > 300 and svg["height"] > 300
    assert svg["nodes"] == len(expected["components"])
    assert "Serving fleet" in svg["text"]
    assert page.locator("figure.hb-diagram").is_hidden()  # the build's drawing gives way to the live one
    assert watch.problems() == []


def test_builder_edits_survive_a_copied_link(watched, site_server):
    page, watch = watched
    watch.current = BUILDER
    _open(page, site_server, BUILDER)
    widget = "[data-widget=diagram-builder]"
    page.select_option(f"{widget} [name=architecture]", "rag")
    page.click(f"{widget} [data-action=start]")
    _computed(page)
    page.select_option(f"{widget} [data-role=add]", "tracing")
    page.click(f"{widget} [data-action=add]")
    page.select_option(f"{widget} [data-role=from]", "reranker")
    page.select_option(f"{widget} [data-role=to]", "tracing")
    page.click(f"{widget} [data-action=connect]")
    page.fill(f"{widget} [data-label-for=reranker]", "Cross-encoder")
    page.press(f"{widget} [data-label-for=reranker]", "Enter")
    _computed(page)
    page.wait_for_function("() => document.querySelector('[data-mermaid-source]').textContent.includes('Cross-encoder')")
    page.click(f"{widget} [data-remove=bm25-index]")
    _computed(page)
    query = _params(page)
    assert "tracing" in query["components"].split(",") and "bm25-index" not in query["components"].split(",")
    assert "reranker>tracing" in query["connections"].split(",")
    assert json.loads(query["labels"]) == {"reranker": "Cross-encoder"}
    source = page.locator("[data-mermaid-source]").text_content()
    assert source == _cpython("diagram", _api_params(query, lens=False))["mermaid"]

    page.click(f"{widget} [data-action=copy]")
    link = page.locator(f"{widget} [data-link]").input_value()
    fresh = page.context.new_page()
    fresh.goto(link, wait_until="domcontentloaded")
    _computed(fresh)
    assert fresh.locator("[data-mermaid-source]").text_content() == source
    assert fresh.locator(f"{widget} [data-label-for=reranker]").input_value() == "Cross-encoder"
    assert fresh.locator(f"{widget} [data-component]").count() == len(query["components"].split(","))
    assert watch.problems() == []


def test_copy_source_and_download_svg(watched, site_server):
    page, watch = watched
    watch.current = BUILDER
    _open(page, site_server, BUILDER)
    widget = "[data-widget=diagram-builder]"
    page.fill(f"{widget} [name=tenants]", "3")
    _computed(page)
    page.click(f"{widget} [data-action=copy-source]")
    assert page.locator(f"{widget} [data-link]").input_value() == page.locator("[data-mermaid-source]").text_content()
    with page.expect_download() as download:
        page.click(f"{widget} [data-action=download-svg]")
    path = download.value.path()
    text = open(path, encoding="utf-8").read()
    assert download.value.suggested_filename == "diagram-builder.svg"
    assert text.startswith("<svg") and "Serving fleet" in text
    assert watch.problems() == []


def test_html_and_script_in_labels_render_as_text(watched, site_server):
    page, watch = watched
    watch.current = BUILDER
    hostile = '<img src=x onerror="__hb=1"><script>__hb=2</script>'  # within the 60-character label limit
    query = {"components": "gateway,serving-fleet", "connections": "gateway>serving-fleet",
             "labels": json.dumps({"gateway": hostile})}
    _open(page, site_server, BUILDER, query)
    _computed(page)
    assert page.locator("[data-widget]").get_attribute("data-diagram") == "drawn"
    assert page.evaluate("() => window.__hb") is None
    assert page.evaluate("""() => { const s = document.querySelector('.hb-diagram__canvas').shadowRoot;
        return s.querySelectorAll('img, script, foreignObject script').length; }""") == 0
    svg = _svg_size(page)
    assert '<img src=x onerror="__hb=1">' in svg["text"]  # drawn as text, not parsed as markup
    assert page.locator("[data-label-for=gateway]").input_value() == hostile
    assert page.locator("[data-mermaid-source]").evaluate("e => e.children.length") == 0
    # a hostile value for a select is offered back as text and named by the model's error
    _open(page, site_server, BUILDER, {"model": "<b>x</b>", "architecture": "llm-api"})
    _computed(page)
    assert page.locator("[data-error-for=model]").text_content().startswith("unknown model")
    assert page.locator("[data-widget] b").count() == 0
    assert watch.problems() == []


def test_review_through_a_lens_matches_cpython(watched, site_server, axe):
    page, watch = watched
    watch.current = REVIEW
    _open(page, site_server, REVIEW)
    built = page.evaluate("() => [...document.querySelectorAll('li.hb-finding')].map(li => li.dataset.check)")
    default = _cpython("design_review", scenarios.builtin()["design-review-sketch"].params())
    assert built == [f["check"] for f in default["findings"]]
    widget = "[data-widget=design-review]"
    page.select_option(f"{widget} [name=lens]", "reliability-and-audit")
    _computed(page)
    page.select_option(f"{widget} [data-role=add]", "rate-limiter")
    page.click(f"{widget} [data-action=add]")
    _computed(page)
    query = _params(page)
    expected = _cpython("design_review", _api_params(query, lens=True))
    shown = page.evaluate("""() => [...document.querySelectorAll('li.hb-finding')].map(li => [li.dataset.severity,
        li.dataset.check, li.querySelector('.hb-finding__evidence').textContent])""")
    assert shown == [[f["severity"], f["check"], "Evidence " + f["evidence_text"]] for f in expected["findings"]]
    assert page.locator(".hb-review__level").get_attribute("data-level") == expected["level"]
    assert "admission-control" not in [row[1] for row in shown]
    assert _axe(page, axe) == []
    assert _svg_size(page)["nodes"] == len(expected["components"])
    assert watch.problems() == []


def test_review_errors_sit_next_to_their_field(watched, site_server):
    page, watch = watched
    watch.current = REVIEW
    _open(page, site_server, REVIEW)
    widget = "[data-widget=design-review]"
    page.fill(f"{widget} [name=requests_per_s]", "-1")
    _computed(page)
    message = _cpython("design_review", {**scenarios.builtin()["design-review-sketch"].params(), "requests_per_s": "-1"})
    assert page.locator(f"{widget} [data-error-for=requests_per_s]").text_content() == message["error"]["message"]
    assert page.locator(f"{widget} [name=requests_per_s]").get_attribute("aria-invalid") == "true"
    page.fill(f"{widget} [name=requests_per_s]", "20")
    _computed(page)
    assert page.locator(f"{widget} [data-error-for=requests_per_s]").is_hidden()
    assert watch.problems() == []
