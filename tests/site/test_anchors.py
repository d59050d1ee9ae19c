"""Stable deep links: every registered anchor stays reachable; headings carry explicit ids; questions have stable ids.

The registry is ``tests/site/anchors.json`` (``make anchors`` regenerates it from the built site and refuses to drop
an anchor). The check itself is ``scripts/anchors.py``; the tests below also prove it fails when an anchor is removed
or moved without a redirect, on modified copies of the built site's anchors.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import anchors  # noqa: E402

QUESTION_ID = re.compile(r"^q-[a-z]+(?:-[a-z]+)*-\d{3}$")


@pytest.fixture(scope="module")
def registry() -> dict:
    return json.loads(anchors.REGISTRY.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def built(site_dir: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    return anchors.scan_site(site_dir)


def test_every_registered_anchor_is_reachable(registry, built):
    found = anchors.problems(registry, *built)
    assert not found, "published anchors no longer reachable:\n  " + "\n  ".join(found)


def test_registry_is_not_empty(registry):
    total = sum(len(ids) for ids in registry["pages"].values())
    assert total > 500 and len(registry["pages"]) > 50


def test_removing_an_anchor_fails_the_check(registry, built):
    current, redirects = built
    page = "serving/capacity/"
    assert "q-serving-001" in current[page]
    modified = copy.deepcopy(current)
    modified[page].remove("q-serving-001")
    found = anchors.problems(registry, modified, redirects)
    assert found == [f"{page}#q-serving-001 disappeared (keep the id: '{{ #q-serving-001 }}' on the heading)"]


def test_moving_an_anchor_needs_a_redirect(registry, built):
    current, redirects = built
    old, new = "serving/capacity/", "serving/cells/"
    moved = copy.deepcopy(current)
    moved[new] = moved[new] + moved.pop(old)  # the whole page merged into another one
    found = anchors.problems(registry, moved, redirects)
    assert found and all("without a redirect" in line or "is gone" in line for line in found)
    assert any(line.startswith(f"{old}#q-serving-001 moved to {new}") for line in found)
    # With a redirect from the old page to the new one, every anchor is reachable again.
    assert anchors.problems(registry, moved, {**redirects, old: new}) == []


def test_deleting_a_page_without_redirect_fails(registry, built):
    current, redirects = built
    gone = {page: ids for page, ids in current.items() if page != "glossary/"}
    found = anchors.problems(registry, gone, redirects)
    assert found and all(line.startswith("glossary/#") for line in found)


def test_every_authored_heading_has_an_explicit_id(root):
    missing = []
    for md in sorted((root / "docs").rglob("*.md")):
        rel = md.relative_to(root / "docs").as_posix()
        if rel.startswith(("includes/", "assets/")):
            continue
        for index, _, line in anchors.markdown_headings(md.read_text(encoding="utf-8")):
            if anchors.with_explicit_id(line, "x") != line:
                missing.append(f"docs/{rel}:{index + 1}: {line.strip()}")
    assert not missing, ("headings without an explicit id (run 'python scripts/anchors.py --explicit-ids' after a "
                         "build):\n  " + "\n  ".join(missing[:20]))


def test_question_ids_are_stable_and_unique(site_dir, built):
    current, _ = built
    seen: dict[str, str] = {}
    bad = []
    for page in current:
        html = (site_dir / page if page.endswith(".html") else site_dir / page / "index.html").read_text(encoding="utf-8")
        for attrs in re.findall(r'<h[1-6]\b([^>]*\bdata-difficulty="[^"]*"[^>]*)>', anchors.article_html(html) or ""):
            found = re.search(r'\bid="([^"]*)"', attrs)
            anchor = found.group(1) if found else ""
            if not QUESTION_ID.match(anchor):
                bad.append(f"{page}: a question has id {anchor!r}")
            elif anchor in seen:
                bad.append(f"{page}: {anchor} also on {seen[anchor]}")
            seen[anchor] = page
    assert len(seen) > 50, f"only {len(seen)} questions found"
    assert not bad, "\n".join(bad)


def test_write_refuses_to_drop_an_anchor(site_dir, tmp_path, registry):
    stale = copy.deepcopy(registry)
    stale["pages"]["serving/capacity/"].append("an-anchor-that-was-removed")
    path = tmp_path / "anchors.json"
    path.write_text(json.dumps(stale), encoding="utf-8")
    assert anchors.main(["--site", str(site_dir), "--registry", str(path), "--write"]) == 1
    assert json.loads(path.read_text(encoding="utf-8")) == stale  # untouched
    assert anchors.main(["--site", str(site_dir), "--registry", str(path)]) == 1
