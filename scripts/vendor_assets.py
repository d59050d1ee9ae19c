#!/usr/bin/env python3
"""Copy the browser runtime from node_modules/ into widgets/vendor/ (git-ignored), which the build adds to the site.

Pyodide's core (loader, Emscripten glue, WebAssembly, standard library, lock file) and mermaid's single-file build.
The installed versions must be the ones package.json pins, so the site never ships something the lock file did not
choose. Files already up to date are left alone, so a second run does nothing.

Usage: python scripts/vendor_assets.py [--root DIR]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sitegen.assets import VENDOR_DIR, AssetError, check_versions, installed_versions, vendor_plan  # noqa: E402


def vendor(root: Path) -> list[str]:
    """Copy what is missing or changed; return the paths (relative to widgets/vendor) that were written."""
    node_modules = root / "node_modules"
    installed = installed_versions_or_fail(node_modules)
    check_versions(installed, json.loads((root / "package.json").read_text(encoding="utf-8")))
    target = root / VENDOR_DIR
    written = []
    plan = vendor_plan(node_modules)
    wanted = {relative for _, relative in plan} | {"versions.json"}
    for source, relative in plan:
        destination = target / relative
        if destination.is_file() and filecmp.cmp(source, destination, shallow=False):
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        written.append(relative)
    # Files vendored by an older pin (e.g. pyodide.asm.js after an upgrade to .mjs) must not linger in the site.
    for stale in sorted(p for p in target.rglob("*") if p.is_file()):
        relative = stale.relative_to(target).as_posix()
        if relative not in wanted:
            stale.unlink()
            written.append(f"{relative} (removed)")
    versions = target / "versions.json"
    text = json.dumps(installed, indent=2, sort_keys=True) + "\n"
    if not versions.is_file() or versions.read_text(encoding="utf-8") != text:
        versions.write_text(text, encoding="utf-8")
        written.append("versions.json")
    return written


def installed_versions_or_fail(node_modules: Path) -> dict[str, str]:
    try:
        return installed_versions(node_modules)
    except FileNotFoundError as error:
        raise AssetError(f"{error.filename}: missing; run 'npm ci' first") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    try:
        written = vendor(args.root)
    except AssetError as error:
        print(f"vendor_assets: {error}", file=sys.stderr)
        return 1
    print(f"vendor_assets: {len(written)} file(s) updated in {VENDOR_DIR}" + (": " + ", ".join(written) if written else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
