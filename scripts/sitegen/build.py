"""What the site build does at each MkDocs event; ``hooks.py`` only maps events to these methods.

* config: add ``widgets/js`` and ``widgets/css`` to every page; start an empty ledger.
* serve: also watch the model, the widgets, the build code and the data folders.
* files: add the vendored runtime, the model's wheel, the widgets and generated pages (``File.generated``, so
  ``mkdocs serve`` serves them too and nothing is written into ``docs/``).
* page_markdown: render value markers from the model and record them in the ledger.
* page_content: put derivation and inputs blocks in place; fail on a marker that reached the HTML unrendered.
* post_build: write ``values.json`` next to the pages, and the study-group exports (``sitegen.exports``): Anki cards,
  ``llms.txt`` and a plain-Markdown copy of each page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.config.config_options import ExtraScriptValue
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from . import assets, audit, exports, glossary, markers
from .ledger import Ledger, LedgerError, default_resolvers
from .pages import DOCS_DIR, generated_pages, is_page

LEDGER_FILE = "values.json"
# Besides docs/ and mkdocs.yml, what `mkdocs serve` rebuilds on: the model and its data, widgets, build code, data files.
WATCHED = ("widgets/sizing", "widgets/js", "widgets/css", "scripts/sitegen", "companies", "transcripts")


class SiteBuild:
    def __init__(self, root: Path):
        self.root = root
        self.ledger = Ledger()
        self._blocks: dict[str, dict[str, str]] = {}  # page -> block placeholders awaiting their HTML
        self._resolve, self._scenario = default_resolvers()
        self._glossary: set[str] = set()  # glossary entry ids, read in on_config
        self._nav_order: list[str] = []  # page src paths in navigation order
        self._plain: dict[str, tuple[str, str]] = {}  # page -> (Markdown copy's site path, its text)
        self._cards: dict[str, list[exports.Card]] = {}  # page -> its question and quiz cards
        self._entries: dict[str, exports.PageEntry] = {}  # page -> its llms.txt line

    # -- events ------------------------------------------------------------------------------------------------------

    def on_config(self, config: Any) -> Any:
        assets.register_mime_types()  # for `mkdocs serve`, which serves the vendored runtime
        self.ledger = Ledger()
        self._blocks = {}
        self._resolve, self._scenario = default_resolvers()
        self._glossary = glossary.glossary_entries(Path(config.docs_dir))
        self._nav_order, self._plain, self._cards, self._entries = [], {}, {}, {}
        _, scripts, styles = assets.widget_assets(self.root)
        present = {str(item) for item in config.extra_javascript}
        for uri in scripts:
            if uri in present:
                continue
            script = ExtraScriptValue(uri)
            if uri.endswith(".mjs"):
                script.type = "module"
            config.extra_javascript.append(script)
        for uri in styles:
            if uri not in config.extra_css:
                config.extra_css.append(uri)
        return config

    def on_serve(self, server: Any, config: Any, builder: Any) -> Any:
        for folder in WATCHED:
            if (self.root / folder).is_dir():
                server.watch(str(self.root / folder))
        return server

    def on_files(self, files: Files, config: Any) -> Files:
        try:
            vendored = assets.vendored_assets(self.root)
        except assets.AssetError as error:
            raise PluginError(str(error)) from None
        _, wheel_files = assets.wheel_assets(self.root)
        widget_files, _, _ = assets.widget_assets(self.root)
        for asset in [*vendored, *wheel_files, *widget_files]:
            self._add(files, config, asset.dest_uri, content=asset.content, abs_src_path=asset.abs_path)
        # Pages generated from the repository's data (transcripts, companies) belong to the repository's own docs/;
        # a project built from another docs_dir (the build tests' throwaway pages) does not get them.
        own_docs = Path(config.docs_dir).resolve() == (self.root / DOCS_DIR).resolve()
        for page in generated_pages(self.root) if own_docs else ():
            if not is_page(page.src_path):
                raise PluginError(f"generated page {page.src_path!r} is not a Markdown page path")
            self._add(files, config, page.src_path, content=page.markdown)
        return files

    def on_nav(self, nav: Any, config: Any, files: Files) -> Any:
        self._nav_order = [page.file.src_uri for page in nav.pages]
        return nav

    def on_page_markdown(self, markdown: str, page: Any, config: Any, files: Files) -> str:
        src = page.file.src_uri
        if not is_page(src):  # notebooks are rendered by mkdocs-jupyter, not from Markdown
            if src.endswith(".ipynb") and page.file.dest_uri.endswith(".html") and page.file.abs_src_path:
                copy = page.file.dest_uri[: -len(".html")] + ".md"
                notebook = Path(page.file.abs_src_path).read_text(encoding="utf-8")
                self._plain[src] = (copy, exports.notebook_markdown(notebook))
            return markdown
        try:
            rendered = markers.render(markdown, src, self._resolve, self._scenario)
            self.ledger.record_page(src, rendered.uses)
        except (markers.MarkerError, LedgerError) as error:
            raise PluginError(f"docs/{error}") from None
        self._blocks[src] = rendered.blocks
        copy = page.file.dest_uri[: -len(".html")] + ".md" if page.file.dest_uri.endswith(".html") else None
        if copy is not None:
            self._plain[src] = (copy, exports.plain_markdown(rendered.markdown, rendered.blocks))
        return rendered.markdown

    def on_page_content(self, html: str, page: Any, config: Any, files: Files) -> str:
        try:
            html = markers.place_blocks(html, self._blocks.pop(page.file.src_uri, {}), page.file.src_uri)
        except markers.MarkerError as error:
            raise PluginError(f"docs/{error}") from None
        leftovers = audit.leftover_markers(html)
        if leftovers:
            raise PluginError(
                f"docs/{page.file.src_uri}: marker text left in the page outside code (markers inside snippets or "
                f"notebooks are not rendered): " + "; ".join(repr(text) for text in leftovers)
            )
        if page.file.src_uri != glossary.GLOSSARY_PAGE:
            html = glossary.link_abbreviations(html, page.url, self._glossary)
        # mkdocs-print-site-plugin keeps the HTML it saw in its own page_content event, which runs before this hook;
        # hand it the finished HTML so the print page (and the PDF) shows the rendered blocks and glossary links.
        page.html = html
        src = page.file.src_uri
        if src in self._plain:
            self._cards[src] = exports.cards_from_page(html, page.url, page.title or "")
            top = page
            while top.parent is not None:
                top = top.parent
            self._entries[src] = exports.PageEntry(
                title=page.title or src, markdown_url=self._plain[src][0], section=top.title if top is not page else "",
                description=str(page.meta.get("description", "")))
        return html

    def on_post_build(self, config: Any) -> None:
        target = Path(config.site_dir) / LEDGER_FILE
        target.write_text(self.ledger.to_json(), encoding="utf-8")
        self._write_exports(Path(config.site_dir), config)

    # -- helpers -----------------------------------------------------------------------------------------------------

    def _write_exports(self, site: Path, config: Any) -> None:
        order = [src for src in self._nav_order if src in self._plain]
        order += sorted(src for src in self._plain if src not in order)  # pages outside the navigation last
        for src in order:
            path, text = self._plain[src]
            (site / path).parent.mkdir(parents=True, exist_ok=True)
            (site / path).write_text(text, encoding="utf-8")
        cards = [card for src in order for card in self._cards.get(src, [])]
        anki = site / exports.ANKI_FILE
        anki.parent.mkdir(parents=True, exist_ok=True)
        anki.write_text(exports.anki_csv(cards, config.site_name), encoding="utf-8")
        entries = [self._entries[src] for src in order if src in self._entries]
        (site / exports.LLMS_FILE).write_text(
            exports.llms_txt(config.site_name, config.site_description or "", entries), encoding="utf-8")

    @staticmethod
    def _add(files: Files, config: Any, uri: str, *, content: Any = None, abs_src_path: Path | None = None) -> None:
        if files.get_file_from_path(uri) is not None:
            raise PluginError(f"docs/{uri} already exists; the build generates that path, remove the file from docs/")
        if abs_src_path is not None:
            files.append(File.generated(config, uri, abs_src_path=str(abs_src_path)))
        else:
            files.append(File.generated(config, uri, content=content))
