"""Mock-interview pages in Chromium, offline, in both colour schemes: no serious accessibility violations (contrast
of the margin notes and verdicts included), the diagram renders, and nothing leaves 127.0.0.1."""

from __future__ import annotations

import pytest

PAGES = ("transcripts/batching-scheduler-p95/", "transcripts/rag-enterprise-tenants/")


@pytest.mark.parametrize("scheme", ["default", "slate"])
@pytest.mark.parametrize("path", PAGES)
def test_transcript_page_is_accessible_and_offline(watched, site_server, root, path, scheme):
    page, watch = watched
    watch.current = path
    page.goto(site_server.base + path, wait_until="load")
    page.evaluate("(scheme) => document.body.setAttribute('data-md-color-scheme', scheme)", scheme)
    page.wait_for_function("() => document.querySelector('article div.mermaid') && !document.querySelector('article pre.mermaid')")
    page.add_script_tag(content=(root / "node_modules" / "axe-core" / "axe.min.js").read_text(encoding="utf-8"))
    # The dialogue with its margin notes and the checked-numbers table: what this page adds to the theme.
    violations = page.evaluate("""async () => {
        const r = await axe.run({include: [['.hb-transcript'], ['.hb-checks']]}, {resultTypes: ['violations']});
        return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
          .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 4).join(', '));
    }""")
    assert violations == []
    assert page.locator("[data-annotation]").count() >= 8
    assert not watch.problems()
