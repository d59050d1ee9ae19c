"""Which files the site serves besides its pages, and where: vendored Pyodide and mermaid, the model's wheel, widgets.

Nothing here is fetched from a CDN at run time. ``scripts/vendor_assets.py`` copies the npm packages' files into
``widgets/vendor/`` (git-ignored); the build hook adds them, the wheel (built in memory from ``widgets/sizing``) and
``widgets/js`` / ``widgets/css`` to the site, so ``mkdocs build`` and ``mkdocs serve`` both serve them.

Site layout (widgets find it from Material's ``__config.base``):

* ``assets/vendor/pyodide/``        the Pyodide core (``indexURL`` for ``loadPyodide``)
* ``assets/vendor/mermaid/mermaid.min.js``
* ``assets/vendor/versions.json``   the vendored npm versions
* ``assets/wheels/sizing-<version>-py3-none-any.whl`` and ``assets/wheels/index.json`` (``{"sizing": {"file", "version",
  "sha256"}, "snapshot": {"file"}}``), with ``assets/wheels/snapshot-<sha>.bin.gz`` when the build made one
* ``assets/widgets/js/…``, ``assets/widgets/css/…``  (added to every page, in file-name order)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .wheel import Wheel, build_wheel

VENDOR_DIR = Path("widgets") / "vendor"
SITE_VENDOR = "assets/vendor"
SITE_WHEELS = "assets/wheels"
SITE_WIDGETS = "assets/widgets"
SNAPSHOT_DIR = Path("build") / "snapshot"  # written by scripts/make_snapshot.mjs (make build)

# npm package -> (files to copy from node_modules/<package>/, files of which at least one must exist).
# Pyodide 314 ships its Emscripten glue as pyodide.asm.mjs; older releases had pyodide.asm.js. Either boots.
PYODIDE_FILES = ("pyodide.js", "pyodide.mjs", "pyodide.asm.js", "pyodide.asm.mjs", "pyodide.asm.wasm",
                 "python_stdlib.zip", "pyodide-lock.json")
PYODIDE_REQUIRED = (("pyodide.js", "pyodide.mjs"), ("pyodide.asm.js", "pyodide.asm.mjs"), ("pyodide.asm.wasm",),
                    ("python_stdlib.zip",), ("pyodide-lock.json",))
MERMAID_FILES = ("dist/mermaid.min.js",)
VENDORED = {"pyodide": (PYODIDE_FILES, PYODIDE_REQUIRED), "mermaid": (MERMAID_FILES, (MERMAID_FILES,))}

# Browsers refuse a module script or streamed WebAssembly served with another type, and Python's mimetypes only knows
# these from the machine's /etc/mime.types; `mkdocs serve` and the test server both register them.
MIME_TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
              ".whl": "application/zip", ".json": "application/json"}


def register_mime_types() -> None:
    import mimetypes

    for suffix, mime in MIME_TYPES.items():
        mimetypes.add_type(mime, suffix)


class AssetError(RuntimeError):
    """A vendored asset is missing or stale; the message says which and what to run."""


@dataclass(frozen=True)
class Asset:
    dest_uri: str  # path inside the site, with forward slashes
    abs_path: Path | None = None  # copied from disk, or
    content: bytes | None = None  # generated in memory


def vendor_plan(node_modules: Path) -> list[tuple[Path, str]]:
    """(source in node_modules, path under widgets/vendor) for every file to vendor; raises AssetError if one is missing."""
    plan: list[tuple[Path, str]] = []
    for package, (files, required) in VENDORED.items():
        base = node_modules / package
        if not (base / "package.json").is_file():
            raise AssetError(f"{base}: npm package {package!r} is not installed; run 'npm ci'")
        for group in required:
            if not any((base / name).is_file() for name in group):
                raise AssetError(f"{base}: none of {', '.join(group)} found; is the {package} version in package.json right?")
        for name in files:
            if (base / name).is_file():
                plan.append((base / name, f"{package}/{Path(name).name}"))
    return plan


def installed_versions(node_modules: Path) -> dict[str, str]:
    return {
        package: json.loads((node_modules / package / "package.json").read_text(encoding="utf-8"))["version"]
        for package in VENDORED
    }


def check_versions(installed: dict[str, str], package_json: dict) -> None:
    """Refuse to vendor a package whose installed version is not the one package.json pins."""
    pinned = package_json.get("dependencies", {})
    for package, version in installed.items():
        if pinned.get(package) != version:
            raise AssetError(
                f"node_modules/{package} is {version} but package.json pins {pinned.get(package)!r}; run 'npm ci'"
            )


def vendored_assets(root: Path) -> list[Asset]:
    """The vendored files as site assets; raises AssetError naming the command that creates them."""
    vendor = root / VENDOR_DIR
    versions = vendor / "versions.json"
    if not versions.is_file():
        raise AssetError(f"{vendor} is empty: run 'make vendor' (or 'python scripts/vendor_assets.py' after 'npm ci')")
    assets = [Asset(f"{SITE_VENDOR}/versions.json", abs_path=versions)]
    for package, (_, required) in VENDORED.items():
        folder = vendor / package
        for group in required:
            if not any((folder / Path(name).name).is_file() for name in group):
                raise AssetError(f"{folder}: {' or '.join(group)} missing; run 'make vendor'")
        for path in sorted(folder.iterdir()):
            if path.is_file():
                assets.append(Asset(f"{SITE_VENDOR}/{package}/{path.name}", abs_path=path))
    return assets


def snapshot_for(root: Path, wheel_sha256: str) -> Path | None:
    """``build/snapshot/snapshot.bin.gz`` if ``scripts/make_snapshot.mjs`` made it from this wheel and the vendored
    Pyodide; otherwise None (the browser then starts Python from scratch, never from a snapshot of an older model)."""
    folder = root / SNAPSHOT_DIR
    try:
        meta = json.loads((folder / "snapshot.json").read_text(encoding="utf-8"))
        vendored = json.loads((root / VENDOR_DIR / "versions.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    pyodide = vendored.get("pyodide", {})
    version = pyodide.get("version") if isinstance(pyodide, dict) else pyodide
    if meta.get("wheel_sha256") != wheel_sha256 or meta.get("pyodide") != version:
        return None
    path = folder / "snapshot.bin.gz"
    return path if path.is_file() else None


def wheel_assets(root: Path) -> tuple[Wheel, list[Asset]]:
    """The model's wheel, built from the working tree, its index (so widgets need not know the version) and, when
    one matches the wheel, the memory snapshot of a Pyodide that has imported it."""
    wheel = build_wheel(root / "widgets" / "sizing")
    sha256 = hashlib.sha256(wheel.content).hexdigest()
    index: dict = {"sizing": {"file": wheel.filename, "version": wheel.version, "sha256": sha256}}
    assets = [Asset(f"{SITE_WHEELS}/{wheel.filename}", content=wheel.content)]
    snapshot = snapshot_for(root, sha256)
    if snapshot is not None:
        name = f"snapshot-{sha256[:12]}.bin.gz"
        index["snapshot"] = {"file": name}
        assets.append(Asset(f"{SITE_WHEELS}/{name}", abs_path=snapshot))
    assets.append(Asset(f"{SITE_WHEELS}/index.json", content=(json.dumps(index, indent=2, sort_keys=True) + "\n").encode()))
    return wheel, assets


def widget_assets(root: Path) -> tuple[list[Asset], list[str], list[str]]:
    """widgets/js and widgets/css as site assets, plus the script and stylesheet URIs every page should load."""
    assets: list[Asset] = []
    scripts: list[str] = []
    styles: list[str] = []
    for kind in ("js", "css"):
        folder = root / "widgets" / kind
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
            uri = f"{SITE_WIDGETS}/{kind}/{path.relative_to(folder).as_posix()}"
            assets.append(Asset(uri, abs_path=path))
            if kind == "js" and path.suffix in {".js", ".mjs"} and path.parent == folder:
                scripts.append(uri)
            elif kind == "css" and path.suffix == ".css" and path.parent == folder:
                styles.append(uri)
    return assets, scripts, styles
