"""What one ``stream bench chat`` run is asked to do: its flags, defaults and limits."""

from __future__ import annotations

import argparse

from stream.bench.options import add_strategy_arguments
from stream.chat.limits import FANOUT_TICK_MS

# -- defaults (a default run takes about a minute) ------------------------------------------------
DEFAULT_CLIENTS = (1000,)
DEFAULT_RATE = 10.0
DEFAULT_PROCESSES = (1, 2)
DEFAULT_SECONDS = 10.0
DEFAULT_WARMUP = 3.0
DEFAULT_PROBES = 20
PUBLISH_SECONDS = 2.0
PUBLISH_PIPELINE = 16
MESSAGE_BYTES = 150  # the stored event is about this size
MESSAGE_OVERHEAD = 70  # the event's fields around the text
SENDER_RATE = 50.0  # messages/s per sender socket
CONNECT_CONCURRENCY = 100
SESSION_ID = "bench-chat"
# Fan-out strategies compared in one run: the previous path (every read written at once) is the
# baseline; ``adaptive`` groups a session's messages into one frame per tick under load.
BASELINE = "per-message"
ADAPTIVE = "adaptive"
STRATEGIES = (BASELINE, ADAPTIVE)
DEFAULT_TICK_MS = FANOUT_TICK_MS  # the servers' default
# Settle after connecting, before reading the servers' memory.
MEMORY_SETTLE_SECONDS = 1.0

# -- limits: every wait is bounded ----------------------------------------------------------------
MAX_CLIENTS = 20_000
MAX_RATE = 5000.0
MAX_SECONDS = 600.0
CONNECT_TIMEOUT = 30.0
DRAIN_MAX_SECONDS = 20.0
DRAIN_IDLE_SECONDS = 5.0
FD_MARGIN = 256
GENERATOR_SATURATED = 90.0  # % of a core: the load generator, not the server, is the limit


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clients",
        type=_counts,
        default=DEFAULT_CLIENTS,
        help="receiving WebSocket clients, comma-separated for several runs (default 1000)",
    )
    parser.add_argument(
        "--rate", type=float, default=DEFAULT_RATE, help="messages per second (default 10)"
    )
    parser.add_argument(
        "--processes",
        type=_counts,
        default=DEFAULT_PROCESSES,
        help="server processes sharing Redis, comma-separated (default 1,2)",
    )
    parser.add_argument(
        "--seconds", type=float, default=DEFAULT_SECONDS, help="measuring window (default 10)"
    )
    parser.add_argument(
        "--warmup", type=float, default=DEFAULT_WARMUP, help="sending before the window (3)"
    )
    parser.add_argument(
        "--probes", type=int, default=DEFAULT_PROBES, help="clients that time each message (20)"
    )
    add_strategy_arguments(
        parser, STRATEGIES, what="fan-out strategies", tick_ms=DEFAULT_TICK_MS, tick_of="adaptive"
    )


def _counts(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list") from None
    if not values or any(value < 1 for value in values):
        raise argparse.ArgumentTypeError("counts must be positive")
    return values
