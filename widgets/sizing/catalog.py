"""The catalog: GPUs, models and precisions, read from JSON data files and validated into frozen specs.

Every problem in a data file is reported at once, each naming the file and the field
(``gpus.json: gpus[3] (h100-sxm).hbm_bandwidth_bytes_per_s: must be a positive number``).
"""

from __future__ import annotations

import json
import re
from dataclasses import fields
from functools import cache
from importlib import resources
from typing import Any

from .errors import InputError
from .specs import GpuSpec, MlaSpec, ModelSpec, MoeSpec, Precision, Source

_ID = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")
_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
COMPUTE_DTYPES = ("fp32", "bf16", "fp8", "int8", "fp4")
INTERCONNECTS = ("nvlink3", "nvlink4", "nvlink5", "pcie4", "pcie5", "infinity-fabric", "ici")
GENERATIONS = ("ampere", "ada", "hopper", "blackwell", "cdna3", "tpu-v5")


class CatalogError(ValueError):
    """One or more problems in the catalog's data files; the message lists every one."""

    def __init__(self, problems: list[str]):
        super().__init__("catalog data is invalid:\n  " + "\n  ".join(problems))
        self.problems = problems


class _Checker:
    """Collects problems for one record instead of stopping at the first."""

    def __init__(self, where: str, record: Any, problems: list[str]):
        self.where = where
        self.record = record if isinstance(record, dict) else {}
        self.problems = problems
        if not isinstance(record, dict):
            problems.append(f"{where}: must be an object")

    def fail(self, name: str, message: str) -> None:
        self.problems.append(f"{self.where}.{name}: {message}")

    def get(self, name: str, kind: str, *, required: bool = True, default: Any = None) -> Any:
        if name not in self.record:
            if required:
                self.fail(name, "is missing")
            return default
        value = self.record[name]
        ok = {
            "str": isinstance(value, str) and value.strip() != "",
            "id": isinstance(value, str) and bool(_ID.match(value)),
            "int": isinstance(value, int) and not isinstance(value, bool) and value > 0,
            "count": isinstance(value, int) and not isinstance(value, bool) and value >= 0,
            "positive": isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0,
            "bool": isinstance(value, bool),
            "dict": isinstance(value, dict),
        }[kind]
        if not ok:
            expected = {
                "str": "a non-empty string",
                "id": "a lower-case hyphenated id",
                "int": "a positive whole number",
                "count": "a whole number ≥ 0",
                "positive": "a positive number",
                "bool": "true or false",
                "dict": "an object",
            }[kind]
            self.fail(name, f"must be {expected} (got {value!r})")
            return default
        return value

    def source(self, name: str = "source") -> Source:
        raw = self.get(name, "dict", default={})
        sub = _Checker(f"{self.where}.{name}", raw, self.problems)
        citation = sub.get("citation", "str", default="")
        as_of = sub.get("as_of", "str", default="")
        if as_of and not _DATE.match(as_of):
            sub.fail("as_of", f"must be a date YYYY-MM-DD (got {as_of!r})")
        return Source(citation=citation, as_of=as_of, note=sub.get("note", "str", required=False, default=""))

    def unknown(self, allowed: set[str]) -> None:
        for name in self.record:
            if name not in allowed:
                self.fail(name, f"unknown field; expected one of {', '.join(sorted(allowed))}")


def _records(filename: str, top: str, problems: list[str]) -> list[tuple[str, dict]]:
    text = resources.files("sizing").joinpath("data").joinpath(filename).read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise CatalogError([f"{filename}: not valid JSON ({error})"]) from None
    items = document.get(top) if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise CatalogError([f"{filename}: expected an object with a list '{top}'"])
    out = []
    for index, item in enumerate(items):
        label = item.get("id", "?") if isinstance(item, dict) else "?"
        out.append((f"{filename}: {top}[{index}] ({label})", item))
    return out


def _check_unique(specs: list, filename: str, problems: list[str]) -> None:
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen:
            problems.append(f"{filename}: duplicate id {spec.id!r}")
        seen.add(spec.id)


def _parse_gpu(where: str, record: dict, problems: list[str]) -> GpuSpec:
    c = _Checker(where, record, problems)
    c.unknown({f.name for f in fields(GpuSpec)})
    peaks = c.get("peak_flops_per_s", "dict", default={})
    clean_peaks: dict[str, float] = {}
    for dtype, value in peaks.items():
        if dtype not in COMPUTE_DTYPES:
            c.fail(f"peak_flops_per_s.{dtype}", f"unknown dtype; expected one of {', '.join(COMPUTE_DTYPES)}")
        elif not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            c.fail(f"peak_flops_per_s.{dtype}", f"must be a positive number (got {value!r})")
        else:
            clean_peaks[dtype] = float(value)
    if peaks and "bf16" not in peaks:
        c.fail("peak_flops_per_s.bf16", "is missing (every accelerator needs a BF16/FP16 peak)")
    generation = c.get("generation", "str", default="")
    if generation and generation not in GENERATIONS:
        c.fail("generation", f"unknown generation {generation!r}; expected one of {', '.join(GENERATIONS)}")
    kind = c.get("interconnect_kind", "str", default="")
    if kind and kind not in INTERCONNECTS:
        c.fail("interconnect_kind", f"unknown kind {kind!r}; expected one of {', '.join(INTERCONNECTS)}")
    on_demand = c.get("price_usd_per_hour_on_demand", "positive", default=1.0)
    spot = c.get("price_usd_per_hour_spot", "positive", default=1.0)
    if spot > on_demand:
        c.fail("price_usd_per_hour_spot", f"is above the on-demand price ({spot} > {on_demand})")
    return GpuSpec(
        id=c.get("id", "id", default="?"),
        name=c.get("name", "str", default=""),
        vendor=c.get("vendor", "str", default=""),
        generation=generation,
        memory_bytes=c.get("memory_bytes", "int", default=1),
        hbm_bandwidth_bytes_per_s=float(c.get("hbm_bandwidth_bytes_per_s", "positive", default=1.0)),
        peak_flops_per_s=clean_peaks,
        interconnect_kind=kind,
        interconnect_bytes_per_s=float(c.get("interconnect_bytes_per_s", "positive", default=1.0)),
        max_scale_up_gpus=c.get("max_scale_up_gpus", "int", default=1),
        price_usd_per_hour_on_demand=float(on_demand),
        price_usd_per_hour_spot=float(spot),
        source=c.source("source"),
        price_source=c.source("price_source"),
    )


def _parse_model(where: str, record: dict, problems: list[str]) -> ModelSpec:
    c = _Checker(where, record, problems)
    c.unknown({f.name for f in fields(ModelSpec)})
    moe = None
    if "moe" in c.record:
        m = _Checker(f"{where}.moe", c.record["moe"], problems)
        m.unknown({f.name for f in fields(MoeSpec)})
        moe = MoeSpec(
            experts=m.get("experts", "int", default=1),
            active_experts=m.get("active_experts", "int", default=1),
            shared_experts=m.get("shared_experts", "count", default=0),
            expert_intermediate=m.get("expert_intermediate", "int", default=1),
            dense_layers=m.get("dense_layers", "count", default=0),
        )
        if moe.active_experts > moe.experts:
            m.fail("active_experts", f"exceeds experts ({moe.active_experts} > {moe.experts})")
    mla = None
    if "mla" in c.record:
        a = _Checker(f"{where}.mla", c.record["mla"], problems)
        a.unknown({f.name for f in fields(MlaSpec)})
        mla = MlaSpec(
            kv_lora_rank=a.get("kv_lora_rank", "int", default=1),
            qk_rope_head_dim=a.get("qk_rope_head_dim", "int", default=1),
            qk_nope_head_dim=a.get("qk_nope_head_dim", "int", default=1),
            v_head_dim=a.get("v_head_dim", "int", default=1),
            q_lora_rank=a.get("q_lora_rank", "count", default=0),
        )
    spec = ModelSpec(
        id=c.get("id", "id", default="?"),
        name=c.get("name", "str", default=""),
        family=c.get("family", "str", required=False, default=""),
        layers=c.get("layers", "int", default=1),
        hidden=c.get("hidden", "int", default=1),
        heads=c.get("heads", "int", default=1),
        kv_heads=c.get("kv_heads", "int", default=1),
        head_dim=c.get("head_dim", "int", default=1),
        intermediate=c.get("intermediate", "int", default=1),
        vocab=c.get("vocab", "int", default=1),
        tied_embeddings=c.get("tied_embeddings", "bool", default=False),
        max_context_tokens=c.get("max_context_tokens", "int", default=1),
        published_params=float(c.get("published_params", "positive", default=1.0)),
        source=c.source("source"),
        moe=moe,
        mla=mla,
    )
    if spec.heads % spec.kv_heads:
        c.fail("kv_heads", f"must divide heads ({spec.heads} is not a multiple of {spec.kv_heads})")
    if moe and moe.dense_layers > spec.layers:
        c.fail("moe.dense_layers", f"exceeds layers ({moe.dense_layers} > {spec.layers})")
    return spec


def _parse_precision(where: str, record: dict, problems: list[str]) -> Precision:
    c = _Checker(where, record, problems)
    c.unknown({f.name for f in fields(Precision)})
    dtype = c.get("compute_dtype", "str", default="bf16")
    if dtype not in COMPUTE_DTYPES:
        c.fail("compute_dtype", f"unknown dtype {dtype!r}; expected one of {', '.join(COMPUTE_DTYPES)}")
    return Precision(
        id=c.get("id", "id", default="?"),
        bytes_per_value=float(c.get("bytes_per_value", "positive", default=1.0)),
        compute_dtype=dtype,
        source=c.source("source"),
    )


def _load(filename: str, top: str, parse) -> dict:
    problems: list[str] = []
    specs = [parse(where, record, problems) for where, record in _records(filename, top, problems)]
    _check_unique(specs, filename, problems)
    if problems:
        raise CatalogError(problems)
    return {spec.id: spec for spec in specs}


@cache
def gpus() -> dict[str, GpuSpec]:
    return _load("gpus.json", "gpus", _parse_gpu)


@cache
def models() -> dict[str, ModelSpec]:
    return _load("models.json", "models", _parse_model)


@cache
def precisions() -> dict[str, Precision]:
    return _load("precisions.json", "precisions", _parse_precision)


def _lookup(table: dict, ident: Any, field: str, what: str):
    if not isinstance(ident, str) or ident.strip().lower() not in table:
        shown = ", ".join(sorted(table))
        raise InputError(field, f"unknown {what} {ident!r}; expected one of {shown}")
    return table[ident.strip().lower()]


def gpu(ident: Any, field: str = "gpu") -> GpuSpec:
    return _lookup(gpus(), ident, field, "GPU")


def model(ident: Any, field: str = "model") -> ModelSpec:
    return _lookup(models(), ident, field, "model")


def precision(ident: Any, field: str = "weights") -> Precision:
    return _lookup(precisions(), ident, field, "precision")
