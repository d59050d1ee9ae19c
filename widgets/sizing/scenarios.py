"""Named scenarios: a set of declared inputs, each with a one-line provenance, fed to one model calculation.

Pages, transcripts and widgets refer to a scenario by name (``{{ v("chat-70b.ttft_ms") }}``), so the numbers a
chapter quotes and the defaults a calculator opens with are the same inputs. The scenarios that ship with the
model live in ``data/scenarios.json``; other data files (transcripts, companies) declare more with the same shape
and are parsed by :func:`parse_scenario`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_NAME = re.compile(r"^[a-z0-9][a-z0-9\-]*$")


@dataclass(frozen=True)
class ScenarioInput:
    name: str
    value: Any  # a number, an id or a boolean, exactly as the calculation takes it
    source: str  # one line: where the number comes from, or why it is a reasonable assumption


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    calculation: str  # a name registered in sizing.api
    inputs: tuple[ScenarioInput, ...]
    origin: str  # the file that declared it

    def params(self) -> dict[str, Any]:
        return {item.name: item.value for item in self.inputs}

    def input(self, name: str) -> ScenarioInput | None:
        return next((item for item in self.inputs if item.name == name), None)


class ScenarioError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("scenario data is invalid:\n  " + "\n  ".join(problems))
        self.problems = problems


def parse_scenario(record: Any, where: str, problems: list[str]) -> Scenario | None:
    """Validate one scenario record; append every problem (naming ``where`` and the field) to ``problems``."""
    if not isinstance(record, dict):
        problems.append(f"{where}: must be an object")
        return None
    start = len(problems)
    allowed = {"name", "title", "calculation", "inputs"}
    for key in record:
        if key not in allowed:
            problems.append(f"{where}.{key}: unknown field; expected one of {', '.join(sorted(allowed))}")
    name = record.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(f"{where}.name: must be a lower-case hyphenated name without dots (got {name!r})")
    for key in ("title", "calculation"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            problems.append(f"{where}.{key}: must be a non-empty string")
    raw_inputs = record.get("inputs")
    inputs: list[ScenarioInput] = []
    if not isinstance(raw_inputs, dict):
        problems.append(f"{where}.inputs: must be an object of name → {{value, source}} ({{}} for a calculation without parameters)")
    else:
        for key, item in raw_inputs.items():
            here = f"{where}.inputs.{key}"
            if not isinstance(item, dict) or "value" not in item:
                problems.append(f"{here}: must be an object with 'value' and 'source'")
                continue
            extra = set(item) - {"value", "source"}
            if extra:
                problems.append(f"{here}: unknown field(s) {', '.join(sorted(extra))}")
            if not isinstance(item.get("source"), str) or len(item["source"].strip()) < 8:
                problems.append(f"{here}.source: must say where the value comes from (a sentence, not a stub)")
            if not isinstance(item["value"], (int, float, str, bool)):
                problems.append(f"{here}.value: must be a number, a string or a boolean")
            inputs.append(ScenarioInput(name=key, value=item["value"], source=str(item.get("source", ""))))
    if len(problems) > start:
        return None
    return Scenario(name=name, title=record["title"], calculation=record["calculation"], inputs=tuple(inputs), origin=where)


def parse_scenarios(document: Any, origin: str) -> dict[str, Scenario]:
    """All scenarios of one file (``{"scenarios": [...]}``); raises ScenarioError listing every problem."""
    problems: list[str] = []
    records = document.get("scenarios") if isinstance(document, dict) else None
    if not isinstance(records, list):
        raise ScenarioError([f"{origin}: expected an object with a list 'scenarios'"])
    found: dict[str, Scenario] = {}
    for index, record in enumerate(records):
        label = record.get("name", "?") if isinstance(record, dict) else "?"
        scenario = parse_scenario(record, f"{origin}: scenarios[{index}] ({label})", problems)
        if scenario is None:
            continue
        if scenario.name in found:
            problems.append(f"{origin}: duplicate scenario name {scenario.name!r}")
        found[scenario.name] = scenario
    if problems:
        raise ScenarioError(problems)
    return found


@cache
def builtin() -> dict[str, Scenario]:
    """The scenarios that ship with the model: data/scenarios.json plus every data/scenarios/*.json.

    Each chapter or module keeps its scenarios in its own file; a name declared twice is an error.
    """
    data = resources.files("sizing").joinpath("data")
    sources = [("scenarios.json", data.joinpath("scenarios.json"))]
    folder = data.joinpath("scenarios")
    if folder.is_dir():
        sources += sorted((f"scenarios/{item.name}", item) for item in folder.iterdir() if item.name.endswith(".json"))
    found: dict[str, Scenario] = {}
    problems: list[str] = []
    for origin, item in sources:
        try:
            document = json.loads(item.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            problems.append(f"{origin}: not valid JSON ({error})")
            continue
        try:
            table = parse_scenarios(document, origin)
        except ScenarioError as error:
            problems.extend(error.problems)
            continue
        for name, scenario in table.items():
            if name in found:
                problems.append(f"{origin}: scenario {name!r} is already declared in {found[name].origin}")
            found[name] = scenario
    if problems:
        raise ScenarioError(problems)
    return found
