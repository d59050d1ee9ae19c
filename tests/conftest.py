"""Shared fixtures: the repository root and the built site (``make test`` builds it before pytest runs).

Tests under tests/site/ are marked ``site`` and tests under tests/browser/ ``browser`` automatically, so
``pytest -m browser`` runs exactly the browser tests and ``pytest -m "not browser"`` everything else.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run, so CI is reproducible (a failure found once stays found);
# widen the search locally with HYPOTHESIS_PROFILE=explore.
settings.register_profile("handbook", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "handbook"))

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "site"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath)).resolve()
        parts = path.relative_to(ROOT).parts if path.is_relative_to(ROOT) else ()
        if parts[:2] == ("tests", "browser"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.site)
        elif parts[:2] == ("tests", "site"):
            item.add_marker(pytest.mark.site)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """The built site; a clear failure (not a skip) when it is missing, since make test always builds it first."""
    if not (SITE / "index.html").is_file() or not (SITE / "values.json").is_file():
        pytest.fail("site/ is not built: run 'make build' (or 'make test', which builds it first)")
    return SITE


@pytest.fixture(scope="session")
def built_pages(site_dir: Path) -> list[Path]:
    """Every HTML page of the built site, sorted."""
    return sorted(site_dir.rglob("*.html"))


@pytest.fixture(scope="session")
def site_ledger(site_dir: Path) -> dict:
    return json.loads((site_dir / "values.json").read_text(encoding="utf-8"))
