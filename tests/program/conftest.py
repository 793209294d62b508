"""A Redis client on the shared (emptied) test server, and a small programme in it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time

import pytest

from stream.common import times
from stream.program.arrangers import Arranger, ArrangerStore
from stream.program.events import Event, EventStore
from stream.program.studios import Studio, StudioStore
from stream.store import Redis, connect

DAY = date(2031, 1, 21)


def at(clock: str, day: date = DAY) -> datetime:
    return times.at_local(day, time.fromisoformat(clock))


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def catalogue(redis: Redis) -> Redis:
    """Two arrangers, two studios and an event."""
    await ArrangerStore(redis).save(Arranger("skog", "Skogstekniska klustret"))
    await ArrangerStore(redis).save(Arranger("noden", "Kunskapsnoden"))
    await StudioStore(redis).save(Studio("studio-1", "Studio 1", "Campus Umeå"))
    await StudioStore(redis).save(Studio("studio-2", "Studio 2", "Campus Umeå"))
    await EventStore(redis).save(Event("vecka", "Digital vecka", DAY, date(2031, 1, 24)))
    return redis
