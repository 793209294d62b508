"""A WHEP flood from one address: offers past the per-address limits are refused (429 with
Retry-After), the refusals are logged once per burst, a viewer on another address keeps its
video, and the flood's peers leave no file descriptors behind."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from stream.config import Settings
from stream.http.keys import PEERS, ROOMS
from stream.ingest.whep_client import WhepClient, WhepError
from stream.rtc.admission import FD_RESERVE, FDS_PER_PEER, MIN_PEER_CAPACITY, peer_capacity
from stream.store import MAX_REDIS_CONNECTIONS
from tests.conftest import MakeServer, base_url, create_session
from tests.media import Received, publish_loop, wait_for
from tests.rtc.offers import real_offer

FLOOD_OFFERS = 150
FLOOD_CONCURRENCY = 25
LEGIT_ADDRESS = "198.51.100.23"
FLOOD_ADDRESS = "203.0.113.66"
MIN_FPS = 20.0
HANDSHAKE_TIMEOUT = 3.0  # the flood's peers never connect: reaped after this
FD_SLACK = 12


def open_fds() -> tuple[int, int]:
    """This process's open fds: (all but unix sockets, unix sockets). Redis is reached over a
    unix socket by a pool that may grow under load up to ``MAX_REDIS_CONNECTIONS``."""
    with open("/proc/net/unix") as table:
        unix = {line.split()[6] for line in table.read().splitlines()[1:]}
    other = local = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:[") and target[8:-1] in unix:
            local += 1
        else:
            other += 1
    return other, local


async def flood(base: str, session: str, offer: str) -> list[tuple[int, str | None, str]]:
    """``FLOOD_OFFERS`` offers from one address as fast as ``FLOOD_CONCURRENCY`` allows."""
    results: list[tuple[int, str | None, str]] = []
    gate = asyncio.Semaphore(FLOOD_CONCURRENCY)
    headers = {"Content-Type": "application/sdp", "X-Forwarded-For": FLOOD_ADDRESS}
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:

        async def one() -> None:
            async with gate, http.post(f"{base}/whep/{session}", data=offer, headers=headers) as r:
                results.append((r.status, r.headers.get("Retry-After"), r.content_type))

        await asyncio.gather(*(one() for _ in range(FLOOD_OFFERS)))
    return results


@pytest.fixture
async def proxied(make_server: MakeServer, settings: Settings) -> TestServer:
    return await make_server(
        settings.with_(trusted_proxies=("127.0.0.1",), handshake_timeout=HANDSHAKE_TIMEOUT)
    )


async def test_a_whep_flood_is_refused_and_a_viewer_elsewhere_keeps_watching(
    proxied: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = proxied
    base = base_url(server)
    key = await create_session(server, "flood")
    publisher, _ = await publish_loop(base, "flood", key, audio=False)
    received = Received()
    viewer = WhepClient(
        f"{base}/whep/flood",
        kinds=("video",),
        on_frame=received,
        headers={"X-Forwarded-For": LEGIT_ADDRESS},
    )
    try:
        room = server.app[ROOMS].get("flood")
        assert room is not None
        await wait_for(lambda: room.live, 10, "the publisher live")
        await viewer.connect()
        await wait_for(lambda: len(received.frames["video"]) >= 30, 15, "the viewer's video")
        baseline_fds = open_fds()
        offer = await real_offer(("video", "audio"), direction="recvonly")

        caplog.clear()
        with caplog.at_level(logging.INFO):
            frames_before, started = len(received.frames["video"]), time.monotonic()
            results = await flood(base, "flood", offer)
            await asyncio.sleep(max(0.0, 3.0 - (time.monotonic() - started)))
            frames = len(received.frames["video"]) - frames_before
            elapsed = time.monotonic() - started
        statuses = [status for status, _, _ in results]
        fps = frames / elapsed
        summary = {s: statuses.count(s) for s in sorted(set(statuses))}
        print(f"flood of {FLOOD_OFFERS}: {summary}; viewer {fps:.1f} fps over {elapsed:.1f} s")

        assert 500 not in statuses
        assert set(statuses) <= {201, 429}, summary
        accepted, refused = statuses.count(201), statuses.count(429)
        assert 1 <= accepted <= 40, summary
        assert refused >= FLOOD_OFFERS - 40, summary
        for status, retry_after, content_type in results:
            if status == 429:
                assert retry_after is not None
                assert int(retry_after) >= 1
                assert content_type == "application/problem+json"
        refusal_lines = [r for r in caplog.records if "refused" in r.getMessage()]
        assert 1 <= len(refusal_lines) <= 2, [r.getMessage() for r in refusal_lines]
        assert fps >= MIN_FPS, f"the legitimate viewer got {fps:.1f} fps during the flood"

        # The flood's peers never connect: the handshake timeout reaps them, fds come back.
        peers = server.app[PEERS]
        await wait_for(lambda: peers.count("whep") == 1, HANDSHAKE_TIMEOUT + 10, "flood reaped")
        await asyncio.sleep(0.5)
        fds, redis_fds = open_fds()
        print(f"fds: {fds} (baseline {baseline_fds[0]}), unix {redis_fds} ({baseline_fds[1]})")
        assert fds <= baseline_fds[0] + FD_SLACK
        assert redis_fds <= baseline_fds[1] + MAX_REDIS_CONNECTIONS
        assert len(received.frames["video"]) > frames_before + frames  # still watching
    finally:
        await viewer.close()
        await publisher.close()


def test_the_peer_cap_follows_the_fd_limit() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY:
        assert peer_capacity() == max(MIN_PEER_CAPACITY, (soft - FD_RESERVE) // FDS_PER_PEER)
    assert peer_capacity(1024) == (1024 - FD_RESERVE) // FDS_PER_PEER
    assert peer_capacity(100) == MIN_PEER_CAPACITY
    assert peer_capacity(20_000) * FDS_PER_PEER + FD_RESERVE <= 20_000


async def test_a_full_process_answers_503_and_takes_peers_again_when_they_leave(
    proxied: TestServer,
) -> None:
    server = proxied
    base = base_url(server)
    key = await create_session(server, "full")
    publisher, _ = await publish_loop(base, "full", key, audio=False)
    peers = server.app[PEERS]
    peers.admission.capacity = 3  # the publisher and two viewers
    viewers: list[WhepClient] = []
    try:
        room = server.app[ROOMS].get("full")
        assert room is not None
        await wait_for(lambda: room.live, 10, "the publisher live")
        for n in range(2):
            viewer = WhepClient(
                f"{base}/whep/full", kinds=("video",), headers={"X-Forwarded-For": f"192.0.2.{n}"}
            )
            await viewer.connect()
            viewers.append(viewer)
        refused = WhepClient(
            f"{base}/whep/full", kinds=("video",), headers={"X-Forwarded-For": "192.0.2.9"}
        )
        with pytest.raises(WhepError) as info:
            await refused.connect()
        assert info.value.status == 503
        assert info.value.retry_after is not None
        await viewers.pop().close()
        await wait_for(lambda: peers.admission.total == 2, 10, "a viewer's slot given back")
        again = WhepClient(
            f"{base}/whep/full", kinds=("video",), headers={"X-Forwarded-For": "192.0.2.9"}
        )
        await again.connect()
        viewers.append(again)
    finally:
        for viewer in viewers:
            await viewer.close()
        await publisher.close()
    await wait_for(lambda: peers.admission.total == 0, 10, "every slot given back")
    assert len(peers) == 0
