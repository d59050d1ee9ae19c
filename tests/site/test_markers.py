"""Value markers: where code is, how markers parse, what they render, and that every mistake names page, line and key."""

from __future__ import annotations

import html
import re

import pytest
from sitegen.markers import MarkerError, code_ranges, find_markers, place_blocks, raw_text, render
from sizing.scenarios import Scenario, ScenarioInput
from sizing.values import Value

PAGE = "chapter/page.md"

KV = Value(
    key="kv-70b.kv_bf16_bytes_per_token",
    raw=327680.0,  # 2 × 80 layers × 8 KV heads × 128 head_dim × 2 bytes
    field="kv_bf16_bytes_per_token",
    kind="computed",
    explanation='KV cache per token = 2 × layers × kv_heads × head_dim × bytes = 2 × 80 × 8 × 128 × 2 B = 328 KB "x" <y>',
    derivation={"quantity": "KV cache per token", "formula": "2 × layers × kv_heads × head_dim × bytes",
                "substitution": "2 × 80 × 8 × 128 × 2 B", "result": 327680.0, "unit": "bytes", "result_text": "328 KB"},
)
MEMORY = Value("gpu.h100-sxm.memory_bytes", 85899345920, "memory_bytes", "input", "NVIDIA H100 datasheet (as of 2023)")
NAME = Value("model.llama-3.1-70b.name", "Llama_3.1 70B", "name", "input", "config.json")
LAYERS = Value("demo.layers", 80, "layers", "input", "scenario 'demo': the model's config")
TABLE = {v.key: v for v in (KV, MEMORY, NAME, LAYERS)}
DEMO = Scenario("demo", "Demo 3.1", "model", (ScenarioInput("layers", 80, "the model's config"),), "test")


def resolve(key: str) -> Value:
    if key not in TABLE:
        raise ValueError(f"value key {key!r}: unknown")
    return TABLE[key]


def scenario(name: str) -> Scenario:
    if name != "demo":
        raise ValueError(f"unknown scenario {name!r}")
    return DEMO


def rendered(markdown: str) -> str:
    return render(markdown, PAGE, resolve, scenario).markdown


# ---------------------------------------------------------------------------------------------------------------------
# code is left alone


@pytest.mark.parametrize(
    "markdown",
    [
        'Write `{{ v("nope.key") }}` to publish a value.',
        'Double ``a ` {{ v("nope.key") }}`` span.',
        '```markdown\n{{ v("nope.key") }}\n```\n',
        '~~~\n{{ derive("nope.key") }}\n~~~\n',
        '````\n```\n{{ v("nope.key") }}\n```\n````\n',
        '- item\n\n    ```text\n    {{ inputs("nope") }}\n    ```\n',
        '```\nnever closed {{ v("nope.key") }}\n',
        'Braces `{{` and `}}` in code are text.',
    ],
)
def test_markers_inside_code_are_untouched(markdown):
    assert find_markers(markdown, PAGE) == []
    assert rendered(markdown) == markdown


def test_code_ranges_cover_fences_and_spans():
    text = "a `b` c\n```\nd\n```\ne ``f`` g"
    spans = [text[a:b] for a, b in code_ranges(text)]
    assert spans == ["`b`", "```\nd\n```\n", "``f``"]


def test_escaped_backtick_is_not_code():
    markdown = r'A \` then {{ v("demo.layers") }} and a ` later.'
    assert [m.key for m in find_markers(markdown, PAGE)] == ["demo.layers"]


def test_code_span_does_not_cross_a_paragraph():
    markdown = 'one ` tick\n\n{{ v("demo.layers") }} and ` another'
    assert [m.key for m in find_markers(markdown, PAGE)] == ["demo.layers"]


# ---------------------------------------------------------------------------------------------------------------------
# parsing


def test_options_parse():
    (marker,) = find_markers('x {{ v("kv-70b.kv_bf16_bytes_per_token", unit="KiB", digits=4, plain=true) }} y', PAGE)
    assert (marker.function, marker.key) == ("v", "kv-70b.kv_bf16_bytes_per_token")
    assert marker.options == (("digits", 4), ("plain", True), ("unit", "KiB"))
    assert marker.line == 1


def test_single_quotes_and_spacing():
    (marker,) = find_markers("{{v('demo.layers')}}", PAGE)
    assert marker.key == "demo.layers"


@pytest.mark.parametrize(
    ("markdown", "fragment"),
    [
        ('{{ w("demo.layers") }}', "unknown function 'w'"),
        ('{{ v("demo.layers", colour="red") }}', "no option 'colour'"),
        ('{{ v("demo.layers", digits=0) }}', "digits must be a whole number from 1 to 15"),
        ('{{ v("demo.layers", digits=16) }}', "digits must be a whole number from 1 to 15"),
        ('{{ v("demo.layers", digits=true) }}', "digits must be a whole number"),
        ('{{ v("demo.layers", digits="3") }}', "digits must be a whole number"),
        ('{{ v("demo.layers", plain="yes") }}', "plain must be true or false"),
        ('{{ v("demo.layers", unit=3) }}', "unit must be a quoted unit symbol"),
        ('{{ v("demo.layers", plain=true, plain=false) }}', "given twice"),
        ('{{ derive("demo.layers", digits=3) }}', "no option 'digits'"),
        ("{{ v() }}", "exactly one quoted key"),
        ('{{ v("a", "b") }}', "exactly one quoted key"),
        ("{{ v(layers) }}", "must be a quoted string"),
        ('{{ v("") }}', "non-empty quoted key"),
        ('{{ v("demo.layers" }}', "not a marker"),
        ("{{ 2 + 2 }}", "not a marker"),
    ],
)
def test_malformed_markers_name_page_and_line(markdown, fragment):
    with pytest.raises(MarkerError) as caught:
        find_markers("intro\n\n" + markdown, PAGE)
    assert str(caught.value).startswith(f"{PAGE}:3: ")
    assert fragment in str(caught.value)


@pytest.mark.parametrize("stray", ["price {{ 42", "a }} b", 'open {{ v("demo.layers")\n\nnever closed }}'])
def test_stray_braces_fail(stray):
    with pytest.raises(MarkerError) as caught:
        find_markers(stray, PAGE)
    assert PAGE in str(caught.value)


def test_marker_split_by_code_fails():
    with pytest.raises(MarkerError, match="split by a code span"):
        find_markers('{{ v(`demo.layers`) }}', PAGE)


@pytest.mark.parametrize("markdown", ['Here: {{ derive("kv-70b.kv_bf16_bytes_per_token") }}',
                                      '{{ inputs("demo") }} trailing text'])
def test_block_markers_stand_alone(markdown):
    with pytest.raises(MarkerError, match="alone on its own line"):
        find_markers(markdown, PAGE)


def test_block_marker_may_be_indented_or_quoted():
    markdown = '!!! note\n\n    {{ derive("kv-70b.kv_bf16_bytes_per_token") }}\n\n> {{ inputs("demo") }}\n'
    assert [m.function for m in find_markers(markdown, PAGE)] == ["derive", "inputs"]


# ---------------------------------------------------------------------------------------------------------------------
# rendering


def spans(text: str) -> list[dict]:
    found = []
    for match in re.finditer(r'<span class="hb-value" ([^>]*)>(.*?)</span>', text):
        attributes = {k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', match.group(1))}
        found.append({**attributes, "text": html.unescape(match.group(2))})
    return found


def test_inline_value_renders_span_with_raw_kind_and_explanation():
    result = render('Each token costs {{ v("kv-70b.kv_bf16_bytes_per_token") }} in BF16.', PAGE, resolve, scenario)
    (span,) = spans(result.markdown)
    assert span["data-key"] == "kv-70b.kv_bf16_bytes_per_token"
    assert span["data-value"] == "327680.0"  # repr of the raw float, full precision
    assert span["data-kind"] == "computed"
    assert span["title"] == KV.explanation  # quotes and angle brackets survive escaping
    assert span["text"] == "328 KB"  # 327,680 B to three significant figures in decimal kilobytes
    assert result.markdown.startswith("Each token costs <span") and result.markdown.endswith("</span> in BF16.")
    assert result.uses == [("kv-70b.kv_bf16_bytes_per_token", KV, "328 KB")]


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ('unit="KiB"', "320 KiB"),  # 327,680 / 1,024 = 320 exactly
        ('unit="B"', "327,680 B"),  # a whole number in the base unit is exact
        ("digits=4", "327.7 KB"),  # 327.68 to four significant figures
        ("plain=true", "328"),
        ('unit="KiB", plain=true', "320"),
    ],
)
def test_options_reach_the_formatter(options, text):
    result = render(f'{{{{ v("kv-70b.kv_bf16_bytes_per_token", {options}) }}}}', PAGE, resolve, scenario)
    assert spans(result.markdown)[0]["text"] == text
    assert result.uses[0][2] == text


def test_forced_binary_unit_on_catalog_bytes():
    # 85,899,345,920 B = 80 × 2^30 B: the H100's "80 GB" is binary
    assert spans(rendered('{{ v("gpu.h100-sxm.memory_bytes", unit="GiB") }}'))[0]["text"] == "80 GiB"


def test_text_is_protected_from_markdown():
    markdown = rendered('Model: {{ v("model.llama-3.1-70b.name") }}.')
    assert "Llama&#95;3.1 70B" in markdown  # an underscore must not start emphasis
    assert spans(markdown)[0]["text"] == "Llama_3.1 70B"
    assert spans(markdown)[0]["data-value"] == "Llama_3.1 70B"


def test_options_on_text_value_fail_with_key():
    with pytest.raises(MarkerError) as caught:
        rendered('x\n{{ v("model.llama-3.1-70b.name", digits=2) }}')
    assert caught.value.key == "model.llama-3.1-70b.name"
    assert str(caught.value).startswith(f"{PAGE}:2: ")
    assert "not a number" in str(caught.value)


def test_unknown_unit_symbol_fails_with_key():
    with pytest.raises(MarkerError) as caught:
        rendered('{{ v("kv-70b.kv_bf16_bytes_per_token", unit="furlongs") }}')
    assert caught.value.key == "kv-70b.kv_bf16_bytes_per_token"
    assert "furlongs" in str(caught.value)


def test_unknown_key_fails_with_page_line_and_key():
    with pytest.raises(MarkerError) as caught:
        rendered('one\ntwo {{ v("no.such.key") }}')
    assert str(caught.value).startswith(f"{PAGE}:2: value 'no.such.key' does not evaluate")
    assert caught.value.key == "no.such.key"


def test_evaluation_crash_is_reported_as_marker_error():
    def broken(key):
        raise ZeroDivisionError("division by zero")

    with pytest.raises(MarkerError, match="does not evaluate: division by zero"):
        render('{{ v("demo.layers") }}', PAGE, broken, scenario)


def test_derivation_block():
    result = render('Intro.\n\n{{ derive("kv-70b.kv_bf16_bytes_per_token") }}\n\nAfter.', PAGE, resolve, scenario)
    intro, token, after = result.markdown.split("\n\n")
    assert (intro, after) == ("Intro.", "After.")
    assert token.isalpha() and token.islower()  # a plain word: Markdown makes it a paragraph of its own
    block = result.blocks[token]
    assert block.startswith('<div class="hb-derivation" data-key="kv-70b.kv_bf16_bytes_per_token" '
                            'data-value="327680.0" data-kind="computed">')
    assert "KV cache per token" in block and "2 × layers × kv&#95;heads × head&#95;dim × bytes" in block
    assert "2 × 80 × 8 × 128 × 2 B" in block
    assert spans(block)[0]["text"] == "328 KB"
    assert result.uses == [("kv-70b.kv_bf16_bytes_per_token", KV, "328 KB")]
    placed = place_blocks(f"<p>Intro.</p>\n<div class=\"admonition\"><p>{token}</p></div>", result.blocks, PAGE)
    assert placed == f"<p>Intro.</p>\n<div class=\"admonition\">{block}</div>"


def test_block_placeholder_must_be_its_own_paragraph():
    result = render('{{ derive("kv-70b.kv_bf16_bytes_per_token") }}', PAGE, resolve, scenario)
    (token,) = result.blocks
    with pytest.raises(MarkerError, match="paragraph of its own"):
        place_blocks(f"<table><tr><td>{token}</td></tr></table>", result.blocks, PAGE)


def test_two_blocks_get_distinct_placeholders():
    markdown = '{{ derive("kv-70b.kv_bf16_bytes_per_token") }}\n\n{{ derive("kv-70b.kv_bf16_bytes_per_token") }}\n'
    result = render(markdown, PAGE, resolve, scenario)
    assert len(result.blocks) == 2 and len(set(result.blocks.values())) == 1


def test_derive_of_an_input_fails():
    with pytest.raises(MarkerError, match="has no derivation"):
        rendered('{{ derive("demo.layers") }}')


def test_inputs_table():
    result = render('{{ inputs("demo") }}', PAGE, resolve, scenario)
    table = result.blocks[result.markdown]
    assert table.startswith('<div class="hb-inputs" data-scenario="demo"><table>')
    (span,) = spans(table)
    assert (span["data-key"], span["data-value"], span["data-kind"], span["text"]) == ("demo.layers", "80", "input", "80")
    assert '<td class="hb-source" data-key="demo.layers">the model\'s config</td>' in table
    assert "Demo 3.1" not in table  # the free-text title could carry a typed number
    assert result.uses == [("demo.layers", LAYERS, "80")]


def test_inputs_of_unknown_scenario_fails():
    with pytest.raises(MarkerError, match="unknown scenario 'nope'"):
        rendered('{{ inputs("nope") }}')


def test_raw_text():
    assert raw_text(0.1 + 0.2) == "0.30000000000000004"
    assert raw_text(80) == "80"
    assert raw_text(True) == "true"
    assert raw_text("fp8") == "fp8"
