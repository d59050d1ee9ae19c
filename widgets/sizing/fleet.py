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

Traffic: ``requests_per_s`` is the average rate; ``peak_to_average`` (≥ 1) gives the peak, ``R_peak = R × ratio``.
Every pool is sized for the peak (the rate in the formulas above is ``R_peak``), and that fleet runs around the clock:
there is no autoscaling here, so a peaky service pays for its peak all month. ``average_load_gpus`` is what the
average alone would need — the floor a perfect autoscaler could approach, never reach.

Cost: GPUs × (spot share × spot price + on-demand share × on-demand price) per GPU-hour; a month is 730 h.
Per million tokens: the month's cost over the tokens the *average* traffic brings, so the peak-to-average ratio
raises it. Input tokens carry the prefill share of GPU time (aggregated: the engine's prefill time fraction at the
peak; disaggregated: the prefill pool), output tokens the rest.

Cost curve (``curve``): the same sizing at average rates from a sixteenth to sixteen times ``requests_per_s`` (steps
of √2, same peak-to-average ratio and spot share). Each TP's capacity at the SLOs does not depend on the rate, so it is
found once and each point only divides; options tied on GPUs are compared at their operating points, as above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

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


# The search for a replica's capacity stops when the engine's mean occupancy is known to this share: far finer than
# the model's accuracy, and the rate it sustains is known at least as finely (E2E does not fall as occupancy grows).
CAPACITY_TOLERANCE = 1e-5


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


def replicas_for(rate: float, capacity: float, headroom: float) -> int:
    """⌈rate ÷ (capacity per replica × (1 − headroom))⌉, at least one."""
    return max(1, math.ceil(rate / (capacity * (1.0 - headroom)) - 1e-9))


def aggregated_capacity(d: Deployment, prompt: int, output: int, ttft_slo: float, tpot_slo: float) -> float | None:
    """Largest Poisson rate one aggregated replica serves within both SLOs; None if it misses one even unloaded.

    The search runs over the engine's mean occupancy b (sequences in it), not over the rate: the rate that keeps b
    sequences in the engine is b ÷ E2E (Little's law, ``Replica.open_loop_at_occupancy``), so a probe needs no root
    solve, and rate, TTFT and TPOT all grow with b. It halves the ratio between a b within the SLOs and one beyond them
    (geometric midpoints: the answer may sit at a thousandth of the KV slots or near all of them) until they are
    within ``CAPACITY_TOLERANCE`` of each other, and answers the rate at the lower one."""
    r = Replica(d, prompt, output)
    if not r.mem.fits:
        return None
    top = r.saturated()["requests_per_s"] * 0.999

    def within(out: dict) -> bool:
        return out["stable"] and out["ttft_p95_ms"] / 1e3 <= ttft_slo and out["tpot_ms"] / 1e3 <= tpot_slo

    unloaded = top * 1e-6
    if not within(r.open_loop(unloaded)):
        return None
    if within(r.open_loop(top)):
        return top
    low, high = r.capacity * 1e-9, float(r.capacity)  # the wait diverges as b nears the slots: never within there
    if not within(r.open_loop_at_occupancy(low)):
        return unloaded
    while high > low * (1.0 + CAPACITY_TOLERANCE):
        mid = math.sqrt(low * high)
        if within(r.open_loop_at_occupancy(mid)):
            low = mid
        else:
            high = mid
    return min(r.open_loop_at_occupancy(low)["requests_per_s"], top)


def aggregated_pool(d: Deployment, prompt: int, output: int, rate: float, ttft_slo: float, tpot_slo: float,
                    headroom: float, capacity: float | None = None) -> PoolPlan | None:
    if capacity is None:
        capacity = aggregated_capacity(d, prompt, output, ttft_slo, tpot_slo)
    if capacity is None:
        return None
    replicas = replicas_for(rate, capacity, headroom)
    at = Replica(d, prompt, output).open_loop(rate / replicas)
    return PoolPlan(d.tp, replicas, capacity, rate / replicas, at["ttft_p95_ms"] / 1e3, at["tpot_ms"] / 1e3,
                    at["concurrency"], at["prefill_time_fraction"])


@dataclass(frozen=True)
class PrefillStep:
    capacity_requests_per_s: float  # per replica, within the TTFT SLO
    step_s: float
    prompts_per_step: int
    ttft_p95: Callable[[float], float]  # seconds at a per-replica rate


def prefill_capacity(d: Deployment, prompt: int, ttft_slo: float) -> PrefillStep | None:
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
            if best is None or capacity > best.capacity_requests_per_s:
                best = PrefillStep(capacity, step, k, ttft_p95)
        k *= 2
    return best


def prefill_pool(d: Deployment, prompt: int, rate: float, ttft_slo: float, headroom: float,
                 best: PrefillStep | None = None) -> PoolPlan | None:
    best = best or prefill_capacity(d, prompt, ttft_slo)
    if best is None:
        return None
    replicas = replicas_for(rate, best.capacity_requests_per_s, headroom)
    x = rate / replicas
    return PoolPlan(d.tp, replicas, best.capacity_requests_per_s, x, best.ttft_p95(x), 0.0,
                    x * best.step_s / best.prompts_per_step, 1.0)


@dataclass(frozen=True)
class DecodeBatch:
    capacity_requests_per_s: float  # per replica, within the TPOT SLO
    batch: float
    tpot: Callable[[float], float]  # seconds per decode step at a batch


def decode_capacity(d: Deployment, prompt: int, output: int, tpot_slo: float) -> DecodeBatch | None:
    """The largest batch whose decode step stays within the TPOT SLO, and the rate it sustains (Little's law)."""
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
    return DecodeBatch(batch / ((output - 1) * tpot(batch)), batch, tpot)


def decode_pool(d: Deployment, prompt: int, output: int, rate: float, tpot_slo: float, headroom: float,
                best: DecodeBatch | None = None) -> PoolPlan | None:
    best = best or decode_capacity(d, prompt, output, tpot_slo)
    if best is None:
        return None
    replicas = replicas_for(rate, best.capacity_requests_per_s, headroom)
    x = rate / replicas
    running = x * (output - 1) * best.tpot(best.batch)
    return PoolPlan(d.tp, replicas, best.capacity_requests_per_s, x, 0.0, best.tpot(max(running, 1.0)), running, 0.0)


def _cheapest(plans: list[PoolPlan]) -> PoolPlan | None:
    plans = [p for p in plans if p is not None]
    return min(plans, key=lambda p: (p.gpus, p.ttft_p95_s, p.tpot_s)) if plans else None


@dataclass(frozen=True)
class PoolOption:
    """One TP's replica at the SLOs: its capacity does not depend on the traffic, so it is found once."""

    tp: int
    capacity_requests_per_s: float
    build: Callable[[float], PoolPlan]  # the pool sized for a rate, with its operating point


def _options(found: list[tuple[int, float | None, Callable[[float], PoolPlan]]]) -> list[PoolOption]:
    return [PoolOption(tp, capacity, build) for tp, capacity, build in found if capacity is not None]


def cheapest_pool(options: list[PoolOption], rate: float, headroom: float) -> PoolPlan | None:
    """The pool with fewest GPUs for ``rate``; ties broken as ``_cheapest`` does (lower TTFT p95, then TPOT).

    GPUs follow from the capacity alone, so only the tied options are evaluated at their operating points."""
    if not options:
        return None
    gpus = {o.tp: replicas_for(rate, o.capacity_requests_per_s, headroom) * o.tp for o in options}
    fewest = min(gpus.values())
    return _cheapest([o.build(rate) for o in options if gpus[o.tp] == fewest])


FLEET_PARAMS = set(DEPLOYMENT_PARAMS) | {"requests_per_s", "input_tokens", "output_tokens", "ttft_p95_slo_ms", "tpot_slo_ms",
                                         "headroom", "spot_fraction", "disaggregate", "kv_link_gb_per_s", "peak_to_average"}
MAX_RATE = 100_000.0
# The cost curve: average rates from a sixteenth to sixteen times the one asked for, in steps of √2.
CURVE_STEPS = range(-8, 9)


def _pool_text(p: PoolPlan) -> str:
    return f"{p.replicas} {'replica' if p.replicas == 1 else 'replicas'} × TP{p.tp}"


def _cost(pools: list[tuple[int, int]], spot: float, g) -> tuple[int, int, float, float]:
    """(spot GPUs, GPUs, $ per hour, largest share of a pool's replicas on spot) for pools of (replicas, TP).

    Spot capacity comes and goes a whole replica at a time (a TP group on preempted GPUs cannot serve), so the
    requested share is rounded to whole replicas in each pool; the warning checks the share actually on spot."""
    gpus = sum(replicas * tp for replicas, tp in pools)
    spot_replicas = [round(replicas * spot) for replicas, _ in pools]
    spot_gpus = sum(n * tp for n, (_, tp) in zip(spot_replicas, pools))
    lost_share = max(n / replicas for n, (replicas, _) in zip(spot_replicas, pools))
    hourly = spot_gpus * g.price_usd_per_hour_spot + (gpus - spot_gpus) * g.price_usd_per_hour_on_demand
    return spot_gpus, gpus, hourly, lost_share


def _sized(options: list[PoolOption], rate: float, headroom: float, spot: float, g) -> tuple[int, int]:
    """(replicas, TP) of ``cheapest_pool`` for ``rate`` without evaluating operating points unless they matter: only
    options tied on GPUs whose spot rounding prices them differently need the tie-break."""
    sized = [(replicas_for(rate, o.capacity_requests_per_s, headroom), o) for o in options]
    fewest = min(n * o.tp for n, o in sized)
    tied = [(n, o) for n, o in sized if n * o.tp == fewest]
    if len({_cost([(n, o.tp)], spot, g)[2] for n, o in tied}) > 1:
        chosen = cheapest_pool([o for _, o in tied], rate, headroom)
        return chosen.replicas, chosen.tp
    return tied[0][0], tied[0][1].tp


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
    rate = read_float(params, "requests_per_s", 0.001, MAX_RATE)
    peak_ratio = read_float(params, "peak_to_average", 1.0, 100.0, 1.0)
    peak = rate * peak_ratio
    if peak > MAX_RATE:
        raise InputError("peak_to_average", f"puts the peak at {num(peak, 'requests_per_s')}, above the "
                         f"{num(MAX_RATE, 'requests_per_s')} this calculator sizes; lower it or the average rate")
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
                              "peak_to_average": peak_ratio, "peak_requests_per_s": peak,
                              "input_tokens": prompt, "output_tokens": output, "disaggregate": disaggregate,
                              "ttft_p95_slo_ms": ttft_slo * 1e3, "tpot_slo_ms": tpot_slo * 1e3,
                              "target_headroom": headroom, "warnings": []}
    if not options:
        raise InputError("tp" if fixed_tp else "model",
                         f"{m.id} in {weights.id} does not fit on {g.id} at any TP up to {g.max_scale_up_gpus}" if not fixed_tp
                         else f"{m.id} in {weights.id} does not fit on {fixed_tp}× {g.id}")
    kv_token = plan(deployment(options[0]), prompt + output).kv_bytes_per_token

    # Each TP's capacity at the SLOs is found once; sizing for any rate is then ⌈rate ÷ usable capacity⌉ replicas.
    def aggregated_option(tp: int) -> tuple[int, float | None, Callable[[float], PoolPlan]]:
        capacity = aggregated_capacity(deployment(tp), prompt, output, ttft_slo, tpot_slo)
        return tp, capacity, lambda x: aggregated_pool(deployment(tp), prompt, output, x, ttft_slo, tpot_slo, headroom, capacity)

    def prefill_option(tp: int) -> tuple[int, float | None, Callable[[float], PoolPlan]]:
        best = prefill_capacity(deployment(tp), prompt, ttft_slo)
        return tp, best and best.capacity_requests_per_s, lambda x: prefill_pool(deployment(tp), prompt, x, ttft_slo, headroom, best)

    def decode_option(tp: int) -> tuple[int, float | None, Callable[[float], PoolPlan]]:
        best = decode_capacity(deployment(tp), prompt, output, tpot_slo)
        return tp, best and best.capacity_requests_per_s, lambda x: decode_pool(deployment(tp), prompt, output, x, tpot_slo, headroom, best)

    aggregated_options = _options([aggregated_option(tp) for tp in options])
    aggregated = cheapest_pool(aggregated_options, peak, headroom)

    if disaggregate:
        prefill_options = _options([prefill_option(tp) for tp in options])
        decode_options = _options([decode_option(tp) for tp in options])
        pre = cheapest_pool(prefill_options, peak, headroom)
        dec = cheapest_pool(decode_options, peak, headroom)
        if pre is None or dec is None:
            failed = "TTFT p95" if pre is None else "TPOT"
            raise InputError("ttft_p95_slo_ms" if pre is None else "tpot_slo_ms",
                             f"no {'prefill' if pre is None else 'decode'} replica of {m.id} on {g.id} meets the {failed} SLO even unloaded")
        pools = [pre, dec]
        gpus = pre.gpus + dec.gpus
        input_share = pre.gpus / gpus
        transfer_s = prompt * kv_token / (pre.tp * link)
        fleet_capacity = min(pre.replicas * pre.capacity_requests_per_s, dec.replicas * dec.capacity_requests_per_s)
        result.update({
            "prefill_tp": pre.tp, "prefill_replicas": pre.replicas, "prefill_gpus": pre.gpus,
            "decode_tp": dec.tp, "decode_replicas": dec.replicas, "decode_gpus": dec.gpus,
            "decode_batch": dec.batch, "gpus": gpus,
            "prefill_capacity_requests_per_s_per_replica": pre.capacity_requests_per_s,
            "decode_capacity_requests_per_s_per_replica": dec.capacity_requests_per_s,
            "ttft_p95_ms": pre.ttft_p95_s * 1e3, "tpot_ms": dec.tpot_s * 1e3,
            "kv_transfer_gb_per_s": peak * prompt * kv_token / 1e9,
            "kv_transfer_ms": transfer_s * 1e3,
            "headroom": 1.0 - peak / fleet_capacity,  # the pool with less spare capacity
            "aggregated_gpus": aggregated.gpus if aggregated else 0,
            "pools": f"prefill {_pool_text(pre)}; decode {_pool_text(dec)}",
        })
        if transfer_s > tpot_slo:
            result["warnings"].append(
                f"moving one prompt's KV cache takes {num(transfer_s, 's')}, longer than the TPOT SLO: the second "
                "token of each request will be late unless the transfer overlaps the prefill")

        def size(x: float) -> list[tuple[int, int]]:
            return [_sized(prefill_options, x, headroom, spot, g), _sized(decode_options, x, headroom, spot, g)]
    else:
        if aggregated is None:
            raise InputError("tpot_slo_ms" if fixed_tp is None else "tp",
                             f"no replica of {m.id} on {g.id} meets TTFT p95 ≤ {num(ttft_slo, 's')} and TPOT ≤ "
                             f"{num(tpot_slo, 's')} even unloaded; relax an SLO or use a faster GPU")
        pools = [aggregated]
        gpus = aggregated.gpus
        input_share = aggregated.prefill_fraction
        fleet_capacity = aggregated.replicas * aggregated.capacity_requests_per_s
        result.update({
            "tp": aggregated.tp, "replicas": aggregated.replicas, "gpus": gpus,
            "batch_per_replica": aggregated.batch,
            "capacity_requests_per_s_per_replica": aggregated.capacity_requests_per_s,
            "ttft_p95_ms": aggregated.ttft_p95_s * 1e3, "tpot_ms": aggregated.tpot_s * 1e3,
            "utilization": aggregated.requests_per_s / aggregated.capacity_requests_per_s,
            "headroom": 1.0 - aggregated.requests_per_s / aggregated.capacity_requests_per_s,
            "pools": _pool_text(aggregated),
        })

        def size(x: float) -> list[tuple[int, int]]:
            return [_sized(aggregated_options, x, headroom, spot, g)]

    # The fleet is sized for the peak and runs all month; the tokens it serves are the average traffic's.
    spot_gpus, _, hourly, lost_share = _cost([(p.replicas, p.tp) for p in pools], spot, g)
    price = hourly / gpus
    per_s = hourly / 3600.0
    result.update({
        "spot_gpus": spot_gpus, "on_demand_gpus": gpus - spot_gpus,
        "cost_usd_per_hour": hourly,
        "cost_usd_per_month": hourly * HOURS_PER_MONTH,
        "input_usd_per_million_tokens": per_s * input_share / (rate * prompt) * 1e6,
        "output_usd_per_million_tokens": per_s * (1.0 - input_share) / (rate * output) * 1e6,
        "blended_usd_per_million_tokens": per_s / (rate * (prompt + output)) * 1e6,
        "average_utilization": rate / fleet_capacity,
        "average_load_gpus": sum(n * tp for n, tp in size(rate)) if peak_ratio > 1 else gpus,
    })
    result["spot_share"] = spot_gpus / gpus
    if lost_share > result["headroom"] + 1e-12:
        result["warnings"].append(
            f"{num(lost_share, 'ratio')} of a pool's replicas are on spot but only {num(result['headroom'], 'ratio')} of "
            "capacity is spare: losing the spot capacity at once would break the SLOs")
    curve = []
    for k in CURVE_STEPS:
        x = rate * 2.0 ** (k / 2.0)
        if not 0.001 <= x <= MAX_RATE / peak_ratio:
            continue
        point_spot, point_gpus, point_hourly, _ = _cost(size(x * peak_ratio), spot, g) if k else (spot_gpus, gpus, hourly, 0.0)
        curve.append({"requests_per_s": x, "gpus": point_gpus, "spot_gpus": point_spot,
                      "cost_usd_per_month": point_hourly * HOURS_PER_MONTH,
                      "blended_usd_per_million_tokens": point_hourly / 3600.0 / (x * (prompt + output)) * 1e6})
    result["curve"] = curve
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
            "cost per second ÷ tokens per second of the average traffic × 10⁶",
            f"{num(r['cost_usd_per_hour'] / 3600, 'usd')} ÷ {num(r['requests_per_s'] * (r['input_tokens'] + r['output_tokens']), 'tokens_per_s')} × 10⁶",
            r["blended_usd_per_million_tokens"],
            "usd_per_million_tokens",
        ),
    }
    derivs["peak_requests_per_s"] = Derivation(
        "peak request rate (what the fleet is sized for)", "average request rate × peak-to-average ratio",
        f"{num(r['requests_per_s'], 'requests_per_s')} × {num(r['peak_to_average'])}",
        r["peak_requests_per_s"], "requests_per_s")
    derivs["average_utilization"] = Derivation(
        "average utilisation (share of the fleet's capacity at the SLOs the average traffic uses)",
        "average request rate ÷ fleet capacity at the SLOs",
        f"{num(r['requests_per_s'], 'requests_per_s')} ÷ {num(r['requests_per_s'] / r['average_utilization'], 'requests_per_s')}",
        r["average_utilization"], "ratio")
    if not disaggregate:
        derivs["replicas"] = Derivation(
            "replicas",
            "⌈peak request rate ÷ (capacity per replica at the SLOs × (1 − headroom))⌉",
            f"⌈{num(r['peak_requests_per_s'], 'requests_per_s')} ÷ ({num(r['capacity_requests_per_s_per_replica'], 'requests_per_s')} × "
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
