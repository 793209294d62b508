"""The relay benchmark's run: the forwarding server over the viewer counts, then the baseline."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import aiohttp

from stream.bench.loopback import encoded_loop, loopback_world
from stream.bench.relay_config import Config, progress
from stream.bench.relay_measure import describe, measure
from stream.bench.relay_phase import (
    Phase,
    PublisherLost,
    join_result,
    ramp,
    running_phase,
    ttff_joins,
    wait_first_video,
)
from stream.bench.relay_results import Join, Results
from stream.bench.relay_server import renice
from stream.ingest.sources import EncodedFrame

RUN_TIMEOUT = 3600.0
FIRST_FRAME_TIMEOUT = 15.0
BURST_SECONDS = 1.0
FORWARD_SESSION = "bench-forward"
REENCODE_SESSION = "bench-reencode"


def _first_joins(phase: Phase) -> list[Join]:
    """The join of each node's first viewer (by the moment it posted its offer)."""
    firsts: list[Join] = []
    for node in range(len(phase.servers)):
        mine = [v for v in phase.viewers if phase.node_of(v) == node and v.posted_at is not None]
        if mine:
            firsts.append(join_result(min(mine, key=lambda v: v.posted_at or 0.0), phase.track))
        else:
            firsts.append(Join(error="no viewer connected"))
    return firsts


async def _forward(
    config: Config,
    http: aiohttp.ClientSession,
    frames: list[EncodedFrame],
    tmp: Path,
    redis: str,
    processes: int = 1,
) -> Results:
    results = Results(config, processes=processes)
    rng = random.Random(config.seed)  # noqa: S311 - join offsets, not secrets
    suffix = "" if processes == 1 else f"-p{processes}"
    async with running_phase(
        config,
        http,
        data_dir=tmp / f"forward{suffix}",
        redis_url=redis,
        relay_mode="forward",
        session=FORWARD_SESSION + suffix,
        frames=frames,
        processes=processes,
    ) as phase:
        await asyncio.sleep(config.settle)
        results.forward.append(await measure(phase, 0))
        progress(describe(results.forward[-1]))
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
                progress(f"{missing} viewer(s) got no video within {FIRST_FRAME_TIMEOUT} s")
            results.ramp_joins += [join_result(v, phase.track) for v in phase.viewers[first_new:]]
            if not first_new:
                results.first_joins = _first_joins(phase)
            await asyncio.sleep(config.settle)
            window = await measure(phase, count)
            results.forward.append(window)
            progress(describe(window))
            if window.publisher_fps == 0:
                results.aborted.append(f"publisher sent nothing at {count} viewers")
                break
            if config.ttff_joins and count == config.ttff_viewers:
                progress(
                    f"{config.ttff_joins} joins across the GOP, "
                    f"{len(phase.viewers)} viewers watching"
                )
                made_before = len(phase.owned)
                results.ttff_joins = await ttff_joins(phase, config.ttff_joins, rng)
                results.ttff_watching = len(phase.viewers)
                del phase.owned[made_before:]  # each closed itself after its first packet
                if config.burst_joins:
                    progress(f"{config.burst_joins} joins within one second")
                    started, cpu = time.monotonic(), phase.cpu_seconds()
                    results.burst_joins = await ttff_joins(
                        phase, config.burst_joins, rng, within=BURST_SECONDS
                    )
                    del phase.owned[made_before:]
                    # what the joins cost the server beyond forwarding to those watching
                    forwarding = window.server_cpu / 100 * (time.monotonic() - started)
                    extra = phase.cpu_seconds() - cpu - forwarding
                    results.burst_cpu_per_join = max(0.0, extra) / config.burst_joins
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
        progress(describe(results.reencode[-1]))
        try:
            phase.check_publisher()
        except PublisherLost as exc:
            results.aborted.append(str(exc))
            return
        await ramp(phase, config.reencode_viewers)
        await wait_first_video(phase.viewers, FIRST_FRAME_TIMEOUT)
        await asyncio.sleep(config.settle)
        results.reencode.append(await measure(phase, config.reencode_viewers))
        progress(describe(results.reencode[-1]))


async def run_benchmark(config: Config) -> list[Results]:
    """The whole benchmark: the forwarding phase for each process count (in the order of
    ``config.processes``), then the re-encoding baseline, once, with the first phase's results.
    Every child process is stopped before this returns or raises."""
    frames = await encoded_loop(config)
    reniced = bool(config.nice) and renice(None, config.nice)
    if config.nice and not reniced:
        progress(f"could not change niceness by {config.nice}: running at normal priority")
    try:
        with loopback_world("stream-bench-") as (tmp, redis_url):
            async with asyncio.timeout(RUN_TIMEOUT), aiohttp.ClientSession() as http:
                runs = []
                for processes in config.processes:
                    if len(config.processes) > 1:
                        progress(f"forwarding over {processes} server process(es)")
                    runs.append(await _forward(config, http, frames, tmp, redis_url, processes))
                if config.reencode_viewers:
                    await _reencode(config, http, frames, tmp, redis_url, runs[0])
                return runs
    finally:
        if reniced:
            renice(None, -config.nice)  # back to where we were (raising niceness is allowed)
