"""One server under test: start it, publish into a session, connect and time viewers, close.

With several processes (``--processes``) the server under test is that many ``stream serve``
nodes on one Redis: the first is the origin (the publisher publishes there), the others are
edges that mirror its room over a relay link (``stream.rooms.edge``); the viewers are spread
round-robin over all of them, the origin included.

Every wait is bounded; every viewer and the publisher are closed when the phase ends, and the
server processes are stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from stream.bench.relay_config import Config, progress
from stream.bench.relay_peers import LightViewer, TimedLoopTrack, WhepRefused
from stream.bench.relay_results import Join
from stream.bench.relay_server import ServerFailed, ServerProcess
from stream.ingest.sources import EncodedFrame
from stream.ingest.testpattern import TestPatternAudioTrack
from stream.ingest.whip_client import WhipClient
from stream.program.sessions import Session, SessionStore
from stream.store import connect

LIVE_TIMEOUT = 20.0
VIEWER_CONNECT_TIMEOUT = 20.0
TTFF_TIMEOUT = 10.0
CLOSE_TIMEOUT = 20.0
POLL_INTERVAL = 0.05
FIRST_PACKET_POLL = 0.005
MAX_RAMP_FAILURES = 20
STATS_TIMEOUT = 5.0


def viewer_address(index: int) -> str:
    """A distinct private address per viewer (sent as X-Forwarded-For): the server's per-address
    limits are for a real audience, not for one load generator."""
    return f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"


class PublisherLost(Exception):
    """The publisher's connection failed mid-run (a starved machine can miss ICE consent)."""


@dataclass
class Phase:
    """The servers (the origin first), their session, its publisher and the viewers this
    process connected to them."""

    config: Config
    http: aiohttp.ClientSession
    servers: list[ServerProcess]
    session: str
    track: TimedLoopTrack
    publisher: WhipClient | None = None
    viewers: list[LightViewer] = field(default_factory=list)  # watching, counted in windows
    owned: list[LightViewer] = field(default_factory=list)  # every viewer made: closed at end

    @property
    def server(self) -> ServerProcess:
        """The origin: the node the publisher publishes to."""
        return self.servers[0]

    @property
    def mode(self) -> str:
        return self.server.relay_mode

    def whep_endpoint(self, node: int = 0) -> str:
        return f"{self.servers[node].base_url}/whep/{self.session}"

    def node_of(self, viewer: LightViewer) -> int:
        """Which server (index into ``servers``) the viewer watches at."""
        endpoints = [self.whep_endpoint(node) for node in range(len(self.servers))]
        return endpoints.index(viewer.endpoint)

    def cpu_seconds(self) -> float:
        """CPU seconds of all the server processes together."""
        return sum(server.cpu_seconds() for server in self.servers)

    def check_publisher(self) -> None:
        """Raise :class:`PublisherLost` if the publisher's connection has failed."""
        state = None if self.publisher is None else self.publisher.pc.connectionState
        if state in (None, "failed", "closed"):
            raise PublisherLost(f"{self.mode} publisher connection {state or 'gone'}")

    def new_viewer(self) -> LightViewer:
        """A viewer of the next node round-robin (the origin, then each edge)."""
        index = len(self.owned)
        endpoint = self.whep_endpoint(index % len(self.servers))
        viewer = LightViewer(endpoint, self.http, viewer_address(index))
        self.owned.append(viewer)
        return viewer

    async def room_stats(self, node: int = 0) -> dict[str, Any] | None:
        """The session's room stats on a node: the origin's room, or an edge's mirror."""
        timeout = aiohttp.ClientTimeout(total=STATS_TIMEOUT)
        try:
            async with self.http.get(
                f"{self.servers[node].base_url}/api/rooms", timeout=timeout
            ) as response:
                rooms: list[dict[str, Any]] = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None
        return next((room for room in rooms if room.get("session") == self.session), None)

    async def wait_live(self) -> None:
        deadline = time.monotonic() + LIVE_TIMEOUT
        while time.monotonic() < deadline:
            room = await self.room_stats()
            if room and room.get("live") and room.get("frames_in", {}).get("video"):
                return
            await asyncio.sleep(POLL_INTERVAL)
        raise ServerFailed(f"session {self.session} not live within {LIVE_TIMEOUT} s")

    async def wait_edges_see_it(self) -> None:
        """Until every edge finds the session live on the origin (the origin's presence record,
        refreshed every few seconds)."""
        timeout = aiohttp.ClientTimeout(total=STATS_TIMEOUT)
        deadline = time.monotonic() + LIVE_TIMEOUT
        for server in self.servers[1:]:
            url = f"{server.base_url}/api/sessions/{self.session}/status"
            while True:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
                    async with self.http.get(url, timeout=timeout) as response:
                        if (await response.json()).get("live"):
                            break
                if time.monotonic() > deadline:
                    raise ServerFailed(f"{server.base_url} did not see {self.session} live")
                await asyncio.sleep(POLL_INTERVAL)

    async def close(self) -> None:
        viewers, self.owned, self.viewers = self.owned, [], []
        if viewers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(
                        *(viewer.close(delete=False) for viewer in viewers),
                        return_exceptions=True,
                    ),
                    CLOSE_TIMEOUT,
                )
        if self.publisher is not None:
            publisher, self.publisher = self.publisher, None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(publisher.close(delete=False), CLOSE_TIMEOUT)


async def _create_session(redis_url: str, session_id: str) -> str:
    client = connect(redis_url)
    try:
        store = SessionStore(client)
        await store.save(Session(id=session_id, title="Relay benchmark", arranger="stream bench"))
        return await store.rotate_key(session_id)
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def running_phase(
    config: Config,
    http: aiohttp.ClientSession,
    *,
    data_dir: Path,
    redis_url: str,
    relay_mode: str,
    session: str,
    frames: list[EncodedFrame],
    processes: int = 1,
) -> AsyncIterator[Phase]:
    """Start the server (``processes`` nodes: the origin, then the edges), publish into
    ``session`` at the origin; on exit close everything and stop the servers."""
    servers = [
        ServerProcess(
            data_dir=data_dir if processes == 1 else data_dir / f"node-{index}",
            redis_url=redis_url,
            relay_mode=relay_mode,
            nice=config.nice,
        )
        for index in range(processes)
    ]
    track = TimedLoopTrack(frames, config.fps, answer_keyframe_requests=config.answer_pli)
    phase = Phase(config, http, servers, session, track)
    try:
        for index, server in enumerate(servers):
            await server.start(http)
            role = "" if processes == 1 else " origin" if index == 0 else f" edge {index}"
            progress(f"{relay_mode} server{role} up (pid {server.pid}, {server.base_url})")
        key = await _create_session(redis_url, session)
        tracks: list[Any] = [track]
        if config.audio:
            tracks.append(TestPatternAudioTrack())
        phase.publisher = WhipClient(f"{phase.server.base_url}/whip/{session}", key, tracks)
        await phase.publisher.publish()
        await phase.wait_live()
        await phase.wait_edges_see_it()
        yield phase
    finally:
        await phase.close()
        for server in reversed(servers):  # the edges first (one not started: nothing to stop)
            server.stop()


# -- viewers --------------------------------------------------------------------------------------


async def _join(viewer: LightViewer) -> None:
    async with asyncio.timeout(VIEWER_CONNECT_TIMEOUT):
        await viewer.connect()
        await viewer.wait_connected()


async def ramp(phase: Phase, target: int) -> None:
    """Connect viewers, ``ramp_concurrency`` at a time, until ``target`` are watching."""
    failures = 0
    first_error = ""
    while len(phase.viewers) < target and failures <= MAX_RAMP_FAILURES:
        batch = [
            phase.new_viewer()
            for _ in range(min(phase.config.ramp_concurrency, target - len(phase.viewers)))
        ]
        outcomes = await asyncio.gather(*(_join(v) for v in batch), return_exceptions=True)
        for viewer, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                failures += 1
                first_error = first_error or f"{type(outcome).__name__} {outcome}".strip()
                await viewer.close(delete=False)
            else:
                phase.viewers.append(viewer)
    if failures:
        progress(f"{failures} viewer(s) failed to connect (first: {first_error})")


async def wait_first_video(viewers: Sequence[LightViewer], within: float) -> int:
    """Until every viewer has video (or ``within`` s); returns how many still have none."""
    for _ in range(max(1, round(within / POLL_INTERVAL))):
        if all(v.counter.first_video_at is not None for v in viewers):
            break
        await asyncio.sleep(POLL_INTERVAL)
    return sum(1 for v in viewers if v.counter.first_video_at is None)


def join_result(viewer: LightViewer, track: TimedLoopTrack) -> Join:
    since = None
    if viewer.posted_at is not None:
        keyframe_at = track.last_keyframe_before(viewer.posted_at)
        since = None if keyframe_at is None else viewer.posted_at - keyframe_at
    answered = connected = None
    if viewer.posted_at is not None:
        if viewer.answered_at is not None:
            answered = viewer.answered_at - viewer.posted_at
        if viewer.connected_at is not None:
            connected = viewer.connected_at - viewer.posted_at
    return Join(viewer.ttff_from_connected, viewer.ttff_from_post, since, answered, connected)


async def _timed_join(phase: Phase) -> Join:
    viewer = phase.new_viewer()
    stage = "connecting"
    try:
        async with asyncio.timeout(TTFF_TIMEOUT):
            await viewer.connect()
            await viewer.wait_connected()
            stage = "waiting for video"
            for _ in range(round(TTFF_TIMEOUT / FIRST_PACKET_POLL)):
                if viewer.counter.first_video_at is not None:
                    break
                await asyncio.sleep(FIRST_PACKET_POLL)
        return join_result(viewer, phase.track)
    except (TimeoutError, WhepRefused, ConnectionError, aiohttp.ClientError) as exc:
        return Join(error=f"{stage}: {type(exc).__name__} {exc}".strip())
    finally:
        await viewer.close()


async def ttff_joins(
    phase: Phase, joins: int, rng: random.Random, *, within: float | None = None
) -> list[Join]:
    """``joins`` viewers, each after a random pause of up to one GOP (or all at random moments
    within ``within`` seconds); each leaves once it has its first video packet."""
    tasks: list[asyncio.Task[Join]] = []
    if within is None:
        pauses = [rng.uniform(0, phase.config.gop_seconds) for _ in range(joins)]
    else:
        moments = sorted(rng.uniform(0, within) for _ in range(joins))
        pauses = [b - a for a, b in zip([0.0, *moments], moments, strict=False)]
    try:
        for pause in pauses:
            await asyncio.sleep(pause)
            tasks.append(asyncio.create_task(_timed_join(phase)))
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
