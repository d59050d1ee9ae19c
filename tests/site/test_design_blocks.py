"""The diagram() and review() blocks: what they render from the model, and that the result passes the number audit."""

from __future__ import annotations

import json

from bs4 import BeautifulSoup
from sitegen import audit, design
from sitegen.ledger import default_resolvers
from sitegen.markers import place_blocks, render
from sizing import api, scenarios

PAGE = "calculators/x.md"


def _page(markdown: str):
    resolve, scenario = default_resolvers()
    rendered = render(markdown, PAGE, resolve, scenario)
    body = rendered.markdown
    for token in rendered.blocks:
        body = body.replace(token, f"<p>{token}</p>")
    html = place_blocks(f'<article class="md-content__inner md-typeset">{body}</article>', rendered.blocks, PAGE)
    return rendered, BeautifulSoup(html, "html.parser"), html


def test_diagram_block_is_the_models_mermaid_and_the_palette():
    rendered, soup, html = _page('Intro.\n\n{{ diagram("diagram-llm-api") }}\n')
    params = scenarios.builtin()["diagram-llm-api"].params()
    expected = json.loads(api.run("diagram", json.dumps(params)))["mermaid"]
    assert soup.select_one("figure.hb-diagram pre.mermaid code").get_text() == expected
    data = json.loads(soup.select_one("[data-design]")["data-design"])
    assert data["scenario"] == "diagram-llm-api" and data["params"] == params
    assert [c["id"] for c in data["components"]][:3] == ["gateway", "auth", "rate-limiter"]
    assert rendered.uses == []  # the diagram's numbers are graphics, not value elements
    assert audit.audit_html(html, PAGE) == [] and audit.leftover_markers(html) == []


def test_review_block_keys_every_evidence_number():
    rendered, soup, html = _page('{{ review("design-review-sketch") }}\n')
    result = json.loads(api.run("design_review", json.dumps(scenarios.builtin()["design-review-sketch"].params())))
    items = soup.select("li.hb-finding")
    assert [(li["data-severity"], li["data-check"]) for li in items] == [(f["severity"], f["check"]) for f in result["findings"]]
    # the text a reader sees is the model's formatted evidence, and each number in it is a value element
    for li, finding in zip(items, result["findings"]):
        evidence = li.select_one(".hb-finding__evidence")
        assert evidence.get_text().removeprefix("Evidence ") == finding["evidence_text"]
        assert [span["data-key"] for span in evidence.select("[data-key]")] == [
            f"design-review-sketch.{field}" for field in finding["evidence_fields"]]
    assert soup.select_one(".hb-review__level")["data-level"] == result["level"] == "mid"
    assert audit.audit_html(html, PAGE) == []
    keys = {key for key, _, _ in rendered.uses}
    assert "design-review-sketch.gpus" in keys and "design-review-sketch.level" in keys


def test_review_html_escapes_text():
    result = {"level": "mid", "level_text": "<b>x</b>", "level_reason": "r", "findings": [
        {"check": "connectivity", "severity": "low", "title": "T", "lens": False, "stronger": "<i>s</i>",
         "evidence": "Not connected: <script>alert(1)</script> {{gpus}}."}]}
    html = design.review_html(result, lambda field: "N")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &#123;gpus&#125;." in html
    assert "&lt;i&gt;s&lt;/i&gt;" in html and "&lt;b&gt;x&lt;/b&gt;" in html
