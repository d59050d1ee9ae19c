"""Every abbreviation links to its glossary entry, except where a link cannot go."""

import re
from pathlib import Path

from sitegen import glossary

ROOT = Path(__file__).resolve().parents[2]
ABBR = '<abbr title="Time to first token">TTFT</abbr>'


def test_an_abbreviation_in_prose_links_to_its_entry_relative_to_the_page():
    html = f"<p>Watch {ABBR} closely.</p>"
    out = glossary.link_abbreviations(html, "serving/kv-cache/", {"ttft"})
    assert out == f'<p>Watch <a class="hb-abbr" href="../../glossary/#ttft">{ABBR}</a> closely.</p>'
    assert 'href="../glossary/#ttft"' in glossary.link_abbreviations(html, "conventions/", {"ttft"})
    assert 'href="glossary/#ttft"' in glossary.link_abbreviations(html, "", {"ttft"})


def test_no_link_inside_links_headings_or_code_and_none_without_an_entry():
    for html in (
        f'<a href="x">see {ABBR}</a>',
        f"<h2 id='t'>{ABBR} budget</h2>",
        f"<code>{ABBR}</code>",
        f"<pre><span>{ABBR}</span></pre>",
        f"<details><summary>{ABBR}?</summary></details>",
    ):
        assert glossary.link_abbreviations(html, "a/b/", {"ttft"}) == html
    assert glossary.link_abbreviations(f"<p>{ABBR}</p>", "a/b/", {"tpot"}) == f"<p>{ABBR}</p>"
    # After a blocked element closes, linking resumes.
    out = glossary.link_abbreviations(f"<h3>{ABBR}</h3><p>{ABBR}</p>", "a/", {"ttft"})
    assert out.count("hb-abbr") == 1 and out.index("hb-abbr") > out.index("</h3>")


def test_every_abbreviation_has_a_glossary_entry():
    terms = re.findall(r"^\*\[([^\]]+)\]:", (ROOT / "docs/includes/abbreviations.md").read_text(), re.M)
    entries = glossary.glossary_entries(ROOT / "docs")
    missing = [t for t in terms if glossary.entry_id(t) not in entries]
    assert terms and not missing, f"abbreviations without a glossary entry: {missing}"
