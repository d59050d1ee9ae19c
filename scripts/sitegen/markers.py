"""Value markers in Markdown: finding them, checking them and rendering them from the model.

Syntax (the one way a page publishes a number):

* ``{{ v("KEY") }}`` — an inline value; options ``unit="GiB"`` (force a unit symbol), ``digits=4`` (significant
  figures), ``plain=true`` (the number without its unit);
* ``{{ derive("KEY") }}`` — a block showing quantity, formula, substitution and result (alone on its line);
* ``{{ inputs("SCENARIO") }}`` — a table of a scenario's declared inputs with their sources (alone on its line);
* ``{{ measurements("GROUP") }}`` — the model against published measurements: a chart and a table of every row in
  GROUP (throughput, latency, kernel, collective, all), each number a value (alone on its line);
* ``{{ calculator("WIDGET") }}`` — the calculator of ``widgets/calculators/WIDGET.json`` rendered at its default
  scenario (alone on its line);
* ``{{ calc_link("WIDGET", "SCENARIO") }}`` — an inline link that opens that calculator preset with the scenario
  (option ``text="…"`` replaces the link text "open this setting in the … calculator").

Markers inside inline code and fenced code are text, not markers, so pages can show the syntax. Anything else that
looks like a marker but is not one (an unknown function, a bad option, a stray ``{{`` or ``}}``) is an error that names
the page and line; so is a key the model cannot evaluate.

The rendering is a pure function of the marker and a resolver (``key -> sizing.values.Value``), so the site build
and ``make values`` produce the same texts. Numbers are formatted only by ``sizing`` (``Value.text``).
"""

from __future__ import annotations

import ast
import hashlib
import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import accuracy, calculators

FUNCTIONS = {"v": ("unit", "digits", "plain"), "derive": (), "inputs": (), "measurements": (), "calculator": (),
             "calc_link": ("text",)}
BLOCK_FUNCTIONS = {"derive", "inputs", "measurements", "calculator"}
# Functions whose second positional argument is a scenario name: calc_link("WIDGET", "SCENARIO").
TWO_ARGUMENTS = {"calc_link"}
MAX_DIGITS = 15

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*(?:>[ \t]?)*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_BACKTICKS = re.compile(r"`+")


class MarkerError(ValueError):
    """A marker problem, reported as ``page:line: message`` so the writer can find it."""

    def __init__(self, page: str, line: int, message: str, key: str | None = None):
        self.page, self.line, self.key, self.message = page, line, key, message
        where = f"{page}:{line}" if line else page
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Marker:
    function: str  # v | derive | inputs
    key: str  # a value key, or a scenario name for inputs()
    options: tuple[tuple[str, Any], ...]  # sorted (name, value) pairs
    start: int  # offsets of the whole "{{ … }}" in the Markdown
    end: int
    line: int  # 1-based

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)


# --------------------------------------------------------------------------------------------------------------------
# Where code is: fenced blocks and inline code spans


def code_ranges(markdown: str) -> list[tuple[int, int]]:
    """Offsets ``[start, end)`` of fenced code blocks and inline code spans, in order."""
    ranges: list[tuple[int, int]] = []
    prose_start = 0
    offset = 0
    fence: tuple[str, int] | None = None  # (character, length) of the open fence
    fence_start = 0
    for line in markdown.splitlines(keepends=True):
        stripped = line.rstrip("\r\n")
        if fence is None:
            opened = _FENCE_OPEN.match(stripped)
            if opened and not (opened.group("fence")[0] == "`" and "`" in opened.group("info")):
                ranges.extend(_inline_code(markdown, prose_start, offset))
                fence = (opened.group("fence")[0], len(opened.group("fence")))
                fence_start = offset
        else:
            body = stripped.strip(" \t>")
            if body and set(body) == {fence[0]} and len(body) >= fence[1]:
                ranges.append((fence_start, offset + len(line)))
                fence = None
                prose_start = offset + len(line)
        offset += len(line)
    if fence is not None:  # an unclosed fence runs to the end of the document
        ranges.append((fence_start, len(markdown)))
    else:
        ranges.extend(_inline_code(markdown, prose_start, len(markdown)))
    return ranges


def _inline_code(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Code spans in ``text[start:end]``: a backtick run closed by the next run of the same length in the paragraph."""
    position = start
    while True:
        opening = _BACKTICKS.search(text, position, end)
        if not opening:
            return
        if _escaped(text, opening.start()):
            position = opening.start() + 1
            continue
        width = len(opening.group())
        paragraph_end = _BLANK_LINE.search(text, opening.end(), end)
        limit = paragraph_end.start() if paragraph_end else end
        closing = None
        for candidate in _BACKTICKS.finditer(text, opening.end(), limit):
            if len(candidate.group()) == width:
                closing = candidate
                break
        if closing is None:
            position = opening.end()  # a lone run of backticks is literal text
            continue
        yield (opening.start(), closing.end())
        position = closing.end()


def _escaped(text: str, index: int) -> bool:
    slashes = 0
    while index - slashes - 1 >= 0 and text[index - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


def _inside(ranges: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(a <= start and end <= b for a, b in ranges)


def _overlaps(ranges: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(a < end and start < b for a, b in ranges)


# --------------------------------------------------------------------------------------------------------------------
# Parsing


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _literal(node: ast.AST, what: str, fail: Callable[[str], MarkerError]) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in {"true", "false", "True", "False"}:
        return node.id.lower() == "true"
    raise fail(f"{what} must be a quoted string, a whole number, true or false")


def parse_marker(body: str, page: str, line: int, start: int = 0, end: int = 0) -> Marker:
    """Parse the inside of ``{{ … }}``; raise MarkerError naming the page, line and (when known) the key."""

    def fail(message: str, key: str | None = None) -> MarkerError:
        label = f"marker {{{{{body}}}}}"
        return MarkerError(page, line, f"{label}: {message}", key)

    source = body.strip()
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        raise fail('not a marker; expected v("KEY"), derive("KEY") or inputs("SCENARIO")') from None
    call = tree.body
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        raise fail('not a marker; expected v("KEY"), derive("KEY") or inputs("SCENARIO")')
    name = call.func.id
    if name not in FUNCTIONS:
        raise fail(f"unknown function {name!r}; expected one of {', '.join(sorted(FUNCTIONS))}")
    arity = 2 if name in TWO_ARGUMENTS else 1
    if len(call.args) != arity:
        raise fail(f"{name}() takes exactly {'two quoted names' if arity == 2 else 'one quoted key'}")
    key = _literal(call.args[0], "the key", fail)
    if not isinstance(key, str) or not key.strip() or key != key.strip():
        raise fail(f"{name}() takes a non-empty quoted key without surrounding spaces")
    options: dict[str, Any] = {}
    if arity == 2:
        second = _literal(call.args[1], "the scenario", fail)
        if not isinstance(second, str) or not second.strip():
            raise fail(f"{name}() takes a quoted scenario name as its second argument", key)
        options["scenario"] = second
    for keyword in call.keywords:
        if keyword.arg is None or keyword.arg not in FUNCTIONS[name]:
            allowed = ", ".join(FUNCTIONS[name]) or "no options"
            raise fail(f"{name}() has no option {keyword.arg!r} (it takes {allowed})", key)
        if keyword.arg in options:
            raise fail(f"option {keyword.arg!r} given twice", key)
        options[keyword.arg] = _literal(keyword.value, f"option {keyword.arg!r}", lambda m: fail(m, key))
    if "unit" in options and (not isinstance(options["unit"], str) or not options["unit"]):
        raise fail('option unit must be a quoted unit symbol such as unit="GiB"', key)
    if "digits" in options:
        digits = options["digits"]
        if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= MAX_DIGITS:
            raise fail(f"option digits must be a whole number from 1 to {MAX_DIGITS}", key)
    if "plain" in options and not isinstance(options["plain"], bool):
        raise fail("option plain must be true or false", key)
    return Marker(name, key, tuple(sorted(options.items())), start, end, line)


def find_markers(markdown: str, page: str) -> list[Marker]:
    """Every marker outside code, in order. Raises MarkerError for a malformed marker or a stray ``{{``/``}}``."""
    code = code_ranges(markdown)
    markers: list[Marker] = []
    consumed: list[tuple[int, int]] = []
    position = 0
    while True:
        opening = _next_outside(markdown, "{{", position, code)
        if opening < 0:
            break
        line = _line_of(markdown, opening)
        closing = _next_outside(markdown, "}}", opening + 2, code)
        if closing < 0:
            raise MarkerError(page, line, f"'{{{{' is never closed by '}}}}' (near {_near(markdown, opening)!r})")
        start, end = opening, closing + 2
        if _overlaps(code, start, end):
            # e.g. "{{ v(`x`) }}": part of it is code, so it is neither a marker nor plain text
            raise MarkerError(page, line, f"marker {markdown[start:end]!r} is split by a code span")
        if _BLANK_LINE.search(markdown, start, end):
            raise MarkerError(page, line, f"'{{{{' is not closed by '}}}}' in the same paragraph "
                                          f"(near {_near(markdown, opening)!r})")
        marker = parse_marker(markdown[start + 2:end - 2], page, line, start, end)
        if marker.function in BLOCK_FUNCTIONS:
            line_start = markdown.rfind("\n", 0, start) + 1
            line_end = markdown.find("\n", end)
            line_end = len(markdown) if line_end < 0 else line_end
            if markdown[line_start:start].strip(" \t>") or markdown[end:line_end].strip():
                raise MarkerError(page, line, f"{marker.function}() renders a block: put it alone on its own line",
                                  marker.key)
        markers.append(marker)
        consumed.append((start, end))
        position = end
    stray = _next_outside(markdown, "}}", 0, code + consumed)
    if stray >= 0:
        raise MarkerError(page, _line_of(markdown, stray), f"leftover '}}}}' outside code (near {_near(markdown, stray)!r}); "
                                                            'a marker is {{ v("KEY") }}, {{ derive("KEY") }} or '
                                                            '{{ inputs("SCENARIO") }}')
    return markers


def _next_outside(text: str, token: str, position: int, excluded: list[tuple[int, int]]) -> int:
    """Offset of the next ``token`` at or after ``position`` that is not inside an excluded range, or -1."""
    while True:
        found = text.find(token, position)
        if found < 0 or not any(a <= found < b for a, b in excluded):
            return found
        position = found + 1


def _near(text: str, offset: int) -> str:
    return " ".join(text[max(0, offset - 30): offset + 40].split())


# --------------------------------------------------------------------------------------------------------------------
# Rendering


@dataclass
class Rendered:
    """A page's Markdown with markers replaced, and every (key, value, text) it published.

    Inline values are replaced by their HTML. A block (derivation, inputs table) is replaced by a placeholder word
    that Markdown turns into a paragraph of its own wherever it stands (top level, admonition, tab, list item), and
    :func:`place_blocks` swaps that paragraph for the block's HTML once the page is HTML. Raw HTML written into the
    Markdown would only stay a block at the top level: inside an admonition Markdown wraps it in ``<p>``.
    """

    markdown: str
    uses: list[tuple[str, Any, str]] = field(default_factory=list)  # (key, Value, text shown)
    blocks: dict[str, str] = field(default_factory=dict)  # placeholder -> block HTML


def raw_text(raw: Any) -> str:
    """The full-precision raw value for ``data-value``: ``repr`` for floats (round-trips exactly), JSON spelling for booleans."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float):
        return repr(raw)
    return str(raw)


# Characters Markdown would act on inside a paragraph; as entities they reach the reader unchanged.
_MARKDOWN_SAFE = str.maketrans({"*": "&#42;", "_": "&#95;", "`": "&#96;", "[": "&#91;", "]": "&#93;", "\\": "&#92;",
                                "~": "&#126;", "^": "&#94;", "=": "&#61;", "+": "&#43;", "{": "&#123;",
                                "}": "&#125;", ":": "&#58;", "|": "&#124;"})


def _text_html(text: str) -> str:
    return html.escape(text, quote=False).translate(_MARKDOWN_SAFE)


def _attr(text: str) -> str:
    return html.escape(text, quote=True).replace("{", "&#123;").replace("}", "&#125;")


def value_span(value: Any, text: str) -> str:
    """``<span class="hb-value" data-key data-value data-kind title>TEXT</span>`` for one value."""
    return (
        f'<span class="hb-value" data-key="{_attr(value.key)}" data-value="{_attr(raw_text(value.raw))}" '
        f'data-kind="{_attr(value.kind)}" title="{_attr(value.explanation)}">{_text_html(text)}</span>'
    )


def value_text(value: Any, marker: Marker, page: str) -> str:
    """The text of ``v()`` with the marker's options, from ``sizing`` (``Value.text``); bad options name the key."""
    options = dict(marker.options)
    if not value.numeric and options:
        raise MarkerError(page, marker.line, f"value {marker.key!r} is {value.raw!r}, not a number: "
                                             f"options {', '.join(sorted(options))} do not apply", marker.key)
    try:
        return value.text(**options)
    except (ValueError, TypeError) as error:
        raise MarkerError(page, marker.line, f"value {marker.key!r}: {error}", marker.key) from None


def derivation_block(value: Any, text: str) -> str:
    """The derivation of a computed value as one line of HTML (a raw block for Markdown)."""
    d = value.derivation
    parts = [
        f'<div class="hb-derivation" data-key="{_attr(value.key)}" data-value="{_attr(raw_text(value.raw))}" '
        f'data-kind="{_attr(value.kind)}">',
        f'<p class="hb-derivation__quantity">{_text_html(d["quantity"])}</p>',
        '<dl class="hb-derivation__steps">',
        f'<dt>formula</dt><dd class="hb-derivation__formula">{_text_html(d["formula"])}</dd>',
        f'<dt>substitution</dt><dd class="hb-derivation__substitution">{_text_html(d["substitution"])}</dd>',
        f'<dt>result</dt><dd class="hb-derivation__result">{value_span(value, text)}</dd>',
        "</dl></div>",
    ]
    return "".join(parts)


def inputs_table(scenario: Any, values: list[Any], texts: list[str]) -> str:
    """A scenario's declared inputs: name, value (an ``hb-value`` span) and source, as one line of HTML.

    No caption: a scenario's title is free text from a data file and may hold a version number ("Llama 3.1");
    the page introduces the table in its own words.
    """
    rows = []
    for item, value, text in zip(scenario.inputs, values, texts):
        rows.append(
            f'<tr><td><code>{_text_html(item.name)}</code></td><td>{value_span(value, text)}</td>'
            f'<td class="hb-source" data-key="{_attr(value.key)}">{_text_html(item.source)}</td></tr>'
        )
    return (
        f'<div class="hb-inputs" data-scenario="{_attr(scenario.name)}">'
        "<table><thead><tr><th>input</th><th>value</th><th>source</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def render(markdown: str, page: str, resolve: Callable[[str], Any], scenarios: Callable[[str], Any]) -> Rendered:
    """Replace every marker in ``markdown``.

    ``resolve(key)`` returns a ``sizing.values.Value`` (raising ValueError for an unknown key or a failed evaluation);
    ``scenarios(name)`` returns a ``sizing.scenarios.Scenario`` (raising ValueError if there is none).
    """
    rendered = Rendered(markdown="")
    pieces: list[str] = []
    position = 0

    def evaluate(key: str, marker: Marker) -> Any:
        try:
            return resolve(key)
        except Exception as error:  # an evaluation that fails for any reason must name the page and key
            raise MarkerError(page, marker.line, f"value {key!r} does not evaluate: {error}", key) from error

    for marker in find_markers(markdown, page):
        pieces.append(markdown[position:marker.start])
        position = marker.end
        if marker.function == "v":
            value = evaluate(marker.key, marker)
            text = value_text(value, marker, page)
            rendered.uses.append((marker.key, value, text))
            pieces.append(value_span(value, text))
        elif marker.function == "derive":
            value = evaluate(marker.key, marker)
            if not value.derivation:
                raise MarkerError(page, marker.line, f"value {marker.key!r} has no derivation to show "
                                                     f"(it is {value.kind}: {value.explanation})", marker.key)
            text = value_text(value, marker, page)
            rendered.uses.append((marker.key, value, text))
            pieces.append(_placeholder(rendered, derivation_block(value, text)))
        elif marker.function == "calculator":
            try:
                spec = calculators.spec(marker.key)
                widget_html, uses = calculators.render_widget(
                    spec, lambda key: evaluate(key, marker), scenarios(spec.scenario), value_span, derivation_block)
            except MarkerError:
                raise
            except ValueError as error:
                raise MarkerError(page, marker.line, f"calculator({marker.key!r}): {error}", marker.key) from None
            rendered.uses.extend(uses)
            pieces.append(_placeholder(rendered, widget_html))
        elif marker.function == "calc_link":
            try:
                pieces.append(calculators.calc_link(marker.key, marker.option("scenario"), page, scenarios,
                                                    marker.option("text")))
            except ValueError as error:
                raise MarkerError(page, marker.line, f"calc_link({marker.key!r}, {marker.option('scenario')!r}): "
                                                     f"{error}", marker.key) from None
        elif marker.function == "measurements":
            try:
                block_html, uses = accuracy.block(marker.key, lambda key: evaluate(key, marker), value_span, _attr)
            except MarkerError:
                raise
            except ValueError as error:
                raise MarkerError(page, marker.line, f"measurements({marker.key!r}): {error}", marker.key) from None
            rendered.uses.extend(uses)
            pieces.append(_placeholder(rendered, block_html))
        else:
            try:
                scenario = scenarios(marker.key)
            except Exception as error:
                raise MarkerError(page, marker.line, f"inputs({marker.key!r}): {error}", marker.key) from error
            values = [evaluate(f"{scenario.name}.{item.name}", marker) for item in scenario.inputs]
            texts = [value.text() for value in values]
            rendered.uses.extend((value.key, value, text) for value, text in zip(values, texts))
            pieces.append(_placeholder(rendered, inputs_table(scenario, values, texts)))
    pieces.append(markdown[position:])
    rendered.markdown = "".join(pieces)
    return rendered


def _placeholder(rendered: Rendered, block_html: str) -> str:
    # Letters only: Markdown, abbreviations and the audit leave such a word alone.
    index = len(rendered.blocks)
    letters = "".join(chr(ord("a") + int(digit)) for digit in f"{index:06d}")
    token = f"hbblock{letters}{hashlib.sha1(block_html.encode()).hexdigest()[:12].translate(_HEX_TO_LETTERS)}"
    rendered.blocks[token] = block_html
    return token


_HEX_TO_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def place_blocks(page_html: str, blocks: dict[str, str], page: str) -> str:
    """Replace each block placeholder's paragraph with the block's HTML; a placeholder not alone in its paragraph fails."""
    for token, block_html in blocks.items():
        paragraph = f"<p>{token}</p>"
        count = page_html.count(paragraph)
        if count != 1 or page_html.count(token) != 1:
            raise MarkerError(page, 0, "a derive() or inputs() block did not end up in a paragraph of its own "
                                       "(is it inside a table, a heading or a tight list item?)")
        page_html = page_html.replace(paragraph, block_html)
    return page_html
