"""Collective communication time: α·steps + bytes ÷ bandwidth, for ring and tree algorithms.

For a group of ``n`` GPUs, a message of ``M`` bytes (the buffer each GPU holds), per-direction link bandwidth
``W`` reached at a fraction ``e`` (bus efficiency), a fixed cost ``α0`` per collective and ``α`` per step:

* ring all-reduce:      α0 + 2(n−1)·α + 2(n−1)/n · M ÷ (e·W)   (reduce-scatter then all-gather)
* tree all-reduce:      α0 + 2⌈log2 n⌉·α + 2 · M ÷ (e·W)       (reduce up, broadcast down, pipelined)
* all-gather / reduce-scatter (ring): α0 + (n−1)·α + (n−1)/n · M ÷ (e·W), ``M`` = the gathered (full) buffer
* all-to-all:           α0 + (n−1)·α + (n−1)/n · M ÷ (e·W),     ``M`` = the bytes each GPU sends in total

Serving engines run small tensor-parallel all-reduces with a one-kernel implementation instead of NCCL's ring on
peer-to-peer fabrics (NVLink, Infinity Fabric): ``α_custom + 2(n−1)/n · M ÷ (e·W)``, used up to a size limit.

Bus bandwidth (what NCCL's tests report) = algorithm factor · M ÷ time, with factor 2(n−1)/n for all-reduce.
Communication "dominates" a step when its time exceeds the compute it sits beside; the latency term dominates
the collective when α-terms exceed the bytes term, i.e. below the crossover message size where they are equal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import catalog
from .derivation import Derivation, num
from .efficiency import LINKS, LinkEfficiency, link
from .errors import InputError
from .registry import calculation
from .validation import read_choice, read_float, read_int, reject_unknown

OPS = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all")
ALGORITHMS = ("ring", "tree")


@dataclass(frozen=True)
class CollectiveTime:
    op: str
    algorithm: str
    gpus: int
    message_bytes: float
    steps: int
    latency_s: float  # α0 + steps·α
    bandwidth_s: float  # bytes term
    bytes_factor: float  # multiplier on M in the bytes term

    @property
    def total_s(self) -> float:
        return self.latency_s + self.bandwidth_s

    @property
    def latency_bound(self) -> bool:
        return self.latency_s >= self.bandwidth_s


def collective_time(
    op: str, gpus: int, message_bytes: float, link_bytes_per_s: float, params: LinkEfficiency, algorithm: str = "ring"
) -> CollectiveTime:
    """Time of one collective (formulas in the module docstring). One GPU needs no communication."""
    n = gpus
    if n <= 1:
        return CollectiveTime(op, algorithm, n, message_bytes, 0, 0.0, 0.0, 0.0)
    if op == "all_reduce" and algorithm == "tree":
        steps = 2 * math.ceil(math.log2(n))
        factor = 2.0
    elif op == "all_reduce":
        steps = 2 * (n - 1)
        factor = 2.0 * (n - 1) / n
    else:
        steps = n - 1
        factor = (n - 1) / n
    latency = params.latency_s + steps * params.hop_latency_s
    bandwidth = factor * message_bytes / (params.bus_efficiency * link_bytes_per_s)
    return CollectiveTime(op, algorithm, n, message_bytes, steps, latency, bandwidth, factor)


def allreduce_time_s(gpus: int, message_bytes: float, link_bytes_per_s: float, params: LinkEfficiency) -> float:
    """Ring all-reduce time (the tensor-parallel collective engines use for the message sizes of a step)."""
    if gpus <= 1:
        return 0.0
    return (
        params.latency_s
        + 2 * (gpus - 1) * params.hop_latency_s
        + 2.0 * (gpus - 1) / gpus * message_bytes / (params.bus_efficiency * link_bytes_per_s)
    )


def engine_allreduce_time_s(gpus: int, message_bytes: float, link_bytes_per_s: float, params: LinkEfficiency) -> float:
    """The all-reduce a serving engine runs for tensor parallelism: the faster of NCCL's ring and, for messages up to
    ``custom_max_bytes`` on a peer-to-peer fabric, a one-kernel all-reduce (α_custom + 2(n−1)/n · M ÷ (e·W))."""
    ring = allreduce_time_s(gpus, message_bytes, link_bytes_per_s, params)
    if gpus <= 1 or params.custom_latency_s is None or message_bytes > params.custom_max_bytes:
        return ring
    custom = params.custom_latency_s + 2.0 * (gpus - 1) / gpus * message_bytes / (params.bus_efficiency * link_bytes_per_s)
    return min(ring, custom)


def crossover_bytes(op: str, gpus: int, link_bytes_per_s: float, params: LinkEfficiency, algorithm: str = "ring") -> float:
    """Message size at which the latency term equals the bytes term; smaller messages are latency-bound."""
    probe = collective_time(op, gpus, 1.0, link_bytes_per_s, params, algorithm)
    if probe.bandwidth_s == 0:
        return 0.0
    return probe.latency_s / probe.bandwidth_s


def communication_share(comm_s: float, compute_s: float) -> float:
    """Fraction of a step spent communicating when the collective does not overlap compute."""
    total = comm_s + compute_s
    return comm_s / total if total > 0 else 0.0


MAX_MESSAGE_BYTES = 1e13
CURVE_POINTS = 49


def time_against_message_size(
    op: str, gpus: int, message_bytes: float, link_bytes_per_s: float, params: LinkEfficiency, algorithm: str = "ring"
) -> list[dict[str, float]]:
    """The collective's time and its two terms at message sizes spaced evenly on a log scale (a chart's points).

    The range runs from a hundredth of the smaller of the chosen message and the crossover size to a hundred times
    the larger, widened to whole decades and clipped to 1 B … 10 TB, so both regimes and the crossover show;
    at most ``CURVE_POINTS`` points (a quarter of a decade apart unless the range is wider than twelve decades).
    """
    crossover = crossover_bytes(op, gpus, link_bytes_per_s, params, algorithm)
    ends = [message_bytes] + ([crossover] if crossover > 0 else [])
    low = max(0, math.floor(math.log10(min(ends))) - 2)
    high = min(13, math.ceil(math.log10(max(ends))) + 2)
    step = max(0.25, (high - low) / (CURVE_POINTS - 1))
    count = int(round((high - low) / step)) + 1
    points = []
    for i in range(count):
        size = min(MAX_MESSAGE_BYTES, 10 ** (low + i * step))
        t = collective_time(op, gpus, size, link_bytes_per_s, params, algorithm)
        points.append({
            "message_bytes": size,
            "time_us": t.total_s * 1e6,
            "latency_term_us": t.latency_s * 1e6,
            "bandwidth_term_us": t.bandwidth_s * 1e6,
        })
    return points


@calculation("collectives")
def collectives_calculation(params: dict[str, Any]) -> dict[str, Any]:
    """One collective's time. Give ``gpu`` (its interconnect and measured efficiencies) or ``link_gb_per_s`` +
    ``latency_us`` (a bare link: no efficiency loss, latency per step). Optional ``compute_ms``: the compute the
    collective sits beside, to say whether communication dominates."""
    reject_unknown(
        params, {"op", "algorithm", "gpus", "message_bytes", "gpu", "link_gb_per_s", "latency_us", "compute_ms"}
    )
    op = read_choice(params, "op", OPS, "all_reduce")
    algorithm = read_choice(params, "algorithm", ALGORITHMS, "ring")
    if algorithm == "tree" and op != "all_reduce":
        raise InputError("algorithm", "tree is modelled for all_reduce only; use ring")
    gpus = read_int(params, "gpus", 1, 100_000)
    message = read_float(params, "message_bytes", 1.0, MAX_MESSAGE_BYTES)
    if params.get("gpu") not in (None, ""):
        if params.get("link_gb_per_s") not in (None, "") or params.get("latency_us") not in (None, ""):
            raise InputError("link_gb_per_s", "give either gpu or link_gb_per_s and latency_us, not both")
        g = catalog.gpu(params.get("gpu"))
        link_params = link(g)
        bandwidth = g.interconnect_bytes_per_s
        where = f"{g.name} ({g.interconnect_kind})"
    else:
        bandwidth = read_float(params, "link_gb_per_s", 0.001, 100_000.0, 450.0) * 1e9
        hop = read_float(params, "latency_us", 0.0, 10_000.0, 2.0) * 1e-6
        link_params = LinkEfficiency("custom", 0.0, hop, 1.0, "a bare link")
        where = f"a {num(bandwidth, 'bytes_per_s')} link"
    t = collective_time(op, gpus, message, bandwidth, link_params, algorithm)
    result: dict[str, Any] = {
        "op": op,
        "algorithm": algorithm,
        "gpus": gpus,
        "message_bytes": message,
        "time_us": t.total_s * 1e6,
        "latency_term_us": t.latency_s * 1e6,
        "bandwidth_term_us": t.bandwidth_s * 1e6,
        "steps": t.steps,
        "latency_bound": t.latency_bound,
        "crossover_bytes": crossover_bytes(op, gpus, bandwidth, link_params, algorithm),
        "bus_bandwidth_gb_per_s": (t.bytes_factor * message / t.total_s / 1e9) if t.total_s > 0 else 0.0,
        "algorithm_bandwidth_gb_per_s": (message / t.total_s / 1e9) if t.total_s > 0 else 0.0,
        "link_gb_per_s": bandwidth / 1e9,
        "curve": time_against_message_size(op, gpus, message, bandwidth, link_params, algorithm),
        "warnings": [],
    }
    if gpus == 1:
        result["warnings"].append("one GPU: no communication")
    result["derivations"] = {
        "time_us": Derivation(
            f"{op.replace('_', '-')} ({algorithm}) over {gpus} GPUs on {where}",
            "α0 + steps × α + factor × message ÷ (efficiency × link bandwidth)",
            f"{num(link_params.latency_s, 's')} + {t.steps} × {num(link_params.hop_latency_s, 's')} + "
            f"{num(t.bytes_factor)} × {num(message, 'bytes')} ÷ ({num(link_params.bus_efficiency, 'ratio')} × "
            f"{num(bandwidth, 'bytes_per_s')})",
            t.total_s,
            "s",
        )
    }
    if params.get("compute_ms") not in (None, ""):
        compute = read_float(params, "compute_ms", 0.0, 1e9) * 1e-3
        share = communication_share(t.total_s, compute)
        result["communication_share"] = share
        result["communication_dominates"] = t.total_s > compute
    return result


__all__ = ["LINKS", "collective_time", "allreduce_time_s", "engine_allreduce_time_s", "crossover_bytes", "communication_share"]
