"""Every calculator (one per spec in widgets/calculators/) in Chromium, against the model on CPython.

For each spec: the page as built shows the scenario's inputs, outputs and charts; axe-core finds no serious or
critical accessibility violation; every example in the spec computes exactly what ``sizing.api.run`` computes on
CPython (outputs, formatted texts, derivations and the SVG charts) and the URL restores it on a fresh load; every bad
input shows its message next to its field (the model's own message when the model rejects it); HTML in the URL stays
text; nothing leaves 127.0.0.1 and the console stays clean.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup
from sitegen import calculators

SPECS = calculators.load_specs()
PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


def _url(spec) -> str:
    return calculators.page_url(spec.page)


def _root(spec) -> str:
    return f"[data-widget={spec.widget}]"


def _defaults(spec) -> dict[str, str]:
    from sizing import scenarios

    scenario = scenarios.builtin()[spec.scenario]
    return {f.name: calculators.field_value(scenario.input(f.name).value) for f in spec.fields}


def _typed(spec, values: dict[str, str]) -> dict:
    """Form values as the widget sends them: numbers parsed, booleans as booleans, fixed inputs added."""
    from sizing import scenarios

    scenario = scenarios.builtin()[spec.scenario]
    params = dict(scenario.params())
    for name, raw in values.items():
        kind = spec.field(name).type
        if kind == "integer":
            params[name] = int(raw) if raw.lstrip("+-").isdigit() else raw
        elif kind == "number":
            try:
                params[name] = float(raw) if any(c in raw for c in ".eE") else int(raw)
            except ValueError:
                params[name] = raw
        elif kind == "boolean":
            params[name] = {"true": True, "false": False}.get(raw, raw)
        else:
            params[name] = raw
    return params


def _cpython(spec, params: dict) -> dict:
    from sizing import api

    return json.loads(api.run(spec.calculation, json.dumps(params)))


def _display(name: str, value) -> str:
    from sizing.formatting import format_field

    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        try:
            return format_field(name, value)
        except ValueError:
            return str(value)
    return "—" if value is None else str(value)


def _wait_ready(page, spec) -> None:
    page.wait_for_function(
        "(sel) => { const r = document.querySelector(sel); return ['ready', 'error', 'unavailable']"
        ".includes(r.dataset.state) && !r.hasAttribute('data-busy'); }", arg=_root(spec))


def _outputs(page, spec) -> dict[str, list[str]]:
    return page.evaluate("""(sel) => Object.fromEntries([...document.querySelectorAll(sel + ' output[data-output]')]
        .map(o => [o.dataset.output, [o.dataset.value, o.textContent.trim()]]))""", _root(spec))


def _set(page, spec, name: str, value: str) -> None:
    field = page.locator(f"{_root(spec)} [name={name}]")
    if field.evaluate("e => e.tagName") == "SELECT":
        if value not in field.evaluate("e => [...e.options].map(o => o.value)"):
            field.evaluate("(e, v) => { const o = document.createElement('option'); o.value = v; o.textContent = v; "
                           "e.append(o); }", value)
        field.select_option(value)
    else:
        field.fill(value)


def _error(page, spec, name: str) -> str:
    box = page.locator(f"{_root(spec)} [data-error-for={name}]")
    return box.text_content().strip() if box.is_visible() else ""


def _assert_matches(page, spec, params: dict) -> None:
    from sizing import charts

    expected = _cpython(spec, params)
    assert "error" not in expected, (spec.widget, params, expected)
    shown = _outputs(page, spec)
    assert set(shown) == {name for name, _ in spec.outputs}
    for name, (raw, text) in shown.items():
        value = expected[name]
        if isinstance(value, bool):
            assert raw == str(value).lower(), (name, raw, value)
        elif isinstance(value, (int, float)):
            assert float(raw) == pytest.approx(value, rel=1e-12, abs=0), (name, raw, value)
        elif value is None:  # "none fits" and the like: the widget keeps JSON's null and shows a dash
            assert raw == "null", (name, raw, value)
        else:
            assert raw == str(value), (name, raw, value)
        assert text == _display(name, value), (spec.widget, name, text)
    derivations = page.evaluate("""(sel) => Object.fromEntries([...document.querySelectorAll(
        sel + ' [data-derivations] .hb-derivation')].map(d => [d.dataset.output,
        [d.querySelector('.hb-derivation__substitution').textContent, d.querySelector('.hb-derivation__result').textContent]]))""",
                                _root(spec))
    assert derivations == {k: [d["substitution"], d["result_text"]] for k, d in expected.get("derivations", {}).items()}
    for index, chart in enumerate(spec.charts):
        drawn = page.evaluate("([sel, i]) => { const s = document.querySelector(sel + ' [data-chart=\"' + i + '\"] svg');"
                              " return s ? new XMLSerializer().serializeToString(s) : ''; }", [_root(spec), index])
        want = BeautifulSoup(charts.svg(chart, expected), "html.parser").get_text()
        assert BeautifulSoup(drawn, "html.parser").get_text() == want, f"{spec.widget}: chart {index} differs"


@pytest.mark.parametrize("widget", sorted(SPECS))
def test_built_page_shows_the_default_scenario(widget, site_dir):
    from sizing import values

    spec = SPECS[widget]
    soup = BeautifulSoup((site_dir / _url(spec) / "index.html").read_text(encoding="utf-8"), "html.parser")
    root = soup.select_one(_root(spec))
    assert root is not None, f"{spec.page} does not render {widget}"
    for name, shown in _defaults(spec).items():
        field = root.select_one(f"[name={name}]")
        value = field.select_one("option[selected]")["value"] if field.name == "select" else field["value"]
        assert value == shown, name
        assert root.select_one(f"label[for={field['id']}]") is not None, f"{name} has no label"
        assert root.select_one(f"[data-error-for={name}]") is not None
    for output in root.select("output[data-output]"):
        span = output.select_one("[data-key]")
        key = f"{spec.scenario}.{output['data-output']}"
        assert span["data-key"] == key
        assert span.get_text() == values.evaluate(key).text()
    assert len(root.select(".hb-derivation")) == len(spec.derivations)
    assert len(root.select("[data-chart] svg")) == len(spec.charts)
    assert len(spec.examples) >= 3, f"{widget}: the spec needs at least three examples"
    assert spec.bad_inputs, f"{widget}: the spec lists no bad inputs"


@pytest.mark.parametrize("widget", sorted(SPECS))
def test_calculator_in_the_browser(widget, watched, site_server, axe):
    spec = SPECS[widget]
    page, watch = watched
    watch.current = _url(spec)
    defaults = _defaults(spec)
    page.goto(site_server.base + _url(spec), wait_until="domcontentloaded")
    page.wait_for_function("(sel) => document.querySelector(sel)?.dataset.state === 'idle'", arg=_root(spec))
    assert page.evaluate("typeof loadPyodide") == "undefined", "Pyodide must not load before the reader uses the widget"
    violations = axe(page, _root(spec))
    assert not violations, "\n".join(violations)

    # Examples: each computes what CPython computes, and the URL holds the setting.
    for example in spec.examples:
        page.click(f"{_root(spec)} [data-action=reset]")
        setting = {**defaults, **{k: str(v) for k, v in example.items()}}
        for name, value in example.items():
            _set(page, spec, name, str(value))
        _wait_ready(page, spec)
        assert page.evaluate("() => Object.fromEntries(new URLSearchParams(location.search))") == setting
        _assert_matches(page, spec, _typed(spec, setting))
    violations = axe(page, _root(spec))
    assert not violations, "after computing:\n" + "\n".join(violations)

    # A fresh load of the URL restores the same state and outputs.
    before = _outputs(page, spec)
    page.goto(page.url, wait_until="domcontentloaded")
    _wait_ready(page, spec)
    for name, value in setting.items():
        assert page.locator(f"{_root(spec)} [name={name}]").input_value() == value
    assert _outputs(page, spec) == before

    # Bad inputs: a message next to the named field, the model's own when the model rejects the value.
    for bad in spec.bad_inputs:
        page.click(f"{_root(spec)} [data-action=reset]")
        for name, value in bad["params"].items():
            _set(page, spec, name, str(value))
        _wait_ready(page, spec)
        message = _error(page, spec, bad["field"])
        assert message, f"{widget} {bad}: no message next to {bad['field']}"
        model = _cpython(spec, _typed(spec, {**defaults, **{k: str(v) for k, v in bad["params"].items()}}))
        if "error" in model:
            assert model["error"]["field"] == bad["field"], (bad, model)
            assert message == model["error"]["message"]
        assert page.locator(f"{_root(spec)} [name={bad['field']}]").get_attribute("aria-invalid") == "true"
        text = page.locator(_root(spec)).inner_text()
        assert "NaN" not in text and "Traceback" not in text and "undefined" not in text
    page.click(f"{_root(spec)} [data-action=reset]")
    assert page.evaluate("location.search") == ""
    assert not watch.problems(), "\n".join(watch.problems())


@pytest.mark.parametrize("widget", sorted(SPECS))
def test_html_in_the_url_is_text(widget, watched, site_server):
    spec = SPECS[widget]
    page, watch = watched
    watch.current = _url(spec)
    query = {f.name: PAYLOAD for f in spec.fields}
    page.goto(site_server.base + _url(spec) + "?" + urlencode(query), wait_until="domcontentloaded")
    _wait_ready(page, spec)
    assert page.evaluate("window.__pwned") is None
    assert page.locator(f"{_root(spec)} img").count() == 0
    first = spec.fields[0].name
    assert page.locator(f"{_root(spec)} [name={first}]").input_value() == PAYLOAD
    shown = page.locator(f"{_root(spec)} [data-error-for], {_root(spec)} [data-warning]").all_text_contents()
    assert any(text.strip() for text in shown), "no message for a setting made of HTML"
    assert not watch.problems(), "\n".join(watch.problems())
