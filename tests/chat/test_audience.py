"""The audience on the session socket: ``presence`` frames pushed when the viewer count changes,
at most one per interval, from what the rooms record in Redis."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestServer

from stream.chat.audience import NOT_LIVE, Audience, AudienceWatch
from stream.http.keys import REDIS
from stream.rooms.presence import PRESENCE_TTL, presence_key
from tests.chat.client import ChatClient
from tests.conftest import create_session


@dataclass(frozen=True)
class Record:
    viewers: int


class Counts:
    """A session's recorded viewer count, set by the test (None: not live)."""

    def __init__(self) -> None:
        self.viewers: int | None = None
        self.reads = 0

    async def lookup(self, session_id: str) -> Record | None:
        self.reads += 1
        return None if self.viewers is None else Record(self.viewers)


class Socket:
    def __init__(self) -> None:
        self.moderator = False
        self.frames: list[dict[str, object]] = []

    def deliver(self, frame: bytes) -> None:
        self.frames.append(json.loads(frame))


async def until(check: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not callable(check) or not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_audience_of_a_record() -> None:
    assert Audience.of(None) == NOT_LIVE == Audience(False, 0)
    assert Audience.of(Record(4)) == Audience(True, 4)
    assert Audience.of(Record(-2)) == Audience(True, 0)
    with pytest.raises(ValueError, match=r"^viewers must not be negative$"):
        Audience(True, -1)


async def test_changes_are_pushed_once_and_joiners_get_the_current_count() -> None:
    counts = Counts()
    watch = AudienceWatch(counts.lookup, lambda frame: frame, interval=0.01)
    first, second = Socket(), Socket()
    try:
        with watch.watch("s", first):
            await until(lambda: counts.reads >= 3)
            assert first.frames == [], "not live: nothing to say"
            counts.viewers = 2
            await until(lambda: first.frames)
            reads = counts.reads
            await until(lambda: counts.reads >= reads + 3)
            assert first.frames == [{"type": "presence", "live": True, "viewers": 2}]
            with watch.watch("s", second):
                assert second.frames == [{"type": "presence", "live": True, "viewers": 2}]
                counts.viewers = None
                await until(lambda: len(first.frames) == 2)
                assert first.frames[-1] == second.frames[-1]
                assert first.frames[-1] == {"type": "presence", "live": False, "viewers": 0}
            assert watch.sessions == 1
        assert watch.sessions == 0, "the watcher stops with its last socket"
    finally:
        await watch.close()


async def test_a_busy_room_sends_at_most_one_frame_per_interval() -> None:
    counts = Counts()
    watch = AudienceWatch(counts.lookup, lambda frame: frame, interval=0.2)
    socket = Socket()
    try:
        with watch.watch("busy", socket):
            started = time.monotonic()
            for n in range(1, 41):  # the count changes every 10 ms for 0.4 s
                counts.viewers = n
                await asyncio.sleep(0.01)
            elapsed = time.monotonic() - started
            assert 1 <= len(socket.frames) <= elapsed / 0.2 + 1
    finally:
        await watch.close()


async def test_a_failing_lookup_keeps_the_last_count() -> None:
    counts = Counts()
    failing = False

    async def lookup(session_id: str) -> Record | None:
        if failing:
            raise ConnectionError("redis away")
        return await counts.lookup(session_id)

    watch = AudienceWatch(lookup, lambda frame: frame, interval=0.01)
    socket = Socket()
    try:
        with watch.watch("s", socket):
            counts.viewers = 5
            await until(lambda: socket.frames)
            failing = True
            await asyncio.sleep(0.1)
            failing = False
            counts.viewers = 6
            await until(lambda: len(socket.frames) == 2)
            assert [f["viewers"] for f in socket.frames] == [5, 6]
    finally:
        await watch.close()


async def test_the_socket_carries_the_viewer_count_recorded_by_the_rooms(
    server: TestServer,
) -> None:
    """The origin node records ``room:{session}:live``; every node's sockets push its count."""
    await create_session(server, "seen")
    redis = server.app[REDIS]
    client = await ChatClient.connect(server, "seen")
    try:
        key = presence_key("seen")
        await redis.hset(key, "origin", "http://127.0.0.1:1")
        await redis.hset(key, "since", f"{time.time():.3f}")
        await redis.hset(key, "viewers", 3)
        await redis.expire(key, PRESENCE_TTL)
        await client.frame("presence", live=True, viewers=3)
        await redis.hset(key, "viewers", 4)
        await client.frame("presence", live=True, viewers=4)
        late = await ChatClient.connect(server, "seen")
        try:
            await late.frame("presence", timeout=0.5, live=True, viewers=4)
        finally:
            await late.close()
        await redis.delete(key)
        await client.frame("presence", live=False, viewers=0)
        kinds = [f["type"] for f in client.frames if f["type"] == "presence"]
        assert len(kinds) == 3, "one frame per change"
    finally:
        await client.close()
