"""Calculators: one spec file per widget (``widgets/calculators/<widget>.json``), rendered at build time.

A spec names the calculation, the scenario that gives its defaults, the fields (inputs), outputs, derivations and
charts. The build renders the whole widget from the scenario's result, so the page reads correctly without scripts and
in print; ``widgets/js/hb-calculator.js`` takes over in the browser with the same names (field name = API parameter =
URL query key; ``data-output`` = result field). ``calc_link`` builds preset links from other scenarios.

Spec errors are collected and reported together, each naming the file and the field.
"""

from __future__ import annotations

import html
import json
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "widgets" / "calculators"
FIELD_TYPES = ("choice", "integer", "number", "boolean", "text")
CATALOG_CHOICES = ("models", "gpus", "precisions")
SPEC_KEYS = {"widget", "title", "label", "page", "calculation", "scenario", "fields", "caption", "outputs",
             "derivations", "fit_field", "charts", "examples", "bad_inputs"}
REQUIRED = ("widget", "title", "label", "page", "calculation", "scenario", "fields", "outputs")


class SpecError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("calculator specs have problems:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    help: str
    type: str  # one of FIELD_TYPES
    choices: tuple[str, ...]  # for "choice"
    group: str


@dataclass(frozen=True)
class Spec:
    widget: str
    title: str  # "Serving latency": link texts say "the Serving latency calculator"
    label: str  # the form's accessible name
    page: str  # docs/-relative page that hosts the widget
    calculation: str
    scenario: str
    fields: tuple[Field, ...]
    caption: str
    outputs: tuple[tuple[str, str], ...]  # (result field, label)
    derivations: tuple[str, ...]
    fit_field: str | None
    charts: tuple[Mapping[str, Any], ...]
    examples: tuple[Mapping[str, Any], ...]
    bad_inputs: tuple[Mapping[str, Any], ...]
    origin: str

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


def _catalog_choices(kind: str) -> tuple[str, ...]:
    from sizing import catalog

    return tuple({"models": catalog.models, "gpus": catalog.gpus, "precisions": catalog.precisions}[kind]())


def parse_spec(document: Any, origin: str, stem: str, problems: list[str]) -> Spec | None:
    from sizing import api, scenarios

    start = len(problems)

    def problem(where: str, message: str) -> None:
        problems.append(f"{origin}: {where}: {message}")

    if not isinstance(document, dict):
        problem("(top level)", "expected an object")
        return None
    for key in sorted(set(document) - SPEC_KEYS):
        problem(key, f"unknown key (allowed: {', '.join(sorted(SPEC_KEYS))})")
    missing = [key for key in REQUIRED if key not in document]
    for key in missing:
        problem(key, "is required")
    malformed = [key for key in ("widget", "title", "label", "page", "calculation", "scenario")
                 if key not in missing and (not isinstance(document[key], str) or not document[key].strip())]
    for key in malformed:
        problem(key, "must be a non-empty string")
    if missing or malformed:
        return None
    if document["widget"] != stem:
        problem("widget", f"is {document['widget']!r} but the file is {stem}.json (they must match)")
    if not (ROOT / "docs" / document["page"]).is_file():
        problem("page", f"docs/{document['page']} does not exist")
    if document["calculation"] not in api.names():
        problem("calculation", f"{document['calculation']!r} is not a registered calculation ({', '.join(api.names())})")
    scenario = scenarios.builtin().get(document["scenario"])
    if scenario is None:
        problem("scenario", f"no scenario named {document['scenario']!r}")
    elif scenario.calculation != document["calculation"]:
        problem("scenario", f"{scenario.name!r} runs {scenario.calculation!r}, not {document['calculation']!r}")
    fields: list[Field] = []
    raw_fields = document["fields"]
    if not isinstance(raw_fields, list) or not raw_fields:
        problem("fields", "must be a non-empty list")
        raw_fields = []
    for index, raw in enumerate(raw_fields):
        where = f"fields[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not isinstance(raw.get("label"), str):
            problem(where, "must be an object with a string name and label")
            continue
        unknown = set(raw) - {"name", "label", "help", "type", "choices", "group"}
        if unknown:
            problem(where, f"unknown keys {sorted(unknown)}")
        kind = raw.get("type", "choice" if "choices" in raw else "text")
        if kind not in FIELD_TYPES:
            problem(f"{where}.type", f"{kind!r} is not one of {', '.join(FIELD_TYPES)}")
            continue
        choices: tuple[str, ...] = ()
        if kind == "choice":
            given = raw.get("choices")
            if given in CATALOG_CHOICES:
                choices = _catalog_choices(given)
            elif isinstance(given, list) and given and all(isinstance(c, str) for c in given):
                choices = tuple(given)
            else:
                problem(f"{where}.choices", f"must be one of {', '.join(CATALOG_CHOICES)} or a list of strings")
        if scenario is not None and scenario.input(raw["name"]) is None:
            problem(f"{where}.name", f"{raw['name']!r} is not an input of scenario {scenario.name!r}, "
                                     "which gives every field its default")
        elif scenario is not None and choices and str(scenario.input(raw["name"]).value) not in choices:
            problem(f"{where}.choices", f"do not include the scenario's value {scenario.input(raw['name']).value!r}")
        fields.append(Field(raw["name"], raw["label"], str(raw.get("help", "")), kind, choices, str(raw.get("group", ""))))
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        problem("fields", "a field name appears twice")
    outputs: list[tuple[str, str]] = []
    raw_outputs = document["outputs"]
    if not isinstance(raw_outputs, list) or not raw_outputs:
        problem("outputs", "must be a non-empty list")
        raw_outputs = []
    for index, raw in enumerate(raw_outputs):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not isinstance(raw.get("label"), str):
            problem(f"outputs[{index}]", "must be an object with a string name and label")
            continue
        outputs.append((raw["name"], raw["label"]))
    derivations = document.get("derivations", [])
    if not isinstance(derivations, list) or not all(isinstance(d, str) for d in derivations):
        problem("derivations", "must be a list of result field names")
        derivations = []
    fit_field = document.get("fit_field")
    if fit_field is not None and fit_field not in names:
        problem("fit_field", f"{fit_field!r} is not one of the fields")
    charts = document.get("charts", [])
    if not isinstance(charts, list):
        problem("charts", "must be a list")
        charts = []
    for index, chart in enumerate(charts):
        if not isinstance(chart, dict) or "points" not in chart or not isinstance(chart.get("y"), list) or not chart["y"]:
            problem(f"charts[{index}]", "needs points (a result field) and a non-empty y list")
        elif chart.get("kind", "line") not in ("line", "bars"):
            problem(f"charts[{index}].kind", "must be line or bars")
        elif chart.get("kind", "line") == "line" and not isinstance(chart.get("x"), dict):
            problem(f"charts[{index}].x", "a line chart needs x: {field, label, scale}")
    for key in ("examples", "bad_inputs"):
        items = document.get(key, [])
        if not isinstance(items, list):
            problem(key, "must be a list")
            continue
        for index, item in enumerate(items):
            params = item.get("params") if key == "bad_inputs" and isinstance(item, dict) else item
            if not isinstance(params, dict):
                problem(f"{key}[{index}]", "must be an object of field values" if key == "examples"
                        else "must be {params: {...}, field: NAME}")
                continue
            for name in params:
                if name not in names:
                    problem(f"{key}[{index}].{name}", "is not a field of this calculator (only fields reach the URL)")
            if key == "bad_inputs" and not isinstance(item.get("field"), str):
                problem(f"{key}[{index}].field", "must name the field whose message the reader should see")
    if len(problems) > start:
        return None
    return Spec(
        widget=document["widget"], title=document["title"], label=document["label"], page=document["page"],
        calculation=document["calculation"], scenario=document["scenario"], fields=tuple(fields),
        caption=str(document.get("caption", "")), outputs=tuple(outputs), derivations=tuple(derivations),
        fit_field=fit_field, charts=tuple(charts), examples=tuple(document.get("examples", [])),
        bad_inputs=tuple(document.get("bad_inputs", [])), origin=origin,
    )


def load_specs(folder: Path = SPEC_DIR) -> dict[str, Spec]:
    """Every spec in ``folder``; raises SpecError listing every problem with its file and field."""
    problems: list[str] = []
    specs: dict[str, Spec] = {}
    for path in sorted(folder.glob("*.json")):
        origin = f"widgets/calculators/{path.name}"
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            problems.append(f"{origin}: not valid JSON ({error})")
            continue
        spec = parse_spec(document, origin, path.stem, problems)
        if spec is not None:
            specs[spec.widget] = spec
    if problems:
        raise SpecError(problems)
    return specs


@cache
def specs() -> dict[str, Spec]:
    return load_specs()


def spec(widget: str) -> Spec:
    table = specs()
    if widget not in table:
        raise ValueError(f"no calculator {widget!r} (widgets/calculators/{widget}.json); known: {', '.join(sorted(table))}")
    return table[widget]


# --------------------------------------------------------------------------------------------------------------------
# Rendering


def field_value(raw: Any) -> str:
    """A scenario input as a form field shows it (and as the URL carries it)."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer() and abs(raw) < 1e15:
        return repr(raw)
    return str(raw)


def _attr(text: str) -> str:
    return html.escape(text, quote=True).replace("{", "&#123;").replace("}", "&#125;")


def _field_html(spec: Spec, field: Field, default: Any) -> str:
    ident = f"{spec.widget}-{field.name}"
    described = f"{ident}-help {ident}-error"
    value = field_value(default)
    if field.type in ("choice", "boolean"):
        options = field.choices if field.type == "choice" else ("true", "false")
        labels = {"true": "yes", "false": "no"} if field.type == "boolean" else {}
        control = "".join(
            f'<option value="{_attr(o)}"{" selected" if o == value else ""}>{html.escape(labels.get(o, o))}</option>'
            for o in options)
        control = (f'<select id="{ident}" name="{_attr(field.name)}" data-param data-type="{field.type}" '
                   f'aria-describedby="{described}">{control}</select>')
    else:
        mode = {"integer": "numeric", "number": "decimal"}.get(field.type, "text")
        control = (f'<input id="{ident}" name="{_attr(field.name)}" data-param data-type="{field.type}" type="text" '
                   f'inputmode="{mode}" autocomplete="off" value="{_attr(value)}" aria-describedby="{described}">')
    return (
        f'<div class="hb-field"><label for="{ident}">{html.escape(field.label)}</label>{control}'
        f'<span class="hb-help" id="{ident}-help">{html.escape(field.help)}</span>'
        f'<span class="hb-field-error" id="{ident}-error" data-error-for="{_attr(field.name)}" role="alert" hidden></span></div>'
    )


def _form_html(spec: Spec, scenario: Any) -> str:
    parts: list[str] = []
    group = None
    for field in spec.fields:
        if field.group != group:
            if group:
                parts.append("</fieldset>")
            if field.group:
                parts.append(f'<fieldset class="hb-fieldset"><legend>{html.escape(field.group)}</legend>')
            group = field.group
        parts.append(_field_html(spec, field, scenario.input(field.name).value))
    if group:
        parts.append("</fieldset>")
    return f'<form class="hb-widget__form" aria-label="{_attr(spec.label)}">{"".join(parts)}</form>'


BAR = (
    '<div class="hb-widget__bar"><button type="button" class="md-button" data-action="reset">Reset</button>'
    '<button type="button" class="md-button" data-action="copy">Copy link</button>'
    '<input class="hb-widget__link" type="text" readonly data-link aria-label="Link to this setting" hidden>'
    '<progress data-progress hidden aria-label="Loading Python"></progress>'
    '<span class="hb-widget__status" data-status role="status" aria-live="polite">Showing the defaults computed when '
    "the page was built; change an input to compute in your browser.</span></div>"
    '<p class="hb-field-error hb-widget__warning" data-warning role="alert" hidden></p>'
)


def render_widget(spec: Spec, resolve: Callable[[str], Any], scenario: Any, value_span: Callable[[Any, str], str],
                  derivation_block: Callable[[Any, str], str]) -> tuple[str, list[tuple[str, Any, str]]]:
    """The widget's HTML at its scenario's values, and the values it published (for the ledger)."""
    from sizing import charts
    from sizing.values import run_calculation

    uses: list[tuple[str, Any, str]] = []
    rows = []
    for name, label in spec.outputs:
        value = resolve(f"{scenario.name}.{name}")
        text = value.text()
        uses.append((value.key, value, text))
        rows.append(f'<tr><th scope="row">{html.escape(label)}</th><td><output data-output="{_attr(name)}" '
                    f'aria-live="off">{value_span(value, text)}</output></td></tr>')
    caption = f"<caption>{html.escape(spec.caption)}</caption>" if spec.caption else ""
    table = f'<table class="hb-widget__outputs">{caption}<tbody>{"".join(rows)}</tbody></table>'
    result = run_calculation(spec.calculation, scenario.params())
    figures = []
    for index, chart in enumerate(spec.charts):
        try:
            drawing = charts.svg(chart, result)
        except (charts.ChartError, KeyError) as error:
            raise ValueError(f"{spec.origin}: charts[{index}]: {error}") from None
        figures.append(f'<figure class="hb-chart-figure" data-chart="{index}">{drawing}'
                       f"<figcaption>{html.escape(chart.get('title', ''))}</figcaption></figure>")
    blocks = []
    for name in spec.derivations:
        value = resolve(f"{scenario.name}.{name}")
        if not value.derivation:
            raise ValueError(f"{spec.origin}: derivations: {name!r} has no derivation in the result")
        text = value.text()
        uses.append((value.key, value, text))
        blocks.append(derivation_block(value, text))
    fixed = {i.name: i.value for i in scenario.inputs if spec.field(i.name) is None}
    config = json.dumps({"calculation": spec.calculation, "fixed": fixed, "fit_field": spec.fit_field,
                         "charts": list(spec.charts)}, sort_keys=True)
    widget = (
        # The config rides in an attribute: Material's instant navigation re-creates <script> elements without their
        # type, which would run a JSON block as JavaScript.
        f'<div class="hb-widget" data-widget="{_attr(spec.widget)}" data-scenario="{_attr(scenario.name)}" '
        f'data-config="{_attr(config)}">'
        f"{_form_html(spec, scenario)}{BAR}{table}"
        f'<div class="hb-widget__charts" data-charts>{"".join(figures)}</div>'
        '<details class="hb-arithmetic"><summary>Show the arithmetic</summary>'
        f'<div data-derivations>{"".join(blocks)}</div></details></div>'
    )
    return widget, uses


def page_url(src_path: str) -> str:
    """The directory URL MkDocs gives a page (use_directory_urls): ``a/b.md`` → ``a/b/``, ``a/index.md`` → ``a/``."""
    stem = src_path[: -len(".md")]
    if stem == "index" or stem.endswith("/index"):
        return stem[: -len("index")]
    return stem + "/"


def preset_query(spec: Spec, preset: Any, default: Any) -> str:
    """The URL query that opens ``spec``'s calculator at scenario ``preset``: each of the preset's inputs must be a
    field of the calculator or equal the value the calculator holds fixed; otherwise the link would open another
    setting than the one the page computed, and this raises ValueError naming the input."""
    params: dict[str, str] = {}
    for item in preset.inputs:
        if spec.field(item.name) is not None:
            params[item.name] = field_value(item.value)
            continue
        fixed = default.input(item.name)
        if fixed is None or fixed.value != item.value:
            held = f"holds it at {fixed.value!r}" if fixed else "has no such input"
            raise ValueError(f"scenario {preset.name!r} sets {item.name}={item.value!r}, which the {spec.widget} "
                             f"calculator cannot set (it has no field {item.name!r} and {held})")
    unset = [f.name for f in spec.fields if f.name not in params]
    if unset:
        # A field the preset leaves out opens at the calculator's default. That is the preset's setting only if the
        # calculation gives the same result with the default filled in as with the field left to the model.
        from sizing.values import run_calculation

        fixed = {i.name: i.value for i in default.inputs if spec.field(i.name) is None}
        bare = {**fixed, **{i.name: i.value for i in preset.inputs}}
        full = {**bare, **{name: default.input(name).value for name in unset}}
        try:
            same = run_calculation(spec.calculation, bare) == run_calculation(spec.calculation, full)
        except ValueError:
            same = False
        if not same:
            raise ValueError(f"scenario {preset.name!r} leaves {', '.join(unset)} to the model, but the {spec.widget} "
                             f"calculator would open at its own default ({', '.join(f'{n}={default.input(n).value!r}' for n in unset)}), "
                             f"which computes differently: declare {', '.join(unset)} in the scenario")
    return urlencode(params)


def calc_link(widget: str, preset_name: str, page: str, scenario_of: Callable[[str], Any], text: str | None = None) -> str:
    """An ``<a>`` from ``page`` to the calculator ``widget`` preset with scenario ``preset_name``."""
    spec_ = spec(widget)
    preset = scenario_of(preset_name)
    # The preset may belong to another calculation (a chapter's `rag` scenario opened in a calculator running
    # `rag_budget`): what matters is that the calculator can be set to every one of its inputs.
    query = preset_query(spec_, preset, scenario_of(spec_.scenario))
    href = posixpath.relpath(page_url(spec_.page).rstrip("/"), page_url(page).rstrip("/") or ".") + "/"
    if text is not None and (not isinstance(text, str) or not text.strip()):
        raise ValueError("option text must be a non-empty quoted string")
    label = text or f"open this setting in the {spec_.title} calculator"
    return f'<a class="hb-calc-link" href="{_attr(href)}?{_attr(query)}">{html.escape(label)}</a>'
