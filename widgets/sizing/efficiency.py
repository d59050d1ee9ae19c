"""How close real kernels, collectives and serving engines get to datasheet peaks: the model's only fitted numbers.

The parameters are few, global and physical — one set per GPU generation, one per interconnect kind, one engine
default set — never per measurement row. Each is documented with the measurements it came from
(``data/measurements.json``, ids ``mNNN``); ``tests/model/test_calibration.py`` checks the whole model against
every usable row and ``sizing.calibration.report()`` prints the errors.

Where the numbers are used (see ``sizing.latency``):

* a GEMM group (weights × tokens) takes ``max(weight bytes ÷ (BW·hbm_efficiency), FLOPs ÷ (peak·mfu(n)))`` with
  ``mfu(n) = mfu_max · n ÷ (n + gemm_half_tokens)`` for ``n`` tokens per GEMM (small GEMMs waste tensor-core
  tiles; the curve is the measured one of m114–m118);
* routed-expert GEMMs (mixture of experts) reach ``moe_gemm_factor`` of that efficiency, at ``n = tokens·k ÷
  experts touched`` tokens per expert;
* ``mfu_max`` is ``mfu_max_wide`` for 16-bit compute and ``mfu_max_wide · narrow_dtype_factor`` for FP8/INT8/FP4:
  a narrow datatype doubles the tensor-core peak but not the quantise/dequantise, normalisation and activation
  work around each GEMM, so a smaller fraction of the doubled peak is reached;
* attention reads the KV cache at ``hbm_efficiency`` and computes scores at ``attention_efficiency`` of the 16-bit
  peak;
* every engine step pays ``step_overhead_s + layer_overhead_s · layers`` (scheduler, sampling, launch gaps), and each
  token ``elementwise_bytes_per_hidden · hidden · layers`` bytes of memory-bound work outside the GEMMs (norms,
  residual adds, quantisation) that every TP rank repeats — the reason per-GPU throughput falls as TP grows;
* a tensor-parallel all-reduce costs ``latency_s + hops · hop_latency_s + bytes-term ÷ (link · bus_efficiency)``
  with NCCL (see ``sizing.comms``); inside a serving engine on a peer-to-peer fabric, messages up to
  ``custom_max_bytes`` go through a one-kernel all-reduce costing ``custom_latency_s`` + the same bytes term;
* a served request pays ``request_overhead_s`` once (HTTP, tokenisation, detokenisation, queue hand-off).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InputError
from .specs import GpuSpec


@dataclass(frozen=True)
class DeviceEfficiency:
    generation: str
    hbm_efficiency: float  # fraction of datasheet HBM bandwidth a large streaming read reaches
    mfu_max_wide: float  # fraction of the BF16/FP16 dense peak a large GEMM reaches
    gemm_half_tokens: float  # tokens per GEMM at which compute efficiency is half of mfu_max
    attention_efficiency: float  # fraction of the 16-bit peak FlashAttention-style kernels reach
    note: str


@dataclass(frozen=True)
class LinkEfficiency:
    kind: str
    latency_s: float  # fixed cost of one collective (launch, synchronisation), any group size
    hop_latency_s: float  # added per ring step (2·(n−1) steps for a ring all-reduce)
    bus_efficiency: float  # fraction of the per-direction link bandwidth the bytes term reaches
    note: str
    # Serving engines replace NCCL for small messages on peer-to-peer fabrics with a one-kernel all-reduce
    # (vLLM custom_all_reduce, TensorRT-LLM's custom AR): a fixed latency, no per-ring-step cost. None: not available.
    custom_latency_s: float | None = None
    custom_max_bytes: float = 8 * 2**20  # vLLM's default limit for its custom all-reduce


@dataclass(frozen=True)
class EngineDefaults:
    """Serving-engine settings the model assumes unless told otherwise (TensorRT-LLM's defaults, which the
    calibration rows used)."""

    kv_memory_fraction: float  # share of the memory left after weights and workspace given to the KV cache
    max_batch_size: int  # sequences the scheduler runs at once
    max_num_tokens: int  # token budget of one step (prefill chunk plus decode tokens)
    cuda_context_bytes: float  # CUDA context, cuBLAS/NCCL workspaces: memory no model data can use
    step_overhead_s: float
    layer_overhead_s: float
    request_overhead_s: float
    narrow_dtype_factor: float
    moe_gemm_factor: float  # routed-expert GEMMs reach this fraction of a dense GEMM's efficiency
    # Bytes per hidden unit each token moves per layer on every TP rank outside the GEMMs: two RMSNorms, two
    # residual adds, the all-reduce's input/output copies and the activation quantisation all act on the full
    # hidden vector, which tensor parallelism replicates rather than shards.
    elementwise_bytes_per_hidden: float


# Fitted against the rows named in each note; see the module docstring for where each number enters.
DEVICES: dict[str, DeviceEfficiency] = {
    "hopper": DeviceEfficiency(
        "hopper",
        hbm_efficiency=0.88,
        mfu_max_wide=0.72,
        gemm_half_tokens=24.0,
        attention_efficiency=0.45,
        note=(
            "m116 (1-token MLP GEMM reads weights at 0.90 of 3.35 TB/s) and m117 (128 tokens, 0.86); m114/m115 "
            "(4096-token GEMMs at 0.69/0.74 of the BF16 peak); m117 vs m114 fix the half-efficiency token count; "
            "attention from the 20k-token offline rows m006, m031"
        ),
    ),
    "ampere": DeviceEfficiency(
        "ampere",
        hbm_efficiency=0.79,
        mfu_max_wide=0.77,
        gemm_half_tokens=24.0,
        attention_efficiency=0.45,
        note="m119 (1-token MLP GEMM at 0.79 of 2.039 TB/s), m118 (4096-token GEMM at 0.77 of 312 TFLOP/s)",
    ),
    # No calibration row on these generations yet: the same physics with priors stated in the note.
    "ada": DeviceEfficiency(
        "ada",
        hbm_efficiency=0.80,
        mfu_max_wide=0.65,
        gemm_half_tokens=24.0,
        attention_efficiency=0.40,
        note=(
            "prior: GDDR6 streams at about the A100's HBM fraction; L40S/L4 run at a power-limited clock below the "
            "boost clock the datasheet peak assumes, so a lower GEMM fraction than Ampere/Hopper (uncertain)"
        ),
    ),
    "blackwell": DeviceEfficiency(
        "blackwell",
        hbm_efficiency=0.85,
        mfu_max_wide=0.70,
        gemm_half_tokens=32.0,
        attention_efficiency=0.45,
        note="prior: Hopper's fractions (same CUDA software stack); a wider tensor core needs more tokens per GEMM",
    ),
    "cdna3": DeviceEfficiency(
        "cdna3",
        hbm_efficiency=0.75,
        mfu_max_wide=0.50,
        gemm_half_tokens=32.0,
        attention_efficiency=0.35,
        note=(
            "prior: public MI300X microbenchmarks reach roughly 4 of 5.3 TB/s and well under two thirds of the "
            "BF16 peak in GEMMs (ROCm libraries); uncertain"
        ),
    ),
    "tpu-v5": DeviceEfficiency(
        "tpu-v5",
        hbm_efficiency=0.85,
        mfu_max_wide=0.60,
        gemm_half_tokens=32.0,
        attention_efficiency=0.40,
        note="prior: scaling-book's worked examples assume 40-60% MFU on TPU v5; no measured serving row (uncertain)",
    ),
}

LINKS: dict[str, LinkEfficiency] = {
    "nvlink4": LinkEfficiency(
        "nvlink4",
        latency_s=14e-6,
        hop_latency_s=1.1e-6,
        bus_efficiency=0.85,
        custom_latency_s=6e-6,
        note=(
            "NCCL: m120 (64 MB over 8 H100s: 365 GB/s bus bandwidth), m121 (1 MB: 34 µs), m123 (130 KB: 19 µs, "
            "where NCCL's low-latency protocol beats this fit), m122 (TP2); one-kernel 6 µs: fitted with the "
            "layer overhead on the TP4 low-load inter-token latencies m066/m070"
        ),
    ),
    "nvlink3": LinkEfficiency(
        "nvlink3",
        latency_s=22e-6,
        hop_latency_s=2.0e-6,
        bus_efficiency=0.60,
        custom_latency_s=8e-6,
        note="NCCL: m124 (64 MB over 8 A100s: 174 GB/s bus bandwidth), m125 (1 MB: 64 µs); one-kernel: prior, a little above NVLink 4's",
    ),
    "nvlink5": LinkEfficiency(
        "nvlink5",
        latency_s=14e-6,
        hop_latency_s=1.1e-6,
        bus_efficiency=0.85,
        custom_latency_s=6e-6,
        note="prior: NVLink 4's measured fractions (same NVSwitch design, twice the bandwidth); no measured row",
    ),
    "pcie4": LinkEfficiency(
        "pcie4",
        latency_s=30e-6,
        hop_latency_s=5e-6,
        bus_efficiency=0.50,
        note=(
            "prior: an 8-GPU PCIe server rings through PCIe switches and the CPU interconnect, so roughly half the "
            "x16 link rate and several µs per hop (uncertain)"
        ),
    ),
    "pcie5": LinkEfficiency(
        "pcie5",
        latency_s=30e-6,
        hop_latency_s=5e-6,
        bus_efficiency=0.50,
        note="prior: as PCIe 4 at twice the link rate (uncertain)",
    ),
    "infinity-fabric": LinkEfficiency(
        "infinity-fabric",
        latency_s=25e-6,
        hop_latency_s=2e-6,
        bus_efficiency=0.55,
        custom_latency_s=10e-6,
        note="prior: RCCL on the MI300X full mesh reaches about half of the aggregate link rate (uncertain)",
    ),
    "ici": LinkEfficiency(
        "ici",
        latency_s=10e-6,
        hop_latency_s=1e-6,
        bus_efficiency=0.80,
        custom_latency_s=5e-6,
        note="prior: scaling-book treats ICI collectives as bandwidth-bound above ~1 µs per hop; XLA's fused collectives play the role of the one-kernel all-reduce (uncertain)",
    ),
}

ENGINE = EngineDefaults(
    kv_memory_fraction=0.90,
    max_batch_size=2048,
    max_num_tokens=8192,
    cuda_context_bytes=1.0e9,
    step_overhead_s=0.3e-3,
    layer_overhead_s=70e-6,
    request_overhead_s=8e-3,
    narrow_dtype_factor=0.85,
    moe_gemm_factor=0.55,
    elementwise_bytes_per_hidden=32.0,
)
ENGINE_NOTE = (
    "kv_memory_fraction 0.90: vLLM's gpu_memory_utilization default and the low end of TensorRT-LLM's "
    "kv_cache_free_gpu_mem_fraction (0.9–0.95). max_batch_size 2048 and max_num_tokens 8192: TensorRT-LLM's build "
    "defaults. cuda_context_bytes: CUDA context plus library workspaces (gpu_poor assumes 650 MB; NCCL buffers add "
    "more). step_overhead and layer_overhead: the low-load inter-token latencies m071/m075 (8B, 32 layers, TP1) and "
    "m066/m070 (70B, 80 layers, TP4, fitted together with the one-kernel all-reduce latency). request_overhead: the "
    "served TTFTs m066, m070, m071, m075. narrow_dtype_factor: the compute-bound FP8 offline rows m001, m022, m025. "
    "moe_gemm_factor: the seven Mixtral rows m045–m054 (H100 FP8 and A100 FP16, TP1–8), all 19–46% too fast with "
    "dense-GEMM efficiency — grouped expert GEMMs over few tokens each, plus routing, token permutation and the "
    "weighted un-permute, run at about half a dense GEMM's efficiency. elementwise_bytes_per_hidden 32: counted "
    "(norms 2 × 4 B, residual adds 2 × 6 B, all-reduce buffer copies 2 × 4 B, FP8 quantisation ≈ 6 B per hidden unit "
    "per layer) and confirmed by the TP2–TP8 offline rows m026–m037, which without this replicated work come out "
    "10–30% too fast, more so the higher the TP."
)


def device(gpu: GpuSpec) -> DeviceEfficiency:
    if gpu.generation not in DEVICES:
        raise InputError("gpu", f"no efficiency parameters for generation {gpu.generation!r} of {gpu.id}")
    return DEVICES[gpu.generation]


def link(gpu: GpuSpec) -> LinkEfficiency:
    if gpu.interconnect_kind not in LINKS:
        raise InputError("gpu", f"no collective parameters for interconnect {gpu.interconnect_kind!r} of {gpu.id}")
    return LINKS[gpu.interconnect_kind]


def mfu_max(gpu: GpuSpec, compute_dtype: str) -> float:
    """Asymptotic GEMM efficiency for a compute dtype: the wide (16/32-bit) fraction, reduced for narrow dtypes
    whose peak is a multiple of the 16-bit peak."""
    eff = device(gpu)
    peak = gpu.peak_flops(compute_dtype)
    wide = gpu.peak_flops("bf16")
    return eff.mfu_max_wide * (ENGINE.narrow_dtype_factor if peak > wide * 1.01 else 1.0)


def gemm_efficiency(eff: DeviceEfficiency, top: float, tokens: float) -> float:
    """mfu(n) = top · n ÷ (n + n_half): the compute efficiency of a GEMM over ``tokens`` rows."""
    n = max(tokens, 1e-9)
    return top * n / (n + eff.gemm_half_tokens)
