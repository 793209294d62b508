"""The Q&A benchmark's figures: one run's measurements, printed, then one JSON line with every
run, the core count and each strategy's ratios to the baseline's."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

# Figures compared with the baseline's (ratio = this strategy's / the baseline's).
RATIO_FIGURES = (
    "votes_per_s",
    "visible_p50_ms",
    "visible_p95_ms",
    "visible_p99_ms",
    "server_cpu_percent",
    "entries_per_vote",
)


@dataclass
class Result:
    processes: int
    voters: int
    questions: int
    votes_per_voter: int
    strategy: str = ""
    tick_ms: float = 0.0
    requests: int = 0
    accepted_changes: int = 0
    duplicates_ignored: int = 0
    errors: int = 0
    seconds: float = 0.0
    votes_per_s: float = 0.0
    reply_p50_ms: float | None = None
    reply_p99_ms: float | None = None
    # From the voter's ack to every probe showing the count.
    visible_p50_ms: float | None = None
    visible_p95_ms: float | None = None
    visible_p99_ms: float | None = None
    visible_max_ms: float | None = None
    # From sending the vote (includes the vote's own round trip and queueing).
    sent_visible_p50_ms: float | None = None
    sent_visible_p99_ms: float | None = None
    # Stream entries written per counted vote (1 on the per-vote path).
    entries_per_vote: float | None = None
    server_p50_ms: float | None = None
    server_p99_ms: float | None = None
    server_cpu_percent: float = 0.0
    redis_cpu_percent: float = 0.0
    generator_cpu_percent: float = 0.0
    # Time the servers' event loops were runnable but waiting for a CPU (other processes), as
    # % of the run, and the machine's 1-minute load average at its end.
    server_wait_percent: float | None = None
    load_average: float = 0.0
    exact: bool = False
    mismatches: list[str] = field(default_factory=list)
    void: str = ""


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_result(result: Result, args: argparse.Namespace) -> None:
    pace = f"{args.rate:g} votes/s offered" if args.rate else "all at once"
    print(f"-- {result.strategy} (tick {result.tick_ms:g} ms), {pace}")
    print(
        f"{result.voters} voters x {result.votes_per_voter} questions (+1 repeat) over "
        f"{result.questions} questions, {result.processes} server processes, "
        f"{os.cpu_count()} cores"
    )
    print(
        f"votes: {result.requests} requests in {result.seconds:.2f} s = "
        f"{result.votes_per_s:,.0f}/s; {result.accepted_changes} counted, "
        f"{result.duplicates_ignored} repeats ignored, {result.errors} errors; vote -> reply "
        f"p50 {_fmt(result.reply_p50_ms)} ms, p99 {_fmt(result.reply_p99_ms)} ms"
    )
    print(
        f"ack -> visible to all {args.probes} probes: p50 {_fmt(result.visible_p50_ms)} ms, "
        f"p95 {_fmt(result.visible_p95_ms)} ms, p99 {_fmt(result.visible_p99_ms)} ms, max "
        f"{_fmt(result.visible_max_ms)} ms (from sending: p50 "
        f"{_fmt(result.sent_visible_p50_ms)}, p99 {_fmt(result.sent_visible_p99_ms)} ms); "
        f"server stored -> written p50/p99 "
        f"{_fmt(result.server_p50_ms)}/{_fmt(result.server_p99_ms)} ms; stream entries per "
        f"counted vote {_fmt(result.entries_per_vote)}"
    )
    print(
        f"CPU: servers {result.server_cpu_percent:.0f} %, redis {result.redis_cpu_percent:.0f} %"
        f", generator {result.generator_cpu_percent:.0f} % of a core; servers waiting for a "
        f"CPU {_fmt(result.server_wait_percent)} % of the time, load average "
        f"{result.load_average:.1f}"
    )
    print(
        "final counts == distinct voters: "
        + ("EXACT" if result.exact else "MISMATCH " + "; ".join(result.mismatches))
        + (f" ({result.errors} requests timed out or failed)" if result.errors else "")
        + (f"  VOID: {result.void}" if result.void else "")
    )


def _ratio(new: float | None, old: float | None) -> float | None:
    if new is None or old is None or old == 0:
        return None
    return new / old


def print_summary(results: list[Result], args: argparse.Namespace) -> None:
    """The ratios to the first (baseline) run, then the one JSON line."""
    baseline = results[0]
    ratios: list[dict[str, Any]] = [
        {
            "strategy": result.strategy,
            "baseline": baseline.strategy,
            **{
                name: _ratio(getattr(result, name), getattr(baseline, name))
                for name in RATIO_FIGURES
            },
        }
        for result in results[1:]
    ]
    for row in ratios:
        print(
            f"{row['strategy']} / {row['baseline']}: ack -> visible p99 "
            f"x{_fmt(row['visible_p99_ms'])}, votes/s x{_fmt(row['votes_per_s'])}, server CPU "
            f"x{_fmt(row['server_cpu_percent'])}, stream entries per vote "
            f"x{_fmt(row['entries_per_vote'])}"
        )
    body = {
        "bench": "qa",
        "cpu_count": os.cpu_count(),
        "offered_votes_per_s": args.rate or None,
        "exact": all(result.exact for result in results),
        "runs": [asdict(result) for result in results],
        "ratios_to_baseline": ratios,
    }
    print(json.dumps(body))
