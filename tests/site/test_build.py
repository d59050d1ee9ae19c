"""Real `mkdocs build --strict` runs of throwaway pages (in a temp dir, with the repository's config and hooks).

They prove the wiring, not just the pure functions: a bad marker stops the build with the page file and the key,
a marker in code is shown as written, and the ledger lands in values.json.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup


def make_project(root: Path, tmp: Path, pages: dict[str, str]) -> Path:
    """A copy of mkdocs.yml whose relative paths point back into the repository, and a docs/ with ``pages``."""
    config = (root / "mkdocs.yml").read_text(encoding="utf-8")
    replacements = {
        r"^docs_dir: docs$": f"docs_dir: {tmp / 'docs'}",
        r"^site_dir: site$": f"site_dir: {tmp / 'site'}",
        r"^  - scripts/sitegen/hooks\.py$": f"  - {root / 'scripts/sitegen/hooks.py'}",
        r"^  custom_dir: docs/assets/overrides$": f"  custom_dir: {root / 'docs/assets/overrides'}",
        r"^      cover_page_template: (\S+)$": lambda m: f"      cover_page_template: {root / m.group(1)}",
    }
    for pattern, replacement in replacements.items():
        config, count = re.subn(pattern, replacement, config, flags=re.MULTILINE)
        assert count, f"mkdocs.yml no longer has a line matching {pattern}"
    (tmp / "mkdocs.yml").write_text(config, encoding="utf-8")
    docs = tmp / "docs"
    (docs / "includes").mkdir(parents=True)
    (docs / "includes" / "abbreviations.md").write_text(
        (root / "docs" / "includes" / "abbreviations.md").read_text(encoding="utf-8"), encoding="utf-8")
    for name, text in pages.items():
        path = docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp / "mkdocs.yml"


def build(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(config)],
        cwd=config.parent, capture_output=True, text=True, timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )


GOOD_PAGE = """# Demo

The syntax is `{{ v("KEY") }}`; this one is live: {{ v("kv-70b.kv_bf16_bytes_per_token", unit="KiB") }}.

```markdown
{{ derive("any.key") }}
```

{{ derive("kv-70b.kv_bf16_bytes_per_token") }}

!!! note "Inside an admonition"

    Layers: {{ v("model.llama-3.1-70b.layers") }}.

    {{ derive("kv-70b.kv_saving_vs_mha_x") }}
"""


def test_good_page_builds(root, tmp_path):
    config = make_project(root, tmp_path, {"index.md": GOOD_PAGE})
    result = build(config)
    assert result.returncode == 0, result.stderr
    site = tmp_path / "site"
    assert not (site / "includes").exists(), "includes/ must not be published"
    soup = BeautifulSoup((site / "index.html").read_text(encoding="utf-8"), "html.parser")
    codes = [code.get_text() for code in soup.select("article code")]
    assert '{{ v("KEY") }}' in codes
    assert any('{{ derive("any.key") }}' in code for code in codes)
    live = soup.select('span.hb-value[data-key="kv-70b.kv_bf16_bytes_per_token"]')
    assert [span.get_text() for span in live] == ["320 KiB", "328 KB"]  # inline with unit="KiB"; the derivation's result
    blocks = soup.select("div.hb-derivation")
    assert [b["data-key"] for b in blocks] == ["kv-70b.kv_bf16_bytes_per_token", "kv-70b.kv_saving_vs_mha_x"]
    assert blocks[1].find_parent("div", class_="admonition") is not None  # a block inside an admonition stays there
    assert blocks[1].find_parent("p") is None
    ledger = json.loads((site / "values.json").read_text(encoding="utf-8"))
    # pages generated from the repository's data (companies, transcripts) are built too; look at this page's values
    ledger = {key: entry for key, entry in ledger.items() if "index.md" in entry["pages"]}
    assert sorted(ledger) == ["kv-70b.kv_bf16_bytes_per_token", "kv-70b.kv_saving_vs_mha_x",
                              "model.llama-3.1-70b.layers"]
    assert ledger["kv-70b.kv_bf16_bytes_per_token"]["texts"] == ["320 KiB", "328 KB"]
    assert ledger["model.llama-3.1-70b.layers"] == {
        **ledger["model.llama-3.1-70b.layers"], "value": 80, "kind": "input", "pages": ["index.md"]}
    assert (site / "assets" / "wheels" / "index.json").is_file()
    assert (site / "assets" / "vendor" / "pyodide" / "pyodide.asm.wasm").is_file()


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ('# T\n\nFine.\n\nBroken: {{ v("kv-70b.no_such_field") }}\n',
         r"docs/bad\.md:5: value 'kv-70b\.no_such_field' does not evaluate"),
        ('# T\n\n{{ derive("model.llama-3.1-70b.layers") }}\n',
         r"docs/bad\.md:3: value 'model\.llama-3\.1-70b\.layers' has no derivation"),
        ('# T\n\nA {{ v("kv-70b.params", digits=99) }} typo.\n',
         r"docs/bad\.md:3: marker .*digits must be a whole number"),
        ('# T\n\nHalf a marker {{ v("kv-70b.params")\n', r"docs/bad\.md:3: '\{\{' is never closed"),
        ('# T\n\n--8<-- "includes/snippet.md"\n', r"docs/bad\.md: marker text left in the page"),
    ],
)
def test_bad_marker_stops_the_build_naming_page_and_key(root, tmp_path, page, expected):
    config = make_project(root, tmp_path, {"index.md": "# Home\n", "bad.md": page})
    (tmp_path / "docs" / "includes" / "snippet.md").write_text('Snippets are not rendered: {{ v("kv-70b.params") }}\n')
    result = build(config)
    assert result.returncode != 0, "the build should have failed"
    assert re.search(expected, result.stderr), result.stderr[-2000:]


NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# A notebook\n", "\n", "Its output is computed when the site builds."]},
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": ["print(6 * 7)"]},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                 "language_info": {"name": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def test_notebooks_are_executed_and_their_output_is_exempt(root, tmp_path):
    """mkdocs-jupyter runs every notebook at build time (execute: true); execution output is outside the audit."""
    from sitegen.audit import audit_html

    config = make_project(root, tmp_path, {"index.md": "# Home\n", "demo.ipynb": json.dumps(NOTEBOOK)})
    result = build(config)
    assert result.returncode == 0, result.stderr[-3000:]
    page = (tmp_path / "site" / "demo" / "index.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(page, "html.parser")
    outputs = " ".join(node.get_text() for node in soup.select(".jp-OutputArea"))
    assert "42" in outputs, "the notebook was not executed"
    assert audit_html(page, "demo/index.html") == []


def test_a_failing_notebook_fails_the_build(root, tmp_path):
    broken = json.loads(json.dumps(NOTEBOOK))
    broken["cells"][1]["source"] = ["raise RuntimeError('notebook cell fails')"]
    config = make_project(root, tmp_path, {"index.md": "# Home\n", "demo.ipynb": json.dumps(broken)})
    result = build(config)
    assert result.returncode != 0
    assert "notebook cell fails" in result.stderr
