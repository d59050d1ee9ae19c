"""The number-rule audit on planted HTML: typed numbers are caught, names are not, exempt elements are exempt."""

from __future__ import annotations

import pytest
from sitegen.audit import audit_html, leftover_markers, starts_token


def page(body: str) -> str:
    return (
        "<html><body><header>Version 3 of the header is not audited</header>"
        f'<article class="md-content__inner md-typeset">{body}</article>'
        "<footer>Copyright 2026</footer></body></html>"
    )


def numbers(body: str) -> list[str]:
    return [o.number for o in audit_html(page(body), "x.html")]


@pytest.mark.parametrize(
    ("text", "caught"),
    [
        ("TP=4", ["4"]),
        ("27,000 tokens", ["27", "000"]),  # a comma is not "-" or ".", so "000" starts a token too
        ("$36M", ["36"]),
        ("30 ms", ["30"]),
        ("8x7B", ["8"]),
        ("a 3.5 s wait", ["3"]),
        ("(1)", ["1"]),
        ("-5 degrees", ["5"]),
        ("at 2×", ["2"]),
        ("2026", ["2026"]),
    ],
)
def test_typed_numbers_are_caught(text, caught):
    assert numbers(f"<p>{text}</p>") == caught


@pytest.mark.parametrize("name", ["H100", "FP8", "p95", "Llama-3.1-70B", "GPT-4o", "bf16", "A100_80GB", "x.5"])
def test_names_are_not_numbers(name):
    assert numbers(f"<p>The {name} case.</p>") == []


def test_rule_on_raw_text():
    assert starts_token("30", 0)
    assert not starts_token("H100", 1)
    assert not starts_token("a-1", 2) and not starts_token("a.1", 2)
    assert starts_token(" -1", 2) and starts_token("(.5", 2)


def test_value_spans_and_other_exempt_elements():
    body = (
        '<p>Needs <span class="hb-value" data-key="k" data-value="4">4 GPUs</span> and '
        '<code>TP=4</code>, <kbd>Ctrl</kbd>+<kbd>1</kbd>, <samp>42</samp>.</p>'
        "<pre><code>x = 1000</code></pre>"
        '<div class="hb-derivation" data-key="k"><p>2 × 80 × 8</p></div>'
        "<script>var a = 1;</script><style>.a{width:3px}</style>"
        '<svg><text x="1">12 ms</text></svg><math><mn>2</mn></math>'
        '<h2 id="a">Title<a class="headerlink" href="#a">1</a></h2>'
        '<p>Claim<sup id="fnref:1"><a class="footnote-ref" href="#fn:1">1</a></sup>.</p>'
        '<p>Code <span class="md-annotation__index">2</span></p>'
        '<div class="jp-Cell-outputWrapper"><div class="jp-OutputArea">Out: 3.14</div></div>'
        '<div class="jp-InputPrompt">In [7]:</div>'
        '<div class="jp-InputArea"><div class="clipboard-copy-txt">print(6 * 7)</div></div>'
        '<span class="arithmatex">\\(2^{10}\\)</span>'
    )
    assert numbers(body) == []


def test_data_key_exempts_whole_subtree_but_not_neighbours():
    assert numbers('<p><span data-key="k">8</span> and then 9 more</p>') == ["9"]


def test_annotation_markers_in_annotate_blocks_are_exempt():
    body = '<p class="annotate">Batch the requests (1) then measure (2)!</p><ol><li>Why: it fills the GPU.</li></ol>'
    assert numbers(body) == []
    assert numbers("<p>Not annotated (1)</p>") == ["1"]


def test_block_boundaries_separate_text():
    # "A" and "100" in neighbouring cells must not read as the name "A100"
    assert numbers("<table><tr><td>A</td><td>100</td></tr></table>") == ["100"]
    assert numbers("<p>line A<br>100 more</p>") == ["100"]
    assert numbers("<ul><li>x</li><li>2</li></ul>") == ["2"]
    assert numbers('<div class="tabbed-labels"><label>Option A</label><label>2 GPUs</label></div>') == ["2"]


def test_inline_elements_join_text():
    assert numbers("<p>H<strong>100</strong> and <em>p</em>95</p>") == []


def test_only_main_content_is_audited():
    assert audit_html(page("<p>clean</p>"), "x.html") == []
    assert audit_html("<html><body><p>Page 404</p></body></html>", "x.html") == []


def test_attributes_are_not_read():
    assert numbers('<p><a href="/v2/page" title="3 steps">link</a> <img alt="5 cats" src="a.png"></p>') == []


def test_offender_reports_page_and_context():
    (offender,) = audit_html(page("<p>The cluster needs 27 GPUs in all.</p>"), "design/index.html")
    assert offender.page == "design/index.html"
    assert offender.number == "27"
    assert "needs »27« GPUs" in offender.context
    assert "design/index.html" in str(offender)


def test_leftover_markers_outside_code():
    assert leftover_markers('<p>value {{ v("a.b") }}</p>') == ['value {{ v("a.b") }}']
    assert leftover_markers("<p>a }} b</p>") == ["a }} b"]
    assert leftover_markers('<p><code>{{ v("a.b") }}</code></p><pre>{{</pre>') == []
