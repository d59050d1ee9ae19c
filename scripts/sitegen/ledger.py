"""The value ledger: every key the site publishes, its raw value, the texts shown, its kind and its formula or source.

The build fills a :class:`Ledger` page by page and writes ``site/values.json``. :func:`ledger_from_sources` computes
the same ledger from the Markdown sources alone, without building the site (``make values``), so anyone can check the
published HTML against a fresh run of the model.

Shape (keys sorted, lists sorted, so two runs give the same bytes)::

    {"<key>": {"value": raw, "text": default text, "texts": [every text shown], "kind": "computed" | "input",
               "formula" | "source": "…", "pages": ["index.md", …]}}
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import markers
from .pages import PageSource, page_sources


class LedgerError(ValueError):
    """The same key published with two different raw values or kinds (the model is not deterministic)."""


@dataclass
class _Entry:
    value: Any
    kind: str
    explanation: str
    default_text: str
    texts: set[str] = field(default_factory=set)
    pages: set[str] = field(default_factory=set)


class Ledger:
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def record(self, page: str, key: str, value: Any, text: str) -> None:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(value.raw, value.kind, value.explanation, value.text())
        elif markers.raw_text(entry.value) != markers.raw_text(value.raw) or entry.kind != value.kind:
            raise LedgerError(f"{page}: value {key!r} is {value.raw!r} ({value.kind}) here but "
                              f"{entry.value!r} ({entry.kind}) on {', '.join(sorted(entry.pages))}")
        entry.texts.add(text)
        entry.pages.add(page)

    def record_page(self, page: str, uses: Iterable[tuple[str, Any, str]]) -> None:
        for key, value, text in uses:
            self.record(page, key, value, text)

    def as_dict(self) -> dict[str, dict[str, Any]]:
        result = {}
        for key in sorted(self._entries):
            entry = self._entries[key]
            item: dict[str, Any] = {"value": entry.value, "text": entry.default_text, "texts": sorted(entry.texts),
                                    "kind": entry.kind}
            item["formula" if entry.kind == "computed" else "source"] = entry.explanation
            item["pages"] = sorted(entry.pages)
            result[key] = item
        return result

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


_ROOT = Path(__file__).resolve().parents[2]  # the repository (generated scenarios come from its data)


def default_resolvers(extra_scenarios: Mapping[str, Any] | None = None) -> tuple[Callable[[str], Any], Callable[[str], Any]]:
    """(resolve key → Value, scenario name → Scenario) backed by ``sizing.values.evaluate``."""
    from sizing import scenarios as scenario_data
    from sizing.values import evaluate

    from .transcripts import review_scenarios

    extra = {**review_scenarios(_ROOT), **dict(extra_scenarios or {})}

    def resolve(key: str) -> Any:
        return evaluate(key, extra=extra)

    def scenario(name: str) -> Any:
        table = {**scenario_data.builtin(), **extra}
        if name not in table:
            raise ValueError(f"unknown scenario {name!r}; known: {', '.join(sorted(table))}")
        return table[name]

    return resolve, scenario


def ledger_from_sources(sources: Iterable[PageSource], extra_scenarios: Mapping[str, Any] | None = None) -> Ledger:
    """Scan pages' Markdown for markers and evaluate them: the ledger the build would write, without building."""
    resolve, scenario = default_resolvers(extra_scenarios)
    ledger = Ledger()
    for source in sources:
        rendered = markers.render(source.markdown, source.src_path, resolve, scenario)
        ledger.record_page(source.src_path, rendered.uses)
    return ledger


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Recompute the value ledger from the Markdown sources (no site build).")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root (default: current directory)")
    parser.add_argument("--out", default="build/values.json", help="output file, or - for standard output")
    args = parser.parse_args(argv)
    try:
        ledger = ledger_from_sources(page_sources(args.root))
    except (markers.MarkerError, LedgerError) as error:
        print(f"values: {error}", file=sys.stderr)
        return 1
    text = ledger.to_json()
    if args.out == "-":
        sys.stdout.write(text)
    else:
        out = Path(args.out)
        if not out.is_absolute():
            out = args.root / out
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"values: {len(ledger)} keys -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
