"""Relay: server CPU per viewer (forwarding vs re-encoding), fps, latency, time to first keyframe.

``stream bench relay --viewers 25,50,100 [--seconds S] [--json]`` starts the server as a
subprocess on 127.0.0.1 (loopback-only ICE, its own embedded Redis child), creates a session in
Redis, and from this process (the load generator) publishes one pre-encoded H.264 loop
(1280x720, 30 fps, ~1.5 Mbit/s, plus an Opus tone) over WHIP and connects light-weight WHEP
viewers: real aiortc peers whose RTP is counted from the clear-text header, never decrypted or
decoded (``stream.bench.relay_peers``).

For each viewer count (after a 0-viewer baseline) it measures over a steady window the server
process's CPU (kernel accounting, all threads), the generator's own CPU, the fps and bitrate
each viewer received, lost packets (sequence gaps), the server-side relay latency (frame arrival
→ hand-off to a viewer's sender, from ``/api/rooms``) and the client-side end-to-end latency
(publisher hand-off → viewer socket, same clock). The slope over the viewer counts is the
forwarding CPU per viewer. Then, with all viewers still watching, viewers join one by one at
random offsets across the GOP to measure the time to first keyframe. Finally a second server,
whose rooms the benchmark makes re-encode (``stream.bench.reencode``: aiortc's default, an
encoder per viewer), gets a baseline and a few viewers, giving the re-encoding CPU per viewer
and the ratio of the two.

CPU figures are in % of one core. A run is VOID when the generator saturates, packets go
missing, the publisher cannot keep its frame rate or viewers fail to connect: then the figures
say more about the load generator than about the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from stream.bench.relay_peers import (
    LightViewer,
    TimedLoopTrack,
    WhepRefused,
    frame_latencies,
)
from stream.bench.relay_server import (
    ServerFailed,
    ServerProcess,
    cpu_count,
    cpu_seconds,
    machine_busy_seconds,
    renice,
    runqueue_wait_seconds,
    udp_drops,
)
from stream.ingest.sources import EncodedFrame, encode_test_pattern
from stream.ingest.testpattern import TestPatternAudioTrack
from stream.ingest.whip_client import WhipClient, WhipError
from stream.program.sessions import Session, SessionStore
from stream.rooms.stats import LATENCY_WINDOW
from stream.rtc.ice import host_addresses
from stream.store import EmbeddedRedis, connect

# -- defaults (a default run takes ~3 minutes) ----------------------------------------------------
DEFAULT_VIEWERS = (25, 50, 100)
DEFAULT_SECONDS = 8.0  # measuring window per viewer count
DEFAULT_SETTLE = 3.0  # after the last viewer connected, before the window opens
DEFAULT_REENCODE_VIEWERS = 1  # 0 skips the re-encode baseline
DEFAULT_TTFF_JOINS = 20  # 0 skips the time-to-first-keyframe joins
DEFAULT_GOP_SECONDS = 3.0
DEFAULT_SIZE = (1280, 720)
DEFAULT_FPS = 30
DEFAULT_BITRATE = 1_500_000
DEFAULT_RAMP_CONCURRENCY = 10  # viewers connecting at once while ramping up
LOOP_GOPS = 2  # the pre-encoded loop is this many GOPs long

# -- limits: every wait is bounded ----------------------------------------------------------------
MAX_VIEWERS = 1000
MAX_SECONDS = 600.0
MAX_TTFF_JOINS = 200
RUN_TIMEOUT = 3600.0
LIVE_TIMEOUT = 20.0
VIEWER_CONNECT_TIMEOUT = 20.0
FIRST_FRAME_TIMEOUT = 15.0
TTFF_TIMEOUT = 10.0
CLOSE_TIMEOUT = 20.0
POLL_INTERVAL = 0.05
FIRST_PACKET_POLL = 0.005
MAX_RAMP_FAILURES = 20
STATS_TIMEOUT = 5.0
LOOP_LAG_INTERVAL = 0.05
MAX_LOOP_LAG_SAMPLES = 100_000

# -- when a run is void, and the targets ----------------------------------------------------------
GENERATOR_SATURATED = 90.0  # % of one core
MAX_LOSS_FRACTION = 0.001
MIN_PUBLISHER_FPS_FRACTION = 0.97
BUSY_MACHINE = 50.0  # other processes' CPU (% of one core) worth a warning
SERVER_SATURATED = 90.0  # the forwarding server is one event-loop thread
STARVED = 10.0  # % of a window an event loop was runnable but waited for a CPU
TARGET_RATIO = 50.0
TARGET_VIEWERS = 100
TARGET_FPS = 29.0
TARGET_TTFF_P95_MS = 500.0

FORWARD_SESSION = "bench-forward"
REENCODE_SESSION = "bench-reencode"
QUANTILES = (50, 95, 99)
AUDIO_FRAMES_PER_SECOND = 50  # 20 ms Opus frames


class PublisherLost(Exception):
    """The publisher's connection failed mid-run (a starved machine can miss ICE consent)."""


# -- configuration --------------------------------------------------------------------------------


def _viewer_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of viewer counts: {text!r}") from None
    if not counts or counts[0] < 1 or counts[-1] > MAX_VIEWERS:
        raise argparse.ArgumentTypeError(f"viewer counts must be 1..{MAX_VIEWERS}")
    return counts


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    try:
        size = (int(width), int(height))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a WIDTHxHEIGHT size: {text!r}") from None
    if min(size) < 16 or size[0] % 2 or size[1] % 2:
        raise argparse.ArgumentTypeError("width and height must be even and at least 16")
    return size


def _bounded(kind: Callable[[str], Any], low: float, high: float) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--viewers",
        type=_viewer_counts,
        default=",".join(str(count) for count in DEFAULT_VIEWERS),
        help="viewer counts for the forwarding slope, e.g. 25,50,100 (default %(default)s)",
    )
    parser.add_argument(
        "--seconds",
        type=_bounded(float, 0.5, MAX_SECONDS),
        default=DEFAULT_SECONDS,
        help="measuring window per viewer count (default %(default)s)",
    )
    parser.add_argument(
        "--settle",
        type=_bounded(float, 0.0, MAX_SECONDS),
        default=DEFAULT_SETTLE,
        help="seconds to wait after connecting before measuring (default %(default)s)",
    )
    parser.add_argument(
        "--reencode-viewers",
        type=_bounded(int, 0, 8),
        default=DEFAULT_REENCODE_VIEWERS,
        help="viewers of the re-encoding baseline server; 0 skips it (default %(default)s)",
    )
    parser.add_argument(
        "--ttff-joins",
        type=_bounded(int, 0, MAX_TTFF_JOINS),
        default=DEFAULT_TTFF_JOINS,
        help="viewers joining at random offsets across the GOP (default %(default)s)",
    )
    parser.add_argument(
        "--ttff-at",
        type=_bounded(int, 0, MAX_VIEWERS),
        default=None,
        help="viewers watching while the timed joins happen: one of --viewers "
        "(default: the smallest, so a saturated server does not swamp the figure)",
    )
    parser.add_argument(
        "--gop-seconds",
        type=_bounded(float, 0.5, 10.0),
        default=DEFAULT_GOP_SECONDS,
        help="keyframe interval of the publisher (default %(default)s)",
    )
    parser.add_argument(
        "--size", type=_size, default=DEFAULT_SIZE, help="video size WxH (default 1280x720)"
    )
    parser.add_argument(
        "--fps",
        type=_bounded(int, 1, 60),
        default=DEFAULT_FPS,
        help="video frame rate (default %(default)s)",
    )
    parser.add_argument(
        "--bitrate",
        type=_bounded(int, 50_000, 20_000_000),
        default=DEFAULT_BITRATE,
        help="video bitrate in bit/s (default %(default)s)",
    )
    parser.add_argument("--no-audio", action="store_true", help="publish video only")
    parser.add_argument(
        "--ignore-pli",
        action="store_true",
        help="the publisher ignores keyframe requests (viewers wait for the GOP's keyframe)",
    )
    parser.add_argument(
        "--ramp-concurrency",
        type=_bounded(int, 1, 100),
        default=DEFAULT_RAMP_CONCURRENCY,
        help="viewers connecting at once (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for the join offsets")
    parser.add_argument(
        "--nice",
        type=_bounded(int, -20, 19),
        default=0,
        help="niceness added to the server and this generator, e.g. -5 on a busy shared "
        "machine (negative needs root; it slows everything else down meanwhile)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object as the last line"
    )


@dataclass(frozen=True)
class Config:
    viewers: tuple[int, ...] = DEFAULT_VIEWERS
    seconds: float = DEFAULT_SECONDS
    settle: float = DEFAULT_SETTLE
    reencode_viewers: int = DEFAULT_REENCODE_VIEWERS
    ttff_joins: int = DEFAULT_TTFF_JOINS
    ttff_at: int | None = None  # None: the smallest of ``viewers``
    gop_seconds: float = DEFAULT_GOP_SECONDS
    width: int = DEFAULT_SIZE[0]
    height: int = DEFAULT_SIZE[1]
    fps: int = DEFAULT_FPS
    bitrate: int = DEFAULT_BITRATE
    audio: bool = True
    answer_pli: bool = True
    ramp_concurrency: int = DEFAULT_RAMP_CONCURRENCY
    seed: int | None = None
    nice: int = 0

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Config:
        return cls(
            viewers=tuple(args.viewers),
            seconds=args.seconds,
            settle=args.settle,
            reencode_viewers=args.reencode_viewers,
            ttff_joins=args.ttff_joins,
            ttff_at=args.ttff_at,
            gop_seconds=args.gop_seconds,
            width=args.size[0],
            height=args.size[1],
            fps=args.fps,
            bitrate=args.bitrate,
            audio=not args.no_audio,
            answer_pli=not args.ignore_pli,
            ramp_concurrency=args.ramp_concurrency,
            seed=args.seed,
            nice=args.nice,
        )

    @property
    def ttff_viewers(self) -> int:
        if self.ttff_at is not None and self.ttff_at in self.viewers:
            return self.ttff_at
        return self.viewers[0]

    @property
    def gop_frames(self) -> int:
        return max(1, round(self.gop_seconds * self.fps))


# -- results --------------------------------------------------------------------------------------


@dataclass
class Window:
    """One steady measuring window of one server at one viewer count."""

    mode: str
    viewers: int  # connected and counted
    target: int  # asked for (fewer connected: see the void reasons)
    seconds: float
    server_cpu: float  # % of one core
    generator_cpu: float
    other_cpu: float  # the rest of the machine
    publisher_fps: float
    ingest_fps: float | None = None  # video frames the server's room got (/api/rooms)
    plis_upstream: int | None = None  # keyframe requests the room sent to the publisher
    # datagrams the kernel dropped because a socket's receive buffer was full
    server_drops: int | None = None  # the server's: publisher packets (and RTCP) lost
    generator_drops: int | None = None  # the generator's: its viewers could not keep up
    # % of the window the event-loop thread was ready to run but had no CPU (None: unknown)
    server_wait: float | None = None
    generator_wait: float | None = None
    fps_mean: float | None = None
    fps_min: float | None = None
    viewer_kbps: float | None = None
    packets: int = 0
    lost: int = 0
    stalled: int = 0  # viewers without a single frame in the window
    relay_ms: dict[str, float | None] = field(default_factory=dict)  # server-side
    # The server keeps its last LATENCY_WINDOW hand-offs: False when fewer than that happened
    # since the ramp-up, whose queued keyframes (waiting for DTLS) then weigh in.
    relay_steady: bool | None = None
    e2e_ms: dict[str, float | None] = field(default_factory=dict)  # client-side
    e2e_frames: int = 0
    loop_lag_p99_ms: float | None = None

    @property
    def delivered_streams(self) -> float:
        """Viewers weighted by the share of published frames they got."""
        if not self.viewers or self.fps_mean is None or not self.publisher_fps:
            return 0.0
        return self.viewers * min(1.0, self.fps_mean / self.publisher_fps)

    @property
    def loss_fraction(self) -> float:
        expected = self.packets + self.lost
        return self.lost / expected if expected else 0.0


@dataclass
class Join:
    ttff_connected: float | None = None
    ttff_post: float | None = None
    since_keyframe: float | None = None  # where in the GOP the join landed
    error: str | None = None


@dataclass
class Results:
    config: Config
    forward: list[Window] = field(default_factory=list)
    reencode: list[Window] = field(default_factory=list)
    ramp_joins: list[Join] = field(default_factory=list)
    ttff_joins: list[Join] = field(default_factory=list)
    ttff_watching: int = 0
    connect_failures: int = 0
    keyframe_requests: int = 0
    aborted: list[str] = field(default_factory=list)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (as the server's SampleWindow)."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def _quantiles_ms(values: Sequence[float]) -> dict[str, float | None]:
    return {f"p{q}": _ms(percentile(values, q)) for q in QUANTILES}


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of y over x."""
    if len({x for x, _ in points}) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return num / den


def _progress(message: str) -> None:
    print(f"bench relay: {message}", file=sys.stderr, flush=True)


# -- the generator's health -----------------------------------------------------------------------


class LoopLag:
    """How late this process's event loop wakes up: a saturated generator shows here first."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.samples = []
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while len(self.samples) < MAX_LOOP_LAG_SAMPLES:
            started = time.monotonic()
            await asyncio.sleep(LOOP_LAG_INTERVAL)
            self.samples.append(time.monotonic() - started - LOOP_LAG_INTERVAL)

    async def stop(self) -> float | None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        return percentile(self.samples, 99)


# -- one server under test ------------------------------------------------------------------------


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
        viewer = LightViewer(self.whep_endpoint, self.http)
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
        _progress(f"{relay_mode} server up (pid {server.pid}, {server.base_url})")
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
        _progress(f"{failures} viewer(s) failed to connect (first: {first_error})")


async def wait_first_video(viewers: Sequence[LightViewer], within: float) -> int:
    """Until every viewer has video (or ``within`` s); returns how many still have none."""
    for _ in range(max(1, round(within / POLL_INTERVAL))):
        if all(v.counter.first_video_at is not None for v in viewers):
            break
        await asyncio.sleep(POLL_INTERVAL)
    return sum(1 for v in viewers if v.counter.first_video_at is None)


def _join_result(viewer: LightViewer, track: TimedLoopTrack) -> Join:
    since = None
    if viewer.posted_at is not None:
        keyframe_at = track.last_keyframe_before(viewer.posted_at)
        since = None if keyframe_at is None else viewer.posted_at - keyframe_at
    return Join(viewer.ttff_from_connected, viewer.ttff_from_post, since)


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
        return _join_result(viewer, phase.track)
    except (TimeoutError, WhepRefused, ConnectionError, aiohttp.ClientError) as exc:
        return Join(error=f"{stage}: {type(exc).__name__} {exc}".strip())
    finally:
        await viewer.close()


async def ttff_joins(phase: Phase, joins: int, rng: random.Random) -> list[Join]:
    """``joins`` viewers, each after a random pause of up to one GOP; each leaves once it has
    its first video packet."""
    tasks: list[asyncio.Task[Join]] = []
    try:
        for _ in range(joins):
            await asyncio.sleep(rng.uniform(0, phase.config.gop_seconds))
            tasks.append(asyncio.create_task(_timed_join(phase)))
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


# -- measuring ------------------------------------------------------------------------------------


@dataclass
class _Snapshot:
    at: float
    server: float
    generator: float
    machine: float
    published: int
    viewers: list[tuple[int, int, int, int]]  # frames, packets, bytes, expected
    server_wait: float | None
    generator_wait: float | None
    server_drops: int | None
    generator_drops: int | None

    @classmethod
    def take(cls, phase: Phase) -> _Snapshot:
        return cls(
            at=time.monotonic(),
            server=phase.server.cpu_seconds(),
            generator=cpu_seconds(),
            machine=machine_busy_seconds(),
            published=phase.track.frames_sent,
            viewers=[
                (
                    c.video_frames,
                    c.video.packets + c.audio.packets,
                    c.video.bytes + c.audio.bytes,
                    c.video.expected + c.audio.expected,
                )
                for c in (v.counter for v in phase.viewers)
            ],
            server_wait=runqueue_wait_seconds(phase.server.pid),
            generator_wait=runqueue_wait_seconds(),
            server_drops=udp_drops(phase.server.pid),
            generator_drops=udp_drops(),
        )


def _delta(start: int | None, end: int | None) -> int | None:
    return None if start is None or end is None else max(0, end - start)


def _share(start: float | None, end: float | None, elapsed: float) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start) / elapsed * 100, 1)


async def measure(phase: Phase, target: int) -> Window:
    config = phase.config
    viewers = list(phase.viewers)
    _progress(f"{phase.mode}: measuring {len(viewers)} viewers for {config.seconds} s")
    log_limit = int(config.seconds * config.fps * 2) + 10
    for viewer in viewers:
        viewer.counter.start_log(log_limit)
    room_before = await phase.room_stats()
    lag = LoopLag()
    lag.start()
    before = _Snapshot.take(phase)
    await asyncio.sleep(config.seconds)
    after = _Snapshot.take(phase)
    lag_p99 = await lag.stop()
    logs = [viewer.counter.stop_log() for viewer in viewers]
    room = await phase.room_stats()

    elapsed = after.at - before.at
    server = (after.server - before.server) / elapsed * 100
    generator = (after.generator - before.generator) / elapsed * 100
    machine = (after.machine - before.machine) / elapsed * 100
    window = Window(
        mode=phase.mode,
        viewers=len(viewers),
        target=target,
        seconds=round(elapsed, 3),
        server_cpu=round(server, 2),
        generator_cpu=round(generator, 2),
        other_cpu=round(max(0.0, machine - server - generator), 2),
        publisher_fps=round((after.published - before.published) / elapsed, 2),
        loop_lag_p99_ms=_ms(lag_p99),
        server_wait=_share(before.server_wait, after.server_wait, elapsed),
        server_drops=_delta(before.server_drops, after.server_drops),
        generator_drops=_delta(before.generator_drops, after.generator_drops),
        generator_wait=_share(before.generator_wait, after.generator_wait, elapsed),
    )
    if room is not None and room_before is not None:
        frames = room["frames_in"].get("video", 0) - room_before["frames_in"].get("video", 0)
        window.ingest_fps = round(frames / elapsed, 2)
        window.plis_upstream = (
            room["keyframe_requests_sent"] - room_before["keyframe_requests_sent"]
        )
    if room is not None:
        window.relay_ms = dict(room.get("relay_latency_ms", {}))
        rate = config.fps + (AUDIO_FRAMES_PER_SECOND if config.audio else 0)
        window.relay_steady = rate * len(viewers) * (config.settle + elapsed) >= LATENCY_WINDOW
    if not viewers:
        return window
    fps: list[float] = []
    kbps: list[float] = []
    for (f0, p0, b0, e0), (f1, p1, b1, e1) in zip(before.viewers, after.viewers, strict=True):
        fps.append((f1 - f0) / elapsed)
        kbps.append((b1 - b0) * 8 / elapsed / 1000)
        window.packets += p1 - p0
        window.lost += max(0, (e1 - e0) - (p1 - p0))
        window.stalled += f1 == f0
    window.fps_mean = round(sum(fps) / len(fps), 2)
    window.fps_min = round(min(fps), 2)
    window.viewer_kbps = round(sum(kbps) / len(kbps), 1)
    if phase.mode == "forward":
        latencies: list[float] = []
        for viewer, log in zip(viewers, logs, strict=True):
            counter = viewer.counter
            found = frame_latencies(
                log, counter.first_video_at, counter.first_video_timestamp, phase.track
            )
            latencies += found or []
        window.e2e_ms = _quantiles_ms(latencies)
        window.e2e_frames = len(latencies)
    return window


def _describe(window: Window) -> str:
    text = (
        f"{window.mode} {window.viewers:>4} viewers: server {window.server_cpu:6.1f} % "
        f"generator {window.generator_cpu:5.1f} % other {window.other_cpu:5.1f} %"
    )
    if window.fps_mean is not None:
        text += f" fps {window.fps_mean:.1f} (min {window.fps_min:.1f})"
    return text


# -- the run --------------------------------------------------------------------------------------


async def _forward(
    config: Config, http: aiohttp.ClientSession, frames: list[EncodedFrame], tmp: Path, redis: str
) -> Results:
    results = Results(config)
    rng = random.Random(config.seed)  # noqa: S311 - join offsets, not secrets
    async with running_phase(
        config,
        http,
        data_dir=tmp / "forward",
        redis_url=redis,
        relay_mode="forward",
        session=FORWARD_SESSION,
        frames=frames,
    ) as phase:
        await asyncio.sleep(config.settle)
        results.forward.append(await measure(phase, 0))
        _progress(_describe(results.forward[-1]))
        for count in config.viewers:
            try:
                phase.check_publisher()
            except PublisherLost as exc:
                results.aborted.append(f"{exc}; stopped before {count} viewers")
                break
            first_new = len(phase.viewers)
            await ramp(phase, count)
            missing = await wait_first_video(phase.viewers, FIRST_FRAME_TIMEOUT)
            if missing:
                _progress(f"{missing} viewer(s) got no video within {FIRST_FRAME_TIMEOUT} s")
            results.ramp_joins += [_join_result(v, phase.track) for v in phase.viewers[first_new:]]
            await asyncio.sleep(config.settle)
            window = await measure(phase, count)
            results.forward.append(window)
            _progress(_describe(window))
            if window.publisher_fps == 0:
                results.aborted.append(f"publisher sent nothing at {count} viewers")
                break
            if config.ttff_joins and count == config.ttff_viewers:
                _progress(
                    f"{config.ttff_joins} joins across the GOP, "
                    f"{len(phase.viewers)} viewers watching"
                )
                made_before = len(phase.owned)
                results.ttff_joins = await ttff_joins(phase, config.ttff_joins, rng)
                results.ttff_watching = len(phase.viewers)
                del phase.owned[made_before:]  # each closed itself after its first packet
        results.connect_failures = len(phase.owned) - len(phase.viewers)
        results.keyframe_requests = phase.track.keyframe_requests
    return results


async def _reencode(
    config: Config,
    http: aiohttp.ClientSession,
    frames: list[EncodedFrame],
    tmp: Path,
    redis: str,
    results: Results,
) -> None:
    async with running_phase(
        config,
        http,
        data_dir=tmp / "reencode",
        redis_url=redis,
        relay_mode="reencode",
        session=REENCODE_SESSION,
        frames=frames,
    ) as phase:
        await asyncio.sleep(config.settle)
        results.reencode.append(await measure(phase, 0))
        _progress(_describe(results.reencode[-1]))
        try:
            phase.check_publisher()
        except PublisherLost as exc:
            results.aborted.append(str(exc))
            return
        await ramp(phase, config.reencode_viewers)
        await wait_first_video(phase.viewers, FIRST_FRAME_TIMEOUT)
        await asyncio.sleep(config.settle)
        results.reencode.append(await measure(phase, config.reencode_viewers))
        _progress(_describe(results.reencode[-1]))


async def run_benchmark(config: Config) -> Results:
    """The whole benchmark; every child process is stopped before this returns or raises."""
    _progress(
        f"encoding {LOOP_GOPS * config.gop_frames} frames of {config.width}x{config.height} "
        f"at {config.bitrate / 1e6:.2f} Mbit/s"
    )
    frames = await asyncio.to_thread(
        encode_test_pattern,
        width=config.width,
        height=config.height,
        fps=config.fps,
        frames=LOOP_GOPS * config.gop_frames,
        gop=config.gop_frames,
        bitrate=config.bitrate,
    )
    reniced = bool(config.nice) and renice(None, config.nice)
    if config.nice and not reniced:
        _progress(f"could not change niceness by {config.nice}: running at normal priority")
    try:
        with (
            tempfile.TemporaryDirectory(prefix="stream-bench-") as tmp_name,
            host_addresses(("127.0.0.1",)),
        ):
            tmp = Path(tmp_name)
            redis = EmbeddedRedis(tmp / "redis")
            redis.start()
            try:
                async with asyncio.timeout(RUN_TIMEOUT), aiohttp.ClientSession() as http:
                    results = await _forward(config, http, frames, tmp, redis.url)
                    if config.reencode_viewers:
                        await _reencode(config, http, frames, tmp, redis.url, results)
                    return results
            finally:
                redis.stop()
    finally:
        if reniced:
            renice(None, -config.nice)  # back to where we were (raising niceness is allowed)


# -- the report -----------------------------------------------------------------------------------


def _flag(
    out: list[str],
    windows: Sequence[Window],
    value: Callable[[Window], float | None],
    limit: float,
    message: str,
) -> None:
    """One line for the windows where ``value`` exceeds ``limit``: the worst, and where."""
    hits = [(v, w) for w in windows if (v := value(w)) is not None and v > limit]
    if not hits:
        return
    worst, window = max(hits, key=lambda hit: hit[0])
    where = f"worst {window.mode} at {window.viewers} viewers"
    if len(hits) > 1:
        where += f"; {len(hits)} of {len(windows)} windows"
    out.append(f"{message.format(v=worst, neg=-worst)} ({where})")


def summarize(results: Results) -> dict[str, Any]:
    config = results.config
    forward = results.forward
    largest = max(forward, key=lambda w: w.viewers) if forward else None
    # CPU against the viewer streams actually delivered (viewers x fps / published fps): a
    # saturated point delivers fewer frames for its CPU and would bend a slope over N.
    forward_slope = slope([(w.delivered_streams, w.server_cpu) for w in forward])
    nominal_slope = slope([(w.viewers, w.server_cpu) for w in forward])
    reencode_per_viewer = None
    if len(results.reencode) >= 2 and results.reencode[-1].delivered_streams:
        base, loaded = results.reencode[0], results.reencode[-1]
        reencode_per_viewer = (loaded.server_cpu - base.server_cpu) / loaded.delivered_streams
    ratio = None
    if forward_slope and forward_slope > 0 and reencode_per_viewer is not None:
        ratio = reencode_per_viewer / forward_slope
    ttff = [j.ttff_connected for j in results.ttff_joins if j.ttff_connected is not None]
    ttff_post = [j.ttff_post for j in results.ttff_joins if j.ttff_post is not None]
    ramp_ttff = [j.ttff_connected for j in results.ramp_joins if j.ttff_connected is not None]
    offsets = [j.since_keyframe for j in results.ttff_joins if j.since_keyframe is not None]
    windows = forward + results.reencode

    void: list[str] = []
    warnings: list[str] = []
    _flag(
        void,
        windows,
        lambda w: w.generator_cpu,
        GENERATOR_SATURATED,
        "load generator saturated: {v:.0f} % of a core",
    )
    _flag(
        void,
        windows,
        lambda w: w.loss_fraction * 100,
        MAX_LOSS_FRACTION * 100,
        "packets missing: {v:.2f} %",
    )
    _flag(
        void,
        windows,
        lambda w: -w.publisher_fps,
        -MIN_PUBLISHER_FPS_FRACTION * config.fps,
        "publisher sent only {neg:.1f} fps",
    )
    _flag(
        void,
        windows,
        lambda w: w.generator_drops,
        0,
        "the generator's sockets dropped {v:.0f} datagrams",
    )
    _flag(
        warnings,
        windows,
        lambda w: w.server_drops,
        0,
        "the server's sockets dropped {v:.0f} datagrams (ingest fell behind)",
    )
    _flag(
        warnings,
        windows,
        lambda w: w.other_cpu,
        BUSY_MACHINE,
        "other processes used {v:.0f} % of a core",
    )
    _flag(
        warnings,
        windows,
        lambda w: w.server_wait,
        STARVED,
        "server starved: its event loop waited for a CPU {v:.0f} % of the time "
        "(its fps and latency are pessimistic)",
    )
    _flag(
        warnings,
        windows,
        lambda w: w.generator_wait,
        STARVED,
        "generator starved: waited for a CPU {v:.0f} % of the time "
        "(client-side latency includes it)",
    )
    _flag(
        warnings,
        forward,
        lambda w: w.server_cpu,
        SERVER_SATURATED,
        "forwarding server saturated: {v:.0f} % of a core",
    )
    for w in results.reencode[1:]:
        busy = w.server_cpu + w.generator_cpu + w.other_cpu
        if busy > SERVER_SATURATED * cpu_count():
            warnings.append(
                f"re-encoding saturated the machine ({busy:.0f} % of {cpu_count()} cores): "
                "its per-viewer CPU is a lower bound"
            )
    void += results.aborted
    if results.connect_failures:
        void.append(f"{results.connect_failures} viewer(s) failed to connect")
    failed_joins = [j.error for j in results.ttff_joins if j.error]
    if failed_joins:
        warnings.append(f"{len(failed_joins)} timed join(s) failed: {failed_joins[0]}")

    ttff_p95 = _ms(percentile(ttff, 95))
    targets: dict[str, bool | None] = {
        "ratio_at_least_50": None if ratio is None else ratio >= TARGET_RATIO,
        "viewers_100_at_29_fps": None,
        "ttff_p95_at_most_500_ms": None if ttff_p95 is None else ttff_p95 <= TARGET_TTFF_P95_MS,
    }
    if largest is not None and largest.viewers >= TARGET_VIEWERS and largest.fps_min is not None:
        targets["viewers_100_at_29_fps"] = largest.fps_min >= TARGET_FPS

    def rounded(value: float | None, digits: int = 3) -> float | None:
        return None if value is None else round(value, digits)

    relay = largest.relay_ms if largest else {}
    e2e = largest.e2e_ms if largest else {}
    return {
        "viewers": largest.viewers if largest else 0,
        "cpu_unit": "percent of one core",
        "forward_cpu_per_viewer": rounded(forward_slope),
        "forward_cpu_per_viewer_nominal": rounded(nominal_slope),
        "reencode_cpu_per_viewer": rounded(reencode_per_viewer),
        "ratio": rounded(ratio, 1),
        "fps_delivered": largest.fps_mean if largest else None,
        "fps_delivered_min": largest.fps_min if largest else None,
        "relay_latency_source": "server: frame arrival -> hand-off to the viewer's sender",
        "relay_p50_ms": relay.get("p50"),
        "relay_p95_ms": relay.get("p95"),
        "relay_p99_ms": relay.get("p99"),
        "relay_steady": largest.relay_steady if largest else None,
        "e2e_latency_source": "client: publisher hand-off -> viewer socket (marker packet)",
        "e2e_p50_ms": e2e.get("p50"),
        "e2e_p95_ms": e2e.get("p95"),
        "e2e_p99_ms": e2e.get("p99"),
        "ttff_source": "viewer connected (ICE+DTLS) -> first video packet",
        "ttff_p50_ms": _ms(percentile(ttff, 50)),
        "ttff_p95_ms": ttff_p95,
        "ttff_post_p50_ms": _ms(percentile(ttff_post, 50)),
        "ttff_post_p95_ms": _ms(percentile(ttff_post, 95)),
        "ttff_joins": len(ttff),
        "ttff_watching": results.ttff_watching,
        "ttff_join_offset_s": [rounded(min(offsets), 2), rounded(max(offsets), 2)]
        if offsets
        else None,
        "ramp_ttff_p50_ms": _ms(percentile(ramp_ttff, 50)),
        "ramp_ttff_p95_ms": _ms(percentile(ramp_ttff, 95)),
        "keyframe_requests_to_publisher": results.keyframe_requests,
        "viewer_kbps": largest.viewer_kbps if largest else None,
        "server_cpu_at_max": largest.server_cpu if largest else None,
        "generator_cpu_max": max((w.generator_cpu for w in windows), default=None),
        "packets_received": sum(w.packets for w in forward),
        "packets_lost": sum(w.lost for w in windows),
        "void": bool(void),
        "void_reasons": void,
        "warnings": warnings,
        "targets": targets,
        "forward_points": [asdict(w) for w in forward],
        "reencode_points": [asdict(w) for w in results.reencode],
        "publisher": {
            "size": f"{config.width}x{config.height}",
            "fps": config.fps,
            "bitrate": config.bitrate,
            "gop_seconds": config.gop_seconds,
            "audio": config.audio,
            "answers_keyframe_requests": config.answer_pli,
        },
        "nice": config.nice,
        "window_seconds": config.seconds,
        "cpu_count": cpu_count(),
    }


def _fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def _triple(quantiles: dict[str, Any]) -> str:
    return "/".join(_fmt(quantiles.get(f"p{q}")) for q in QUANTILES)


def _points(summary: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(row label, window) for every window, with a ``mode:`` line before each mode's rows."""
    for mode in ("forward", "reencode"):
        for index, w in enumerate(summary[f"{mode}_points"]):
            count = str(w["viewers"])
            if w["viewers"] != w["target"]:
                count += f"/{w['target']}"
            yield (f"{mode}:" if index == 0 else ""), {"label": count, **w}


def _load_table(summary: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "load (CPU in % of one core; wait = % of the time the event loop was runnable but had no "
        "CPU; drops = datagrams the kernel dropped on full socket buffers)",
        f"{'viewers':>9} {'server':>7} {'generator':>9} {'other':>6} {'wait srv/gen':>13}"
        f" {'drops srv/gen':>14} {'generator loop lag p99 ms':>26}",
    ]
    for heading, w in _points(summary):
        if heading:
            lines.append(heading)
        wait = f"{_fmt(w['server_wait'], digits=0)}/{_fmt(w['generator_wait'], digits=0)}"
        drops = f"{_fmt(w['server_drops'])}/{_fmt(w['generator_drops'])}"
        lines.append(
            f"{w['label']:>9} {w['server_cpu']:>7.1f} {w['generator_cpu']:>9.1f}"
            f" {w['other_cpu']:>6.0f} {wait:>13} {drops:>14} {_fmt(w['loop_lag_p99_ms']):>26}"
        )
    return lines


def _delivery_table(summary: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "delivery (fps in = video frames reaching the server's room; lost = sequence gaps seen "
        "by viewers; relay = server-side arrival -> hand-off; e2e = client-side publisher "
        "hand-off -> viewer socket)",
        f"{'viewers':>9} {'fps in':>7} {'fps mean/min':>13} {'kbit/s':>7} {'lost':>6}"
        f" {'relay p50/p95/p99 ms':>22} {'e2e p50/p95/p99 ms':>24}",
    ]
    for heading, w in _points(summary):
        if heading:
            lines.append(heading)
        relay = _triple(w["relay_ms"])
        if w["relay_steady"] is False and w["relay_ms"].get("p50") is not None:
            relay += "*"
        fps = f"{_fmt(w['fps_mean'])}/{_fmt(w['fps_min'])}"
        lines.append(
            f"{w['label']:>9} {_fmt(w['ingest_fps']):>7} {fps:>13}"
            f" {_fmt(w['viewer_kbps'], digits=0):>7} {w['lost']:>6}"
            f" {relay:>22} {_triple(w['e2e_ms']):>24}"
        )
    return lines


def render(summary: dict[str, Any]) -> str:
    pub = summary["publisher"]
    lines = [
        f"stream bench relay: {pub['size']} {pub['fps']} fps {pub['bitrate'] / 1e6:.2f} Mbit/s "
        f"H.264{' + Opus' if pub['audio'] else ''}, GOP {pub['gop_seconds']} s, "
        f"{summary['window_seconds']} s windows, {summary['cpu_count']} cores "
        f"(CPU in % of one core)",
    ]
    lines += _load_table(summary)
    lines += _delivery_table(summary)
    lines += [
        "",
        f"forwarding CPU per viewer (slope)   {_fmt(summary['forward_cpu_per_viewer'], ' %', 3)}"
        f" per delivered stream ({_fmt(summary['forward_cpu_per_viewer_nominal'], ' %', 3)}"
        " per connected viewer)",
        f"re-encoding CPU per viewer          {_fmt(summary['reencode_cpu_per_viewer'], ' %', 1)}",
        f"ratio re-encode / forward           {_fmt(summary['ratio'])}",
        f"fps delivered at {summary['viewers']} viewers        "
        f"{_fmt(summary['fps_delivered'], digits=2)} mean, "
        f"{_fmt(summary['fps_delivered_min'], digits=2)} worst viewer "
        f"({_fmt(summary['viewer_kbps'], ' kbit/s', 0)} each)",
        f"relay latency (server-side)         p50 {_fmt(summary['relay_p50_ms'], ' ms', 2)}  "
        f"p95 {_fmt(summary['relay_p95_ms'], ' ms', 2)}  "
        f"p99 {_fmt(summary['relay_p99_ms'], ' ms', 2)}"
        f"{'' if summary['relay_steady'] is not False else '  (* includes ramp-up)'}",
        f"end-to-end latency (client-side)    p50 {_fmt(summary['e2e_p50_ms'], ' ms', 2)}  "
        f"p95 {_fmt(summary['e2e_p95_ms'], ' ms', 2)}  "
        f"p99 {_fmt(summary['e2e_p99_ms'], ' ms', 2)}",
        f"time to first keyframe ({summary['ttff_joins']} joins, "
        f"{summary['ttff_watching']} watching)  from connected p50 "
        f"{_fmt(summary['ttff_p50_ms'], ' ms', 0)} p95 {_fmt(summary['ttff_p95_ms'], ' ms', 0)}"
        f"; from WHEP POST p50 {_fmt(summary['ttff_post_p50_ms'], ' ms', 0)} "
        f"p95 {_fmt(summary['ttff_post_p95_ms'], ' ms', 0)}",
        f"  join offsets after a keyframe      {summary['ttff_join_offset_s'] or '-'} s; "
        f"ramp joins (batches) from connected p50 {_fmt(summary['ramp_ttff_p50_ms'], ' ms', 0)}"
        f" p95 {_fmt(summary['ramp_ttff_p95_ms'], ' ms', 0)}; "
        f"{summary['keyframe_requests_to_publisher']} PLIs reached the publisher",
        "",
        "targets:",
    ]
    names = {
        "ratio_at_least_50": "forwarding <= 1/50 of re-encoding per viewer",
        "viewers_100_at_29_fps": ">= 100 viewers at >= 29 fps (worst viewer)",
        "ttff_p95_at_most_500_ms": "time to first keyframe p95 <= 500 ms",
    }
    for key, name in names.items():
        met = summary["targets"][key]
        lines.append(f"  {name:<48} {'-' if met is None else 'met' if met else 'NOT met'}")
    for warning in summary["warnings"]:
        lines.append(f"warning: {warning}")
    if summary["void"]:
        lines.append("VOID: " + "; ".join(summary["void_reasons"]))
    else:
        lines.append(
            f"valid: generator at most {_fmt(summary['generator_cpu_max'], ' %')} of a core, "
            f"{summary['packets_lost']} packets lost"
        )
    return "\n".join(lines)


@contextlib.contextmanager
def _quiet_aiortc() -> Iterator[None]:
    names = ("aiortc", "aioice")
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def run(args: argparse.Namespace) -> int:
    config = Config.from_args(args)
    if config.ttff_at is not None and config.ttff_at not in config.viewers:
        print("bench relay: --ttff-at must be one of the --viewers counts", file=sys.stderr)
        return 2
    try:
        with _quiet_aiortc():
            results = asyncio.run(run_benchmark(config))
    except KeyboardInterrupt:
        print("bench relay: interrupted", file=sys.stderr)
        return 130
    except (ServerFailed, WhipError, WhepRefused, TimeoutError, aiohttp.ClientError) as exc:
        print(f"bench relay: failed: {exc}", file=sys.stderr)
        return 1
    summary = summarize(results)
    print(render(summary), flush=True)
    if args.json:
        print(json.dumps(summary), flush=True)
    return 0
