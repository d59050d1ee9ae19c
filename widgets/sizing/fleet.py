"""Fleet sizing: a request rate, a token profile and latency SLOs → TP, batch and replicas, GPUs and cost.

Aggregated serving (prefill and decode on the same replicas), for each TP that fits (1, 2, 4, 8 … within the GPU's
scale-up domain):

* capacity at the SLO: the largest per-replica Poisson rate ``R*`` whose TTFT p95 and TPOT (``sizing.serving``
  rate mode) stay within the SLOs (bisection; both rise with the rate);
* replicas = ⌈R ÷ (R*·(1 − headroom))⌉ — ``headroom`` is capacity kept spare for bursts and failures;
  GPUs = replicas × TP; the cheapest TP wins (ties: lower TTFT p95).

Disaggregated serving (``disaggregate``): separate pools sized separately.

* prefill replica: steps of ``k`` prompts (1, 2, 4 … up to ⌊max_num_tokens ÷ I⌋, the one with most capacity
  within the SLO); capacity ``X_p = k ÷ t_step``;
  TTFT p95 = overhead + 0.95·t_step (waiting for the step in flight) + t_step + (ln 20)·W, with the M/D/1 wait
  ``W = ρ·t_step ÷ (2(1 − ρ))``, ρ = R_replica ÷ X_p;
* decode replica: the largest batch ``B`` (≤ max concurrency at I + L tokens) whose decode step ≤ the TPOT SLO;
  capacity ``X_d = B ÷ ((L − 1)·TPOT)`` (Little's law), no prompt chunks in its steps;
* KV transfer: each request's cache ``I × KV bytes per token`` moves from a prefill to a decode replica:
  ``R × I × KV bytes per token`` bytes/s in total, ``I × KV bytes ÷ (TP × link)`` per request.

Cost: GPUs × (spot share × spot price + on-demand share × on-demand price) per GPU-hour; a month is 730 h.
Per million tokens: input tokens carry the prefill share of GPU time (aggregated: the engine's prefill time
fraction; disaggregated: the prefill pool), output tokens the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import catalog
from .derivation import Derivation, num
from .errors import InputError
from .latency import StepModel
from .memory import DEPLOYMENT_PARAMS, TP_CHOICES, Deployment, default_kv, plan, read_engine, read_tokens, read_tp
from .registry import calculation
from .serving import Replica
from .validation import read_bool, read_choice, read_float, reject_unknown

HOURS_PER_MONTH = 730.0  # 8,760 h ÷ 12
P95_EXPONENTIAL = math.log(20.0)


@dataclass(frozen=True)
class PoolPlan:
    tp: int
    replicas: int
    capacity_requests_per_s: float  # per replica, at the SLO
    requests_per_s: float  # per replica, at the operating point
    ttft_p95_s: float
    tpot_s: float
    batch: float  # sequences in flight per replica
    prefill_fraction: float  # share of engine time on prompts

    @property
    def gpus(self) -> int:
        return self.replicas * self.tp


def _tp_options(m, g, weights, kv, context, engine, fixed: int | None) -> list[int]:
    if fixed:
        return [fixed]
    out = []
    for tp in TP_CHOICES:
        if tp > g.max_scale_up_gpus or m.heads % tp:
            continue
        if plan(Deployment(m, g, tp, weights, kv, engine), context).fits:
            out.append(tp)
    return out


def _bisect_max(ok, high: float, iterations: int = 22) -> float:
    """Largest x in (0, high] with ok(x) true, assuming ok is true below a threshold and false above it."""
    if ok(high):
        return high
    low = 0.0
    for _ in range(iterations):
        mid = (low + high) / 2
        if ok(mid):
            low = mid
        else:
            high = mid
    return low


def aggregated_pool(d: Deployment, prompt: int, output: int, rate: float, ttft_slo: float, tpot_slo: float,
                    headroom: float) -> PoolPlan | None:
    r = Replica(d, prompt, output)
    if not r.mem.fits:
        return None
    top = r.saturated()["requests_per_s"] * 0.999

    def within(x: float) -> bool:
        out = r.open_loop(x)
        return out["stable"] and out["ttft_p95_ms"] / 1e3 <= ttft_slo and out["tpot_ms"] / 1e3 <= tpot_slo

    if not within(top * 1e-6):
        return None
    capacity = _bisect_max(within, top)
    replicas = max(1, math.ceil(rate / (capacity * (1.0 - headroom)) - 1e-9))
    at = r.open_loop(rate / replicas)
    return PoolPlan(d.tp, replicas, capacity, rate / replicas, at["ttft_p95_ms"] / 1e3, at["tpot_ms"] / 1e3,
                    at["concurrency"], at["prefill_time_fraction"])


def prefill_pool(d: Deployment, prompt: int, rate: float, ttft_slo: float, headroom: float) -> PoolPlan | None:
    """The prefill-only replica: of the step sizes k = 1, 2, 4 … prompts (up to max_num_tokens), the one with the
    most capacity within the TTFT SLO (a bigger step is more efficient but every prompt in it waits for all)."""
    if not plan(d, prompt).fits:
        return None
    sm = StepModel(d)
    chunk = d.engine.max_num_tokens
    chunks = math.ceil(prompt / chunk)
    overhead = d.engine.request_overhead_s
    best = None
    k = 1
    while k <= max(1, chunk // prompt):
        step = sm.step(0.0, 0.0, k * prompt / chunks, (prompt + 1) / 2.0, k).total_s * chunks
        x_max = k / step

        def ttft_p95(x: float, step: float = step, x_max: float = x_max) -> float:
            rho = min(x / x_max, 1.0 - 1e-9)
            wait = rho * step / (2.0 * (1.0 - rho))
            return overhead + 0.95 * step + step + P95_EXPONENTIAL * wait

        if ttft_p95(0.0) <= ttft_slo:
            capacity = _bisect_max(lambda x, f=ttft_p95: f(x) <= ttft_slo, x_max * 0.999)
            if best is None or capacity > best[0]:
                best = (capacity, step, k, ttft_p95)
        k *= 2
    if best is None:
        return None
    capacity, step, k, ttft_p95 = best
    replicas = max(1, math.ceil(rate / (capacity * (1.0 - headroom)) - 1e-9))
    x = rate / replicas
    return PoolPlan(d.tp, replicas, capacity, x, ttft_p95(x), 0.0, x * step / k, 1.0)


def decode_pool(d: Deployment, prompt: int, output: int, rate: float, tpot_slo: float, headroom: float) -> PoolPlan | None:
    mem = plan(d, prompt + output)
    if not mem.fits or output < 2:
        return None
    sm = StepModel(d)
    context = prompt + output / 2.0

    def tpot(b: float) -> float:
        return sm.step(b, context).total_s

    if tpot(1.0) > tpot_slo:
        return None
    batch = max(1.0, math.floor(_bisect_max(lambda b: tpot(b) <= tpot_slo, float(mem.max_concurrency))))
    capacity = batch / ((output - 1) * tpot(batch))
    replicas = max(1, math.ceil(rate / (capacity * (1.0 - headroom)) - 1e-9))
    x = rate / replicas
    running = x * (output - 1) * tpot(batch)
    return PoolPlan(d.tp, replicas, capacity, x, 0.0, tpot(max(running, 1.0)), running, 0.0)


def _cheapest(plans: list[PoolPlan]) -> PoolPlan | None:
    plans = [p for p in plans if p is not None]
    return min(plans, key=lambda p: (p.gpus, p.ttft_p95_s, p.tpot_s)) if plans else None


FLEET_PARAMS = set(DEPLOYMENT_PARAMS) | {"requests_per_s", "input_tokens", "output_tokens", "ttft_p95_slo_ms", "tpot_slo_ms",
                                         "headroom", "spot_fraction", "disaggregate", "kv_link_gb_per_s"}


@calculation("fleet")
def fleet_calculation(params: dict[str, Any]) -> dict[str, Any]:
    """Replicas, GPUs and cost to serve ``requests_per_s`` within a TTFT p95 and a TPOT SLO (see module docstring)."""
    reject_unknown(params, FLEET_PARAMS)
    m = catalog.model(params.get("model"))
    g = catalog.gpu(params.get("gpu"))
    fixed_tp = read_tp(params, m, g) if params.get("tp") not in (None, "") else None
    names = list(catalog.precisions())
    weights = catalog.precision(read_choice(params, "weights", names, "bf16"), field="weights")
    kv = catalog.precision(read_choice(params, "kv", names, default_kv(weights)), field="kv")
    engine = read_engine(params)
    rate = read_float(params, "requests_per_s", 0.001, 100_000.0)
    prompt, output = read_tokens(params, m)
    ttft_slo = read_float(params, "ttft_p95_slo_ms", 1.0, 600_000.0, 1000.0) / 1e3
    tpot_slo = read_float(params, "tpot_slo_ms", 1.0, 10_000.0, 50.0) / 1e3
    headroom = read_float(params, "headroom", 0.0, 0.9, 0.2)
    spot = read_float(params, "spot_fraction", 0.0, 1.0, 0.0)
    disaggregate = read_bool(params, "disaggregate", False)
    link = read_float(params, "kv_link_gb_per_s", 0.1, 10_000.0, 50.0) * 1e9

    def deployment(tp: int) -> Deployment:
        return Deployment(m, g, tp, weights, kv, engine)

    options = _tp_options(m, g, weights, kv, prompt + output, engine, fixed_tp)
    result: dict[str, Any] = {"model": m.id, "gpu": g.id, "weights": weights.id, "kv": kv.id, "requests_per_s": rate,
                              "input_tokens": prompt, "output_tokens": output, "disaggregate": disaggregate,
                              "ttft_p95_slo_ms": ttft_slo * 1e3, "tpot_slo_ms": tpot_slo * 1e3,
                              "target_headroom": headroom, "warnings": []}
    if not options:
        raise InputError("tp" if fixed_tp else "model",
                         f"{m.id} in {weights.id} does not fit on {g.id} at any TP up to {g.max_scale_up_gpus}" if not fixed_tp
                         else f"{m.id} in {weights.id} does not fit on {fixed_tp}× {g.id}")
    kv_token = plan(deployment(options[0]), prompt + output).kv_bytes_per_token
    aggregated = _cheapest([aggregated_pool(deployment(tp), prompt, output, rate, ttft_slo, tpot_slo, headroom) for tp in options])

    if disaggregate:
        pre = _cheapest([prefill_pool(deployment(tp), prompt, rate, ttft_slo, headroom) for tp in options])
        dec = _cheapest([decode_pool(deployment(tp), prompt, output, rate, tpot_slo, headroom) for tp in options])
        if pre is None or dec is None:
            failed = "TTFT p95" if pre is None else "TPOT"
            raise InputError("ttft_p95_slo_ms" if pre is None else "tpot_slo_ms",
                             f"no {'prefill' if pre is None else 'decode'} replica of {m.id} on {g.id} meets the {failed} SLO even unloaded")
        gpus = pre.gpus + dec.gpus
        input_share = pre.gpus / gpus
        transfer_s = prompt * kv_token / (pre.tp * link)
        result.update({
            "prefill_tp": pre.tp, "prefill_replicas": pre.replicas, "prefill_gpus": pre.gpus,
            "decode_tp": dec.tp, "decode_replicas": dec.replicas, "decode_gpus": dec.gpus,
            "decode_batch": dec.batch, "gpus": gpus,
            "ttft_p95_ms": pre.ttft_p95_s * 1e3, "tpot_ms": dec.tpot_s * 1e3,
            "kv_transfer_gb_per_s": rate * prompt * kv_token / 1e9,
            "kv_transfer_ms": transfer_s * 1e3,
            "headroom": 1.0 - min(rate / (pre.replicas * pre.capacity_requests_per_s), rate / (dec.replicas * dec.capacity_requests_per_s)),
            "aggregated_gpus": aggregated.gpus if aggregated else 0,
        })
        if transfer_s > tpot_slo:
            result["warnings"].append(
                f"moving one prompt's KV cache takes {num(transfer_s, 's')}, longer than the TPOT SLO: the second "
                "token of each request will be late unless the transfer overlaps the prefill")
    else:
        if aggregated is None:
            raise InputError("tpot_slo_ms" if fixed_tp is None else "tp",
                             f"no replica of {m.id} on {g.id} meets TTFT p95 ≤ {num(ttft_slo, 's')} and TPOT ≤ "
                             f"{num(tpot_slo, 's')} even unloaded; relax an SLO or use a faster GPU")
        gpus = aggregated.gpus
        input_share = aggregated.prefill_fraction
        result.update({
            "tp": aggregated.tp, "replicas": aggregated.replicas, "gpus": gpus,
            "batch_per_replica": aggregated.batch,
            "capacity_requests_per_s_per_replica": aggregated.capacity_requests_per_s,
            "ttft_p95_ms": aggregated.ttft_p95_s * 1e3, "tpot_ms": aggregated.tpot_s * 1e3,
            "utilization": aggregated.requests_per_s / aggregated.capacity_requests_per_s,
            "headroom": 1.0 - aggregated.requests_per_s / aggregated.capacity_requests_per_s,
        })
    # Spot capacity comes and goes a whole replica at a time (a TP group on preempted GPUs cannot serve), so the
    # requested share is rounded to whole replicas in each pool; the warning checks the share actually on spot.
    pools = [(pre.replicas, pre.tp), (dec.replicas, dec.tp)] if disaggregate else [(aggregated.replicas, aggregated.tp)]
    spot_replicas = [round(replicas * spot) for replicas, _ in pools]
    spot_gpus = sum(n * tp for n, (_, tp) in zip(spot_replicas, pools))
    lost_share = max(n / replicas for n, (replicas, _) in zip(spot_replicas, pools))
    hourly = spot_gpus * g.price_usd_per_hour_spot + (gpus - spot_gpus) * g.price_usd_per_hour_on_demand
    price = hourly / gpus
    per_s = hourly / 3600.0
    result.update({
        "spot_gpus": spot_gpus, "on_demand_gpus": gpus - spot_gpus,
        "cost_usd_per_hour": hourly,
        "cost_usd_per_month": hourly * HOURS_PER_MONTH,
        "input_usd_per_million_tokens": per_s * input_share / (rate * prompt) * 1e6,
        "output_usd_per_million_tokens": per_s * (1.0 - input_share) / (rate * output) * 1e6,
        "blended_usd_per_million_tokens": per_s / (rate * (prompt + output)) * 1e6,
    })
    result["spot_share"] = spot_gpus / gpus
    if lost_share > result["headroom"] + 1e-12:
        result["warnings"].append(
            f"{num(lost_share, 'ratio')} of a pool's replicas are on spot but only {num(result['headroom'], 'ratio')} of "
            "capacity is spare: losing the spot capacity at once would break the SLOs")
    result["derivations"] = _derivations(result, g, price, disaggregate)
    return result


def _derivations(r: dict[str, Any], g, price: float, disaggregate: bool) -> dict[str, Derivation]:
    derivs = {
        "cost_usd_per_month": Derivation(
            "fleet cost per month",
            "GPUs × price per GPU-hour (spot/on-demand mix) × 730 h",
            f"{num(r['gpus'], 'gpus')} × {num(price, 'usd_per_hour')} × 730 h",
            r["cost_usd_per_month"],
            "usd_per_month",
        ),
        "blended_usd_per_million_tokens": Derivation(
            "cost per million tokens (input + output)",
            "cost per second ÷ tokens per second × 10⁶",
            f"{num(r['cost_usd_per_hour'] / 3600, 'usd')} ÷ {num(r['requests_per_s'] * (r['input_tokens'] + r['output_tokens']), 'tokens_per_s')} × 10⁶",
            r["blended_usd_per_million_tokens"],
            "usd_per_million_tokens",
        ),
    }
    if not disaggregate:
        derivs["replicas"] = Derivation(
            "replicas",
            "⌈request rate ÷ (capacity per replica at the SLOs × (1 − headroom))⌉",
            f"⌈{num(r['requests_per_s'], 'requests_per_s')} ÷ ({num(r['capacity_requests_per_s_per_replica'], 'requests_per_s')} × "
            f"(1 − {num(r['target_headroom'], 'ratio')}))⌉",
            float(r["replicas"]),
            "count",
        )
        derivs["gpus"] = Derivation("GPUs", "replicas × TP", f"{r['replicas']} × {r['tp']}", float(r["gpus"]), "gpus")
    else:
        derivs["gpus"] = Derivation(
            "GPUs (disaggregated)", "prefill replicas × prefill TP + decode replicas × decode TP",
            f"{r['prefill_replicas']} × {r['prefill_tp']} + {r['decode_replicas']} × {r['decode_tp']}",
            float(r["gpus"]), "gpus")
    return derivs
