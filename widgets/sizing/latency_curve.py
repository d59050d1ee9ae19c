"""Latency against load for one replica: the curve behind the Serving latency calculator.

Every point is ``sizing.serving`` at one load — ``Replica.closed_loop(C)`` for a sweep of concurrent clients,
``Replica.open_loop(R)`` for a sweep of Poisson request rates — exactly what ``estimate`` returns for one replica
(``gpus = tp``) at that load. Nothing here computes a latency of its own; it only chooses loads and reads the answers.

* **Unloaded TTFT**: TTFT of a lone request (one client; a rate of a millionth of the saturation rate).
* **Knee**: the smallest load at which the wait for a free KV slot (``queue_ms``) is at least ``KNEE_QUEUE_SHARE``
  (a quarter) of TTFT. Below it TTFT and TPOT grow because each step carries more work — other sequences' decode
  tokens, other prompts' chunks — which is the price of the throughput batching buys. From the knee on, the engine is
  full: throughput has stopped rising (Little's law), so more load only lengthens the line, by a whole
  ``E2E ÷ slots`` per extra client in a closed loop and hyperbolically as ρ → 1 in an open loop. A share rather than
  "any wait at all" because the open-loop (M/M/c) wait is positive at every load, if tiny. With hundreds of KV slots
  the wait climbs so steeply that any share between a tenth and a half moves the knee by under one percent of the
  load; with a dozen slots it rises gradually and the share matters more (a seventh of the load either way).
  Concurrency: the smallest whole number of clients; rate: the upper end of a bisection bracket narrower than
  ``RATE_TOLERANCE`` of the saturation rate.
* **Largest load within the SLOs**: the largest load whose TTFT ≤ ``ttft_slo_ms`` and TPOT ≤ ``tpot_slo_ms``
  (both grow with load). TTFT here is the mean the chart shows; the fleet calculation sizes against TTFT p95.
* **Sweep**: evenly spaced loads from light to ``top`` = the largest of the load where the wait reaches
  ``SWEEP_QUEUE_SHARE`` of TTFT, the SLO limit and the operating point — never beyond saturation in a rate sweep
  (the queue would grow without bound) — with a finer run from just below the knee, plus the knee, the SLO limit,
  the operating point and, for clients, the last one that finds a free slot and the first that does not.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from .derivation import Derivation, num
from .errors import InputError
from .memory import DEPLOYMENT_PARAMS, memory_outputs, read_deployment, read_tokens
from .registry import calculation
from .serving import MAX_LOAD, Replica, _derivations as serving_derivations
from .validation import read_choice, read_float, read_int, reject_unknown

SWEEPS = ("concurrency", "rate")
KNEE_QUEUE_SHARE = 0.25  # the knee: the wait for a KV slot is at least this share of TTFT
SWEEP_QUEUE_SHARE = 0.75  # the sweep runs on to where the wait is three times the rest of TTFT
GRID_POINTS = 26  # at most; a few more for the knee, the SLO limit and the operating point
FINE_POINTS = 8
RATE_TOLERANCE = 1e-3  # bisections stop when the bracket is narrower than this share of the saturation rate
LIGHT_RATE = 1e-6  # the "unloaded" rate, as a share of the saturation rate
POINT_FIELDS = ("load", "concurrency", "requests_per_s", "ttft_ms", "tpot_ms", "e2e_ms", "output_tokens_per_s", "queue_ms")

LATENCY_CURVE_PARAMS = set(DEPLOYMENT_PARAMS) | {"input_tokens", "output_tokens", "sweep", "concurrency", "request_rate",
                                                 "ttft_slo_ms", "tpot_slo_ms"}


class _Sweep:
    """One replica under one kind of load, with the searches the curve needs."""

    def __init__(self, replica: Replica, kind: str):
        self.r = replica
        self.kind = kind
        self.saturation_requests_per_s = replica.saturated()["requests_per_s"]
        self._cache: dict[float, dict[str, Any]] = {}

    def at(self, load: float) -> dict[str, Any]:
        if load not in self._cache:
            self._cache[load] = self.r.closed_loop(load) if self.kind == "concurrency" else self.r.open_loop(load)
        return self._cache[load]

    @property
    def lightest(self) -> float:
        return 1.0 if self.kind == "concurrency" else self.saturation_requests_per_s * LIGHT_RATE

    @property
    def ceiling(self) -> float:
        """The largest load the sweep may reach: every client up to the input limit; just below saturation."""
        return float(MAX_LOAD) if self.kind == "concurrency" else self.saturation_requests_per_s * (1.0 - RATE_TOLERANCE)

    def first(self, reached: Callable[[dict[str, Any]], bool], low: float | None = None, high: float | None = None) -> float | None:
        """Smallest load in (low, ceiling] where ``reached`` holds (it must stay true above); None if it never does."""
        low = self.lightest if low is None else low
        if reached(self.at(low)):
            return low
        if self.kind == "concurrency":
            lo, hi = int(low), int(high or 0)
            if not hi:
                hi = max(2, lo * 2)
                while not reached(self.at(float(hi))):
                    if hi >= MAX_LOAD:
                        return None
                    lo, hi = hi, min(hi * 2, MAX_LOAD)
            elif not reached(self.at(float(hi))):
                return None
            while hi - lo > 1:  # invariant: not reached at lo, reached at hi
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if reached(self.at(float(mid))) else (mid, hi)
            return float(hi)
        lo, hi = low, self.ceiling if high is None else high
        if not reached(self.at(hi)):
            return None
        while hi - lo > RATE_TOLERANCE * self.saturation_requests_per_s:
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if reached(self.at(mid)) else (mid, hi)
        return hi

    def last_within(self, ttft_slo_ms: float, tpot_slo_ms: float) -> float:
        """Largest load within both SLOs (0 when even the lightest load misses one)."""

        def missed(out: dict[str, Any]) -> bool:
            return out["ttft_ms"] > ttft_slo_ms or out["tpot_ms"] > tpot_slo_ms

        if missed(self.at(self.lightest)):
            return 0.0
        first_miss = self.first(missed)
        if first_miss is None:
            return self.ceiling
        if self.kind == "concurrency":
            return first_miss - 1.0
        # the bisection's lower end is within the SLOs; step back by the tolerance from the first miss
        return max(self.lightest, first_miss - RATE_TOLERANCE * self.saturation_requests_per_s)


def _grid(kind: str, top: float, knee: float | None, extra: list[float], lightest: float) -> list[float]:
    """Evenly spaced loads up to ``top``, a finer run from just below the knee (where the curve bends) and ``extra``."""
    coarse = GRID_POINTS - FINE_POINTS
    loads = [top * (i + 1) / coarse for i in range(coarse)]
    if knee is not None and knee < top:
        start = max(lightest, knee - top / coarse)
        loads += [start + (top - start) * (j + 1) / FINE_POINTS for j in range(FINE_POINTS)]
    loads += [x for x in extra if lightest <= x <= top]
    if kind == "concurrency":
        loads = [float(max(1, round(x))) for x in loads] + [1.0]
    return sorted(set(loads))


def queue_share(out: dict[str, Any]) -> float:
    """The share of TTFT a request spends waiting for a free KV slot."""
    return out["queue_ms"] / out["ttft_ms"] if out["ttft_ms"] > 0 else 0.0


def _point(load: float, out: dict[str, Any]) -> dict[str, float]:
    point = {"load": load}
    point.update({name: out[name] for name in POINT_FIELDS if name != "load"})
    return point


def latency_curve(replica: Replica, kind: str, operating: float, ttft_slo_ms: float, tpot_slo_ms: float) -> dict[str, Any]:
    """The curve, knee, SLO limit and operating point of one replica (definitions in the module docstring)."""
    s = _Sweep(replica, kind)
    unloaded = s.at(s.lightest)["ttft_ms"]
    knee = s.first(lambda out: queue_share(out) >= KNEE_QUEUE_SHARE)
    slo = s.last_within(ttft_slo_ms, tpot_slo_ms)
    far = s.first(lambda out: queue_share(out) >= SWEEP_QUEUE_SHARE, low=knee) if knee is not None else None
    top = max(far if far is not None else s.ceiling, slo + (1.0 if kind == "concurrency" else 0.0))
    if kind == "concurrency" or operating < s.saturation_requests_per_s:
        top = max(top, operating)
    top = min(top, s.ceiling)
    extra = [x for x in (knee, slo, operating) if x]
    if kind == "concurrency":
        extra += [float(replica.capacity), float(replica.capacity + 1)]
        if knee is not None and knee > 1:
            extra.append(knee - 1.0)
    curve = [_point(load, s.at(load)) for load in _grid(kind, top, knee, extra, s.lightest)]

    at = s.at(operating)
    result: dict[str, Any] = {
        "sweep": kind,
        "unloaded_ttft_ms": unloaded,
        "knee_queue_share": KNEE_QUEUE_SHARE,
        "knee_load": knee if knee is not None else top,
        "max_load_within_slo": slo,
        "saturation_requests_per_s": s.saturation_requests_per_s,
        "ttft_slo_ms": ttft_slo_ms,
        "tpot_slo_ms": tpot_slo_ms,
        "meets_slo": at["stable"] if "stable" in at else True,
        "curve": curve,
    }
    result["meets_slo"] = bool(result["meets_slo"] and at["ttft_ms"] <= ttft_slo_ms and at["tpot_ms"] <= tpot_slo_ms)
    named = "concurrency" if kind == "concurrency" else "requests_per_s"
    result[f"knee_{named}"] = result["knee_load"]
    result["slo_limit_concurrency" if kind == "concurrency" else "slo_limit_requests_per_s"] = slo
    result["operating"] = at
    result["knee_found"] = knee is not None
    result["sweep_model"] = s
    return result


def _knee_derivation(kind: str, r: dict[str, Any], s_at: Callable[[float], dict[str, Any]]) -> Derivation:
    knee = r["knee_load"]
    unit = "count" if kind == "concurrency" else "requests_per_s"
    out = s_at(knee)
    at = (f"{num(out['queue_ms'] * 1e-3, 's')} ÷ {num(out['ttft_ms'] * 1e-3, 's')} = {num(queue_share(out), 'ratio')} "
          f"≥ {num(KNEE_QUEUE_SHARE, 'ratio')} at {num(knee, unit)}")
    below = knee - 1.0 if kind == "concurrency" else knee - RATE_TOLERANCE * r["saturation_requests_per_s"]
    if below >= (1.0 if kind == "concurrency" else r["saturation_requests_per_s"] * LIGHT_RATE):
        before = s_at(below)
        at = f"{num(queue_share(before), 'ratio')} at {num(below, unit)}; " + at
    return Derivation(
        "knee: the smallest load at which the wait for a KV slot is a quarter of TTFT",
        "smallest load with queue wait ÷ TTFT ≥ the knee share",
        at,
        knee,
        unit,
    )


def _slo_derivation(kind: str, r: dict[str, Any], s_at: Callable[[float], dict[str, Any]]) -> Derivation:
    limit = r["max_load_within_slo"]
    unit = "count" if kind == "concurrency" else "requests_per_s"
    if limit > 0:
        out = s_at(limit)
        where = (f"TTFT = {num(out['ttft_ms'] * 1e-3, 's')} ≤ {num(r['ttft_slo_ms'] * 1e-3, 's')} and "
                 f"TPOT = {num(out['tpot_ms'] * 1e-3, 's')} ≤ {num(r['tpot_slo_ms'] * 1e-3, 's')} at {num(limit, unit)}")
    else:
        out = s_at(1.0 if kind == "concurrency" else r["saturation_requests_per_s"] * LIGHT_RATE)
        where = (f"even unloaded, TTFT = {num(out['ttft_ms'] * 1e-3, 's')} and TPOT = {num(out['tpot_ms'] * 1e-3, 's')} "
                 f"against {num(r['ttft_slo_ms'] * 1e-3, 's')} and {num(r['tpot_slo_ms'] * 1e-3, 's')}")
    return Derivation("largest load within both SLOs", "largest load with TTFT ≤ TTFT SLO and TPOT ≤ TPOT SLO",
                      where, limit, unit)


@calculation("latency_curve")
def latency_curve_calculation(params: dict[str, Any]) -> dict[str, Any]:
    """TTFT, TPOT and throughput of one replica against concurrency or request rate (see module docstring)."""
    reject_unknown(params, LATENCY_CURVE_PARAMS)
    d = read_deployment(params)
    prompt, output = read_tokens(params, d.model)
    kind = read_choice(params, "sweep", SWEEPS, "rate")
    concurrency = read_int(params, "concurrency", 1, MAX_LOAD, 16)
    rate = read_float(params, "request_rate", 0.0, float(MAX_LOAD), 1.0, low_inclusive=False)
    ttft_slo = read_float(params, "ttft_slo_ms", 1.0, 600_000.0, 1000.0)
    tpot_slo = read_float(params, "tpot_slo_ms", 1.0, 10_000.0, 50.0)
    replica = Replica(d, prompt, output)
    if not replica.mem.fits:
        raise InputError("tp", (
            f"{d.model.id} in {d.weights.id} on {d.tp}× {d.gpu.id} leaves no room for one "
            f"{prompt + output:,}-token sequence; raise tp, narrow the weights or pick a GPU with more memory"))
    operating = float(concurrency) if kind == "concurrency" else rate
    found = latency_curve(replica, kind, operating, ttft_slo, tpot_slo)
    at = found.pop("operating")
    knee_found = found.pop("knee_found")
    s_at = found.pop("sweep_model").at
    result: dict[str, Any] = {
        "model": d.model.id, "gpu": d.gpu.id, "tp": d.tp, "gpus": d.tp, "weights": d.weights.id, "kv": d.kv.id,
        "input_tokens": prompt, "output_tokens": output, "mode": kind,
        "request_rate": rate, "offered_concurrency": concurrency,
        **{k: v for k, v in at.items() if k != "warnings"},
        "requests_in_flight": at["concurrency"],
    }
    result.update(memory_outputs(d, replica.mem))
    result.update(found)
    result.setdefault("stable", True)
    warnings = list(at["warnings"])
    if not knee_found:
        warnings.append("no request waits for a KV slot within the load limit; the knee marker sits at the end of the sweep")
    if found["max_load_within_slo"] == 0:
        warnings.append("no load meets both SLOs: even a lone request misses one; relax an SLO, raise tp or use a faster GPU")
    elif not found["meets_slo"]:
        warnings.append(f"the chosen load misses an SLO; the largest load within both is {num(found['max_load_within_slo'], 'count' if kind == 'concurrency' else 'requests_per_s')}")
    result["warnings"] = warnings

    derivs = serving_derivations(replica, result)
    derivs["knee_load"] = _knee_derivation(kind, found, s_at)
    derivs["max_load_within_slo"] = _slo_derivation(kind, found, s_at)
    result["derivations"] = derivs
    return result
