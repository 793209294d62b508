"""Chat fan-out: deliveries/s, server CPU per delivery, latency p50/p99, vs raw redis-py PUBLISH.

``stream bench chat [--clients 1000] [--rate 10] [--processes 1,2] [--seconds 10]
[--strategies per-message,adaptive] [--tick-ms 5]`` starts an embedded Redis and, for each
process count and each fan-out strategy, that many ``stream serve`` subprocesses sharing it.
The first strategy is the baseline (``per-message``: the previous path, every read written at
once); the others are compared with it (``adaptive``: one frame per session per tick under
load), the servers started with ``STREAM_CHAT_FANOUT_TICK_MS`` set accordingly. From this
process (the load generator) it connects ``--clients`` WebSocket receivers spread evenly over
the servers, plus a few senders that together post ``--rate`` messages per second of ~150
bytes. Over a steady window it measures:

- deliveries/s: chat messages received by all clients over the window, and after sending
  stops, whether every client got every message sent in the whole phase (``share``);
- server CPU (kernel accounting of the server processes) per delivery, and deliveries per
  second per core;
- latency on probe clients (sender's clock → a probe's socket read; the probes run in a process
  of their own so the generator's reads do not delay them: ``chat_probes``) and on the
  servers (stored in Redis, by the entry id's millisecond clock → written to the last socket,
  from ``/api/chat/stats``), p50/p99 as histogram bucket bounds;
- Redis's and the generator's own CPU: a generator near 100 % of a core makes the run VOID.

Every receiver records each message's number: the run fails unless every message reached every
receiver exactly once. Memory per client: the servers' RSS after connecting the receivers
minus before, per receiver. The last line is one JSON object (core count, every phase, the
ratios to the baseline).

Before that, in the same run, raw redis-py PUBLISH throughput (one connection, awaited one by
one, and pipelined) gives the yardstick; the ratio is deliveries/s over PUBLISH/s.

The pieces: ``chat_config`` (flags and limits), ``chat_runner`` (the run and its windows),
``chat_servers`` (the server processes), ``chat_clients`` (receivers and senders),
``chat_probes`` (timing clients in their own process) and ``chat_report`` (the table).
"""

from __future__ import annotations

import argparse
import asyncio
import math

from stream.bench.chat_config import (
    FD_MARGIN,
    MAX_CLIENTS,
    MAX_RATE,
    MAX_SECONDS,
    SENDER_RATE,
    add_arguments,
)
from stream.bench.chat_report import print_report
from stream.bench.chat_runner import run_chat
from stream.bench.chat_servers import raise_open_files

__all__ = ["add_arguments", "run"]


def run(args: argparse.Namespace) -> int:
    if max(args.clients) > MAX_CLIENTS or not 0 < args.rate <= MAX_RATE:
        print(f"stream bench chat: at most {MAX_CLIENTS} clients and {MAX_RATE} msg/s")
        return 2
    if not 0 < args.seconds <= MAX_SECONDS or args.warmup < 0 or args.probes < 1:
        print("stream bench chat: --seconds, --warmup or --probes out of range")
        return 2
    senders = math.ceil(args.rate / SENDER_RATE)
    raise_open_files(max(args.clients) + senders + FD_MARGIN)
    result = asyncio.run(run_chat(args))
    print_report(result, args)
    # No delivery lost or repeated in any phase, or the run fails.
    return 0 if all(phase.all_delivered for phase in result["phases"]) else 1
