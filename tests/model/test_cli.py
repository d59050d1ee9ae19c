"""The ``python -m sizing`` contract: JSON with --json, exit 2 and one line naming the flag on bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sizing import cli

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "widgets")}
REQUIRED = ("ttft_ms", "tpot_ms", "e2e_ms", "output_tokens_per_s", "output_tokens_per_s_per_gpu", "requests_per_s",
            "concurrency", "max_concurrency", "weights_gb_per_gpu", "kv_bytes_per_token", "fits", "warnings")
ESTIMATE = ["estimate", "--model", "llama-3.1-70b", "--gpu", "h100-sxm", "--gpus", "8", "--tp", "4", "--weights", "fp8",
            "--input", "1000", "--output", "500"]


def run(*args):
    return subprocess.run([sys.executable, "-m", "sizing", *args], capture_output=True, text=True, env=ENV, timeout=60)


def test_estimate_json_has_the_contract_fields():
    done = run(*ESTIMATE, "--concurrency", "64", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    for field in REQUIRED:
        assert field in out, field
    assert out["replicas"] == 2
    assert out["kv_bytes_per_token"] == 2 * 80 * 8 * 128 * 1  # FP8 KV of Llama 3.1 70B: 163,840 B
    assert out["deployment_output_tokens_per_s"] == pytest.approx(2 * out["output_tokens_per_s"])


@pytest.mark.parametrize("mode", [["--rate", "3"], ["--batch", "16"], ["--max-throughput"], ["--concurrency", "4"]])
def test_every_mode_runs(mode):
    done = run("--json", *ESTIMATE, *mode)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mode"] == mode[0][2:].replace("-", "_")


def test_human_summary_uses_formatting():
    done = run(*ESTIMATE, "--rate", "3")
    assert done.returncode == 0
    assert "ttft_ms: " in done.stdout and " ms" in done.stdout
    assert "time per output token =" in done.stdout  # a derivation line


@pytest.mark.parametrize(
    "args, line",
    [
        (["estimate", "--model", "llama-3.1-70b", "--gpu", "h100-sxm", "--tp", "0", "--input", "10", "--output", "10",
          "--rate", "1"], "sizing: error: --tp: must be from 1 to 64 (got 0)"),
        (["estimate", "--model", "llama-3.1-70b", "--gpu", "h100-sxm", "--gpus", "6", "--tp", "4", "--input", "10",
          "--output", "10", "--rate", "1"], "sizing: error: --gpus: must be a multiple of tp=4"),
        (["estimate", "--model", "llama-9", "--gpu", "h100-sxm", "--tp", "1", "--input", "10", "--output", "10",
          "--rate", "1"], "sizing: error: --model: unknown model 'llama-9'"),
        (["estimate", "--model", "llama-3.1-8b", "--gpu", "h100-sxm", "--tp", "1", "--input", "ten", "--output", "10",
          "--rate", "1"], "sizing: error: --input: must be a number"),
        (["estimate", "--model", "llama-3.1-8b", "--gpu", "h100-sxm", "--tp", "1", "--input", "10", "--output", "10",
          "--rate", "-2"], "sizing: error: --rate: must be above 0"),
        (["estimate", "--model", "llama-3.1-8b", "--gpu", "h100-sxm", "--tp", "1", "--input", "10", "--output", "10"],
         "sizing: error: one of the arguments"),
        (["estimate", "--model", "llama-3.1-8b", "--gpu", "h100-sxm", "--tp", "1", "--input", "10", "--output", "10",
          "--rate", "1", "--batch", "2"], "sizing: error: argument --batch: not allowed with argument --rate"),
        (["memory", "--model", "llama-3.1-8b", "--gpu", "h100-sxm", "--tp", "1", "--weights", "fp5"],
         "sizing: error: --weights: unknown value 'fp5'"),
        (["value", "nope.nothing"], "sizing: error: value key 'nope.nothing'"),
        ([], "sizing: error: a command is required"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, line):
    done = run(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(line), lines[0]


def test_lists_and_value():
    models = json.loads(run("list-models", "--json").stdout)
    assert any(row["id"] == "llama-3.1-70b" for row in models)
    gpus = run("list-gpus").stdout
    assert "h100-sxm" in gpus
    value = run("value", "model.llama-3.1-70b.kv_bf16_bytes_per_token")
    assert value.returncode == 0 and value.stdout.startswith("328 KB")
    as_json = json.loads(run("value", "model.llama-3.1-70b.kv_bf16_bytes_per_token", "--json").stdout)
    assert as_json["value"] == 327_680 and as_json["kind"] == "computed"


def test_memory_and_collectives_commands():
    mem = json.loads(run("memory", "--model", "llama-3.1-70b", "--gpu", "h100-sxm", "--tp", "2", "--weights", "fp8",
                         "--context", "5500", "--json").stdout)
    assert mem["max_concurrency"] == 93
    coll = json.loads(run("collectives", "--gpus", "4", "--message-bytes", "1000000", "--link-gb-per-s", "100",
                          "--latency-us", "2", "--json").stdout)
    assert coll["time_us"] == pytest.approx(27.0)


def test_flag_names_match_api_params():
    assert cli.flag("input_tokens") == "--input"
    assert cli.flag("max_batch_size") == "--max-batch-size"
    assert cli.main(["estimate", "--model", "llama-3.1-8b", "--gpu", "h100-sxm", "--tp", "1", "--input", "10",
                     "--output", "10", "--max-throughput", "--json"]) == 0
