"""The chat benchmark's figures: one phase's measurements, printed as a table, then one JSON
line with every phase, the core count and each strategy's ratios to the baseline's."""

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
    strategy: str = ""
    tick_ms: float = 0.0
    sent: int = 0
    deliveries: int = 0
    # Over the whole phase (warm-up, window, drain): every message to every client?
    expected: int = 0
    received_total: int = 0
    # Receivers that got fewer messages than were sent (a slow one is dropped and reconnects).
    short_clients: int = 0
    # Per message number: messages some receiver missed, and repeats seen by any receiver.
    messages_missing: int = 0
    repeated: int = 0
    all_delivered: bool = False
    acked: int = 0
    send_errors: int = 0
    deliveries_per_s: float = 0.0
    delivered_share: float = 0.0
    server_cpu_percent: float = 0.0
    server_cpu_us_per_delivery: float = 0.0
    deliveries_per_core_s: float = 0.0
    # Of the CPU per delivery, the kernel's (system time: the socket writes, mostly), and how
    # many deliveries one socket write carried (above 1 when a tick grouped messages).
    server_kernel_us_per_delivery: float = 0.0
    deliveries_per_write: float = 0.0
    redis_cpu_percent: float = 0.0
    generator_cpu_percent: float = 0.0
    probe_p50_ms: float | None = None
    probe_p95_ms: float | None = None
    probe_p99_ms: float | None = None
    server_p50_ms: float | None = None
    server_p99_ms: float | None = None
    dropped_slow: int = 0
    # Time the servers' event loops were runnable but waiting for a CPU (other processes),
    # as % of the window, and the machine's 1-minute load average at the window's end.
    server_wait_percent: float | None = None
    load_average: float = 0.0
    # Servers' resident memory after connecting the receivers, minus before, per receiver.
    rss_per_client_bytes: float = 0.0
    void: str = ""


# Figures compared with the baseline strategy's (ratio = this strategy's / the baseline's).
RATIO_FIGURES = (
    "deliveries_per_core_s",
    "server_cpu_us_per_delivery",
    "server_cpu_percent",
    "probe_p50_ms",
    "probe_p99_ms",
    "server_p99_ms",
)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio(new: float | None, old: float | None) -> float | None:
    if new is None or old is None or old == 0:
        return None
    return new / old


def ratios(phases: list[Phase]) -> list[dict[str, Any]]:
    """Each non-baseline phase against the baseline phase of the same clients and processes
    (the first strategy run for them)."""
    baselines: dict[tuple[int, int], Phase] = {}
    found = []
    for phase in phases:
        key = (phase.clients, phase.processes)
        baseline = baselines.setdefault(key, phase)
        if baseline is phase:
            continue
        found.append(
            {
                "clients": phase.clients,
                "processes": phase.processes,
                "strategy": phase.strategy,
                "baseline": baseline.strategy,
                **{
                    name: _ratio(getattr(phase, name), getattr(baseline, name))
                    for name in RATIO_FIGURES
                },
            }
        )
    return found


def print_report(result: dict[str, Any], args: argparse.Namespace) -> None:
    publish = result["publish"]
    phases: list[Phase] = result["phases"]
    print(
        f"raw redis-py PUBLISH: {publish['publish_per_s']:,.0f}/s one by one, "
        f"{publish['publish_pipelined_per_s']:,.0f}/s pipelined x{PUBLISH_PIPELINE}"
    )
    print(f"rate {args.rate:g} msg/s, window {args.seconds:g} s, {os.cpu_count()} cores")
    header = (
        f"{'strategy':>11} {'procs':>5} {'clients':>7} {'deliv/s':>9} {'share':>6} "
        f"{'srv CPU%':>8} {'us/deliv':>8} {'kernel':>6} {'d/write':>7} {'deliv/core-s':>12} "
        f"{'probe p50/p95/p99 ms':>22} "
        f"{'server p50/p99':>14} {'kB/client':>9} {'redis%':>6} {'gen%':>5} {'wait%':>5} "
        f"{'load':>4}"
    )
    print(header)
    for phase in phases:
        probe = "/".join(
            _fmt(v) for v in (phase.probe_p50_ms, phase.probe_p95_ms, phase.probe_p99_ms)
        )
        print(
            f"{phase.strategy:>11} {phase.processes:>5} {phase.clients:>7} "
            f"{phase.deliveries_per_s:>9,.0f} {phase.delivered_share:>6.1%} "
            f"{phase.server_cpu_percent:>8.1f} {phase.server_cpu_us_per_delivery:>8.1f} "
            f"{phase.server_kernel_us_per_delivery:>6.1f} {phase.deliveries_per_write:>7.2f} "
            f"{phase.deliveries_per_core_s:>12,.0f} {probe:>22} "
            f"{_fmt(phase.server_p50_ms):>6}/{_fmt(phase.server_p99_ms):<7} "
            f"{phase.rss_per_client_bytes / 1000:>9.1f} "
            f"{phase.redis_cpu_percent:>6.1f} {phase.generator_cpu_percent:>5.0f} "
            f"{_fmt(phase.server_wait_percent, 0):>5} {phase.load_average:>4.1f}"
            + (f"  VOID: {phase.void}" if phase.void else "")
        )
    compared = ratios(phases)
    for row in compared:
        print(
            f"{row['strategy']} / {row['baseline']} at {row['clients']} clients, "
            f"{row['processes']} processes: deliveries per core-second "
            f"x{_fmt(row['deliveries_per_core_s'], 2)}, CPU per delivery "
            f"x{_fmt(row['server_cpu_us_per_delivery'], 2)}, probe p99 "
            f"x{_fmt(row['probe_p99_ms'], 2)}"
        )
    delivered = all(phase.all_delivered for phase in phases)
    print(
        "every message to every receiver exactly once: "
        + ("yes" if delivered else "NO (see messages_missing / repeated)")
    )
    body = {
        "bench": "chat",
        "cpu_count": os.cpu_count(),
        **publish,
        "rate": args.rate,
        "seconds": args.seconds,
        "all_delivered": delivered,
        "phases": [
            {
                **asdict(phase),
                "ratio_to_publish": phase.deliveries_per_s / publish["publish_per_s"],
            }
            for phase in phases
        ],
        "ratios_to_baseline": compared,
    }
    print(json.dumps(body))
