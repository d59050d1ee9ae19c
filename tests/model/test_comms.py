"""Collective times: α·steps + bytes ÷ bandwidth, checked by hand on a bare link (no efficiency loss)."""

import json

import pytest

from sizing import api
from sizing.comms import allreduce_time_s, collective_time, communication_share, crossover_bytes
from sizing.efficiency import LINKS, LinkEfficiency

BARE = LinkEfficiency("bare", latency_s=0.0, hop_latency_s=2e-6, bus_efficiency=1.0, note="test link")
LINK = 100e9  # 100 GB/s per direction


def test_ring_allreduce_by_hand():
    # 4 GPUs, 1 MB: 2·(4−1) = 6 steps × 2 µs = 12 µs; bytes term 2·3/4 × 1e6 B ÷ 100e9 B/s = 15 µs → 27 µs
    t = collective_time("all_reduce", 4, 1e6, LINK, BARE)
    assert t.steps == 6
    assert t.latency_s == pytest.approx(12e-6)
    assert t.bandwidth_s == pytest.approx(15e-6)
    assert t.total_s == pytest.approx(27e-6)
    assert allreduce_time_s(4, 1e6, LINK, BARE) == pytest.approx(27e-6)


def test_tree_allreduce_by_hand():
    # 2·⌈log2 4⌉ = 4 steps × 2 µs = 8 µs; 2 × 1e6 B ÷ 100e9 = 20 µs → 28 µs
    t = collective_time("all_reduce", 4, 1e6, LINK, BARE, "tree")
    assert t.total_s == pytest.approx(28e-6)


@pytest.mark.parametrize("op", ["all_gather", "reduce_scatter", "all_to_all"])
def test_one_pass_collectives_by_hand(op):
    # (4−1) = 3 steps × 2 µs = 6 µs; 3/4 × 1e6 B ÷ 100e9 = 7.5 µs → 13.5 µs
    assert collective_time(op, 4, 1e6, LINK, BARE).total_s == pytest.approx(13.5e-6)


def test_crossover_and_latency_bound():
    # ring all-reduce over 4: latency 12 µs equals the bytes term 1.5·M ÷ 100e9 at M = 800,000 B
    assert crossover_bytes("all_reduce", 4, LINK, BARE) == pytest.approx(800_000)
    assert collective_time("all_reduce", 4, 100_000, LINK, BARE).latency_bound
    assert not collective_time("all_reduce", 4, 10_000_000, LINK, BARE).latency_bound


def test_one_gpu_costs_nothing():
    assert collective_time("all_reduce", 1, 1e9, LINK, BARE).total_s == 0
    assert allreduce_time_s(1, 1e9, LINK, LINKS["nvlink4"]) == 0


def test_more_gpus_more_latency_same_bytes_limit():
    times = [collective_time("all_reduce", n, 64e6, 450e9, LINKS["nvlink4"]).total_s for n in (2, 4, 8)]
    assert times == sorted(times)


def test_communication_share():
    assert communication_share(1.0, 3.0) == pytest.approx(0.25)
    assert communication_share(0.0, 0.0) == 0.0


def test_collectives_calculation():
    out = api.compute("collectives", {"gpus": 4, "message_bytes": 1e6, "link_gb_per_s": 100, "latency_us": 2,
                                      "compute_ms": 0.01})
    assert out["time_us"] == pytest.approx(27.0)
    assert out["bus_bandwidth_gb_per_s"] == pytest.approx(1.5 * 1e6 / 27e-6 / 1e9)
    assert out["communication_share"] == pytest.approx(27 / 37)
    assert out["communication_dominates"] is True
    nvlink = api.compute("collectives", {"gpus": 8, "message_bytes": 67108864, "gpu": "h100-sxm"})
    # the measured NCCL point (Vidur, 64 MB over 8 H100s: 322 µs) within 10%
    assert nvlink["time_us"] == pytest.approx(322, rel=0.10)
    assert nvlink["derivations"]["time_us"]["result"] == pytest.approx(nvlink["time_us"] / 1e6)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"gpus": 0, "message_bytes": 1}, "gpus"),
        ({"gpus": 2, "message_bytes": 0}, "message_bytes"),
        ({"gpus": 2, "message_bytes": 1, "op": "broadcast"}, "op"),
        ({"gpus": 2, "message_bytes": 1, "op": "all_gather", "algorithm": "tree"}, "algorithm"),
        ({"gpus": 2, "message_bytes": 1, "gpu": "h100-sxm", "link_gb_per_s": 5}, "link_gb_per_s"),
    ],
)
def test_bad_input(params, field):
    assert json.loads(api.run("collectives", json.dumps(params)))["error"]["field"] == field
