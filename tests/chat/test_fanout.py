"""The fan-out's adaptive delivery: at once when quiet, one frame per tick under load, the same
bytes for every socket, no gap and no repeat across ticks (real Redis)."""

from __future__ import annotations

import asyncio
import json
import time

from stream.chat.fanout import Fanout
from stream.chat.log import ChatLog, Draft
from stream.store import connect

WAIT = 5.0


class Collector:
    moderator = False

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.times: list[float] = []

    def deliver(self, frame: bytes) -> None:
        self.frames.append(frame)
        self.times.append(asyncio.get_running_loop().time())

    def ids(self) -> list[str]:
        found = []
        for frame in self.frames:
            body = json.loads(frame)
            found += [event["id"] for event in body.get("events", [body])]
        return found


async def _until(check: object, what: str) -> None:
    async with asyncio.timeout(WAIT):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.005)


class SlowCollector(Collector):
    """A socket whose write takes 10 ms (as a round of writes to many sockets does)."""

    def deliver(self, frame: bytes) -> None:
        time.sleep(0.01)
        super().deliver(frame)


async def _fanout_with(
    redis_url: str, tick_ms: float, count: int, gap: float, kind: type[Collector] = Collector
) -> list[Collector]:
    redis = connect(redis_url)
    log = ChatLog(redis)
    fanout = Fanout(log, lambda payload: payload, tick_ms=tick_ms)
    sockets = [kind() for _ in range(3)]
    session = f"fan-{tick_ms:g}-{count}-{gap:g}"
    try:
        async with fanout.channel(session) as channel:
            await channel.ready()
            for socket in sockets:
                assert channel.attach(socket, b"0-0")
            appended = []
            for n in range(count):
                done = await log.append(
                    session, [Draft(json.dumps({"type": "msg", "n": n}).encode())]
                )
                appended += [entry_id.decode() for entry_id in done.ids]
                if gap:
                    await asyncio.sleep(gap)
            await _until(lambda: all(len(s.ids()) == count for s in sockets), "every entry")
            for socket in sockets:
                assert socket.ids() == appended  # no gap, no repeat, in order
    finally:
        await fanout.close()
        await redis.aclose()
    return sockets


async def test_quiet_session_is_written_at_once(redis_url: str) -> None:
    sockets = await _fanout_with(redis_url, tick_ms=20, count=5, gap=0.06)
    assert all(len(s.frames) == 5 for s in sockets)


async def test_busy_session_gets_one_frame_per_tick(redis_url: str) -> None:
    sockets = await _fanout_with(redis_url, tick_ms=50, count=60, gap=0.002)
    for socket in sockets:
        assert len(socket.frames) < 60 / 2
        intervals = [b - a for a, b in zip(socket.times, socket.times[1:], strict=False)]
        assert min(intervals) >= 0.045
    first = sockets[0].frames
    assert all(s.frames == first for s in sockets)  # the same bytes for every socket


async def test_slow_rounds_stretch_the_tick(redis_url: str) -> None:
    sockets = await _fanout_with(redis_url, tick_ms=1, count=40, gap=0.002, kind=SlowCollector)
    # A round takes ~30 ms: under load the next one waits ROUND_SPACING times that.
    intervals = [b - a for a, b in zip(sockets[0].times, sockets[0].times[1:], strict=False)]
    assert len(sockets[0].frames) < 40 / 2
    assert max(intervals) >= 0.05


async def test_tick_zero_writes_every_read_at_once(redis_url: str) -> None:
    sockets = await _fanout_with(redis_url, tick_ms=0, count=10, gap=0.01)
    assert all(len(s.frames) == 10 for s in sockets)
