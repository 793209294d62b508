"""The Q&A benchmark's clients as figures see them: voters (their acks), probes (the counts they
showed and when), and the vote → visible latency computed from both."""

from __future__ import annotations

import asyncio
import bisect
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from stream.bench.qa_report import Result


@dataclass
class Voter:
    ws: aiohttp.ClientWebSocketResponse
    plan: list[str]
    replies: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    # (question, count it produced) → when the vote's ack arrived.
    acked: dict[tuple[str, int], float] = field(default_factory=dict)
    accepted: set[str] = field(default_factory=set)
    errors: int = 0
    index: int = 0
    # Vote sent → its reply, per accepted request.
    reply_ms: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Pace:
    """Votes spread evenly at ``rate`` per second over all voters (round-robin)."""

    rate: float
    voters: int
    started: float


@dataclass
class Probe:
    ws: aiohttp.ClientWebSocketResponse
    # Per question, the rising counts this probe saw and when it first saw each (a published
    # count may skip values: votes coalesced into one publication).
    counts: dict[str, list[int]] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)
    last: dict[str, int] = field(default_factory=dict)

    def saw(self, qid: str, votes: int, now: float) -> None:
        self.last[qid] = votes
        counts = self.counts.setdefault(qid, [])
        if not counts or votes > counts[-1]:
            counts.append(votes)
            self.times.setdefault(qid, []).append(now)

    def first_at_least(self, qid: str, votes: int) -> float | None:
        """When this probe first showed ``votes`` or more for ``qid``."""
        counts = self.counts.get(qid, [])
        index = bisect.bisect_left(counts, votes)
        return self.times[qid][index] if index < len(counts) else None


def quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def latency(
    result: Result,
    probes: list[Probe],
    sent: dict[tuple[str, int], float],
    voters: list[Voter],
) -> None:
    """Vote → every probe showing its count (or a later one), from the ack and from sending."""
    acked = {key: when for voter in voters for key, when in voter.acked.items()}
    from_ack: list[float] = []
    from_send: list[float] = []
    for (qid, votes), started in sent.items():
        arrivals = [p.first_at_least(qid, votes) for p in probes]
        if any(a is None for a in arrivals):
            continue
        visible = max(a for a in arrivals if a is not None)
        from_send.append((visible - started) * 1000)
        # A count can reach the probes before its own ack reaches the voter: 0 then.
        from_ack.append(max(0.0, visible - acked[(qid, votes)]) * 1000)
    if from_ack:
        ordered = sorted(from_ack)
        result.visible_p50_ms = quantile(ordered, 50)
        result.visible_p95_ms = quantile(ordered, 95)
        result.visible_p99_ms = quantile(ordered, 99)
        result.visible_max_ms = ordered[-1]
        ordered = sorted(from_send)
        result.sent_visible_p50_ms = quantile(ordered, 50)
        result.sent_visible_p99_ms = quantile(ordered, 99)
