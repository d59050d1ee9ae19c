"""MkDocs hooks: the event table. The work is done by pure modules under sitegen (see sitegen/build.py)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _folder in ("widgets", "scripts"):  # so the build also works without `pip install -e .`
    if str(ROOT / _folder) not in sys.path:
        sys.path.insert(0, str(ROOT / _folder))

# `mkdocs serve` loads this file again on every rebuild: forget the model and site code loaded last time, so edits to
# the model or its data show up in the rebuilt pages.
if "sitegen.build" in sys.modules:
    for _name in [name for name in sys.modules if name.split(".")[0] in {"sizing", "sitegen"}]:
        del sys.modules[_name]

from sitegen.build import SiteBuild  # noqa: E402

_build = SiteBuild(ROOT)

on_config = _build.on_config
on_serve = _build.on_serve
on_files = _build.on_files
on_nav = _build.on_nav
on_page_markdown = _build.on_page_markdown
on_page_content = _build.on_page_content
on_post_build = _build.on_post_build
