#!/usr/bin/env python3
"""Build the model's pure-Python wheel (sizing-<version>-py3-none-any.whl) with the standard library's zipfile.

Deterministic: the same sources give the same bytes, so the wheel in the site can be checked against a fresh build.
``pyodide build`` is not used: it downloads a cross-build environment from outside the package registries and adds
nothing for a package without compiled code.

Usage: python scripts/build_wheel.py [--out DIR]   (default build/wheels; prints the wheel's path)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from sitegen.wheel import build_wheel  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "wheels")
    parser.add_argument("--package", type=Path, default=ROOT / "widgets" / "sizing")
    args = parser.parse_args(argv)
    wheel = build_wheel(args.package)
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / wheel.filename
    if not target.is_file() or target.read_bytes() != wheel.content:
        target.write_bytes(wheel.content)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
