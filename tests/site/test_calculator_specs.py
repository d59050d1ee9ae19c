"""Calculator specs (widgets/calculators/*.json): validated with file and field, rendered as markers, linked as presets."""

from __future__ import annotations

import json

import pytest
from sitegen import calculators, markers
from sitegen.ledger import default_resolvers


def _write(tmp_path, name: str, document) -> None:
    (tmp_path / f"{name}.json").write_text(json.dumps(document), encoding="utf-8")


def _good() -> dict:
    return json.loads((calculators.SPEC_DIR / "memory-fit.json").read_text(encoding="utf-8"))


def test_every_shipped_spec_loads():
    specs = calculators.load_specs()
    assert "memory-fit" in specs
    for spec in specs.values():
        assert spec.page.startswith("calculators/")


def test_problems_name_the_file_and_field(tmp_path):
    bad = _good()
    bad["widget"] = "other"
    bad["calculation"] = "nope"
    bad["fields"][0]["choices"] = "planets"
    bad["fields"][2]["type"] = "integer-ish"
    bad["fields"].append({"name": "colour", "label": "Colour", "type": "text"})
    bad["examples"].append({"colour_of_sky": "blue"})
    bad["bad_inputs"].append({"params": {"tp": "0"}})
    bad["surprise"] = 1
    _write(tmp_path, "memory-fit", bad)
    with pytest.raises(calculators.SpecError) as caught:
        calculators.load_specs(tmp_path)
    text = str(caught.value)
    for expected in ("memory-fit.json: surprise: unknown key", "memory-fit.json: widget: is 'other'",
                     "memory-fit.json: calculation: 'nope' is not a registered calculation",
                     "fields[0].choices", "fields[2].type: 'integer-ish'", "fields[6].name: 'colour' is not an input",
                     "examples[4].colour_of_sky", "bad_inputs[9].field"):
        assert expected in text, (expected, text)


def test_not_json_is_reported(tmp_path):
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(calculators.SpecError, match="broken.json: not valid JSON"):
        calculators.load_specs(tmp_path)


def test_calculator_marker_renders_the_widget_and_records_its_values():
    resolve, scenario = default_resolvers()
    rendered = markers.render('{{ calculator("memory-fit") }}\n', "calculators/memory.md", resolve, scenario)
    (block,) = rendered.blocks.values()
    assert 'data-widget="memory-fit"' in block and 'data-config="' in block
    assert block.count("<output data-output=") == len(calculators.spec("memory-fit").outputs)
    assert {key for key, _, _ in rendered.uses} >= {"calculator-memory.weights_gb_per_gpu", "calculator-memory.fits"}


def test_calc_link_is_relative_and_carries_the_preset():
    resolve, scenario = default_resolvers()
    rendered = markers.render('See {{ calc_link("memory-fit", "calculator-memory") }}.', "fundamentals/kv-cache.md",
                              resolve, scenario)
    assert 'href="../../calculators/memory/?model=llama-3.1-70b&amp;gpu=h100-sxm&amp;tp=4' in rendered.markdown
    assert "the Memory &amp; fit calculator" in rendered.markdown
    home = markers.render('{{ calc_link("memory-fit", "calculator-memory") }}', "index.md", resolve, scenario)
    assert 'href="calculators/memory/?' in home.markdown


def test_calc_link_needs_every_input_of_the_preset_to_be_settable():
    from sizing import scenarios

    resolve, scenario = default_resolvers()
    # a scenario of another calculation whose inputs the calculator has no field for
    other = next(s for s in scenarios.builtin().values()
                 if s.calculation != "memory" and s.input("requests_per_s") is not None)
    with pytest.raises(markers.MarkerError, match="calculator cannot set"):
        markers.render(f'{{{{ calc_link("memory-fit", "{other.name}") }}}}', "index.md", resolve, scenario)
    with pytest.raises(markers.MarkerError, match="two quoted names"):
        markers.render('{{ calc_link("memory-fit") }}', "index.md", resolve, scenario)


def test_a_snapshot_ships_only_with_the_wheel_it_was_made_from(tmp_path):
    from sitegen import assets

    (tmp_path / "build" / "snapshot").mkdir(parents=True)
    (tmp_path / "widgets" / "vendor").mkdir(parents=True)
    (tmp_path / "widgets" / "vendor" / "versions.json").write_text('{"pyodide": "1.2.3"}', encoding="utf-8")
    (tmp_path / "build" / "snapshot" / "snapshot.bin.gz").write_bytes(b"\x1f\x8b")
    meta = tmp_path / "build" / "snapshot" / "snapshot.json"
    meta.write_text('{"wheel_sha256": "abc", "pyodide": "1.2.3"}', encoding="utf-8")
    assert assets.snapshot_for(tmp_path, "abc") == tmp_path / "build" / "snapshot" / "snapshot.bin.gz"
    assert assets.snapshot_for(tmp_path, "def") is None  # made from another wheel: an older model
    meta.write_text('{"wheel_sha256": "abc", "pyodide": "9.9.9"}', encoding="utf-8")
    assert assets.snapshot_for(tmp_path, "abc") is None  # made with another Pyodide
    meta.unlink()
    assert assets.snapshot_for(tmp_path, "abc") is None


def test_calc_link_text_option():
    resolve, scenario = default_resolvers()
    rendered = markers.render('{{ calc_link("memory-fit", "calculator-memory", text="FP8") }}', "index.md", resolve, scenario)
    assert rendered.markdown.endswith('">FP8</a>')


def test_calc_link_refuses_a_preset_whose_left_out_field_would_open_differently():
    from sizing.scenarios import Scenario, ScenarioInput

    resolve, scenario = default_resolvers()
    base = scenario("calculator-memory")  # fp8 weights, bf16 KV cache
    spec = calculators.spec("memory-fit")

    def without_kv(weights: str) -> Scenario:
        inputs = tuple(ScenarioInput(i.name, weights if i.name == "weights" else i.value, i.source)
                       for i in base.inputs if i.name != "kv")
        return Scenario(name="p", title="p", calculation="memory", origin="test", inputs=inputs)

    # Left out, the KV cache takes the weights' format: with BF16 weights that is the calculator's default (bf16)...
    assert "kv=" not in calculators.preset_query(spec, without_kv("bf16"), base)
    # ...with FP8 weights it is FP8, and the link would open a BF16 cache instead.
    with pytest.raises(ValueError, match="leaves kv to the model.*kv='bf16'"):
        calculators.preset_query(spec, without_kv("fp8"), base)
