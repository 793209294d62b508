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

``--processes 1,2`` runs the forwarding part once per process count P, in the same Redis: P
``stream serve`` processes, the first the origin (the publisher publishes there), the other
P - 1 edges, each mirroring the origin's room over one relay link (``stream.rooms.edge``). The
viewers, the timed joins and the burst go round-robin to every process, the origin included (it
has spare cores too, and an audience reaching any node is what a deployment sees). Server CPU is
the sum over the P processes (each from the kernel for its own pid), with each process's part;
relay latency is each room's own (the origin's and each edge's mirror, from ``/api/rooms``);
the client-side publisher → viewer latency includes the edge's extra hop. The JSON line then
also carries ``processes`` (one summary per P) and ``scaling`` (each P against the first, from
the same run). The default, ``--processes 1``, is the single server and its JSON as before;
the re-encode baseline runs once whatever the list.

CPU figures are in % of one core. A run is VOID when the generator saturates, packets go
missing, the publisher cannot keep its frame rate or viewers fail to connect: then the figures
say more about the load generator than about the server.

The pieces: ``relay_config`` (flags and limits), ``relay_runner`` (the run), ``relay_phase``
(one server under test, its publisher and viewers), ``relay_peers`` (the publisher track and the
light viewers), ``relay_measure`` (one window), ``relay_server`` (the server process and CPU
accounting), ``relay_results`` and ``relay_report`` (figures, JSON and text), ``relay_scaling``
(the phases over processes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Iterator

import aiohttp

from stream.bench.relay_config import Config, add_arguments
from stream.bench.relay_peers import WhepRefused
from stream.bench.relay_runner import run_benchmark
from stream.bench.relay_scaling import render_runs, summarize_runs
from stream.bench.relay_server import ServerFailed
from stream.ingest.whip_client import WhipError

__all__ = ["add_arguments", "run"]


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
            runs = asyncio.run(run_benchmark(config))
    except KeyboardInterrupt:
        print("bench relay: interrupted", file=sys.stderr)
        return 130
    except (ServerFailed, WhipError, WhepRefused, TimeoutError, aiohttp.ClientError) as exc:
        print(f"bench relay: failed: {exc}", file=sys.stderr)
        return 1
    summary = summarize_runs(runs)
    print(render_runs(summary), flush=True)
    # Always last: one JSON line (``--json`` is kept for scripts that pass it).
    print(json.dumps(summary), flush=True)
    return 0
