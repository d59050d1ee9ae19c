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


def test_curve_spans_both_regimes_around_the_crossover():
    # 4 GPUs, 1 MB, 100 GB/s, 2 µs per step: crossover 800,000 B (above). Range: floor(log10 800,000) − 2 = 3 to
    # ceil(log10 1,000,000) + 2 = 8 decades, a quarter decade apart → 21 points from 1 KB to 100 MB.
    out = api.compute("collectives", {"gpus": 4, "message_bytes": 1e6, "link_gb_per_s": 100, "latency_us": 2})
    curve = out["curve"]
    assert len(curve) == 21
    assert curve[0]["message_bytes"] == pytest.approx(1e3)
    assert curve[-1]["message_bytes"] == pytest.approx(1e8)
    # latency term: 6 steps × 2 µs = 12 µs at every size; bytes term at 1 MB: 1.5 × 1e6 ÷ 100e9 = 15 µs
    assert all(p["latency_term_us"] == pytest.approx(12.0) for p in curve)
    at_1mb = curve[12]
    assert at_1mb["message_bytes"] == pytest.approx(1e6)
    assert at_1mb["bandwidth_term_us"] == pytest.approx(15.0)
    assert at_1mb["time_us"] == pytest.approx(27.0)
    times = [p["time_us"] for p in curve]
    assert times == sorted(times)
    below = [p for p in curve if p["message_bytes"] < out["crossover_bytes"]]
    assert below and all(p["latency_term_us"] > p["bandwidth_term_us"] for p in below)


def test_curve_stays_within_bounds_and_point_budget():
    huge = api.compute("collectives", {"gpus": 100000, "message_bytes": 1e13, "link_gb_per_s": 0.001, "latency_us": 10000})
    assert len(huge["curve"]) <= 49
    assert max(p["message_bytes"] for p in huge["curve"]) <= 1e13
    tiny = api.compute("collectives", {"gpus": 2, "message_bytes": 1, "link_gb_per_s": 100000, "latency_us": 0})
    assert tiny["crossover_bytes"] == 0 and tiny["curve"][0]["message_bytes"] == pytest.approx(1.0)


def test_ring_against_tree_at_a_hundred_thousand_gpus():
    # 25 MiB bucket = 26,214,400 B over 100,000 GPUs on 50 GB/s links with 5 µs per step
    # ring: 2 × 99,999 steps × 5 µs = 999,990 µs; bytes 2 × 99,999/100,000 × 26,214,400 ÷ 50e9 = 1,048.56 µs
    # tree: 2 × ⌈log2 100,000⌉ = 34 steps × 5 µs = 170 µs; bytes 2 × 26,214,400 ÷ 50e9 = 1,048.576 µs
    base = {"gpus": 100000, "message_bytes": 26214400, "link_gb_per_s": 50, "latency_us": 5, "compute_ms": 100}
    ring = api.compute("collectives", base)
    tree = api.compute("collectives", {**base, "algorithm": "tree"})
    assert ring["latency_term_us"] == pytest.approx(999_990)
    assert ring["bandwidth_term_us"] == pytest.approx(2 * 99_999 / 100_000 * 26_214_400 / 50e9 * 1e6)
    assert tree["time_us"] == pytest.approx(170 + 1048.576)
    assert ring["communication_dominates"] and not tree["communication_dominates"]
    assert tree["communication_share"] == pytest.approx(1218.576 / (1218.576 + 100_000))
