"""Prefix caching: what reusing the KV cache of a shared prompt prefix saves, and what it holds in memory.

Each request is a shared prefix of P tokens (system prompt, few-shot examples, a document) followed by U unique
tokens. With probability h (the hit rate) the prefix's KV cache is already resident and its prefill is skipped.

* prefill FLOPs saved per hit = 2·N_active·P + 2·layers·P²·d_attn
  (the weight matmuls for P tokens, plus the prefix's causal self-attention in Kaplan's convention: each of the P
  tokens attends on average to P/2 earlier ones, 2·2·(P/2)·d_attn per layer). The unique tokens still attend to
  the cached prefix, so that attention is not saved.
* expected FLOPs saved per request = h × the above; the share of prefill compute saved = h·P ÷ (P + U) for the
  matmul part.
* TTFT at a prefill throughput R tokens/s (an input; constant per token, so attention's growth with length is
  ignored): miss = (P + U) ÷ R, hit = U ÷ R, saved per hit = P ÷ R, mean = miss − h·P ÷ R.
* API price per request, with input price p per token, cached-read discount d (cached tokens cost (1 − d)·p) and
  cache-write premium w (a miss that writes the prefix pays (1 + w)·p for it):
  without caching (P + U)·p; with caching U·p + P·p·(h·(1 − d) + (1 − h)·(1 + w));
  saved per request = P·p·(h·d − (1 − h)·w), which is positive once h > w ÷ (d + w) (the break-even hit rate).
  Reported per million requests.
* KV memory held = distinct prefixes × P × KV bytes per token (architecture.kv_bytes_per_token), one copy per
  replica that caches it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from . import catalog
from .architecture import kv_bytes_per_token, param_counts
from .derivation import Derivation, num
from .errors import InputError
from .registry import calculation
from .specs import ModelSpec
from .training import attention_dim
from .validation import read_float, read_int, reject_unknown

MILLION = 1e6


def prefill_flops(m: ModelSpec, tokens: float) -> float:
    """2·N_active·T + 2·layers·T²·d_attn: the forward FLOPs of a causal prefill of T tokens."""
    return 2.0 * param_counts(m).active * tokens + 2.0 * m.layers * tokens * tokens * attention_dim(m)


@dataclass(frozen=True)
class PrefixCacheResult:
    prefix_tokens: float
    unique_tokens: float
    hit_rate_fraction: float
    saved_per_hit_flops: float
    saved_per_request_flops: float
    prefill_saved_fraction: float  # expected prefill FLOPs saved ÷ prefill FLOPs without caching
    ttft_miss_ms: float
    ttft_hit_ms: float
    ttft_saved_per_hit_ms: float
    ttft_mean_ms: float
    cost_without_cache_per_million_requests_usd: float
    cost_with_cache_per_million_requests_usd: float
    saved_per_million_requests_usd: float
    breakeven_hit_rate_fraction: float
    prefix_kv_bytes: float  # one prefix
    cached_prefixes_kv_bytes: float  # all distinct prefixes


@calculation("prefix_cache")
def prefix_cache(params: dict[str, Any]) -> dict[str, Any]:
    """Savings of prefix (prompt) caching in compute, TTFT and API price, and the KV memory the prefix holds."""
    reject_unknown(
        params,
        {
            "model", "kv", "prefix_tokens", "unique_tokens", "hit_rate", "input_usd_per_million_tokens",
            "cached_discount", "cache_write_premium", "prefill_tokens_per_s", "distinct_prefixes",
        },
    )
    m = catalog.model(params.get("model", "llama-3.1-70b"))
    kv = catalog.precision(params.get("kv", "bf16"), field="kv")
    prefix = read_float(params, "prefix_tokens", 0.0, float(m.max_context_tokens), 2000.0)
    unique = read_float(params, "unique_tokens", 0.0, float(m.max_context_tokens), 200.0)
    if prefix + unique > m.max_context_tokens:
        raise InputError("unique_tokens", f"prefix + unique tokens must fit the model's {m.max_context_tokens:,}-token context")
    if prefix + unique <= 0:
        raise InputError("prefix_tokens", "prefix and unique tokens cannot both be 0")
    hit = read_float(params, "hit_rate", 0.0, 1.0, 0.8)
    price = read_float(params, "input_usd_per_million_tokens", 0.0, 1000.0, 3.0)
    discount = read_float(params, "cached_discount", 0.0, 1.0, 0.9)
    premium = read_float(params, "cache_write_premium", 0.0, 10.0, 0.0)
    rate = read_float(params, "prefill_tokens_per_s", 1.0, 1e9, 10_000.0)
    distinct = read_int(params, "distinct_prefixes", 1, 1_000_000_000, 1)

    per_hit = prefill_flops(m, prefix)
    full = prefill_flops(m, prefix + unique)
    per_token_price = price / MILLION
    without = (prefix + unique) * per_token_price
    with_cache = unique * per_token_price + prefix * per_token_price * (hit * (1.0 - discount) + (1.0 - hit) * (1.0 + premium))
    miss_s = (prefix + unique) / rate
    hit_s = unique / rate
    kv_per_token = kv_bytes_per_token(m, kv.bytes_per_value)
    result = PrefixCacheResult(
        prefix_tokens=prefix,
        unique_tokens=unique,
        hit_rate_fraction=hit,
        saved_per_hit_flops=per_hit,
        saved_per_request_flops=hit * per_hit,
        prefill_saved_fraction=hit * per_hit / full,
        ttft_miss_ms=miss_s * 1e3,
        ttft_hit_ms=hit_s * 1e3,
        ttft_saved_per_hit_ms=(miss_s - hit_s) * 1e3,
        ttft_mean_ms=(miss_s - hit * (miss_s - hit_s)) * 1e3,
        cost_without_cache_per_million_requests_usd=without * MILLION,
        cost_with_cache_per_million_requests_usd=with_cache * MILLION,
        saved_per_million_requests_usd=(without - with_cache) * MILLION,
        breakeven_hit_rate_fraction=premium / (discount + premium) if discount + premium > 0 else 0.0,
        prefix_kv_bytes=prefix * kv_per_token,
        cached_prefixes_kv_bytes=distinct * prefix * kv_per_token,
    )
    warnings = []
    if result.saved_per_million_requests_usd < 0:
        warnings.append(
            f"at a {num(hit, 'ratio')} hit rate the cache-write premium costs more than the cached reads save "
            f"(break-even hit rate {num(result.breakeven_hit_rate_fraction, 'ratio')})"
        )
    n = param_counts(m).active
    derivations = {
        "saved_per_hit_flops": Derivation(
            f"prefill FLOPs skipped on a cache hit ({m.name})",
            "2 × N × P + 2 × layers × P² × d_attn",
            f"2 × {num(n, 'params')} × {num(prefix)} + 2 × {num(m.layers)} × {num(prefix)}² × {num(attention_dim(m))}",
            per_hit,
            "flop",
        ),
        "ttft_saved_per_hit_ms": Derivation(
            "time to first token saved on a hit",
            "prefix tokens ÷ prefill throughput",
            f"{num(prefix, 'tokens')} ÷ {num(rate, 'tokens_per_s')}",
            miss_s - hit_s,
            "s",
        ),
        "saved_per_million_requests_usd": Derivation(
            "input cost saved per million requests",
            "P × price per 1M input tokens × (hit rate × discount − (1 − hit rate) × write premium)",
            f"{num(prefix)} × {num(price, 'usd_per_million_tokens')} × ({num(hit)} × {num(discount)} − {num(1 - hit)} × {num(premium)})",
            result.saved_per_million_requests_usd,
            "usd",
        ),
        "prefix_kv_bytes": Derivation(
            f"KV cache held by one cached prefix ({m.name}, {kv.id})",
            "prefix tokens × KV bytes per token",
            f"{num(prefix)} × {num(kv_per_token, 'bytes')}",
            result.prefix_kv_bytes,
            "bytes",
        ),
    }
    return {"model": m.id, "kv": kv.id, **asdict(result), "derivations": derivations, "warnings": warnings}
