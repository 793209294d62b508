"""The shared limiter against a real Redis: burst then sustained rate, every subject counted
atomically, nothing counted when refused, and two limiters (two nodes) sharing one allowance."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from stream.common.limits import Limiter, Rate
from stream.store import Redis, connect

RATE = Rate("test", per_second=2.0, burst=3)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    yield client
    await client.aclose()


async def test_burst_then_refused_with_a_wait(redis: Redis) -> None:
    limiter = Limiter(redis)
    results = [await limiter.hit(RATE, ("id", "anna")) for _ in range(4)]
    assert results[:3] == [0.0, 0.0, 0.0]
    assert 0.3 < results[3] <= 0.5  # one token every 0.5 s


async def test_identity_and_address_both_count(redis: Redis) -> None:
    limiter = Limiter(redis)
    # Three identities from one address: the address's burst is spent after three.
    for uid in ("a", "b", "c"):
        assert await limiter.hit(RATE, ("id", uid), ("addr", "10.0.0.1")) == 0.0
    assert await limiter.hit(RATE, ("id", "d"), ("addr", "10.0.0.1")) > 0
    # The refused request counted for nobody: "d" from another address is still fresh.
    for _ in range(3):
        assert await limiter.hit(RATE, ("id", "d"), ("addr", "10.0.0.2")) == 0.0


async def test_parallel_requests_cannot_exceed_the_burst(redis: Redis) -> None:
    limiters = [Limiter(redis), Limiter(redis)]  # two nodes
    results = await asyncio.gather(
        *(limiters[i % 2].hit(RATE, ("addr", "10.9.9.9")) for i in range(40))
    )
    assert sum(1 for r in results if r == 0.0) == RATE.burst


async def test_each_subject_with_its_own_rate_counts_together(redis: Redis) -> None:
    limiter = Limiter(redis)
    loose = Rate("test-loose", per_second=1.0, burst=10)
    tight = Rate("test-tight", per_second=1.0, burst=2)
    both = ((loose, ("addr", "10.1.1.1")), (tight, ("id", "x")))
    assert [await limiter.hit_each(*both) for _ in range(3)][:2] == [0.0, 0.0]
    # The tight identity refused the third: the address was not counted for it.
    for _ in range(8):
        assert await limiter.hit(loose, ("addr", "10.1.1.1")) == 0.0
    assert await limiter.hit(loose, ("addr", "10.1.1.1")) > 0


def test_rates_validate() -> None:
    with pytest.raises(ValueError, match="burst at least 1"):
        Rate("bad", per_second=1.0, burst=0)
