"""Typed, immutable descriptions of the things the model reasons about.

Every quantity is in SI units (bytes, seconds, FLOP/s, bytes/s, US dollars) and the unit is in the field name.
Instances are built only by :mod:`sizing.catalog`, which validates the JSON data files.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    """Where a declared number came from: a citation (URL or repo/path@commit) and the date it was true."""

    citation: str
    as_of: str  # ISO date, YYYY-MM-DD
    note: str = ""

    def describe(self) -> str:
        text = f"{self.citation} (as of {self.as_of})"
        return f"{text}: {self.note}" if self.note else text


@dataclass(frozen=True)
class Precision:
    """A number format: bytes per stored value, and which tensor-core peak a matmul in it runs at."""

    id: str  # fp32 bf16 fp16 fp8 int8 int4 fp4
    bytes_per_value: float
    compute_dtype: str  # key into GpuSpec.peak_flops_per_s ("bf16", "fp8", "int8", "fp4", "fp32")
    source: Source


@dataclass(frozen=True)
class GpuSpec:
    id: str
    name: str
    vendor: str
    generation: str  # efficiency group: ampere, ada, hopper, blackwell, cdna3, tpu-v5
    memory_bytes: int
    hbm_bandwidth_bytes_per_s: float
    # Dense (not 2:4-sparse) tensor peaks by compute dtype; a dtype the chip lacks is absent.
    peak_flops_per_s: dict[str, float]
    interconnect_kind: str  # nvlink3 nvlink4 nvlink5 pcie4 pcie5 infinity-fabric ici
    interconnect_bytes_per_s: float  # per GPU, one direction
    max_scale_up_gpus: int  # largest TP group on the scale-up fabric (8 in an HGX box)
    price_usd_per_hour_on_demand: float
    price_usd_per_hour_spot: float
    source: Source
    price_source: Source

    def peak_flops(self, compute_dtype: str) -> float:
        """Peak FLOP/s for a compute dtype, falling back to the next wider format the chip has.

        A chip without FP8 tensor cores (A100, TPU v5e) runs FP8 weights by upcasting, so it gets the BF16 peak.
        """
        for dtype in _COMPUTE_FALLBACK[compute_dtype]:
            if dtype in self.peak_flops_per_s:
                return self.peak_flops_per_s[dtype]
        raise ValueError(f"gpu {self.id} has no peak FLOP/s for {compute_dtype}")


_COMPUTE_FALLBACK = {
    "fp4": ("fp4", "fp8", "int8", "bf16"),
    "int4": ("int8", "fp8", "bf16"),
    "fp8": ("fp8", "bf16"),
    "int8": ("int8", "bf16"),
    "bf16": ("bf16",),
    "fp16": ("bf16",),
    "fp32": ("fp32", "bf16"),
}


@dataclass(frozen=True)
class MoeSpec:
    experts: int  # routed experts per MoE layer
    active_experts: int  # routed experts each token uses (top-k)
    shared_experts: int  # always-on experts per MoE layer
    expert_intermediate: int  # FFN width of one expert
    dense_layers: int  # leading layers with a dense FFN instead of experts (DeepSeek first_k_dense_replace)


@dataclass(frozen=True)
class MlaSpec:
    """Multi-head latent attention (DeepSeek-V2/V3): K and V are stored as one compressed latent per token."""

    kv_lora_rank: int
    qk_rope_head_dim: int
    qk_nope_head_dim: int
    v_head_dim: int
    q_lora_rank: int  # 0 when queries are not compressed


@dataclass(frozen=True)
class ModelSpec:
    id: str
    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int  # explicit from config.json; never assumed to be hidden / heads
    intermediate: int  # dense FFN width (SwiGLU: three matrices of hidden x intermediate)
    vocab: int
    tied_embeddings: bool
    max_context_tokens: int
    published_params: float  # total parameters as the model card states them
    source: Source
    moe: MoeSpec | None = None
    mla: MlaSpec | None = None
    family: str = field(default="")
