"""What one ``stream bench relay`` run is asked to do: its flags, defaults and limits."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Defaults: a default run takes ~2-3 minutes.
DEFAULT_VIEWERS = (25, 50, 100)
DEFAULT_SECONDS = 8.0  # measuring window per viewer count
DEFAULT_SETTLE = 3.0  # after the last viewer connected, before the window opens
DEFAULT_REENCODE_VIEWERS = 1  # 0 skips the re-encode baseline
DEFAULT_TTFF_JOINS = 20  # 0 skips the time-to-first-keyframe joins
DEFAULT_BURST_JOINS = 50  # viewers joining within one second; 0 skips them
DEFAULT_GOP_SECONDS = 3.0
DEFAULT_SIZE = (1280, 720)
DEFAULT_FPS = 30
DEFAULT_BITRATE = 1_500_000
DEFAULT_RAMP_CONCURRENCY = 10  # viewers connecting at once while ramping up
LOOP_GOPS = 2  # the pre-encoded loop is this many GOPs long
DEFAULT_PROCESSES = (1,)

# Limits of the flags.
MAX_VIEWERS = 1000
MAX_SECONDS = 600.0
MAX_TTFF_JOINS = 200
MAX_PROCESSES = 16


def progress(message: str) -> None:
    print(f"bench relay: {message}", file=sys.stderr, flush=True)


def _counts(what: str, high: int) -> Callable[[str], tuple[int, ...]]:
    """A parser of a comma list of ``what`` counts, 1..``high``: sorted, each once."""

    def parse(text: str) -> tuple[int, ...]:
        try:
            counts = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a list of {what} counts: {text!r}") from None
        if not counts or counts[0] < 1 or counts[-1] > high:
            raise argparse.ArgumentTypeError(f"{what} counts must be 1..{high}")
        return counts

    return parse


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
        type=_counts("viewer", MAX_VIEWERS),
        default=",".join(str(count) for count in DEFAULT_VIEWERS),
        help="viewer counts for the forwarding slope, e.g. 25,50,100 (default %(default)s)",
    )
    parser.add_argument(
        "--processes",
        type=_counts("process", MAX_PROCESSES),
        default=",".join(str(count) for count in DEFAULT_PROCESSES),
        help="server processes the forwarding runs on, one phase each, e.g. 1,2: the first "
        "is the origin (the publisher's), the others edges mirroring its room over a relay "
        "link; the viewers are spread round-robin over all of them (default %(default)s)",
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
        "--burst-joins",
        type=_bounded(int, 0, MAX_TTFF_JOINS),
        default=DEFAULT_BURST_JOINS,
        help="viewers joining within the same second, after the spread joins (default %(default)s)",
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
        "--json", action="store_true", help="(always on) one JSON object is the last line"
    )


@dataclass(frozen=True)
class Config:
    viewers: tuple[int, ...] = DEFAULT_VIEWERS
    processes: tuple[int, ...] = DEFAULT_PROCESSES
    seconds: float = DEFAULT_SECONDS
    settle: float = DEFAULT_SETTLE
    reencode_viewers: int = DEFAULT_REENCODE_VIEWERS
    ttff_joins: int = DEFAULT_TTFF_JOINS
    ttff_at: int | None = None  # None: the smallest of ``viewers``
    burst_joins: int = DEFAULT_BURST_JOINS
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
            processes=tuple(args.processes),
            seconds=args.seconds,
            settle=args.settle,
            reencode_viewers=args.reencode_viewers,
            ttff_joins=args.ttff_joins,
            ttff_at=args.ttff_at,
            burst_joins=args.burst_joins,
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
