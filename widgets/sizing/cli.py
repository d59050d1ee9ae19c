"""``python -m sizing …``: the model from a shell. JSON on stdout with ``--json``; on bad input, exit 2 with one line
naming the flag (``sizing: error: --tp: must be from 1 to 64 (got 0)``).

Flags are passed to the calculations as strings, so the same validation (and the same messages) apply to the CLI,
the API and the widgets.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from . import api, catalog
from .errors import InputError
from .formatting import format_field
from .values import UnknownValueKey, evaluate

# Parameter name -> flag, where the flag is not simply "--" + name with hyphens.
_FLAG = {"input_tokens": "--input", "output_tokens": "--output"}


def flag(field: str) -> str:
    return _FLAG.get(field, "--" + field.replace("_", "-"))


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line instead of a usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


def _deployment_flags(p: argparse.ArgumentParser, tp_required: bool = True) -> None:
    p.add_argument("--model", required=True, help="catalog model id, e.g. llama-3.1-70b")
    p.add_argument("--gpu", required=True, help="catalog GPU id, e.g. h100-sxm")
    p.add_argument("--tp", required=tp_required, help="tensor-parallel GPUs per replica")
    p.add_argument("--weights", help="weight precision (default bf16)")
    p.add_argument("--kv", help="KV cache precision (default: the weights' for 8/16-bit weights)")
    p.add_argument("--max-batch-size", dest="max_batch_size", help="engine max sequences per step (default 2048)")
    p.add_argument("--max-num-tokens", dest="max_num_tokens", help="engine token budget per step (default 8192)")
    p.add_argument("--kv-fraction", dest="kv_fraction", help="share of free memory for the KV cache (default 0.9)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sizing", description="LLM serving sizing and latency model")
    parser.add_argument("--json", action="store_true", help="print JSON")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    p = sub.add_parser("estimate", help="TTFT, TPOT, throughput and memory for one deployment and load")
    _deployment_flags(p)
    p.add_argument("--gpus", help="GPUs in the deployment (a multiple of --tp; default --tp)")
    p.add_argument("--input", dest="input_tokens", required=True, help="prompt tokens per request")
    p.add_argument("--output", dest="output_tokens", required=True, help="output tokens per request")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--concurrency", help="clients in a closed loop (whole deployment)")
    mode.add_argument("--rate", help="Poisson arrivals, requests per second (whole deployment)")
    mode.add_argument("--batch", help="requests that start together (whole deployment)")
    mode.add_argument("--max-throughput", dest="max_throughput", action="store_true", help="engine kept full")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")

    p = sub.add_parser("memory", help="weights, workspace and KV capacity per GPU")
    _deployment_flags(p)
    p.add_argument("--pp", help="pipeline stages (default 1)")
    p.add_argument("--context", dest="context_tokens", help="tokens per sequence, input + output (default 4096)")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")

    p = sub.add_parser("fleet", help="replicas, GPUs and cost to serve a request rate within SLOs")
    _deployment_flags(p, tp_required=False)
    p.add_argument("--rate", dest="requests_per_s", required=True, help="requests per second to serve")
    p.add_argument("--input", dest="input_tokens", required=True, help="prompt tokens per request")
    p.add_argument("--output", dest="output_tokens", required=True, help="output tokens per request")
    p.add_argument("--ttft-p95-slo-ms", dest="ttft_p95_slo_ms", help="TTFT SLO at p95 in ms (default 1000)")
    p.add_argument("--tpot-slo-ms", dest="tpot_slo_ms", help="TPOT SLO in ms (default 50)")
    p.add_argument("--headroom", help="capacity kept spare, 0-0.9 (default 0.2)")
    p.add_argument("--spot-fraction", dest="spot_fraction", help="share of GPUs on spot, 0-1 (default 0)")
    p.add_argument("--disaggregate", action="store_const", const=True, help="separate prefill and decode pools")
    p.add_argument("--kv-link-gb-per-s", dest="kv_link_gb_per_s", help="prefill→decode link per GPU (default 50)")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")

    p = sub.add_parser("collectives", help="time of one collective over a GPU group")
    p.add_argument("--op", help="all_reduce, all_gather, reduce_scatter or all_to_all")
    p.add_argument("--algorithm", help="ring or tree")
    p.add_argument("--gpus", required=True)
    p.add_argument("--message-bytes", dest="message_bytes", required=True)
    p.add_argument("--gpu", help="catalog GPU id (its interconnect)")
    p.add_argument("--link-gb-per-s", dest="link_gb_per_s")
    p.add_argument("--latency-us", dest="latency_us")
    p.add_argument("--compute-ms", dest="compute_ms")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")

    for name, text in (("list-models", "catalog models"), ("list-gpus", "catalog GPUs"), ("accuracy", "model vs measurements")):
        sp = sub.add_parser(name, help=text)
        sp.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")

    p = sub.add_parser("value", help="evaluate a value key, e.g. model.llama-3.1-70b.kv_bf16_bytes_per_token")
    p.add_argument("key")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    return parser


_CALCULATION = {"estimate": "estimate", "memory": "memory", "fleet": "fleet", "collectives": "collectives"}


def _params(args: argparse.Namespace) -> dict[str, Any]:
    skip = {"command", "json"}
    params = {k: v for k, v in vars(args).items() if k not in skip and v is not None and v is not False}
    return params


def _text(result: dict[str, Any]) -> str:
    lines = []
    for name, value in result.items():
        if name in {"derivations", "warnings"}:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            lines.append(f"{name}: {value}")
        else:
            lines.append(f"{name}: {format_field(name, value)}")
    for derivation in (result.get("derivations") or {}).values():
        lines.append(f"  {derivation['quantity']} = {derivation['formula']} = {derivation['substitution']} = {derivation['result_text']}")
    for warning in result.get("warnings") or []:
        lines.append(f"warning: {warning}")
    return "\n".join(lines)


def _listing(command: str) -> list[dict[str, Any]]:
    if command == "list-models":
        return [{"id": m.id, "name": m.name, "params": m.published_params, "layers": m.layers,
                 "moe": m.moe is not None, "mla": m.mla is not None} for m in catalog.models().values()]
    return [{"id": g.id, "name": g.name, "memory_bytes": g.memory_bytes, "hbm_bandwidth_bytes_per_s": g.hbm_bandwidth_bytes_per_s,
             "interconnect": g.interconnect_kind, "price_usd_per_hour": g.price_usd_per_hour_on_demand} for g in catalog.gpus().values()]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as error:
        print(f"sizing: error: {error}", file=sys.stderr)
        return 2
    if not args.command:
        print("sizing: error: a command is required (estimate, memory, fleet, collectives, list-models, list-gpus, value, accuracy)", file=sys.stderr)
        return 2
    as_json = getattr(args, "json", False)
    try:
        if args.command in _CALCULATION:
            result = api.compute(_CALCULATION[args.command], _params(args))
            print(json.dumps(result, indent=2, allow_nan=False) if as_json else _text(result))
        elif args.command in {"list-models", "list-gpus"}:
            rows = _listing(args.command)
            if as_json:
                print(json.dumps(rows, indent=2))
            else:
                for row in rows:
                    print(f"{row['id']:<18} {row['name']}")
        elif args.command == "accuracy":
            result = api.compute("accuracy", {})
            if as_json:
                print(json.dumps(result, indent=2, allow_nan=False))
            else:
                for row in result["rows"]:
                    status = f"{row['error']:+.1%}" if row["status"] == "ok" else row["status"]
                    print(f"{row['id']:<6} {row['metric']:<22} measured {row['measured']:<10g} predicted {row['predicted']:<10.4g} {status}")
                for key, value in result.items():
                    if key != "rows" and isinstance(value, (int, float)) and not isinstance(value, bool):
                        print(f"{key}: {format_field(key, value)}")
        else:
            value = evaluate(args.key)
            if as_json:
                print(json.dumps({"key": value.key, "value": value.raw, "text": value.text(), "kind": value.kind,
                                  "explanation": value.explanation}, allow_nan=False))
            else:
                print(f"{value.text()}  ({value.kind}: {value.explanation})")
    except InputError as error:
        print(f"sizing: error: {flag(error.field)}: {error.message}", file=sys.stderr)
        return 2
    except UnknownValueKey as error:
        print(f"sizing: error: {error}".replace("\n", " "), file=sys.stderr)
        return 2
    return 0


__all__ = ["main", "build_parser", "flag"]
