"""The viewer curve against a real Redis and real servers: two nodes' counts summed per bucket,
viewers joining and leaving giving the peak, unique viewers by address, HLS players counted,
nothing sampled while a session is not live, the loop itself, and the curve still there after
the app or Redis restarts."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from stream.analytics.curve import (
    MAX_SAMPLES,
    CurveWriter,
    NodeSample,
    curve_key,
    forget_curve,
    load_curve,
    nodes_key,
)
from stream.analytics.viewers import ViewerSampler
from stream.app import create_app
from stream.config import Settings
from stream.http.keys import REDIS, ROOMS, VIEWERS
from stream.ingest.whep_client import WhepClient
from stream.rooms.presence import presence_key
from stream.store import EmbeddedRedis, connect
from tests.chat.client import ChatClient
from tests.conftest import base_url, create_session, free_port
from tests.media import publish_loop, wait_for

T0 = 1_800_000_005.0  # the middle of a 10 s bucket


def sampler(server: TestServer) -> ViewerSampler:
    return server.app[VIEWERS]


async def by_hand(*servers: TestServer) -> None:
    """The tests take the samples themselves, at chosen times: the loops stop."""
    for server in servers:
        await sampler(server).stop()


@pytest.fixture
async def two_nodes(settings: Settings) -> AsyncIterator[tuple[TestServer, TestServer]]:
    servers = []
    for _ in range(2):
        port = free_port()
        node = settings.with_(
            port=port, public_url=f"http://127.0.0.1:{port}", trusted_proxies=("127.0.0.1",)
        )
        server = TestServer(create_app(node), host="127.0.0.1", port=port)
        await server.start_server()
        servers.append(server)
    yield servers[0], servers[1]
    for server in servers:
        await server.close()


async def viewers(server: TestServer, session_id: str, n: int) -> list[WhepClient]:
    room = server.app[ROOMS].get(session_id)
    await wait_for(lambda: room is not None and room.live, what="live")
    clients = []
    for _ in range(n):
        client = WhepClient(f"{base_url(server)}/whep/{session_id}")
        await client.connect()
        clients.append(client)
    return clients


async def pages(server: TestServer, session_id: str, addresses: list[str]) -> list[ChatClient]:
    return [
        await ChatClient.connect(server, session_id, headers={"X-Forwarded-For": address})
        for address in addresses
    ]


async def test_two_nodes_counts_are_summed_per_bucket(
    two_nodes: tuple[TestServer, TestServer],
) -> None:
    origin, other = two_nodes
    await by_hand(origin, other)
    redis = origin.app[REDIS]
    key = await create_session(origin, "summed")
    publisher, _ = await publish_loop(base_url(origin), "summed", key)
    watchers = await viewers(origin, "summed", 2)
    sockets = await pages(origin, "summed", ["10.0.0.1", "10.0.0.2"])
    sockets += await pages(other, "summed", ["10.0.0.3", "10.0.0.4", "10.0.0.5"])
    try:
        room = origin.app[ROOMS].get("summed")
        await wait_for(lambda: room is not None and room.viewer_count == 2, what="2 viewers")
        for _ in range(100):  # the other node learns it is live from the origin's presence
            if await redis.exists(presence_key("summed")):
                break
            await asyncio.sleep(0.05)
        written_other = await sampler(other).sample(T0)
        written_origin = await sampler(origin).sample(T0 + 1)  # same bucket, a second later
        assert [(s.watching, s.pages) for s in written_other] == [(0, 3)]
        assert [(s.watching, s.pages) for s in written_origin] == [(2, 2)]
        await sampler(other).sample(T0 + 2)  # a node sampling twice in a bucket counts once
        curve = await load_curve(redis, "summed")
        assert [(p.at, p.watching, p.pages) for p in curve.points] == [(T0 - 5, 2, 5)]
        assert (curve.peak, curve.peak_pages, curve.peak_at) == (2, 5, T0 - 5)
        # Five page addresses and the viewers' own (127.0.0.1): six, as a HyperLogLog counts.
        assert curve.unique == 6
        assert await redis.hlen(nodes_key("summed")) == 2
    finally:
        for client in sockets:
            await client.close()
        for viewer in watchers:
            await viewer.close()
        await publisher.close()


async def test_viewers_joining_and_leaving_give_the_peak(
    server: TestServer, settings: Settings
) -> None:
    await by_hand(server)
    key = await create_session(server, "peak")
    publisher, _ = await publish_loop(base_url(server), "peak", key)
    room = server.app[ROOMS].get("peak")
    assert room is not None
    watchers: list[WhepClient] = []
    try:
        for n, expected in enumerate((1, 2, 3)):
            watchers += await viewers(server, "peak", 1)
            await wait_for(lambda e=expected: room.viewer_count == e, what=f"{expected}")
            await sampler(server).sample(T0 + 10 * n)
        for viewer in watchers[:2]:
            await viewer.close()
        await wait_for(lambda: room.viewer_count == 1, what="one left")
        await sampler(server).sample(T0 + 30)
    finally:
        for viewer in watchers[2:]:
            await viewer.close()
        await publisher.close()
    curve = await load_curve(server.app[REDIS], "peak")
    assert [p.watching for p in curve.points] == [1, 2, 3, 1]
    assert (curve.peak, curve.peak_at) == (3, T0 + 15)
    assert (curve.first, curve.last) == (T0 - 5, T0 + 25)
    # The server stops; the curve is Redis's: another client (a restarted node) reads the same.
    await server.close()
    fresh = connect(settings.redis_url or "")
    try:
        again = await load_curve(fresh, "peak")
    finally:
        await fresh.aclose()
    assert again == curve


async def test_sessions_not_live_are_not_sampled(server: TestServer) -> None:
    await by_hand(server)
    await create_session(server, "quiet")
    sockets = await pages(server, "quiet", ["10.0.0.9"])
    try:
        assert sampler(server).tally.pages("quiet") == 1
        assert await sampler(server).sample(T0) == []
    finally:
        for client in sockets:
            await client.close()
    assert not await server.app[REDIS].exists(curve_key("quiet"))
    await wait_for(lambda: sampler(server).tally.sessions() == set(), what="socket forgotten")


async def test_hls_players_count_as_watching(server: TestServer) -> None:
    await by_hand(server)
    key = await create_session(server, "hls")
    publisher, _ = await publish_loop(base_url(server), "hls", key)
    try:
        async with aiohttp.ClientSession() as http:
            status = 0
            for _ in range(150):  # the first segment takes a keyframe interval or two
                async with http.get(f"{base_url(server)}/hls/hls/index.m3u8") as response:
                    status = response.status
                if status == 200:
                    break
                await asyncio.sleep(0.1)
            assert status == 200
        written = await sampler(server).sample()
        assert [(s.session_id, s.watching, s.pages) for s in written] == [("hls", 1, 0)]
    finally:
        await publisher.close()


async def test_stale_nodes_drop_out_and_the_curve_is_bounded(redis_url: str) -> None:
    redis = connect(redis_url)
    try:
        a, b = CurveWriter(redis, "node-a", 10), CurveWriter(redis, "node-b", 10)
        await a.write([NodeSample("s", 4, 1)], T0)
        await b.write([NodeSample("s", 3, 0)], T0)
        await a.write([NodeSample("s", 1, 1)], T0 + 100)  # node-b died meanwhile
        curve = await load_curve(redis, "s")
        assert [(p.watching, p.pages) for p in curve.points] == [(7, 1), (1, 1)]
        assert await redis.hkeys(nodes_key("s")) == [b"node-a"]
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(MAX_SAMPLES + 5):
                pipe.zadd(curve_key("t"), {f"{n} 1 0": n})
            await pipe.execute()
        await a.write([NodeSample("t", 2, 0)], (MAX_SAMPLES + 10) * 10.0)
        assert await redis.zcard(curve_key("t")) == MAX_SAMPLES
    finally:
        await redis.aclose()


def test_the_sampler_ticks_mid_bucket() -> None:
    writer_less = ViewerSampler.__new__(ViewerSampler)
    writer_less.interval = 10
    assert writer_less.delay(100.0) == 5.0
    assert writer_less.delay(104.0) == 1.0
    assert writer_less.delay(105.0) == 10.0


async def test_the_running_sampler_writes_once_per_bucket(server: TestServer) -> None:
    """The loop itself, with 1 s buckets: a live session gets a sample in every bucket."""
    key = await create_session(server, "ticking")
    publisher, _ = await publish_loop(base_url(server), "ticking", key)
    watchers = await viewers(server, "ticking", 1)
    app_sampler = sampler(server)
    await app_sampler.stop()  # its 10 s buckets would land in the same keys
    await forget_curve(server.app[REDIS], "ticking")  # and one may have already
    fast = ViewerSampler(app_sampler.redis, app_sampler.rooms, app_sampler.tally, "fast", 1)
    fast.start()
    redis = server.app[REDIS]
    try:
        for _ in range(100):
            curve = await load_curve(redis, "ticking")
            if len(curve.points) >= 3:
                break
            await asyncio.sleep(0.1)
    finally:
        await fast.stop()
        for viewer in watchers:
            await viewer.close()
        await publisher.close()
    recent = curve.points
    assert len(recent) >= 3
    assert {p.watching for p in recent} == {1}
    assert curve.interval == 1
    # One entry per bucket; a tick more than half a bucket late on a loaded machine skips one.
    steps = [b.at - a.at for a, b in itertools.pairwise(recent)]
    assert all(step in (1.0, 2.0) for step in steps), steps


async def test_the_curve_survives_a_redis_restart(tmp_path: Path) -> None:
    """The embedded Redis (AOF) stopped and started again on its data: the same curve."""
    server = EmbeddedRedis(tmp_path)
    server.start()
    try:
        await server.wait_serving()
        redis = connect(server.url)
        writer = CurveWriter(redis, "node-a")
        for n, count in enumerate((3, 8, 5)):
            await writer.write([NodeSample("kept", count, 1, frozenset({f"v{n}"}))], T0 + 10 * n)
        before = await load_curve(redis, "kept")
        await redis.aclose()
        server.stop()
        server.start()
        await server.wait_serving()
        redis = connect(server.url)
        try:
            after = await load_curve(redis, "kept")
        finally:
            await redis.aclose()
    finally:
        server.stop()
    assert before.peak == 8
    assert before.unique == 3
    assert after == before


async def test_nodes_configured_alike_still_count_apart(settings: Settings) -> None:
    """Two servers with the very same settings (no public URL): each keeps its own field."""
    servers = [TestServer(create_app(settings), host="127.0.0.1") for _ in range(2)]
    for server in servers:
        await server.start_server()
    a, b = servers
    sockets: list[ChatClient] = []
    try:
        await by_hand(a, b)
        assert sampler(a).writer.node != sampler(b).writer.node
        redis = a.app[REDIS]
        await create_session(a, "twin")
        # live on a third node: its presence is all these two see
        await redis.hset(
            presence_key("twin"), mapping={"origin": "http://elsewhere", "viewers": 0, "since": 0}
        )
        sockets = await pages(a, "twin", ["10.0.0.1", "10.0.0.2"])
        sockets += await pages(b, "twin", ["10.0.0.3", "10.0.0.4", "10.0.0.5"])
        await sampler(a).sample(T0)
        await sampler(b).sample(T0 + 1)
        curve = await load_curve(redis, "twin")
        assert [(p.at, p.pages) for p in curve.points] == [(T0 - 5, 5)]
        assert await redis.hlen(nodes_key("twin")) == 2
    finally:
        for client in sockets:
            await client.close()
        for server in servers:
            await server.close()
