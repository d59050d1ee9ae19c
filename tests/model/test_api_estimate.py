"""``api.run("estimate", …)``: the widgets' boundary — params named as the CLI flags, every param validated."""

import json

import pytest

from sizing import api

BASE = {"model": "llama-3.1-8b", "gpu": "h100-sxm", "gpus": 2, "tp": 1, "weights": "bf16", "input_tokens": 512,
        "output_tokens": 128}


def call(**params):
    return json.loads(api.run("estimate", json.dumps({**BASE, **params})))


def test_registered():
    for name in ("estimate", "memory", "collectives"):
        assert name in api.names()


@pytest.mark.parametrize("mode", [{"concurrency": 8}, {"rate": 4.5}, {"batch": 3}, {"max_throughput": True}])
def test_modes(mode):
    out = call(**mode)
    assert "error" not in out, out
    assert out["mode"] == next(iter(mode))
    assert out["ttft_ms"] > 0 and out["tpot_ms"] > 0 and out["e2e_ms"] > out["ttft_ms"]
    assert out["output_tokens_per_s_per_gpu"] == pytest.approx(out["output_tokens_per_s"])  # TP1: one GPU per replica
    assert set(out["derivations"]) >= {"ttft_ms", "tpot_ms", "weights_gb_per_gpu", "kv_capacity_tokens", "max_concurrency"}
    d = out["derivations"]["tpot_ms"]
    assert d["result"] == pytest.approx(out["tpot_ms"] / 1e3) and d["formula"] and d["substitution"]


def test_strings_from_a_url_query_are_accepted():
    a = call(concurrency="8", tp="1", gpus="2", input_tokens="512")
    b = call(concurrency=8)
    assert a["ttft_ms"] == b["ttft_ms"]
    assert call(max_throughput="true")["mode"] == "max_throughput"


def test_kv_defaults_follow_weights():
    assert call(weights="fp8", concurrency=1)["kv"] == "fp8"
    assert call(weights="int4", concurrency=1)["kv"] == "bf16"
    assert call(weights="fp8", kv="bf16", concurrency=1)["kv_bytes_per_token"] == 131_072


@pytest.mark.parametrize(
    "params, field, text",
    [
        ({"concurrency": 0}, "concurrency", "from 1 to 100,000"),
        ({"rate": 0}, "rate", "above 0"),
        ({"batch": 2.5}, "batch", "whole number"),
        ({"concurrency": 2, "rate": 1}, "rate", "exactly one of"),
        ({}, "concurrency", "exactly one of"),
        ({"concurrency": 1, "gpus": 3, "tp": 2}, "gpus", "multiple of tp=2"),
        ({"concurrency": 1, "tp": 5}, "tp", "must divide the 32 attention heads"),
        ({"concurrency": 1, "input_tokens": 131_000, "output_tokens": 1000}, "output_tokens", "131,072-token context"),
        ({"concurrency": 1, "kv": "fp3"}, "kv", "unknown value"),
        ({"concurrency": 1, "gpu": "h900"}, "gpu", "unknown GPU"),
        ({"concurrency": 1, "speed": 3}, "speed", "unknown parameter"),
        ({"concurrency": 1, "max_num_tokens": 10}, "max_num_tokens", "from 64"),
        ({"concurrency": float("nan")}, "concurrency", "number"),
    ],
)
def test_bad_params_name_the_field(params, field, text):
    out = json.loads(api.run("estimate", json.dumps({**BASE, **params}).replace("NaN", '"NaN"')))
    assert out["error"]["field"] == field, out
    assert text in out["error"]["message"]


def test_not_json():
    out = json.loads(api.run("estimate", "{model"))
    assert out["error"]["field"] == "params"
