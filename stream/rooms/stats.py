"""Small measurement helpers for rooms: a bounded sample window with percentiles."""

from __future__ import annotations

from collections import deque

LATENCY_WINDOW = 20_000


class SampleWindow:
    """The last ``size`` samples; percentiles over them (nearest rank)."""

    def __init__(self, size: int = LATENCY_WINDOW) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self.count = 0

    def add(self, value: float) -> None:
        self._samples.append(value)
        self.count += 1

    def clear(self) -> None:
        self._samples.clear()

    def percentile(self, q: float) -> float | None:
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
        return ordered[index]

    def __len__(self) -> int:
        return len(self._samples)
