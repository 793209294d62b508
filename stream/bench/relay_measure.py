"""One measuring window: CPU of the server and the generator, what the viewers received, latency."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from stream.bench.relay_config import progress
from stream.bench.relay_peers import frame_latencies
from stream.bench.relay_phase import Phase
from stream.bench.relay_results import NodeWindow, Window, ms, percentile, quantiles_ms
from stream.bench.relay_server import (
    cpu_seconds,
    machine_busy_seconds,
    rss_mb,
    runqueue_wait_seconds,
    udp_drops,
)
from stream.rooms.stats import LATENCY_WINDOW

LOOP_LAG_INTERVAL = 0.05
MAX_LOOP_LAG_SAMPLES = 100_000
AUDIO_FRAMES_PER_SECOND = 50  # 20 ms Opus frames


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


# -- measuring ------------------------------------------------------------------------------------


@dataclass
class _Snapshot:
    at: float
    servers: list[float]  # CPU seconds of each server process (the origin first)
    generator: float
    machine: float
    published: int
    viewers: list[tuple[int, int, int, int]]  # frames, packets, bytes, expected
    server_waits: list[float | None]
    generator_wait: float | None
    server_drops: list[int | None]
    generator_drops: int | None

    @classmethod
    def take(cls, phase: Phase) -> _Snapshot:
        return cls(
            at=time.monotonic(),
            servers=[server.cpu_seconds() for server in phase.servers],
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
            server_waits=[runqueue_wait_seconds(server.pid) for server in phase.servers],
            generator_wait=runqueue_wait_seconds(),
            server_drops=[udp_drops(server.pid) for server in phase.servers],
            generator_drops=udp_drops(),
        )


def _delta(start: int | None, end: int | None) -> int | None:
    return None if start is None or end is None else max(0, end - start)


def _share(start: float | None, end: float | None, elapsed: float) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start) / elapsed * 100, 1)


async def _rooms(phase: Phase) -> list[dict[str, Any] | None]:
    """The session's room stats on every node: the origin's room, then each edge's mirror."""
    return list(await asyncio.gather(*(phase.room_stats(n) for n in range(len(phase.servers)))))


def _ingest_fps(
    before: dict[str, Any] | None, after: dict[str, Any] | None, elapsed: float
) -> float | None:
    if before is None or after is None:
        return None
    frames = int(after["frames_in"].get("video", 0)) - int(before["frames_in"].get("video", 0))
    return round(frames / elapsed, 2)


def _sum_or_none(values: list[int | None]) -> int | None:
    return None if None in values else sum(v for v in values if v is not None)


def _max_or_none(values: list[float | None]) -> float | None:
    return None if None in values else max(v for v in values if v is not None)


async def measure(phase: Phase, target: int) -> Window:
    config = phase.config
    viewers = list(phase.viewers)
    progress(f"{phase.mode}: measuring {len(viewers)} viewers for {config.seconds} s")
    log_limit = int(config.seconds * config.fps * 2) + 10
    for viewer in viewers:
        viewer.counter.start_log(log_limit)
    rooms_before = await _rooms(phase)
    lag = LoopLag()
    lag.start()
    before = _Snapshot.take(phase)
    await asyncio.sleep(config.seconds)
    after = _Snapshot.take(phase)
    lag_p99 = await lag.stop()
    logs = [viewer.counter.stop_log() for viewer in viewers]
    rooms = await _rooms(phase)

    elapsed = after.at - before.at
    cpus = [(b - a) / elapsed * 100 for a, b in zip(before.servers, after.servers, strict=True)]
    server = sum(cpus)
    generator = (after.generator - before.generator) / elapsed * 100
    machine = (after.machine - before.machine) / elapsed * 100
    waits = [
        _share(a, b, elapsed) for a, b in zip(before.server_waits, after.server_waits, strict=True)
    ]
    drops = [_delta(a, b) for a, b in zip(before.server_drops, after.server_drops, strict=True)]
    memory = [rss_mb(s.pid) for s in phase.servers]
    window = Window(
        mode=phase.mode,
        viewers=len(viewers),
        target=target,
        seconds=round(elapsed, 3),
        server_cpu=round(server, 2),
        generator_cpu=round(generator, 2),
        other_cpu=round(max(0.0, machine - server - generator), 2),
        publisher_fps=round((after.published - before.published) / elapsed, 2),
        loop_lag_p99_ms=ms(lag_p99),
        server_wait=_max_or_none(waits),
        server_drops=_sum_or_none(drops),
        generator_drops=_delta(before.generator_drops, after.generator_drops),
        generator_wait=_share(before.generator_wait, after.generator_wait, elapsed),
        server_rss_mb=None if None in memory else sum(m for m in memory if m is not None),
    )
    room_before, room = rooms_before[0], rooms[0]
    window.ingest_fps = _ingest_fps(room_before, room, elapsed)
    if room is not None and room_before is not None:
        window.plis_upstream = (
            room["keyframe_requests_sent"] - room_before["keyframe_requests_sent"]
        )
    if room is not None:
        window.relay_ms = dict(room.get("relay_latency_ms", {}))
        rate = config.fps + (AUDIO_FRAMES_PER_SECOND if config.audio else 0)
        window.relay_steady = rate * len(viewers) * (config.settle + elapsed) >= LATENCY_WINDOW
    if len(phase.servers) > 1:
        for index, (start, end) in enumerate(zip(rooms_before, rooms, strict=True)):
            node = NodeWindow(
                role="origin" if index == 0 else "edge",
                viewers=0,
                server_cpu=round(cpus[index], 2),
                server_wait=waits[index],
                server_drops=drops[index],
                server_rss_mb=memory[index],
                ingest_fps=_ingest_fps(start, end, elapsed),
                frames_shed=_frames_shed(start, end),
            )
            if end is not None:
                node.links_opened = end.get("links_opened")
                node.relay_ms = dict(end.get("relay_latency_ms", {}))
            window.nodes.append(node)
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
    latencies: list[list[float]] = [[] for _ in viewers]
    if phase.mode == "forward":
        for viewer, log, found in zip(viewers, logs, latencies, strict=True):
            counter = viewer.counter
            found += (
                frame_latencies(
                    log, counter.first_video_at, counter.first_video_timestamp, phase.track
                )
                or []
            )
        everything = [latency for found in latencies for latency in found]
        window.e2e_ms = quantiles_ms(everything)
        window.e2e_frames = len(everything)
    for node_index, node in enumerate(window.nodes):
        mine = [i for i, viewer in enumerate(viewers) if phase.node_of(viewer) == node_index]
        node.viewers = len(mine)
        if mine:
            node.fps_mean = round(sum(fps[i] for i in mine) / len(mine), 2)
            node.fps_min = round(min(fps[i] for i in mine), 2)
            node.stalled = sum(1 for i in mine if fps[i] == 0)
            if phase.mode == "forward":
                node.e2e_ms = quantiles_ms([x for i in mine for x in latencies[i]])
    return window


def _frames_shed(before: dict[str, Any] | None, after: dict[str, Any] | None) -> int | None:
    if before is None or after is None:
        return None
    return int(after.get("frames_shed", 0)) - int(before.get("frames_shed", 0))


def describe(window: Window) -> str:
    text = (
        f"{window.mode} {window.viewers:>4} viewers: server {window.server_cpu:6.1f} % "
        f"generator {window.generator_cpu:5.1f} % other {window.other_cpu:5.1f} %"
    )
    if window.fps_mean is not None:
        text += f" fps {window.fps_mean:.1f} (min {window.fps_min:.1f})"
    return text
