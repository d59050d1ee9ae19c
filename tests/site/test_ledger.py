"""The value ledger: its shape, its determinism, and `make values` reproducing site/values.json without a build."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sitegen.ledger import Ledger, LedgerError, ledger_from_sources
from sitegen.pages import PageSource, is_page, page_sources
from sizing.values import Value

COMPUTED = Value("t.ttft_ms", 62.5, "ttft_ms", "computed", "TTFT = prefill + queue = 50 ms + 12.5 ms = 62.5 ms")
INPUT = Value("gpu.x.memory_bytes", 80_000_000_000, "memory_bytes", "input", "datasheet (as of 2024-01-01)")


def test_entries_collect_texts_and_pages_sorted():
    ledger = Ledger()
    ledger.record("b.md", "t.ttft_ms", COMPUTED, "62.5 ms")
    ledger.record("a.md", "t.ttft_ms", COMPUTED, "0.0625 s")
    ledger.record("a.md", "t.ttft_ms", COMPUTED, "62.5 ms")
    ledger.record("a.md", "gpu.x.memory_bytes", INPUT, "80 GB")
    assert ledger.as_dict() == {
        "gpu.x.memory_bytes": {"value": 80_000_000_000, "text": "80 GB", "texts": ["80 GB"], "kind": "input",
                               "source": "datasheet (as of 2024-01-01)", "pages": ["a.md"]},
        "t.ttft_ms": {"value": 62.5, "text": "62.5 ms", "texts": ["0.0625 s", "62.5 ms"], "kind": "computed",
                      "formula": COMPUTED.explanation, "pages": ["a.md", "b.md"]},
    }
    assert list(json.loads(ledger.to_json())) == ["gpu.x.memory_bytes", "t.ttft_ms"]


def test_same_key_with_two_values_is_an_error():
    ledger = Ledger()
    ledger.record("a.md", "t.ttft_ms", COMPUTED, "62.5 ms")
    other = Value("t.ttft_ms", 63.0, "ttft_ms", "computed", "…")
    with pytest.raises(LedgerError, match="b.md: value 't.ttft_ms' is 63.0"):
        ledger.record("b.md", "t.ttft_ms", other, "63 ms")


def test_ledger_from_sources_uses_the_model():
    # kv-70b is a shipped scenario: Llama 3.1 70B, 2 × 80 layers × 8 KV heads × 128 × 2 B = 327,680 B per token
    sources = [
        PageSource("one.md", 'A {{ v("kv-70b.kv_bf16_bytes_per_token") }} cache, `{{ v("not.evaluated") }}`.'),
        PageSource("two.md", '{{ v("kv-70b.kv_bf16_bytes_per_token", unit="KiB") }}'),
    ]
    entry = ledger_from_sources(sources).as_dict()["kv-70b.kv_bf16_bytes_per_token"]
    assert entry["value"] == 2 * 80 * 8 * 128 * 2
    assert entry["kind"] == "computed"
    assert entry["texts"] == ["320 KiB", "328 KB"]
    assert entry["pages"] == ["one.md", "two.md"]


def test_page_filter_mirrors_exclude_docs():
    assert is_page("index.md") and is_page("interview/loop.md")
    assert not is_page("includes/abbreviations.md")
    assert not is_page("assets/overrides/404.html")
    assert not is_page(".drafts/x.md") and not is_page("templates/x.md")
    assert not is_page("notebooks/a.ipynb")


def test_authored_pages_are_found(root):
    sources = {page.src_path for page in page_sources(root)}
    assert "index.md" in sources
    assert "includes/abbreviations.md" not in sources


def test_make_values_reproduces_the_site_ledger(root, site_dir):
    """`make values` (python -m sitegen.ledger) recomputes the ledger from sources alone; it must match the build's."""
    fresh = subprocess.run(
        [sys.executable, "-m", "sitegen.ledger", "--root", str(root), "--out", "-"],
        cwd=root, capture_output=True, text=True, check=False,
        # this tree's code, not whichever checkout the shared virtualenv's editable install points at
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "widgets"), str(root / "scripts")])},
    )
    assert fresh.returncode == 0, fresh.stderr
    built = (site_dir / "values.json").read_text(encoding="utf-8")
    assert fresh.stdout == built, "site/values.json differs from a fresh `make values`: rebuild the site"
