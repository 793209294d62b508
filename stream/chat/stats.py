"""Fan-out figures of this process: deliveries, and stored → written latency as a histogram.

Cumulative counts, so a reader (the benchmark, ``/api/chat/stats``) takes the difference of two
snapshots for any window.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

# Upper bounds of the latency buckets, milliseconds (the last bucket is unbounded).
LATENCY_BOUNDS_MS = (
    0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 250, 500, 1000, 2500,
    5000,
)  # fmt: skip


@dataclass(slots=True)
class FanoutStats:
    deliveries: int = 0
    # Frames written to sockets (one write each): deliveries / writes is how many events a
    # write carries on average.
    writes: int = 0
    entries: int = 0
    dropped_slow: int = 0
    latency_counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))

    def record_latency(self, milliseconds: float, times: int = 1) -> None:
        self.latency_counts[bisect.bisect_left(LATENCY_BOUNDS_MS, milliseconds)] += times

    def snapshot(self) -> dict[str, Any]:
        return {
            "deliveries": self.deliveries,
            "writes": self.writes,
            "entries": self.entries,
            "dropped_slow": self.dropped_slow,
            "latency_bounds_ms": list(LATENCY_BOUNDS_MS),
            "latency_counts": list(self.latency_counts),
        }


def percentile_from_counts(counts: list[int], bounds: list[float], q: float) -> float | None:
    """The upper bound of the bucket holding the ``q``-th percentile (None without samples)."""
    total = sum(counts)
    if total == 0:
        return None
    rank = q / 100 * total
    seen = 0
    for index, count in enumerate(counts):
        seen += count
        if seen >= rank:
            return bounds[index] if index < len(bounds) else float("inf")
    return float("inf")
