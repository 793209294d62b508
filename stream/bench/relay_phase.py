"""One server under test: start it, publish into a session, connect and time viewers, close.

Every wait is bounded; every viewer and the publisher are closed when the phase ends, and the
server process is stopped.
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
    """A server, its session, its publisher and the viewers this process connected to it."""

    config: Config
    http: aiohttp.ClientSession
    server: ServerProcess
    session: str
    track: TimedLoopTrack
    publisher: WhipClient | None = None
    viewers: list[LightViewer] = field(default_factory=list)  # watching, counted in windows
    owned: list[LightViewer] = field(default_factory=list)  # every viewer made: closed at end

    @property
    def mode(self) -> str:
        return self.server.relay_mode

    @property
    def whep_endpoint(self) -> str:
        return f"{self.server.base_url}/whep/{self.session}"

    def check_publisher(self) -> None:
        """Raise :class:`PublisherLost` if the publisher's connection has failed."""
        state = None if self.publisher is None else self.publisher.pc.connectionState
        if state in (None, "failed", "closed"):
            raise PublisherLost(f"{self.mode} publisher connection {state or 'gone'}")

    def new_viewer(self) -> LightViewer:
        viewer = LightViewer(self.whep_endpoint, self.http, viewer_address(len(self.owned)))
        self.owned.append(viewer)
        return viewer

    async def room_stats(self) -> dict[str, Any] | None:
        timeout = aiohttp.ClientTimeout(total=STATS_TIMEOUT)
        try:
            async with self.http.get(
                f"{self.server.base_url}/api/rooms", timeout=timeout
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
) -> AsyncIterator[Phase]:
    """Start a server, publish into ``session``; on exit close everything and stop the server."""
    server = ServerProcess(
        data_dir=data_dir, redis_url=redis_url, relay_mode=relay_mode, nice=config.nice
    )
    track = TimedLoopTrack(frames, config.fps, answer_keyframe_requests=config.answer_pli)
    phase = Phase(config, http, server, session, track)
    try:
        await server.start(http)
        progress(f"{relay_mode} server up (pid {server.pid}, {server.base_url})")
        key = await _create_session(redis_url, session)
        tracks: list[Any] = [track]
        if config.audio:
            tracks.append(TestPatternAudioTrack())
        phase.publisher = WhipClient(f"{server.base_url}/whip/{session}", key, tracks)
        await phase.publisher.publish()
        await phase.wait_live()
        yield phase
    finally:
        await phase.close()
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
