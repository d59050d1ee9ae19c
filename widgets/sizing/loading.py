"""Model load time (cold start): download, read from disk, copy to the GPUs, warm the engine up.

With W = parameters × bytes per weight:

* download    = W × 8 ÷ network bit/s            (0 when the weights are already on local disk)
* disk read   = W ÷ disk bytes/s                 (one node-local NVMe or RAID read of the whole checkpoint)
* host → GPU  = (W ÷ tp) ÷ PCIe bytes/s per GPU  (each tensor-parallel rank receives its own shard over its own
                                                  link, in parallel; GPUs sharing a PCIe switch would halve this)
* warm-up     = an input: CUDA-graph capture, compilation, KV-cache profiling (vLLM logs it per start)

Sequential total = the sum of the four. Loaders that stream (download into page cache while copying to the GPU)
overlap the first three, so the streamed total = max(download, disk read, host → GPU) + warm-up is the floor.

Defaults are assumptions to override: 25 Gbit/s network, 7 GB/s disk (a PCIe 4.0 NVMe drive's sequential-read
class), 25 GB/s host-to-GPU (PCIe 4.0 x16 is 16 GT/s × 16 lanes × 128/130 ÷ 8 = 31.5 GB/s per direction before
protocol overhead; PCIe 5.0 doubles it), 30 s warm-up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from . import catalog
from .architecture import param_counts
from .derivation import Derivation, num
from .registry import calculation
from .validation import read_bool, read_float, read_int, reject_unknown


@dataclass(frozen=True)
class LoadTimeResult:
    weights_bytes: float
    shard_bytes: float  # per tensor-parallel rank
    download_s: float
    disk_read_s: float
    host_to_gpu_s: float
    warmup_s: float
    total_s: float
    streamed_total_s: float
    slowest_stage: str


@calculation("load_time")
def load_time(params: dict[str, Any]) -> dict[str, Any]:
    """Cold-start time of one model replica, stage by stage."""
    reject_unknown(params, {"model", "weights", "tp", "cached", "network_gbit_per_s", "disk_gb_per_s", "pcie_gb_per_s", "warmup_s"})
    m = catalog.model(params.get("model", "llama-3.1-70b"))
    precision = catalog.precision(params.get("weights", "bf16"), field="weights")
    tp = read_int(params, "tp", 1, 64, 1)
    cached = read_bool(params, "cached", False)
    network = read_float(params, "network_gbit_per_s", 0.001, 10_000.0, 25.0)
    disk = read_float(params, "disk_gb_per_s", 0.001, 1_000.0, 7.0)
    pcie = read_float(params, "pcie_gb_per_s", 0.001, 1_000.0, 25.0)
    warmup = read_float(params, "warmup_s", 0.0, 3600.0, 30.0)

    weights = param_counts(m).total * precision.bytes_per_value
    shard = weights / tp
    download = 0.0 if cached else weights * 8.0 / (network * 1e9)
    disk_read = weights / (disk * 1e9)
    h2d = shard / (pcie * 1e9)
    stages = {"download": download, "disk read": disk_read, "host to GPU": h2d}
    slowest = max(stages, key=stages.get)
    result = LoadTimeResult(
        weights_bytes=weights,
        shard_bytes=shard,
        download_s=download,
        disk_read_s=disk_read,
        host_to_gpu_s=h2d,
        warmup_s=warmup,
        total_s=download + disk_read + h2d + warmup,
        streamed_total_s=stages[slowest] + warmup,
        slowest_stage=slowest,
    )
    derivations = {
        "total_s": Derivation(
            f"cold start of {m.name} ({precision.id}, tp {tp})",
            "W × 8 ÷ network + W ÷ disk + (W ÷ tp) ÷ PCIe + warm-up",
            (f"{num(download, 's')} + " if not cached else "0 s (cached) + ")
            + f"{num(disk_read, 's')} + {num(h2d, 's')} + {num(warmup, 's')}",
            result.total_s,
            "s",
        ),
        "download_s": Derivation(
            "weights download",
            "weight bytes × 8 ÷ network bit/s" if not cached else "already on local disk",
            f"{num(weights, 'bytes')} × 8 ÷ {num(network * 1e9, 'bits_per_s')}" if not cached else "0",
            download,
            "s",
        ),
        "disk_read_s": Derivation(
            "checkpoint read from local disk",
            "weight bytes ÷ disk bandwidth",
            f"{num(weights, 'bytes')} ÷ {num(disk * 1e9, 'bytes_per_s')}",
            disk_read,
            "s",
        ),
        "host_to_gpu_s": Derivation(
            "host-to-GPU copy, ranks in parallel",
            "(weight bytes ÷ tp) ÷ PCIe bandwidth per GPU",
            f"({num(weights, 'bytes')} ÷ {num(tp)}) ÷ {num(pcie * 1e9, 'bytes_per_s')}",
            h2d,
            "s",
        ),
    }
    warnings = []
    if slowest == "download" and download > warmup:
        warnings.append("the download dominates: keep weights on local disk or in a regional cache to cut cold starts")
    return {"model": m.id, "weights": precision.id, "tp": tp, **asdict(result), "derivations": derivations, "warnings": warnings}
