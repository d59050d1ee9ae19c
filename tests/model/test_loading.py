"""Model load time: each stage from bytes and bandwidths, written out by hand."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sizing import api

N_70B = 70_553_706_496  # hand count in test_training.py
W_70B_BF16 = 2 * N_70B  # 141,107,412,992 B


def run(**params) -> dict:
    answer = json.loads(api.run("load_time", json.dumps(params)))
    assert "error" not in answer, answer
    return answer


def test_each_stage_of_a_70b_cold_start():
    out = run(model="llama-3.1-70b", weights="bf16", tp=4, network_gbit_per_s=100, disk_gb_per_s=7, pcie_gb_per_s=25, warmup_s=14)
    assert out["weights_bytes"] == W_70B_BF16
    assert out["shard_bytes"] == W_70B_BF16 / 4
    assert out["download_s"] == pytest.approx(W_70B_BF16 * 8 / 100e9)  # 11.29 s
    assert out["disk_read_s"] == pytest.approx(W_70B_BF16 / 7e9)  # 20.16 s
    assert out["host_to_gpu_s"] == pytest.approx(W_70B_BF16 / 4 / 25e9)  # 1.41 s, the four ranks in parallel
    total = W_70B_BF16 * 8 / 100e9 + W_70B_BF16 / 7e9 + W_70B_BF16 / 4 / 25e9 + 14
    assert out["total_s"] == pytest.approx(total)
    assert out["slowest_stage"] == "disk read"
    assert out["streamed_total_s"] == pytest.approx(W_70B_BF16 / 7e9 + 14)
    assert out["derivations"]["total_s"]["result"] == pytest.approx(total)


def test_cached_weights_skip_the_download_and_fp8_halves_the_bytes():
    out = run(model="llama-3.1-70b", weights="fp8", cached=True, disk_gb_per_s=7, pcie_gb_per_s=25, warmup_s=0)
    assert out["download_s"] == 0
    assert out["weights_bytes"] == N_70B  # 1 B per weight
    assert out["total_s"] == pytest.approx(N_70B / 7e9 + N_70B / 25e9)


def test_slow_network_dominates_and_warns():
    out = run(model="llama-3.1-8b", network_gbit_per_s=1, warmup_s=10)
    assert out["slowest_stage"] == "download"
    assert out["download_s"] == pytest.approx(2 * 8_030_261_248 * 8 / 1e9)  # 128.5 s
    assert out["warnings"]


def test_bad_inputs_name_their_field():
    for params, field in [
        ({"network_gbit_per_s": 0}, "network_gbit_per_s"),
        ({"tp": 0}, "tp"),
        ({"cached": "maybe"}, "cached"),
        ({"warmup_s": -1}, "warmup_s"),
        ({"weights": "fp64"}, "weights"),
    ]:
        answer = json.loads(api.run("load_time", json.dumps(params)))
        assert answer["error"]["field"] == field, (params, answer)


@settings(max_examples=100, deadline=None)
@given(tp=st.integers(1, 8), net=st.floats(0.1, 400), disk=st.floats(0.1, 50), pcie=st.floats(1, 64), warm=st.floats(0, 120))
def test_more_tensor_parallel_ranks_never_slow_loading_and_streaming_is_a_floor(tp, net, disk, pcie, warm):
    common = dict(model="llama-3.1-70b", network_gbit_per_s=net, disk_gb_per_s=disk, pcie_gb_per_s=pcie, warmup_s=warm)
    a, b = run(tp=tp, **common), run(tp=tp * 2, **common)
    assert b["total_s"] <= a["total_s"]
    assert a["warmup_s"] <= a["streamed_total_s"] <= a["total_s"] + 1e-9


def test_cold_start_scenario():
    from sizing.values import evaluate

    total = W_70B_BF16 * 8 / 100e9 + W_70B_BF16 / 7e9 + W_70B_BF16 / 4 / 64e9 + 14  # 11.3 + 20.2 + 0.55 + 14 s
    assert evaluate("cold-start-70b.total_s").raw == pytest.approx(total)
    assert evaluate("cold-start-70b.slowest_stage").raw == "disk read"
