"""A deterministic pure-Python wheel of the ``sizing`` package, built with the standard library's ``zipfile``.

The browser loads the model with ``pyodide.unpackArchive(bytes, "wheel")``, so the site ships it as a normal
``sizing-<version>-py3-none-any.whl``. ``pyodide build`` is not used: it downloads a cross-build environment from
outside the package registries and adds nothing for a package without compiled code.

Determinism: members are sorted, every timestamp is 1980-01-01 00:00:00 (the earliest a zip can hold), every mode
is 0644, compression is DEFLATE at a fixed level; so the same sources give the same bytes (given the same zlib).
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

_EPOCH = (1980, 1, 1, 0, 0, 0)
_VERSION = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)
# Everything a Python package needs at run time; caches and editor files are not part of it.
_INCLUDE_SUFFIXES = (".py", ".json", ".toml", ".txt")
_SKIP_DIRS = {"__pycache__", "tests"}


@dataclass(frozen=True)
class Wheel:
    filename: str  # sizing-0.1.0-py3-none-any.whl
    version: str
    content: bytes
    members: tuple[str, ...]


def package_version(package_dir: Path) -> str:
    """The version declared as ``__version__ = "…"`` in the package's ``__init__.py`` (read, never imported)."""
    init = package_dir / "__init__.py"
    match = _VERSION.search(init.read_text(encoding="utf-8"))
    if not match:
        raise ValueError(f"{init}: no __version__ = \"…\" line; the wheel needs a version")
    return match.group(1)


def package_files(package_dir: Path) -> list[tuple[str, Path]]:
    """(archive path, file) for every file the package needs, sorted by archive path."""
    name = package_dir.name
    found = []
    for path in package_dir.rglob("*"):
        relative = path.relative_to(package_dir)
        if not path.is_file() or any(part in _SKIP_DIRS or part.startswith(".") for part in relative.parts):
            continue
        if path.suffix in _INCLUDE_SUFFIXES:
            found.append((f"{name}/{relative.as_posix()}", path))
    return sorted(found)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"sha256={digest}"


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o100644 << 16
    info.create_system = 3  # Unix, so the mode bits above are honoured the same way everywhere
    archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)


def build_wheel(package_dir: Path, summary: str = "The handbook's sizing and serving-latency model") -> Wheel:
    """Build the wheel in memory. ``package_dir`` is the import package (``widgets/sizing``)."""
    name = package_dir.name
    version = package_version(package_dir)
    dist_info = f"{name}-{version}.dist-info"
    metadata = (
        "Metadata-Version: 2.1\n"
        f"Name: {name}\n"
        f"Version: {version}\n"
        f"Summary: {summary}\n"
        "Requires-Python: >=3.11\n"
    ).encode()
    wheel_meta = (
        "Wheel-Version: 1.0\n"
        "Generator: sitegen.wheel (zipfile)\n"
        "Root-Is-Purelib: true\n"
        "Tag: py3-none-any\n"
    ).encode()
    entries: list[tuple[str, bytes]] = [(arc, path.read_bytes()) for arc, path in package_files(package_dir)]
    entries.append((f"{dist_info}/METADATA", metadata))
    entries.append((f"{dist_info}/WHEEL", wheel_meta))
    entries.append((f"{dist_info}/top_level.txt", f"{name}\n".encode()))
    record_lines = [f"{arc},{_record_hash(data)},{len(data)}" for arc, data in entries]
    record_lines.append(f"{dist_info}/RECORD,,")
    entries.append((f"{dist_info}/RECORD", ("\n".join(record_lines) + "\n").encode()))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arc, data in entries:  # package files sorted first, dist-info last with RECORD at the very end
            _add(archive, arc, data)
    return Wheel(
        filename=f"{name}-{version}-py3-none-any.whl",
        version=version,
        content=buffer.getvalue(),
        members=tuple(arc for arc, _ in entries),
    )
