"""Value keys: how prose, transcripts and widgets name a published number, and how it is evaluated.

Key grammar (dots separate parts; catalog ids may themselves contain dots):

* ``gpu.<gpu-id>.<field>``     a catalog field (an input) or a quantity the ``gpu`` calculation derives from it
* ``model.<model-id>.<field>`` a catalog field (an input) or a quantity the ``model`` calculation derives
* ``precision.<id>.<field>``   a precision's declared field (``bytes_per_value``, ``compute_dtype``)
* ``measurement.<id>.<metric>.<field>`` a published measurement the model is calibrated against: ``measured``
  and ``description`` (inputs, with the measurement's source), ``predicted`` and ``error`` (computed)
* ``<scenario>.<field>``       a declared scenario input, or an output of the scenario's calculation

Every :class:`Value` says whether it was computed (with its formula and substitution) or declared (with its source).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

from . import catalog, scenarios as scenario_data
from .errors import InputError
from .formatting import format_quantity, unit_for_field
from .scenarios import Scenario


class UnknownValueKey(ValueError):
    """A value key that does not resolve; the message names the key and what was expected."""


@dataclass(frozen=True)
class Value:
    key: str
    raw: Any  # the number (or text) exactly as the model returns or the data file declares it
    field: str  # the field name, whose suffix carries the unit (``ttft_ms``)
    kind: str  # "computed" or "input"
    explanation: str  # for computed: formula = substitution = result; for input: its source
    derivation: dict | None = None

    @property
    def numeric(self) -> bool:
        return isinstance(self.raw, (int, float)) and not isinstance(self.raw, bool)

    def text(self, *, unit: str | None = None, digits: int = 3, plain: bool = False) -> str:
        """The value as a reader sees it; ``unit`` forces a unit symbol ("GiB", "ms")."""
        if isinstance(self.raw, bool):  # "fits: yes", as the widgets write it
            return "yes" if self.raw else "no"
        if self.raw is None:  # an output with no value for this setting ("none fits"), as the widgets write it
            return "—"
        if not self.numeric:
            return str(self.raw)
        family, scale = unit_for_field(self.field)
        return format_quantity(self.raw * scale, family, digits=digits, force=unit, plain=plain)

    def to_ledger(self, text: str) -> dict:
        entry = {"value": self.raw, "text": text, "kind": self.kind}
        entry["formula" if self.kind == "computed" else "source"] = self.explanation
        return entry


@lru_cache(maxsize=512)
def _run_cached(calculation: str, params_json: str) -> str:
    from . import api  # imported late: api imports the physics modules, which may import values helpers

    return api.run(calculation, params_json)


def run_calculation(calculation: str, params: Mapping[str, Any]) -> dict:
    """Run a registered calculation and return its result, raising ValueError with the API's message on error."""
    answer = json.loads(_run_cached(calculation, json.dumps(dict(params), sort_keys=True)))
    if "error" in answer:
        error = answer["error"]
        raise InputError(error.get("field", "?"), error.get("message", "failed"))
    return answer


def _computed(key: str, field: str, answer: dict, context: str) -> Value:
    if field not in answer or field in {"derivations", "warnings", "display"}:
        available = sorted(k for k, v in answer.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool))
        raise UnknownValueKey(f"value key {key!r}: {context} has no output {field!r}; available: {', '.join(available)}")
    derivation = (answer.get("derivations") or {}).get(field)
    if derivation:
        explanation = f"{derivation['quantity']} = {derivation['formula']} = {derivation['substitution']} = {derivation['result_text']}"
    else:
        explanation = f"computed by the model's '{context}' calculation"
    return Value(key, answer[field], field, "computed", explanation, derivation)


def _catalog_value(key: str, prefix: str, ident: str, field: str) -> Value:
    spec = catalog.gpu(ident) if prefix == "gpu" else catalog.model(ident)
    declared = {f.name for f in fields(spec)}
    if field.startswith("peak_") and field.endswith("_flops_per_s") and prefix == "gpu":
        dtype = field[len("peak_") : -len("_flops_per_s")]
        if dtype in spec.peak_flops_per_s:
            return Value(key, spec.peak_flops_per_s[dtype], field, "input", spec.source.describe())
    if field in declared and field not in {"source", "price_source", "moe", "mla", "peak_flops_per_s"}:
        source = spec.price_source if prefix == "gpu" and field.startswith("price_") else spec.source
        return Value(key, getattr(spec, field), field, "input", source.describe())
    for part in ("moe", "mla"):
        sub = getattr(spec, part, None)
        if sub is not None and field.startswith(part + "_") and hasattr(sub, field[len(part) + 1 :]):
            return Value(key, getattr(sub, field[len(part) + 1 :]), field, "input", spec.source.describe())
    answer = run_calculation(prefix, {prefix: ident})
    return _computed(key, field, answer, f"{prefix} {ident}")


def _measurement_source(row: dict) -> str:
    source = row.get("source") or {}
    where = source.get("url") or "{repo}/{path}@{commit}".format(
        repo=source.get("repo", "?"), path=source.get("path", "?"), commit=str(source.get("commit", "?"))[:12]
    )
    note = source.get("note", "")
    return f"{where}: {note}" if note else where


def _measurement_value(key: str, rest: str) -> Value:
    from . import calibration  # the calibration module imports the serving model; load it only when asked

    parts = rest.split(".")
    if len(parts) != 3:
        raise UnknownValueKey(f"value key {key!r}: expected 'measurement.<id>.<metric>.<field>'")
    ident, metric, field = parts
    check = next((c for c in calibration.report() if c.id == ident and c.metric == metric), None)
    if check is None:
        known = sorted({f"{c.id}.{c.metric}" for c in calibration.report()})
        raise UnknownValueKey(f"value key {key!r}: no measurement {ident}.{metric}; known: {', '.join(known[:12])}, …")
    row = next(r for r in calibration.measurements() if r["id"] == ident)
    if check.status != "ok" and field in {"predicted", "error"}:
        raise UnknownValueKey(f"value key {key!r}: the model does not predict this row ({check.reason})")
    if field == "measured":
        return Value(key, check.measured, metric, "input", _measurement_source(row))
    if field == "description":
        return Value(key, check.description, "description", "input", _measurement_source(row))
    if field == "predicted":
        explanation = f"the model's {metric} for: {check.description}"
        return Value(key, check.predicted, metric, "computed", explanation)
    if field == "error":
        explanation = f"predicted ÷ measured − 1 for {ident} {metric}"
        return Value(key, check.error, "error", "computed", explanation)
    raise UnknownValueKey(f"value key {key!r}: a measurement has 'measured', 'predicted', 'error' and 'description'")


def evaluate(key: str, extra: Mapping[str, Scenario] | None = None) -> Value:
    """Resolve a value key. ``extra`` adds scenarios declared outside the model (transcripts, companies)."""
    if not isinstance(key, str) or key.count(".") < 1:
        raise UnknownValueKey(f"value key {key!r}: expected '<scenario>.<field>', 'gpu.<id>.<field>' or 'model.<id>.<field>'")
    head, rest = key.split(".", 1)
    if head == "measurement":
        return _measurement_value(key, rest)
    if head == "precision":
        ident, _, field = rest.partition(".")
        try:
            spec = catalog.precision(ident, field="precision")
        except InputError as error:
            raise UnknownValueKey(f"value key {key!r}: {error}") from None
        if field not in {"bytes_per_value", "compute_dtype"}:
            raise UnknownValueKey(f"value key {key!r}: a precision has 'bytes_per_value' and 'compute_dtype'")
        return Value(key, getattr(spec, field), "bytes" if field == "bytes_per_value" else field, "input", spec.source.describe())
    if head in {"gpu", "model"}:
        if "." not in rest:
            raise UnknownValueKey(f"value key {key!r}: expected '{head}.<id>.<field>'")
        ident, field = rest.rsplit(".", 1)
        try:
            return _catalog_value(key, head, ident, field)
        except InputError as error:
            raise UnknownValueKey(f"value key {key!r}: {error}") from None
    table = dict(scenario_data.builtin())
    table.update(extra or {})
    if head not in table:
        raise UnknownValueKey(f"value key {key!r}: unknown scenario {head!r}; known: {', '.join(sorted(table))}")
    scenario = table[head]
    field = rest
    declared = scenario.input(field)
    if declared is not None:
        return Value(key, declared.value, field, "input", f"scenario '{scenario.name}' ({scenario.origin}): {declared.source}")
    try:
        answer = run_calculation(scenario.calculation, scenario.params())
    except InputError as error:
        raise UnknownValueKey(f"value key {key!r}: scenario {scenario.name!r} fails to evaluate: {error}") from None
    return _computed(key, field, answer, f"{scenario.calculation} for scenario {scenario.name}")
