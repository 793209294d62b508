"""Token buckets keyed by person or address: a steady rate with a burst, in this process."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

# Buckets kept before idle (full) ones are forgotten.
MAX_BUCKETS = 50_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``allow(key)`` takes one token from ``key``'s bucket, or says how long until one is free."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_buckets = max_buckets
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, key: str) -> float:
        """0.0 when allowed (a token is taken); otherwise the seconds to wait."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_buckets:
                self._forget_idle(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        refill = self.burst / self.rate
        idle = [k for k, b in self._buckets.items() if now - b.updated >= refill]
        for key in idle:
            del self._buckets[key]
        if len(self._buckets) >= self._max_buckets:
            # Everyone is active: forget the oldest half rather than grow without bound.
            oldest = sorted(self._buckets, key=lambda k: self._buckets[k].updated)
            for key in oldest[: len(oldest) // 2]:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
