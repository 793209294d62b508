"""Record: the server CPU that recording and live HLS add to a published 720p30 stream.

``stream bench record [--seconds S] [--rounds N]`` starts the server as a subprocess on
127.0.0.1 (loopback-only ICE, its own embedded Redis child), and from this process publishes
the relay benchmark's synthetic stream (a pre-encoded H.264 loop, 1280x720, 30 fps,
~1.5 Mbit/s, keyframe every 2 s, plus an Opus tone) over WHIP, with no viewers. Each round
measures two servers one after the other over the same window: one without the archive
(``stream.bench.record_server``: nothing recorded, no HLS) and ``stream serve`` as it ships
(the recording and the live HLS written for the session). The server process's CPU (kernel
accounting, all threads: the archive's writer thread included) is compared; the medians over
the rounds give the figure.

CPU figures are in % of one core. The last line is one JSON object. The issue's target:
recording (with HLS) adds at most 5 % of a core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from stream.archive.disk import directory_bytes
from stream.bench.loopback import encoded_loop, loopback_world
from stream.bench.relay import _quiet_aiortc
from stream.bench.relay_config import Config
from stream.bench.relay_peers import WhepRefused
from stream.bench.relay_phase import running_phase
from stream.bench.relay_server import ServerFailed, cpu_count, machine_busy_seconds
from stream.ingest.sources import EncodedFrame
from stream.ingest.whip_client import WhipError

__all__ = ["add_arguments", "run"]

DEFAULT_SECONDS = 15.0  # measuring window per server and round
DEFAULT_ROUNDS = 2
DEFAULT_SETTLE = 3.0  # after going live, before the window opens
GOP_SECONDS = 2.0  # the keyframe interval the README recommends
TARGET_PERCENT = 5.0  # of one core
MAX_SECONDS = 600.0
MAX_ROUNDS = 10
RUN_TIMEOUT = 3600.0
SESSION = "bench-record"
MODES = ("no-archive", "forward")  # the baseline first


@dataclass
class Window:
    mode: str
    server_percent: float  # of one core
    machine_percent: float  # every process, % of one core (the machine's load)
    recorded_bytes: int = 0
    hls_bytes: int = 0


@dataclass
class Run:
    windows: list[Window] = field(default_factory=list)

    def median(self, mode: str) -> float:
        return statistics.median(w.server_percent for w in self.windows if w.mode == mode)


def progress(message: str) -> None:
    print(f"bench record: {message}", file=sys.stderr, flush=True)


def _bounded(kind: Callable[[str], float], low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"between {low:g} and {high:g}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seconds",
        type=_bounded(float, 1.0, MAX_SECONDS),
        default=DEFAULT_SECONDS,
        help=f"measuring window per server and round (default {DEFAULT_SECONDS:g})",
    )
    parser.add_argument(
        "--rounds",
        type=_bounded(int, 1, MAX_ROUNDS),
        default=DEFAULT_ROUNDS,
        help=f"rounds of both servers, alternating (default {DEFAULT_ROUNDS})",
    )
    parser.add_argument(
        "--settle",
        type=_bounded(float, 0.0, 60.0),
        default=DEFAULT_SETTLE,
        help=f"seconds live before a window opens (default {DEFAULT_SETTLE:g})",
    )
    parser.add_argument(
        "--json", action="store_true", help="(always on) one JSON object is the last line"
    )


async def _window(
    config: Config,
    http: aiohttp.ClientSession,
    frames: list[EncodedFrame],
    data_dir: Path,
    redis: str,
    mode: str,
) -> Window:
    async with running_phase(
        config, http, data_dir=data_dir, redis_url=redis, relay_mode=mode,
        session=SESSION, frames=frames,
    ) as phase:  # fmt: skip
        await asyncio.sleep(config.settle)
        started, server = time.monotonic(), phase.server.cpu_seconds()
        machine = machine_busy_seconds()
        await asyncio.sleep(config.seconds)
        phase.check_publisher()
        elapsed = time.monotonic() - started
        window = Window(
            mode=mode,
            server_percent=100 * (phase.server.cpu_seconds() - server) / elapsed,
            machine_percent=100 * (machine_busy_seconds() - machine) / elapsed,
            recorded_bytes=directory_bytes(data_dir / "recordings"),
            hls_bytes=directory_bytes(data_dir / "hls"),
        )
    progress(
        f"{mode}: server {window.server_percent:.1f} % of a core "
        f"(machine {window.machine_percent:.0f} %), recorded {window.recorded_bytes} B"
    )
    return window


async def run_benchmark(config: Config, rounds: int) -> Run:
    frames = await encoded_loop(config)
    run = Run()
    with loopback_world("stream-bench-record-") as (tmp, redis_url):
        async with asyncio.timeout(RUN_TIMEOUT), aiohttp.ClientSession() as http:
            for number in range(rounds):
                for mode in MODES:
                    directory = tmp / f"{mode}-{number}"
                    run.windows.append(
                        await _window(config, http, frames, directory, redis_url, mode)
                    )
    return run


def summarize(config: Config, run: Run, rounds: int) -> dict[str, object]:
    off, on = run.median("no-archive"), run.median("forward")
    recorded = [w for w in run.windows if w.mode == "forward"]
    added = on - off
    return {
        "bench": "record",
        "cores": cpu_count(),
        "size": f"{config.width}x{config.height}",
        "fps": config.fps,
        "bitrate": config.bitrate,
        "keyframe_interval_s": GOP_SECONDS,
        "seconds": config.seconds,
        "rounds": rounds,
        "server_cpu_without_archive_pct": round(off, 2),
        "server_cpu_with_archive_pct": round(on, 2),
        "recording_cpu_pct": round(added, 2),  # recording + live HLS, % of one core
        "target_pct": TARGET_PERCENT,
        "within_target": added <= TARGET_PERCENT,
        "recorded": all(w.recorded_bytes > 0 for w in recorded),
        "machine_busy_pct": round(statistics.median(w.machine_percent for w in run.windows), 1),
        "windows": [
            {"mode": w.mode, "server_pct": round(w.server_percent, 2)} for w in run.windows
        ],
    }


def run(args: argparse.Namespace) -> int:
    config = Config(
        viewers=(),
        seconds=args.seconds,
        settle=args.settle,
        reencode_viewers=0,
        ttff_joins=0,
        gop_seconds=GOP_SECONDS,
    )
    try:
        with _quiet_aiortc():
            result = asyncio.run(run_benchmark(config, args.rounds))
    except KeyboardInterrupt:
        print("bench record: interrupted", file=sys.stderr)
        return 130
    except (ServerFailed, WhipError, WhepRefused, TimeoutError, aiohttp.ClientError) as exc:
        print(f"bench record: failed: {exc}", file=sys.stderr)
        return 1
    summary = summarize(config, result, args.rounds)
    print(
        f"recording + live HLS add {summary['recording_cpu_pct']} % of a core "
        f"({summary['server_cpu_without_archive_pct']} → {summary['server_cpu_with_archive_pct']} %"
        f", {summary['cores']} cores; target ≤ {TARGET_PERCENT:g} %)",
        flush=True,
    )
    print(json.dumps(summary), flush=True)  # always last
    return 0
