"""The model's wheel: pure py3-none-any, deterministic, complete, importable on its own, and the one the site ships."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import zipfile
from io import BytesIO

from sitegen.wheel import build_wheel, package_version


def test_deterministic(root):
    first = build_wheel(root / "widgets" / "sizing")
    second = build_wheel(root / "widgets" / "sizing")
    assert first.content == second.content
    assert first.filename == f"sizing-{package_version(root / 'widgets' / 'sizing')}-py3-none-any.whl"


def test_contents_and_record(root):
    wheel = build_wheel(root / "widgets" / "sizing")
    archive = zipfile.ZipFile(BytesIO(wheel.content))
    names = archive.namelist()
    dist_info = f"sizing-{wheel.version}.dist-info"
    assert "sizing/__init__.py" in names and "sizing/api.py" in names and "sizing/data/models.json" in names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert all(name.startswith(("sizing/", dist_info + "/")) for name in names)
    assert names[-1] == f"{dist_info}/RECORD"
    assert "Tag: py3-none-any" in archive.read(f"{dist_info}/WHEEL").decode()
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
    record = archive.read(f"{dist_info}/RECORD").decode().splitlines()
    assert len(record) == len(names)
    for line in record[:-1]:
        name, digest, size = line.rsplit(",", 2)
        data = archive.read(name)
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert digest == f"sha256={expected}" and int(size) == len(data), name
    sources = sorted(p.relative_to(root / "widgets").as_posix()
                     for p in (root / "widgets" / "sizing").rglob("*.py") if "__pycache__" not in p.parts)
    assert sources == sorted(n for n in names if n.endswith(".py"))


def test_runs_from_the_wheel_alone(root, tmp_path):
    """The wheel on sys.path (zipimport, no source tree) answers like the source tree: what Pyodide will unpack."""
    wheel = build_wheel(root / "widgets" / "sizing")
    path = tmp_path / wheel.filename
    path.write_bytes(wheel.content)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import sizing.api as api; "
        "assert api.__file__.startswith(sys.argv[1]), api.__file__; "
        "print(api.run('model', '{\"model\": \"llama-3.1-70b\"}'))"
    )
    out = subprocess.run([sys.executable, "-I", "-c", code, str(path)], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    from sizing import api

    assert json.loads(out.stdout) == json.loads(api.run("model", '{"model": "llama-3.1-70b"}'))


def test_site_ships_this_wheel(root, site_dir, tmp_path):
    wheel = build_wheel(root / "widgets" / "sizing")
    index = json.loads((site_dir / "assets" / "wheels" / "index.json").read_text())
    assert index["sizing"]["file"] == wheel.filename
    shipped = (site_dir / "assets" / "wheels" / wheel.filename).read_bytes()
    assert shipped == wheel.content, "site/ has a stale wheel: rebuild the site"
    assert index["sizing"]["sha256"] == hashlib.sha256(shipped).hexdigest()
    script = root / "scripts" / "build_wheel.py"
    out = subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(tmp_path / wheel.filename)
    assert (tmp_path / wheel.filename).read_bytes() == wheel.content  # the make target writes the same bytes
