"""Peers and rooms over time: reaping, publisher restarts, resources back to baseline."""

from __future__ import annotations

import asyncio
import gc

import aiohttp
import psutil
from aiohttp.test_utils import TestServer
from aiortc import RTCPeerConnection

from stream.config import Settings
from stream.http.keys import PEERS, ROOMS
from tests.conftest import MakeServer, base_url, create_session
from tests.media import publish_loop, wait_for, watch


async def test_peer_that_never_connects_is_reaped(
    make_server: MakeServer, settings: Settings
) -> None:
    server: TestServer = await make_server(settings.with_(handshake_timeout=0.5))
    base = base_url(server)
    key = await create_session(server, "reap")
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/whip/reap", data=pc.localDescription.sdp, headers=headers
        ) as r:
            assert r.status == 201  # ...but we never apply the answer, so ICE never starts
        assert len(server.app[PEERS]) == 1
        await wait_for(lambda: len(server.app[PEERS]) == 0, timeout=5, what="reaping")
        room = server.app[ROOMS].get("reap")
        assert room is not None
        assert room.publisher is None
        # the session is free for a real publisher again
        async with http.post(
            f"{base}/whip/reap", data=pc.localDescription.sdp, headers=headers
        ) as r:
            assert r.status == 201
    await pc.close()


async def test_publisher_leaves_and_returns_viewers_resume(server: TestServer) -> None:
    base = base_url(server)
    key = await create_session(server, "again")
    first, _ = await publish_loop(base, "again", key)
    room = server.app[ROOMS].get("again")
    assert room is not None
    await wait_for(lambda: room.live, what="live")
    viewer, received = await watch(base, "again")
    try:
        await wait_for(lambda: len(received.frames["video"]) >= 10, what="first frames")
        await first.close()
        await wait_for(lambda: room.publisher is None, what="publisher gone")
        await asyncio.sleep(0.3)
        before = len(received.frames["video"])
        assert room.viewer_count == 1  # the viewer stays attached while the publisher is away
        second, _ = await publish_loop(base, "again", key)
        try:
            await wait_for(
                lambda: len(received.frames["video"]) >= before + 15, what="frames after return"
            )
            assert viewer.pc.connectionState == "connected"
        finally:
            await second.close()
    finally:
        await viewer.close()


async def test_resources_return_to_baseline(server: TestServer) -> None:
    base = base_url(server)
    key = await create_session(server, "cycle")
    process = psutil.Process()

    async def one_cycle() -> None:
        publisher, _ = await publish_loop(base, "cycle", key)
        room = server.app[ROOMS].get("cycle")
        assert room is not None
        await wait_for(lambda: room.live, what="live")
        viewers = [await watch(base, "cycle") for _ in range(2)]
        for _, received in viewers:
            await wait_for(lambda r=received: len(r.frames["video"]) >= 3, what="frames")
        for client, _ in viewers:
            await client.close()
        await publisher.close()
        await wait_for(lambda: len(server.app[PEERS]) == 0, what="peers closed")

    await one_cycle()  # warm-up: lazily created pools, codecs, executors
    await asyncio.sleep(0.5)
    gc.collect()
    fds, tasks, threads = process.num_fds(), len(asyncio.all_tasks()), process.num_threads()
    for _ in range(3):
        await one_cycle()
    await asyncio.sleep(0.5)
    gc.collect()
    assert process.num_fds() <= fds + 2
    assert len(asyncio.all_tasks()) <= tasks + 2
    assert process.num_threads() <= threads + 2


async def test_shutdown_closes_every_peer(make_server: MakeServer, settings: Settings) -> None:
    server = await make_server(settings)
    base = base_url(server)
    key = await create_session(server, "bye")
    publisher, _ = await publish_loop(base, "bye", key)
    room = server.app[ROOMS].get("bye")
    assert room is not None
    await wait_for(lambda: room.live, what="live")
    viewer, _ = await watch(base, "bye")
    await viewer.wait_connected()
    peers = server.app[PEERS]
    assert len(peers) == 2
    await server.close()
    assert len(peers) == 0
    await wait_for(
        lambda: viewer.pc.connectionState in ("closed", "failed"),
        timeout=40,
        what="viewer sees the end",
    )
    await viewer.close()
    await publisher.close()
