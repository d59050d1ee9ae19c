"""Fuzz every registered calculation through the browser boundary, ``sizing.api.run``.

The only allowed outcomes are a JSON result or ``{"error": {"field": ..., "message": ...}}``: never another
exception, never NaN or infinity (``run`` serialises with allow_nan=False, so a non-finite number surfaces here as an
exception), never a negative duration. Calculations are discovered from the registry at collection time, so ones
other modules add later are fuzzed too. Parameter names are learnt by probing: every calculation that rejects
unknown parameters lists the ones it takes in its error message.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sizing import api, catalog, scenarios
from sizing.registry import CALCULATIONS

NAMES = sorted(CALCULATIONS)
TIME_SUFFIXES = ("_ms", "_s", "_us", "_minutes", "_hours", "_days")
_EXPECTED = re.compile(r"expected one of (.+)$")


def _learn_parameters(name: str) -> list[str]:
    answer = json.loads(api.run(name, json.dumps({"zz_not_a_parameter": 1})))
    found = _EXPECTED.search(answer.get("error", {}).get("message", ""))
    return [part.strip() for part in found.group(1).split(",")] if found else []


PARAMETERS = {name: _learn_parameters(name) for name in NAMES}
ALL_PARAMETERS = sorted({p for names in PARAMETERS.values() for p in names} | {"model", "gpu", "batch", "tokens"})

_CHOICES = re.compile(r"(?:expected one of|must be one of) (.+?)(?:\)|$)")
_RANGE = re.compile(r"(?:from|above) (-?[0-9.,e+\-]+|-?inf) to (-?[0-9.,e+\-]+|inf)")


def _domain(name: str, base: dict, parameter: str):
    """What a parameter accepts, read from the errors two probes provoke: choices, a numeric range, or a flag."""
    for probe in ("zz-probe", -1e30, 0.5):
        answer = json.loads(api.run(name, json.dumps({**base, parameter: probe})))
        error = answer.get("error")
        if not error or error["field"] != parameter:
            continue
        message = error["message"]
        if "true or false" in message:
            return ("bool",)
        found = _CHOICES.search(message)
        if found:
            options = [o.strip().strip("'") for o in found.group(1).split(",") if o.strip() not in {"…", "(or 'all')"}]
            if options:
                return ("choice", options)
        found = _RANGE.search(message)
        if found:
            whole = "whole number" in json.loads(api.run(name, json.dumps({**base, parameter: 0.5}))).get("error", {}).get("message", "")
            low, high = (float(found.group(i).rstrip(",").replace(",", "")) for i in (1, 2))
            return ("range", low, high, whole)
    return None


def _valid_example(domain):
    if domain[0] == "bool":
        return True
    if domain[0] == "choice":
        return domain[1][0]
    low, high, whole = domain[1:]
    value = low if low > 0 else min(high, 1.0 if not whole else 1)
    return int(value) if whole else value


def _learn(name: str) -> tuple[dict, dict]:
    """Fill required parameters one at a time (reads happen in order), then learn every parameter's domain."""
    base = dict(next((s.params() for s in scenarios.builtin().values() if s.calculation == name), {}))
    for _ in range(30):
        error = json.loads(api.run(name, json.dumps(base))).get("error")
        if not error or error["field"] not in PARAMETERS[name] or error["field"] in base:
            break
        domain = _domain(name, base, error["field"])
        if domain is None:
            break
        base[error["field"]] = _valid_example(domain)
    domains = {p: _domain(name, base, p) for p in PARAMETERS[name]}
    return base, {p: d for p, d in domains.items() if d is not None}


LEARNT = {name: _learn(name) for name in NAMES}
BASES = {
    name: [s.params() for s in scenarios.builtin().values() if s.calculation == name] + [LEARNT[name][0]] for name in NAMES
}

IDS = sorted(catalog.models()) + sorted(catalog.gpus()) + sorted(catalog.precisions())
WORDS = [
    "full", "lora", "qlora", "none", "selective", "hnsw", "flat", "ivf-pq", "fp32", "int8", "binary", "q,v", "all",
    "q,k,v,o,gate,up,down", "true", "false", "1e9", "-1", "0", "NaN", "inf", "", " ", "a:1,b:2", "x:0",
]

plausible_numbers = st.one_of(
    st.integers(-3, 5000),
    st.builds(lambda e, m: m * 10.0**e, st.integers(-4, 16), st.floats(0.1, 10.0)),
    st.sampled_from([0, 0.0, 1, 0.5, 0.999, 1.0, 2, 64, 128, 4096, 131072, 1e12, 15e12, -0.0]),
)
any_value = st.one_of(
    plausible_numbers,
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(10**20), 10**20),
    st.sampled_from(IDS + WORDS),
    st.text(max_size=12),
    st.booleans(),
    st.none(),
    st.lists(st.integers(0, 8), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def _from_domain(domain) -> st.SearchStrategy:
    if domain is None:
        return any_value
    if domain[0] == "bool":
        return st.booleans()
    if domain[0] == "choice":
        return st.sampled_from(domain[1])
    low, high, whole = domain[1:]
    if whole:
        low_i, high_i = math.ceil(low), math.floor(high)
        spread = st.builds(lambda u: round(math.exp(u)), st.floats(math.log(max(low_i, 1)), math.log(max(high_i, 1)))) if high_i >= 1 else st.just(low_i)
        return st.one_of(st.sampled_from([low_i, high_i]), st.integers(low_i, min(high_i, low_i + 64)), spread.filter(lambda v: low_i <= v <= high_i))
    choices = [st.sampled_from([low, high]), st.floats(low, high)]
    if low >= 0 and high > 1:
        choices.append(st.builds(lambda u: math.exp(u), st.floats(math.log(max(low, 1e-6)), math.log(high))).filter(lambda v: low <= v <= high))
    return st.one_of(*choices)


def _check(name: str, text: str, *, empty_key_sent: bool = False) -> dict:
    """The contract: valid JSON without NaN/inf; an error with field and message, or a result without negative times."""

    def refuse(constant):
        raise AssertionError(f"{name}: non-finite {constant} in output")

    answer = json.loads(text, parse_constant=refuse)
    assert isinstance(answer, dict), (name, text)
    if "error" in answer:
        error = answer["error"]
        assert set(error) == {"field", "message"}, (name, error)
        # the field names the offending parameter; only a parameter literally named "" may give an empty one
        assert isinstance(error["field"], str) and (error["field"] or empty_key_sent), (name, error)
        assert isinstance(error["message"], str) and error["message"], (name, error)
        return answer
    for field, value in answer.items():
        if field.endswith(TIME_SUFFIXES) and isinstance(value, (int, float)) and not isinstance(value, bool):
            assert value >= 0, (name, field, value)
            assert math.isfinite(value)
    for field, derivation in (answer.get("derivations") or {}).items():
        if isinstance(derivation, dict) and derivation.get("unit") == "s":
            assert derivation["result"] >= 0, (name, field, derivation)
    return answer


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_parameters_give_a_result_or_a_field_error(name, data):
    base = dict(data.draw(st.sampled_from(BASES[name]), label="base"))
    keys = PARAMETERS[name] or ALL_PARAMETERS
    changes = data.draw(st.dictionaries(st.sampled_from(keys), any_value, max_size=4), label="changes")
    base.update(changes)
    if data.draw(st.booleans(), label="drop one"):
        if base:
            base.pop(data.draw(st.sampled_from(sorted(base)), label="dropped"))
    if data.draw(st.integers(0, 9), label="stray") == 0:
        base[data.draw(st.sampled_from(ALL_PARAMETERS + ["typo", ""]), label="stray key")] = data.draw(any_value, label="stray value")
    _check(name, api.run(name, json.dumps(base)), empty_key_sent="" in base)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_values_inside_each_declared_range_give_results(name, data):
    """Draw every learnt parameter from the range its own error message declares: mostly valid combinations."""
    base, domains = LEARNT[name]
    params = dict(base)
    for parameter in sorted(domains):
        if data.draw(st.booleans(), label=f"set {parameter}"):
            params[parameter] = data.draw(_from_domain(domains[parameter]), label=parameter)
    _check(name, api.run(name, json.dumps(params)))


def _boundaries(domain) -> list:
    if domain[0] != "range":
        return []
    low, high, whole = domain[1:]
    if whole:
        return sorted({math.ceil(low), math.ceil(low) + 1, math.floor(high), math.floor(high) - 1})
    values = [low, math.nextafter(low, math.inf), high, math.nextafter(high, -math.inf), 5e-324, (low + high) / 2]
    return [v for v in values if low <= v <= high]


BOUNDARY_CASES = [
    (name, parameter, value)
    for name in NAMES
    for parameter, domain in sorted(LEARNT[name][1].items())
    for value in _boundaries(domain)
]


@pytest.mark.parametrize(("name", "parameter", "value"), BOUNDARY_CASES)
def test_every_declared_range_boundary_one_at_a_time(name, parameter, value):
    """Both ends of each range, the floats just inside them and the smallest positive float, each on a valid base."""
    _check(name, api.run(name, json.dumps({**LEARNT[name][0], parameter: value})))


@pytest.mark.parametrize("name", NAMES)
def test_all_parameters_at_their_extremes_together(name):
    base, domains = LEARNT[name]
    for pick in (0, -1):
        params = dict(base)
        for parameter, domain in domains.items():
            edges = _boundaries(domain)
            if edges:
                params[parameter] = sorted(edges)[pick]
        _check(name, api.run(name, json.dumps(params)))


def test_the_range_driven_fuzzer_reaches_results():
    """Guard against a fuzzer that only ever sees errors: the learnt base of every calculation must evaluate."""
    failing = {name: json.loads(api.run(name, json.dumps(LEARNT[name][0]))) for name in NAMES}
    failing = {name: answer["error"] for name, answer in failing.items() if "error" in answer}
    assert not failing, failing


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_small_changes_to_valid_scenarios_stay_within_the_contract(name, data):
    base = dict(data.draw(st.sampled_from(BASES[name]), label="base"))
    numeric = sorted(k for k, v in base.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
    if numeric:
        key = data.draw(st.sampled_from(numeric), label="key")
        factor = data.draw(st.sampled_from([0, 0.5, 0.9, 1.1, 2, 10, 1000, -1]), label="factor")
        base[key] = base[key] * factor
    _check(name, api.run(name, json.dumps(base)))


RAW = [
    "", "null", "[]", "[1, 2]", "1", '"text"', "{", "{]", "NaN", "Infinity", '{"model": NaN}', '{"tokens": Infinity}',
    '{"batch": -Infinity}', '{"gpus": 1e400}', '{"model": {"id": "llama-3.1-8b"}}', '{"model": ["llama-3.1-8b"]}',
    '{"": 1}', '{"model": "LLAMA-3.1-8B "}', "\u0000", '{"batch": "1,024"}', '{"batch": "1_024"}', '{"batch": true}',
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("text", RAW)
def test_malformed_json_and_odd_values(name, text):
    _check(name, api.run(name, text), empty_key_sent='"": ' in text)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(text=st.text(max_size=40))
def test_arbitrary_text_as_params(name, text):
    _check(name, api.run(name, text))


def test_unknown_calculation_is_a_field_error():
    answer = _check("?", api.run("no-such-calculation", "{}"))
    assert answer["error"]["field"] == "calculation"


def test_every_scenario_evaluates_to_a_result():
    for scenario in scenarios.builtin().values():
        answer = _check(scenario.calculation, api.run(scenario.calculation, json.dumps(scenario.params())))
        assert "error" not in answer, (scenario.name, answer)
