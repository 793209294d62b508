"""The chat benchmark's figures: one phase's measurements, printed as a table (and JSON)."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict, dataclass
from typing import Any

from stream.bench.chat_config import PUBLISH_PIPELINE


@dataclass
class Phase:
    processes: int
    clients: int
    rate: float
    seconds: float
    sent: int = 0
    deliveries: int = 0
    # Over the whole phase (warm-up, window, drain): every message to every client?
    expected: int = 0
    received_total: int = 0
    # Receivers that got fewer messages than were sent (a slow one is dropped and reconnects).
    short_clients: int = 0
    acked: int = 0
    send_errors: int = 0
    deliveries_per_s: float = 0.0
    delivered_share: float = 0.0
    server_cpu_percent: float = 0.0
    server_cpu_us_per_delivery: float = 0.0
    deliveries_per_core_s: float = 0.0
    redis_cpu_percent: float = 0.0
    generator_cpu_percent: float = 0.0
    probe_p50_ms: float | None = None
    probe_p99_ms: float | None = None
    server_p50_ms: float | None = None
    server_p99_ms: float | None = None
    dropped_slow: int = 0
    void: str = ""


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_report(result: dict[str, Any], args: argparse.Namespace) -> None:
    publish = result["publish"]
    phases: list[Phase] = result["phases"]
    print(
        f"raw redis-py PUBLISH: {publish['publish_per_s']:,.0f}/s one by one, "
        f"{publish['publish_pipelined_per_s']:,.0f}/s pipelined x{PUBLISH_PIPELINE}"
    )
    print(f"rate {args.rate:g} msg/s, window {args.seconds:g} s, {os.cpu_count()} cores")
    header = (
        f"{'procs':>5} {'clients':>7} {'deliv/s':>9} {'share':>6} {'srv CPU%':>8} "
        f"{'us/deliv':>8} {'deliv/core-s':>12} {'probe p50/p99 ms':>17} "
        f"{'server p50/p99 ms':>18} {'redis%':>6} {'gen%':>5} {'vs PUBLISH':>10}"
    )
    print(header)
    for phase in phases:
        ratio = phase.deliveries_per_s / publish["publish_per_s"]
        print(
            f"{phase.processes:>5} {phase.clients:>7} {phase.deliveries_per_s:>9,.0f} "
            f"{phase.delivered_share:>6.1%} {phase.server_cpu_percent:>8.1f} "
            f"{phase.server_cpu_us_per_delivery:>8.1f} {phase.deliveries_per_core_s:>12,.0f} "
            f"{_fmt(phase.probe_p50_ms):>8}/{_fmt(phase.probe_p99_ms):<8} "
            f"{_fmt(phase.server_p50_ms):>9}/{_fmt(phase.server_p99_ms):<8} "
            f"{phase.redis_cpu_percent:>6.1f} {phase.generator_cpu_percent:>5.0f} "
            f"{ratio:>10.2f}" + (f"  VOID: {phase.void}" if phase.void else "")
        )
    if args.json:
        body = {
            **publish,
            "rate": args.rate,
            "seconds": args.seconds,
            "phases": [
                {
                    **asdict(phase),
                    "ratio_to_publish": phase.deliveries_per_s / publish["publish_per_s"],
                }
                for phase in phases
            ],
        }
        print(json.dumps(body))
