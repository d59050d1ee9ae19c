"""The site works offline: no page makes a request beyond 127.0.0.1 or logs an error, diagrams render from the
vendored mermaid even after instant navigation, and the vendored Pyodide runs the model's wheel exactly as CPython."""

from __future__ import annotations

import json
import posixpath
from pathlib import Path

from bs4 import BeautifulSoup


def test_every_page_is_offline_and_error_free(watched, site_server, site_dir, built_pages):
    page, watch = watched
    opened = 0
    for html in built_pages:
        path = html.relative_to(site_dir).as_posix()
        watch.current = path
        response = page.goto(site_server.base + path, wait_until="networkidle")
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        opened += 1
    print(f"\nopened {opened} pages")
    assert opened == len(built_pages) and opened > 0
    problems = watch.problems()
    assert not problems, f"{len(problems)} problem(s) across {opened} pages:\n" + "\n".join(problems)


def _pages_with_diagrams(site_dir: Path, built_pages: list[Path]) -> tuple[list[str], list[str]]:
    with_diagram, without = [], []
    for html in built_pages:
        soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
        if soup.select_one("article.md-content__inner") is None or html.name == "404.html":
            continue
        relative = html.relative_to(site_dir).as_posix()
        (with_diagram if soup.select_one("article pre.mermaid") else without).append(relative)
    return with_diagram, without


def _diagrams_rendered(page) -> bool:
    """Material swaps each <pre class="mermaid"> for a host element holding the SVG in a closed shadow root."""
    return page.evaluate(
        """() => {
            const article = document.querySelector("article.md-content__inner");
            const waiting = article.querySelectorAll("pre.mermaid").length;
            const hosts = [...article.querySelectorAll("div.mermaid")];
            return waiting === 0 && hosts.length > 0 && hosts.every(h => h.getBoundingClientRect().height > 20);
        }"""
    )


def test_diagrams_render_after_instant_navigation(watched, site_server, site_dir, built_pages, built_site_url):
    """Arrive on a page without a diagram, follow a link with instant navigation to one with a diagram.

    This is where mkdocs-mermaid2-plugin failed (its script tag is outside the part of the page instant navigation
    swaps, so Material fetched mermaid from unpkg). Material only navigates instantly to URLs in the sitemap, matched
    with their port, so the sitemap is rewritten to this server's address as `make serve` would have built it.
    """
    with_diagram, without = _pages_with_diagrams(site_dir, built_pages)
    assert with_diagram, "no page has a mermaid diagram to check (content should have several)"
    page, watch = watched
    built_for = built_site_url

    def sitemap(route) -> None:
        response = route.fetch()
        route.fulfill(response=response, body=response.text().replace(built_for, site_server.base))

    page.route("**/sitemap.xml", sitemap)
    start = "index.html" if "index.html" in without else without[0]
    target = with_diagram[0]
    watch.current = f"{start} -> {target}"
    page.goto(site_server.base + start, wait_until="networkidle")
    assert page.evaluate("typeof mermaid") == "object", "every page should define the mermaid stand-in"
    page.evaluate("window.__sameDocument = true")
    href = target.removesuffix("index.html")
    page.wait_for_function(
        """(href) => {
            const link = [...document.querySelectorAll("a[href]")].find(a => a.href === new URL(href, location).href);
            if (link) { link.click(); return true; }
            return false;
        }""",
        arg=site_server.base + href,
    )
    page.wait_for_url(site_server.base + href)
    page.wait_for_function("() => document.querySelector('article pre.mermaid, article div.mermaid') !== null")
    assert page.evaluate("window.__sameDocument === true"), "navigation was not instant (full page load)"
    page.wait_for_function(
        """() => [...document.querySelectorAll("article div.mermaid")].length > 0
                 && document.querySelectorAll("article pre.mermaid").length === 0""",
        timeout=30_000,
    )
    assert _diagrams_rendered(page)
    page.wait_for_load_state("networkidle")
    assert not watch.problems(), "\n".join(watch.problems())

    # and a direct load of the diagram page renders too
    watch.current = target
    page.goto(site_server.base + target, wait_until="networkidle")
    page.wait_for_function("() => document.querySelectorAll('article pre.mermaid').length === 0", timeout=30_000)
    assert _diagrams_rendered(page)
    assert not watch.problems(), "\n".join(watch.problems())


def test_pyodide_runs_the_wheel_like_cpython(watched, site_server, site_dir):
    """Boot the vendored Pyodide from the site, unpack the model's wheel, and compare sizing.api.run with CPython's."""
    from sizing import api

    page, watch = watched
    watch.current = "pyodide boot"
    page.goto(site_server.base + "index.html", wait_until="networkidle")
    index = json.loads((site_dir / "assets" / "wheels" / "index.json").read_text(encoding="utf-8"))
    params = json.dumps({"model": "llama-3.1-70b"})
    page.add_script_tag(url=site_server.base + "assets/vendor/pyodide/pyodide.js")
    answer = page.evaluate(
        """async ({indexURL, wheelURL, params}) => {
            const pyodide = await loadPyodide({indexURL});
            const response = await fetch(wheelURL);
            if (!response.ok) throw new Error(`wheel: HTTP ${response.status}`);
            const sitePackages = pyodide.runPython("import sysconfig; sysconfig.get_path('purelib')");
            pyodide.unpackArchive(await response.arrayBuffer(), "wheel", {extractDir: sitePackages});
            const api = pyodide.pyimport("sizing.api");
            return {
                result: api.run("model", params),
                version: pyodide.runPython("import sys; '.'.join(map(str, sys.version_info[:3]))"),
                installed: pyodide.runPython("import importlib.metadata as m; m.version('sizing')"),
                where: pyodide.runPython("import sizing; sizing.__file__"),
                sitePackages,
            };
        }""",
        {
            "indexURL": site_server.base + "assets/vendor/pyodide/",
            "wheelURL": site_server.base + "assets/wheels/" + index["sizing"]["file"],
            "params": params,
        },
    )
    print(f"\nPyodide's Python {answer['version']} loaded sizing {answer['installed']} from {answer['where']}")
    assert _clean(answer["where"]) == _clean(f"{answer['sitePackages']}/sizing/__init__.py")
    assert answer["installed"] == index["sizing"]["version"]  # the wheel's dist-info was unpacked with it
    assert json.loads(answer["result"]) == json.loads(api.run("model", params))
    assert answer["result"] == api.run("model", params)  # byte-identical JSON, not merely equal numbers
    assert not watch.problems(), "\n".join(watch.problems())


def _clean(path: str) -> str:
    # Pyodide's sysconfig prefix is "/", so paths can start with "//", which normpath keeps (POSIX leaves it special).
    return posixpath.normpath("/" + path.lstrip("/"))
