"""The capacity-planning notebook: it runs top to bottom with the repository's own `sizing`, the built page shows the
outputs of that run, the page offers the notebook for download, and `pip install .` from a clone gives a `sizing`
that imports without the repository on the path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbclient import NotebookClient

NOTEBOOK = Path("docs/calculators/capacity-notebook.ipynb")
PAGE = Path("calculators/capacity-notebook/index.html")


def _outputs(nb) -> list[str]:
    texts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                texts.append(output["text"])
            elif "data" in output and "text/plain" in output["data"]:
                texts.append(output["data"]["text/plain"])
    return texts


@pytest.fixture(scope="module")
def executed(root):
    """The notebook run in a fresh kernel whose `sizing` is this checkout's (PYTHONPATH wins over an installed copy)."""
    nb = nbformat.read(root / NOTEBOOK, as_version=4)
    env_path = os.pathsep.join(str(root / part) for part in ("widgets", "scripts"))
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env_path + (os.pathsep + previous if previous else "")
    try:
        NotebookClient(nb, kernel_name="python3", timeout=300,
                       resources={"metadata": {"path": str(root / NOTEBOOK.parent)}}).execute()
    finally:
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous
    return nb


def test_notebook_runs_every_step_without_errors(executed):
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors, errors
    text = "\n".join(_outputs(executed))
    for step in ("peak load", "weights per GPU", "TPOT target", "replicas", "per month", "GPUs at the average rate"):
        assert step in text, f"the notebook no longer prints {step!r}"


def test_markdown_cells_follow_the_number_rule(root):
    """Markdown cells are prose (the build does not render value markers in notebooks), so they carry no numbers."""
    from sitegen.audit import audit_html

    nb = nbformat.read(root / NOTEBOOK, as_version=4)
    import markdown

    prose = "\n\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    html = '<article class="md-content__inner">' + markdown.markdown(prose, extensions=["fenced_code"]) + "</article>"
    assert audit_html(html, str(NOTEBOOK)) == []


def test_built_page_shows_the_outputs_of_a_fresh_run(site_dir, executed):
    soup = BeautifulSoup((site_dir / PAGE).read_text(encoding="utf-8"), "html.parser")
    shown = " ".join(" ".join(node.get_text().split()) for node in soup.select(".jp-OutputArea"))
    assert shown, "the built notebook page has no execution output (was it executed at build time?)"
    for text in _outputs(executed):
        for line in text.splitlines():
            if line.strip():
                assert " ".join(line.split()) in shown, f"output line missing from the built page: {line!r}"


def test_built_page_offers_the_notebook_for_download(site_dir):
    soup = BeautifulSoup((site_dir / PAGE).read_text(encoding="utf-8"), "html.parser")
    assert soup.select_one('a[href="capacity-notebook.ipynb"]') is not None
    copy = site_dir / PAGE.parent / "capacity-notebook.ipynb"
    assert nbformat.read(copy, as_version=4).cells, "the downloadable copy is missing or empty"


def test_pip_install_from_a_clone_gives_a_working_sizing(root, tmp_path):
    """What the notebook's instructions say, offline: install the checkout into a fresh directory and import from it."""
    clone = tmp_path / "clone"  # the files a clone has that the package build reads; building here keeps the tree clean
    for part in ("widgets/sizing", "scripts/sitegen"):
        shutil.copytree(root / part, clone / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(root / "pyproject.toml", clone / "pyproject.toml")
    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target), "."],
        cwd=clone, check=True, capture_output=True, text=True,
    )
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import json, sizing; from sizing import api, scenarios\n"
        "assert sizing.__file__.startswith(sys.argv[1]), sizing.__file__\n"
        "assert 'calculator-collectives' in scenarios.builtin()\n"
        "out = json.loads(api.run('fleet', json.dumps(scenarios.builtin()['fleet-chat-70b'].params())))\n"
        "print(out['gpus'])\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(target)], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 1
