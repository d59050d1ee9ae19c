"""The catalog's data files: complete, sourced, dated, self-consistent, and validated with every problem named."""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from importlib import resources

import pytest

from sizing import catalog
from sizing.architecture import param_counts
from sizing.errors import InputError

REQUIRED_GPUS = {
    "a10g", "l4", "l40s", "a100-40gb", "a100-80gb", "h100-sxm", "h100-pcie", "h200", "b200", "mi300x",
    "tpu-v5e", "tpu-v5p",
}
REQUIRED_MODELS = {
    "llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "llama-3.3-70b", "llama-2-70b", "mistral-7b",
    "mixtral-8x7b", "mixtral-8x22b", "qwen2.5-7b", "qwen2.5-72b", "deepseek-v3",
}
# Active (per-token) parameters as the model cards state them; every MoE model in the catalog needs an entry.
PUBLISHED_ACTIVE = {
    "mixtral-8x7b": 12.9e9,  # Mistral AI, "Mixtral of experts" announcement
    "mixtral-8x22b": 39e9,  # Mistral AI, Mixtral 8x22B announcement
    "deepseek-v3": 37e9,  # DeepSeek-V3 technical report, arXiv:2412.19437 (MTP module excluded)
    "deepseek-r1": 37e9,  # DeepSeek-R1 model card
    "qwen3-235b-a22b": 22e9,  # Qwen3-235B-A22B model card
}
ID = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")  # lower case, hyphen-separated; a dot only inside a version
DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")

GPUS = sorted(catalog.gpus())
MODELS = sorted(catalog.models())


def _raw(filename: str, top: str) -> list[dict]:
    text = resources.files("sizing").joinpath("data", filename).read_text(encoding="utf-8")
    return json.loads(text)[top]


# --- completeness ----------------------------------------------------------------------------------------------------


def test_required_gpus_present():
    assert REQUIRED_GPUS <= set(GPUS), REQUIRED_GPUS - set(GPUS)


def test_required_models_present():
    assert REQUIRED_MODELS <= set(MODELS), REQUIRED_MODELS - set(MODELS)


@pytest.mark.parametrize("ident", GPUS + MODELS + sorted(catalog.precisions()))
def test_ids_are_lower_case_hyphenated(ident):
    assert ID.match(ident), ident


# --- sources and dates -----------------------------------------------------------------------------------------------


def _assert_sourced(source, what):
    assert source.citation.strip(), f"{what}: empty citation"
    assert DATE.match(source.as_of), f"{what}: as_of {source.as_of!r} is not a date"
    assert "1985" <= source.as_of <= date.today().isoformat(), f"{what}: as_of {source.as_of!r} is implausible"


@pytest.mark.parametrize("ident", GPUS)
def test_gpu_spec_and_price_are_sourced(ident):
    gpu = catalog.gpu(ident)
    _assert_sourced(gpu.source, f"{ident}.source")
    _assert_sourced(gpu.price_source, f"{ident}.price_source")
    # the price note must say where the per-GPU figure came from (cloud/instance and the division)
    assert len(gpu.price_source.note) > 40, f"{ident}: price_source.note must explain the derivation"


@pytest.mark.parametrize("ident", MODELS)
def test_model_is_sourced(ident):
    model = catalog.model(ident)
    _assert_sourced(model.source, f"{ident}.source")
    assert "config.json" in model.source.citation
    assert "published_params" in model.source.note  # the note cites where the published count comes from


@pytest.mark.parametrize("ident", sorted(catalog.precisions()))
def test_precision_is_sourced(ident):
    _assert_sourced(catalog.precision(ident).source, ident)


# --- parameter counts against published figures ---------------------------------------------------------------------


@pytest.mark.parametrize("ident", MODELS)
def test_computed_params_within_2_percent_of_published(ident):
    model = catalog.model(ident)
    total = param_counts(model).total
    assert abs(total / model.published_params - 1) <= 0.02, (ident, total, model.published_params)


@pytest.mark.parametrize("ident", [i for i in MODELS if catalog.model(i).moe is not None])
def test_moe_active_params_within_5_percent_of_published(ident):
    assert ident in PUBLISHED_ACTIVE, f"add the published active parameter count for {ident}"
    active = param_counts(catalog.model(ident)).active
    assert abs(active / PUBLISHED_ACTIVE[ident] - 1) <= 0.05, (ident, active)


@pytest.mark.parametrize("ident", [i for i in MODELS if catalog.model(i).moe is None])
def test_dense_models_use_every_parameter(ident):
    counts = param_counts(catalog.model(ident))
    assert counts.active == counts.total


# --- GPU self-consistency ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ident", GPUS)
def test_spot_not_above_on_demand(ident):
    gpu = catalog.gpu(ident)
    assert 0 < gpu.price_usd_per_hour_spot <= gpu.price_usd_per_hour_on_demand


@pytest.mark.parametrize("ident", GPUS)
def test_narrower_formats_are_at_least_as_fast(ident):
    peaks = catalog.gpu(ident).peak_flops_per_s
    order = ["fp32", "bf16", "fp8", "fp4"]
    present = [peaks[d] for d in order if d in peaks]
    assert present == sorted(present), (ident, peaks)
    if "int8" in peaks:
        assert peaks["int8"] >= peaks["bf16"]


def test_dense_not_sparse_peaks():
    # dense = half the datasheet's 2:4-sparsity figure: H100 SXM BF16 1,979 TF sparse → 989.4 dense
    assert catalog.gpu("h100-sxm").peak_flops_per_s["bf16"] == pytest.approx(1979e12 / 2, rel=1e-3)
    # MI300X FP8 dense = 1,307.4 TF × 2
    assert catalog.gpu("mi300x").peak_flops_per_s["fp8"] == pytest.approx(1307.4e12 * 2, rel=1e-3)
    assert catalog.gpu("tpu-v5e").peak_flops_per_s == {"bf16": 197e12, "int8": 394e12}


def test_memory_mapping_is_explicit():
    # HBM parts: the marketed "80 GB" is 80 GiB (81920 MiB in the AWS EC2 API) ...
    assert catalog.gpu("h100-sxm").memory_bytes == 80 * 1024**3 == 85_899_345_920
    assert catalog.gpu("a100-40gb").memory_bytes == 40 * 1024**3
    assert catalog.gpu("h200").memory_bytes == 141 * 1024**3
    # ... GDDR6 parts: the EC2 API reports 22888 MiB for the "24 GB" A10G and L4, i.e. 24.0e9 bytes
    assert catalog.gpu("l4").memory_bytes == 22888 * 1024**2 == 23_999_807_488
    assert catalog.gpu("l4").memory_bytes == pytest.approx(24e9, rel=1e-4)


def test_interconnect_is_per_gpu_one_direction():
    assert catalog.gpu("h100-sxm").interconnect_bytes_per_s == 450e9  # NVLink4 900 GB/s bidirectional ÷ 2
    assert catalog.gpu("a100-80gb").interconnect_bytes_per_s == 300e9  # NVLink3 600 ÷ 2
    assert catalog.gpu("b200").interconnect_bytes_per_s == 900e9  # NVLink5 1.8 TB/s ÷ 2
    assert catalog.gpu("l40s").interconnect_bytes_per_s == 32e9  # PCIe4 x16
    assert catalog.gpu("h100-pcie").interconnect_bytes_per_s == 64e9  # PCIe5 x16


def test_per_gpu_price_is_instance_price_divided_by_gpus():
    # p5.48xlarge us-east-1 $98.32/h ÷ 8 GPUs; its lowest us-east-1 spot zone $20.9934/h ÷ 8
    h100 = catalog.gpu("h100-sxm")
    assert h100.price_usd_per_hour_on_demand == pytest.approx(98.32 / 8)
    assert h100.price_usd_per_hour_spot == pytest.approx(20.9934 / 8)
    assert "p5.48xlarge" in h100.price_source.note


def test_fp8_on_ampere_falls_back_to_bf16_peak():
    a100 = catalog.gpu("a100-80gb")
    assert "fp8" not in a100.peak_flops_per_s
    assert a100.peak_flops("fp8") == a100.peak_flops_per_s["bf16"] == 312e12


def test_lookup_errors_name_the_field():
    with pytest.raises(InputError) as error:
        catalog.gpu("h100", field="gpu")
    assert error.value.field == "gpu" and "h100-sxm" in str(error.value)
    assert catalog.model(" Llama-3.1-70B ").id == "llama-3.1-70b"


# --- the validator reports every problem with file and field ------------------------------------------------------

WHERE = "gpus.json: gpus[0] (x)"


def _good_gpu() -> dict:
    return copy.deepcopy(_raw("gpus.json", "gpus")[0])


def _good_model(ident: str = "deepseek-v3") -> dict:
    return copy.deepcopy(next(r for r in _raw("models.json", "models") if r["id"] == ident))


def _gpu_problems(record: dict) -> list[str]:
    problems: list[str] = []
    catalog._parse_gpu(WHERE, record, problems)
    return problems


def _model_problems(record: dict) -> list[str]:
    problems: list[str] = []
    catalog._parse_model("models.json: models[0] (x)", record, problems)
    return problems


def test_good_records_have_no_problems():
    assert _gpu_problems(_good_gpu()) == []
    assert _model_problems(_good_model()) == []
    assert _model_problems(_good_model("llama-3.1-70b")) == []


def test_missing_bandwidth_is_named():
    record = _good_gpu()
    del record["hbm_bandwidth_bytes_per_s"]
    assert _gpu_problems(record) == [f"{WHERE}.hbm_bandwidth_bytes_per_s: is missing"]


def test_negative_price_is_named():
    record = _good_gpu()
    record["price_usd_per_hour_on_demand"] = -1.0
    problems = _gpu_problems(record)
    assert f"{WHERE}.price_usd_per_hour_on_demand: must be a positive number (got -1.0)" in problems


def test_spot_above_on_demand_is_named():
    record = _good_gpu()
    record["price_usd_per_hour_spot"] = record["price_usd_per_hour_on_demand"] * 2
    assert any(p.startswith(f"{WHERE}.price_usd_per_hour_spot: is above the on-demand price") for p in _gpu_problems(record))


def test_unknown_field_is_named():
    record = _good_gpu()
    record["hbm_bandwith_bytes_per_s"] = 1e12  # misspelt
    problems = _gpu_problems(record)
    assert len(problems) == 1
    assert problems[0].startswith(f"{WHERE}.hbm_bandwith_bytes_per_s: unknown field; expected one of")


def test_bad_enumerations_and_dtypes_are_named():
    record = _good_gpu()
    record["interconnect_kind"] = "nvlink9"
    record["generation"] = "volta"
    record["peak_flops_per_s"] = {"fp16": 1e12, "fp8": 0}
    problems = _gpu_problems(record)
    assert f"{WHERE}.interconnect_kind: unknown kind 'nvlink9'; expected one of " + ", ".join(catalog.INTERCONNECTS) in problems
    assert any(p.startswith(f"{WHERE}.generation: unknown generation 'volta'") for p in problems)
    assert any(p.startswith(f"{WHERE}.peak_flops_per_s.fp16: unknown dtype") for p in problems)
    assert f"{WHERE}.peak_flops_per_s.fp8: must be a positive number (got 0)" in problems
    assert f"{WHERE}.peak_flops_per_s.bf16: is missing (every accelerator needs a BF16/FP16 peak)" in problems


def test_every_problem_in_a_record_is_reported_at_once():
    record = _good_gpu()
    del record["memory_bytes"]
    record["max_scale_up_gpus"] = 0
    record["source"] = {"citation": "", "as_of": "July 2023"}
    problems = _gpu_problems(record)
    assert f"{WHERE}.memory_bytes: is missing" in problems
    assert f"{WHERE}.max_scale_up_gpus: must be a positive whole number (got 0)" in problems
    assert f"{WHERE}.source.citation: must be a non-empty string (got '')" in problems
    assert f"{WHERE}.source.as_of: must be a date YYYY-MM-DD (got 'July 2023')" in problems
    assert len(problems) == 4


def test_kv_heads_must_divide_heads():
    record = _good_model("llama-3.1-70b")
    record["kv_heads"] = 6
    assert _model_problems(record) == ["models.json: models[0] (x).kv_heads: must divide heads (64 is not a multiple of 6)"]


def test_moe_and_mla_blocks_are_checked_field_by_field():
    record = _good_model()
    record["moe"]["active_experts"] = 300
    record["moe"]["dense_layers"] = 99
    record["moe"]["top_k"] = 8
    record["mla"]["kv_lora_rank"] = -512
    problems = _model_problems(record)
    where = "models.json: models[0] (x)"
    assert f"{where}.moe.active_experts: exceeds experts (300 > 256)" in problems
    assert f"{where}.moe.dense_layers: exceeds layers (99 > 61)" in problems
    assert any(p.startswith(f"{where}.moe.top_k: unknown field") for p in problems)
    assert f"{where}.mla.kv_lora_rank: must be a positive whole number (got -512)" in problems


def test_whole_file_errors_list_every_record(monkeypatch):
    good = _good_gpu()
    broken = _good_gpu()
    broken["id"] = "Bad_ID"
    del broken["price_source"]
    monkeypatch.setattr(
        catalog,
        "_records",
        lambda filename, top, problems: [
            ("gpus.json: gpus[0] (a10g)", good),
            ("gpus.json: gpus[1] (Bad_ID)", broken),
            ("gpus.json: gpus[2] (a10g)", copy.deepcopy(good)),
        ],
    )
    with pytest.raises(catalog.CatalogError) as error:
        catalog._load("gpus.json", "gpus", catalog._parse_gpu)
    problems = error.value.problems
    assert "gpus.json: gpus[1] (Bad_ID).id: must be a lower-case hyphenated id (got 'Bad_ID')" in problems
    assert "gpus.json: gpus[1] (Bad_ID).price_source: is missing" in problems
    assert "gpus.json: duplicate id 'a10g'" in problems
    assert "gpus.json: gpus[1] (Bad_ID).price_source: is missing" in str(error.value)
