"""Serving one model on a replica with continuous batching: TTFT, TPOT and throughput in four load modes.

Engine behaviour modelled (TensorRT-LLM/vLLM style in-flight batching with chunked prefill):

* each step carries every running sequence's next decode token plus prompt chunks of at most ``max_num_tokens``
  tokens; a prompt of ``I`` tokens is split into ``n_c = ⌈I ÷ max_num_tokens⌉`` chunks of ``u = I ÷ n_c``;
* a sequence lives ``S = max(L − 1 + n_c, B·(I + L − 1) ÷ max_num_tokens)`` steps: its prompt chunks, then
  ``L − 1`` decode steps (the first output token comes out of the prefill); the second term is the step token
  budget (prompt and decode tokens alike) binding, when prompts queue for room in steps;
* a tagged request sharing the engine with ``o`` other sequences (time average) sees per step
  ``o·(L−1) ÷ S`` other decoders and ``μ = o·I ÷ (S·u)`` other prompt chunks; a step with ``μ ≤ 1`` expected
  chunks is a mix ``(1−μ)·t(decode only) + μ·t(decode + one chunk)`` (interpolated between whole numbers of
  chunks above one), so a decode step that also carries prefill chunks is longer and TPOT reflects that;
* TTFT(engine) = ``n_c`` steps carrying its own chunks (+ any wait for prefill budget);
  TPOT = the mean step it decodes in; E2E(engine) = TTFT + (L−1)·TPOT; by Little's law a replica with ``B``
  sequences in flight completes ``B ÷ E2E`` requests per second.

Modes (inputs are for the whole deployment of ``gpus ÷ tp`` replicas and are split evenly across replicas):

* ``concurrency`` C clients in a closed loop: ``B = min(C, max_concurrency)``; the excess waits for a slot,
  ``(C − B)·E2E ÷ B`` less the request overhead it spends outside the engine (Little's law over the loop);
* ``rate`` R requests/s, Poisson: solve ``B = R·E2E(B)`` (an arrival sees ``min(B, c − 1)`` others); TTFT adds
  half a step (an arrival waits for the step in flight) and the M/M/c wait for a KV slot with ``c = max_concurrency`` servers (Sakasegawa's approximation
  ``W = ρ^√(2(c+1)) ÷ ((1 − ρ)·R)``, ρ = B ÷ c) — it grows without bound as ρ → 1; no solution ⇒ unstable.
  TTFT p95 = mean + 0.45 step (the residual wait is uniform over a step) + (ln 20 − 1) × W (exponential tail);
* ``batch`` B requests start together: prompts go through in steps of ``max_num_tokens`` tokens (mean TTFT is
  the middle of that phase), then ``L − 1`` decode steps; more than max_concurrency runs in waves;
* ``max_throughput``: the engine kept full, ``B = max_concurrency`` (an offline benchmark).

Every served request also pays a fixed request overhead (HTTP, tokenisation) in its TTFT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .derivation import Derivation, num
from .errors import InputError
from .latency import StepModel, StepTime
from .memory import (
    DEPLOYMENT_PARAMS,
    Deployment,
    MemoryPlan,
    memory_derivations,
    memory_outputs,
    plan,
    read_deployment,
    read_tokens,
)
from .registry import calculation
from .validation import read_bool, read_float, read_int, reject_unknown

MODES = ("concurrency", "rate", "batch", "max_throughput")
# TTFT p95 in rate mode: an arrival waits for the step in flight, uniform on [0, step] (mean ½, p95 0.95 of a
# step: 0.45 step above the mean), and an exponential-tailed wait for a slot, whose p95 is ln 20 ≈ 3.0 × its mean.
P95_RESIDUAL = 0.45
P95_QUEUE = math.log(20.0) - 1.0
MAX_LOAD = 100_000


@dataclass(frozen=True)
class RequestTiming:
    """What one request experiences at a steady state with ``others`` other sequences in the engine."""

    ttft_engine_s: float
    tpot_s: float
    mean_step_s: float  # the average step of the whole engine
    other_decoders: float  # decode tokens of the other sequences in a step (time average)
    all_decoders: float  # decode tokens of every sequence in a step, this one included (time average)

    def e2e_engine_s(self, output_tokens: int) -> float:
        return self.ttft_engine_s + (output_tokens - 1) * self.tpot_s


class Replica:
    """One replica's serving model: memory plan + step model + the steady-state request timing."""

    def __init__(self, d: Deployment, input_tokens: int, output_tokens: int, request_overhead_s: float | None = None):
        self.d = d
        self.I = input_tokens
        self.L = output_tokens
        self.mem: MemoryPlan = plan(d, input_tokens + output_tokens)
        self.sm = StepModel(d)
        self.chunk = d.engine.max_num_tokens
        self.n_chunks = math.ceil(input_tokens / self.chunk)
        self.u = input_tokens / self.n_chunks
        self.decode_context = input_tokens + output_tokens / 2.0
        self.keys = (input_tokens + 1.0) / 2.0
        self.overhead_s = d.engine.request_overhead_s if request_overhead_s is None else request_overhead_s
        self.capacity = max(self.mem.max_concurrency, 1)
        self._timings: dict[float, RequestTiming] = {}  # the searches revisit loads (e.g. the saturated engine)

    # -- steps ---------------------------------------------------------------------------------------------------
    def _step(self, decoders: float, chunks: float) -> float:
        prompt = min(chunks * self.u, max(self.chunk, self.u))
        return self.sm.step_s(decoders, self.decode_context, prompt, self.keys, decoders + chunks / self.n_chunks)

    def _mix(self, decoders: float, chunks: float) -> float:
        """Mean step time when the number of prompt chunks per step averages ``chunks``."""
        if chunks <= 0:
            return self._step(decoders, 0.0)
        if chunks <= 1:
            return (1 - chunks) * self._step(decoders, 0.0) + chunks * self._step(decoders, 1.0)
        low = math.floor(chunks)
        frac = chunks - low
        base = self._step(decoders, low)
        return base if frac == 0 else (1 - frac) * base + frac * self._step(decoders, low + 1.0)

    def timing(self, others: float) -> RequestTiming:
        """Steady state seen by a request sharing the engine with ``others`` sequences (formulas in the docstring)."""
        others = max(others, 0.0)
        if others not in self._timings:
            self._timings[others] = self._timing(others)
        return self._timings[others]

    def _timing(self, others: float) -> RequestTiming:
        decode_steps = self.L - 1
        # The step token budget covers decode tokens too: all B·(I + L − 1) tokens of a cycle must pass through it.
        S = max(decode_steps + self.n_chunks, (others + 1.0) * (self.I + decode_steps) / self.chunk)
        other_decoders = others * decode_steps / S
        other_chunks = others * self.I / (S * self.u)
        tpot = self._mix(1.0 + other_decoders, other_chunks) if decode_steps > 0 else 0.0
        own = self._step(other_decoders, 1.0 + other_chunks)
        all_decoders = (others + 1.0) * decode_steps / S
        all_chunks = (others + 1.0) * self.I / (S * self.u)
        mean_step = self._mix(all_decoders, all_chunks)
        budget_wait = max(0.0, S - decode_steps - self.n_chunks) * mean_step
        return RequestTiming(self.n_chunks * own + budget_wait, tpot, mean_step, other_decoders, all_decoders)

    def decode_step(self, t: RequestTiming) -> StepTime:
        """The step this request decodes in, without prompt chunks: its own token plus the others' decoders. (The
        time-averaged engine step counts this request as decoding only part time.)"""
        return self.sm.step(1.0 + t.other_decoders, self.decode_context)

    def prefill_share(self, t: RequestTiming) -> float:
        """Fraction of engine time spent on prompt work: 1 − (a step of the decoders alone ÷ the mean step)."""
        light = self.sm.step_s(t.all_decoders, self.decode_context)
        return max(0.0, 1.0 - light / t.mean_step_s) if t.mean_step_s > 0 else 0.0

    # -- modes ---------------------------------------------------------------------------------------------------
    def closed_loop(self, clients: float) -> dict[str, Any]:
        running = min(clients, self.capacity)
        t = self.timing(running - 1.0)
        e2e_engine = t.e2e_engine_s(self.L)
        # Little's law over the loop: clients = X · (overhead + queue + engine time); a full engine caps X at
        # running ÷ engine time, so the excess clients wait (C − running) ÷ X minus the overhead spent outside it.
        queue = max(0.0, (clients - running) * e2e_engine / running - self.overhead_s) if clients > running else 0.0
        ttft = self.overhead_s + queue + t.ttft_engine_s
        e2e = ttft + (self.L - 1) * t.tpot_s
        return self._result(t, ttft, e2e, clients / e2e, running, queue, clients / self.capacity)

    def saturated(self) -> dict[str, Any]:
        """The engine kept full (offline benchmark): max_concurrency sequences always running."""
        cap = float(self.capacity)
        t = self.timing(cap - 1.0)
        ttft = self.overhead_s + t.ttft_engine_s
        return self._result(t, ttft, ttft + (self.L - 1) * t.tpot_s, cap / t.e2e_engine_s(self.L), cap, 0.0, 1.0)

    def open_loop(self, rate: float) -> dict[str, Any]:
        cap = float(self.capacity)

        def others(b: float) -> float:
            # Poisson arrivals see the time average b in the engine, but never more than cap − 1 beside them.
            return min(b, cap - 1.0)

        def excess(b: float) -> float:
            return b - rate * self.timing(others(b)).e2e_engine_s(self.L)

        if excess(cap) < 0:
            t = self.timing(cap - 1.0)
            x = cap / t.e2e_engine_s(self.L)
            ttft = self.overhead_s + t.mean_step_s / 2 + t.ttft_engine_s
            result = self._result(t, ttft, ttft + (self.L - 1) * t.tpot_s, x, cap, 0.0, rate / x)
            result["stable"] = False
            result["queue_growth_requests_per_s"] = rate - x
            result["warnings"].append(
                f"unstable: {num(rate, 'requests_per_s')} offered per replica exceeds its capacity of "
                f"{num(x, 'requests_per_s')}; the queue grows by {num(rate - x, 'requests_per_s')} and TTFT grows "
                "without bound (figures shown are for a request admitted at saturation, without its queue wait)"
            )
            return result
        lo, hi = 0.0, cap
        f_lo, f_hi = excess(lo), excess(hi)
        side = 0
        b = hi
        for _ in range(60):  # Illinois false position: a bracketing root finder that converges superlinearly
            b = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
            f_b = excess(b)
            if abs(f_b) < 1e-7 * max(1.0, b) or hi - lo < 1e-9:
                break
            if f_b > 0:
                hi, f_hi = b, f_b
                if side == 1:
                    f_lo /= 2
                side = 1
            else:
                lo, f_lo = b, f_b
                if side == -1:
                    f_hi /= 2
                side = -1
        return self._poisson(self.timing(others(b)), b, rate)

    def open_loop_at_occupancy(self, occupancy: float) -> dict[str, Any]:
        """``open_loop`` at the rate that keeps ``occupancy`` sequences in the engine on average (0 < occupancy < the
        KV slots). Little's law gives that rate directly, occupancy ÷ E2E in the engine, so no root is solved: a
        search over load that only needs to be monotone (fleet capacity) costs one steady state per probe, not five."""
        t = self.timing(min(occupancy, self.capacity - 1.0))
        return self._poisson(t, occupancy, occupancy / t.e2e_engine_s(self.L))

    def _poisson(self, t: RequestTiming, b: float, rate: float) -> dict[str, Any]:
        """The stable open-loop outputs with ``b`` sequences in the engine on average at ``rate`` (M/M/c wait)."""
        cap = float(self.capacity)
        rho = min(b / cap, 1.0 - 1e-12)
        queue = rho ** math.sqrt(2.0 * (cap + 1.0)) / ((1.0 - rho) * rate)
        ttft = self.overhead_s + t.mean_step_s / 2 + queue + t.ttft_engine_s
        e2e = ttft + (self.L - 1) * t.tpot_s
        result = self._result(t, ttft, e2e, rate, rate * e2e, queue, b / cap)
        result["ttft_p95_ms"] = (ttft + P95_RESIDUAL * t.mean_step_s + P95_QUEUE * queue) * 1e3
        result["stable"] = True
        result["queue_growth_requests_per_s"] = 0.0
        return result

    def _wave(self, size: float) -> tuple[float, float, float, StepTime]:
        """(mean TTFT from the wave's start, mean TPOT, makespan, decode step) of ``size`` requests started together.

        Prompts go through ``P = max(size·I ÷ max_num_tokens, n_c)`` steps; completions spread over the last
        ``W = P − max(1, I ÷ max_num_tokens) + 1`` of them, ``r = size ÷ W`` per step; a request finished at step j
        decodes in the prompt steps after it and then in decode-only steps. Mean decoders per prompt step
        ``size·m ÷ P`` with ``m = mean over k of min(k − 1, L − 1)`` over the window; per decode-only step ``r·m'``
        with ``m' = mean over u = 1 … L−1 of min(W, u)``. Mean TTFT = t_prompt·(P + n_c) ÷ 2; each request
        spends on average ``m`` of its L − 1 decode steps inside prompt steps.
        """
        decode_steps = self.L - 1
        prompt_steps = max(size * self.I / self.chunk, float(self.n_chunks))  # the last step carries what is left
        per_step = size * self.I / prompt_steps
        # A prompt longer than one step's budget cannot finish before its own I ÷ max_num_tokens steps, so
        # completions spread over the last W = P − s0 + 1 prompt steps (s0 = max(1, I ÷ max_num_tokens)), not all P:
        # a lone 130k-token prompt finishes in its final chunk and never decodes beside its own prefill.
        window = prompt_steps - max(1.0, self.I / self.chunk) + 1.0
        rate = size / window
        if decode_steps >= window - 1:
            m = (window - 1) / 2
        else:
            m = decode_steps * (2 * window - decode_steps - 1) / (2 * window)
        if decode_steps <= 0:
            m_light = 0.0
        elif window >= decode_steps:
            m_light = (decode_steps + 1) / 2
        else:
            m_light = (window * (window + 1) / 2 + (decode_steps - window) * window) / decode_steps
        prompt_decoders = size * m / prompt_steps if decode_steps > 0 else 0.0
        t_prompt = self.sm.step(prompt_decoders, self.decode_context, per_step, self.keys,
                                prompt_decoders + per_step / self.I).total_s
        light = self.sm.step(max(rate * m_light, 1.0), self.decode_context)
        ttft = t_prompt * (prompt_steps + self.n_chunks) / 2.0
        tpot = (m * t_prompt + (decode_steps - m) * light.total_s) / decode_steps if decode_steps > 0 else 0.0
        return ttft, tpot, prompt_steps * t_prompt + decode_steps * light.total_s, light

    def batch(self, requests: float) -> dict[str, Any]:
        """Waves of max_concurrency requests (uniform lengths finish together, so a wave frees every slot at once)."""
        cap = float(self.capacity)
        full = math.floor(requests / cap + 1e-9)
        rest = requests - full * cap
        ttft_sum = tpot_sum = span_total = 0.0
        light = None
        if full:
            ttft, tpot, span, light = self._wave(cap)
            ttft_sum += cap * (full * ttft + span * full * (full - 1) / 2.0)
            tpot_sum += cap * full * tpot
            span_total += full * span
        if rest > 1e-9:
            ttft, tpot, span, rest_light = self._wave(rest)
            light = light or rest_light
            ttft_sum += rest * (span_total + ttft)
            tpot_sum += rest * tpot
            span_total += span
        ttft_mean = self.overhead_s + ttft_sum / requests
        tpot_mean = tpot_sum / requests
        e2e = ttft_mean + (self.L - 1) * tpot_mean
        makespan = span_total + self.overhead_s
        running = min(requests, cap)
        timing = RequestTiming(ttft_mean, tpot_mean, light.total_s, 0.0, 0.0)
        return self._result(timing, ttft_mean, e2e, requests / makespan, running, 0.0, running / cap, step=light,
                            prefill_share=0.0)

    # -- output --------------------------------------------------------------------------------------------------
    def _result(self, t: RequestTiming, ttft: float, e2e: float, requests_per_s: float, concurrency: float,
                queue_s: float, utilization: float, step: StepTime | None = None,
                prefill_share: float | None = None) -> dict[str, Any]:
        """One operating point's outputs; ``step`` and ``prefill_share`` default to the steady state of ``t``."""
        step = self.decode_step(t) if step is None else step
        return {
            "ttft_ms": ttft * 1e3,
            "tpot_ms": t.tpot_s * 1e3,
            "e2e_ms": e2e * 1e3,
            "requests_per_s": requests_per_s,
            "output_tokens_per_s": requests_per_s * self.L,
            "input_tokens_per_s": requests_per_s * self.I,
            "output_tokens_per_s_per_gpu": requests_per_s * self.L / self.d.gpus,
            "concurrency": concurrency,
            "queue_ms": queue_s * 1e3,
            "utilization": min(utilization, 1.0),
            "mean_step_ms": t.mean_step_s * 1e3,
            "decode_step_ms": step.total_s * 1e3,
            "step_gemm_ms": step.gemm_s * 1e3,
            "step_attention_ms": step.attention_s * 1e3,
            "step_comm_ms": step.comm_s * 1e3,
            "step_overhead_ms": step.overhead_s * 1e3,
            "step_elementwise_ms": step.elementwise_s * 1e3,
            "bound": step.dominant(),
            "prefill_time_fraction": self.prefill_share(t) if prefill_share is None else prefill_share,
            "warnings": [],
        }


def _derivations(r: Replica, out: dict[str, Any]) -> dict[str, Derivation]:
    derivs = memory_derivations(r.d, r.mem)
    derivs["tpot_ms"] = Derivation(
        "time per output token",
        "GEMMs + attention/KV reads + TP all-reduces + fixed step overhead + replicated elementwise work "
        "(+ others' prompt chunks in the step)",
        f"{num(out['step_gemm_ms'] * 1e-3, 's')} + {num(out['step_attention_ms'] * 1e-3, 's')} + "
        f"{num(out['step_comm_ms'] * 1e-3, 's')} + {num(out['step_overhead_ms'] * 1e-3, 's')} + "
        f"{num(out['step_elementwise_ms'] * 1e-3, 's')} + "
        f"{num(max(0.0, out['tpot_ms'] - out['decode_step_ms']) * 1e-3, 's')}",
        out["tpot_ms"] * 1e-3,
        "s",
    )
    derivs["ttft_ms"] = Derivation(
        "time to first token",
        "request overhead + queue wait + prompt steps (prefill of the prompt, sharing steps with decodes)",
        f"{num(r.overhead_s, 's')} + {num(out['queue_ms'] * 1e-3, 's')} + "
        f"{num(max(0.0, out['ttft_ms'] * 1e-3 - r.overhead_s - out['queue_ms'] * 1e-3), 's')}",
        out["ttft_ms"] * 1e-3,
        "s",
    )
    derivs["output_tokens_per_s"] = Derivation(
        "output tokens per second (one replica)",
        "requests in flight ÷ end-to-end latency × output tokens (Little's law)",
        f"{num(out['concurrency'])} ÷ {num(out['e2e_ms'] * 1e-3, 's')} × {num(r.L, 'tokens')}"
        if out["mode"] in ("concurrency", "max_throughput")
        else f"{num(out['requests_per_s'], 'requests_per_s')} × {num(r.L, 'tokens')}",
        out["output_tokens_per_s"],
        "tokens_per_s",
    )
    return derivs


def read_mode(params: dict[str, Any]) -> tuple[str, float]:
    def present(name: str) -> bool:
        value = params.get(name)
        return not (value is None or value is False or (isinstance(value, str) and not value.strip()))

    given = [name for name in MODES if present(name)]
    if "max_throughput" in given and not read_bool(params, "max_throughput"):
        given.remove("max_throughput")
    if len(given) != 1:
        field = given[1] if len(given) > 1 else "concurrency"
        raise InputError(field, "give exactly one of concurrency, rate, batch or max_throughput")
    mode = given[0]
    if mode == "concurrency":
        return mode, float(read_int(params, "concurrency", 1, MAX_LOAD))
    if mode == "rate":
        return mode, read_float(params, "rate", 0.0, float(MAX_LOAD), low_inclusive=False)
    if mode == "batch":
        return mode, float(read_int(params, "batch", 1, MAX_LOAD))
    return mode, 0.0


ESTIMATE_PARAMS = set(DEPLOYMENT_PARAMS) | {"gpus", "input_tokens", "output_tokens", *MODES}


def estimate(d: Deployment, input_tokens: int, output_tokens: int, mode: str, load: float, gpus: int,
             request_overhead_s: float | None = None) -> dict[str, Any]:
    """Serve ``load`` (clients, req/s or requests, for the whole deployment) on ``gpus ÷ tp`` replicas."""
    replicas = gpus // d.tp
    r = Replica(d, input_tokens, output_tokens, request_overhead_s)
    per_replica = load / replicas
    if mode == "concurrency":
        out = r.closed_loop(per_replica)
    elif mode == "rate":
        out = r.open_loop(per_replica)
    elif mode == "batch":
        out = r.batch(per_replica)
    else:
        out = r.saturated()
    out = {"mode": mode, "model": d.model.id, "gpu": d.gpu.id, "gpus": gpus, "tp": d.tp, "replicas": replicas,
           "weights": d.weights.id, "kv": d.kv.id, "input_tokens": input_tokens, "output_tokens": output_tokens,
           **out}
    out.update(memory_outputs(d, r.mem))
    out["prefill_ms"] = r.sm.prefill(input_tokens).total_s * 1e3 if input_tokens <= r.chunk else r.n_chunks * r.sm.prefill(r.u).total_s * 1e3
    out["deployment_requests_per_s"] = out["requests_per_s"] * replicas
    out["deployment_output_tokens_per_s"] = out["output_tokens_per_s"] * replicas
    out.setdefault("stable", True)
    out.setdefault("queue_growth_requests_per_s", 0.0)
    warnings = out["warnings"]
    if not r.mem.fits:
        warnings.insert(0, (
            f"does not fit: {d.model.id} in {d.weights.id} on {d.tp}× {d.gpu.id} leaves no room for one "
            f"{input_tokens + output_tokens:,}-token sequence; the figures assume one sequence fitted"
        ))
    if mode == "max_throughput":
        warnings.append("max_throughput: TTFT is that of a request admitted to a full engine; an offline benchmark's queue wait is not included")
    out["derivations"] = _derivations(r, out)
    return out


@calculation("estimate")
def estimate_calculation(params: dict[str, Any]) -> dict[str, Any]:
    """TTFT, TPOT, throughput and memory for a model on GPUs under one of four load modes (see module docstring)."""
    reject_unknown(params, ESTIMATE_PARAMS)
    d = read_deployment(params)
    gpus = read_int(params, "gpus", 1, 100_000, d.tp)
    if gpus % d.tp:
        raise InputError("gpus", f"must be a multiple of tp={d.tp} (each replica uses tp GPUs; got {gpus})")
    prompt, output = read_tokens(params, d.model)
    mode, load = read_mode(params)
    return estimate(d, prompt, output, mode, load, gpus)
