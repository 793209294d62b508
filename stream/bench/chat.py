"""Chat fan-out: deliveries/s, server CPU per delivery, latency p50/p99, vs raw redis-py PUBLISH.

``stream bench chat [--clients 1000] [--rate 10] [--processes 1,2] [--seconds 10] [--json]``
starts an embedded Redis and, for each process count, that many ``stream serve`` subprocesses
sharing it. From this process (the load generator) it connects ``--clients`` WebSocket
receivers spread evenly over the servers, plus a few senders that together post ``--rate``
messages per second of ~150 bytes. Over a steady window it measures:

- deliveries/s: chat messages received by all clients over the window, and after sending
  stops, whether every client got every message sent in the whole phase (``share``);
- server CPU (kernel accounting of the server processes) per delivery, and deliveries per
  second per core;
- latency on probe clients (sender's clock → a probe's socket read; the probes run in a process
  of their own so the generator's reads do not delay them: ``chat_probes``) and on the
  servers (stored in Redis, by the entry id's millisecond clock → written to the last socket,
  from ``/api/chat/stats``), p50/p99 as histogram bucket bounds;
- Redis's and the generator's own CPU: a generator near 100 % of a core makes the run VOID.

Before that, in the same run, raw redis-py PUBLISH throughput (one connection, awaited one by
one, and pipelined) gives the yardstick; the ratio is deliveries/s over PUBLISH/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from stream.bench.chat_probes import ProbeProcess, message_text
from stream.bench.relay_server import ServerProcess, cpu_seconds
from stream.chat.stats import percentile_from_counts
from stream.program.sessions import Session, SessionStore
from stream.store import EmbeddedRedis, connect, wait_ready

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

# -- limits: every wait is bounded ----------------------------------------------------------------
MAX_CLIENTS = 20_000
MAX_RATE = 5000.0
MAX_SECONDS = 600.0
CONNECT_TIMEOUT = 30.0
DRAIN_MAX_SECONDS = 20.0
DRAIN_IDLE_SECONDS = 5.0
FD_MARGIN = 256
GENERATOR_SATURATED = 90.0  # % of a core: the load generator, not the server, is the limit


@dataclass
class Receiver:
    ws: aiohttp.ClientWebSocketResponse
    received: int = 0


@dataclass
class Phase:
    processes: int
    clients: int
    rate: float
    seconds: float
    sent: int = 0
    deliveries: int = 0
    # Over the whole phase (warm-up, window, drain): every message to every client?
    expected: int = 0
    received_total: int = 0
    # Receivers that got fewer messages than were sent (a slow one is dropped and reconnects).
    short_clients: int = 0
    acked: int = 0
    send_errors: int = 0
    deliveries_per_s: float = 0.0
    delivered_share: float = 0.0
    server_cpu_percent: float = 0.0
    server_cpu_us_per_delivery: float = 0.0
    deliveries_per_core_s: float = 0.0
    redis_cpu_percent: float = 0.0
    generator_cpu_percent: float = 0.0
    probe_p50_ms: float | None = None
    probe_p99_ms: float | None = None
    server_p50_ms: float | None = None
    server_p99_ms: float | None = None
    dropped_slow: int = 0
    void: str = ""


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
    parser.add_argument("--json", action="store_true", help="print one JSON object last")


def _counts(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list") from None
    if not values or any(value < 1 for value in values):
        raise argparse.ArgumentTypeError("counts must be positive")
    return values


def run(args: argparse.Namespace) -> int:
    if max(args.clients) > MAX_CLIENTS or not 0 < args.rate <= MAX_RATE:
        print(f"stream bench chat: at most {MAX_CLIENTS} clients and {MAX_RATE} msg/s")
        return 2
    if not 0 < args.seconds <= MAX_SECONDS or args.warmup < 0 or args.probes < 1:
        print("stream bench chat: --seconds, --warmup or --probes out of range")
        return 2
    senders = math.ceil(args.rate / SENDER_RATE)
    raise_open_files(max(args.clients) + senders + FD_MARGIN)
    result = asyncio.run(_run(args))
    _print(result, args)
    return 0


def raise_open_files(needed: int) -> None:
    """Raise the soft open-files limit to cover every socket; the servers inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            print(f"warning: open files limited to {target}; {needed} wanted (ulimit -n)")


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="stream-bench-chat-") as tmp:
        root = Path(tmp)
        redis_server = EmbeddedRedis(root / "redis")
        # In this thread: the server gets SIGTERM when the thread that started it ends.
        redis_server.start()
        try:
            await _create_session(redis_server.url)
            publish = await measure_publish(redis_server.url)
            phases = []
            for clients in args.clients:
                for processes in args.processes:
                    phase = await run_phase(args, root, redis_server, processes, clients)
                    phases.append(phase)
        finally:
            await asyncio.to_thread(redis_server.stop)
    return {"publish": publish, "phases": phases}


async def _create_session(url: str) -> None:
    redis = connect(url)
    try:
        await wait_ready(redis)
        await SessionStore(redis).save(Session(id=SESSION_ID, title="Chat benchmark"))
    finally:
        await redis.aclose()


async def measure_publish(url: str) -> dict[str, float]:
    """redis-py PUBLISH/s on one plain connection (hiredis): awaited one by one, and pipelined."""
    redis = aioredis.Redis.from_url(url)
    payload = b"x" * MESSAGE_BYTES
    try:
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < PUBLISH_SECONDS:
            await redis.publish("bench-chat", payload)
            count += 1
        sequential = count / (time.perf_counter() - started)
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < PUBLISH_SECONDS:
            async with redis.pipeline(transaction=False) as pipe:
                for _ in range(PUBLISH_PIPELINE):
                    pipe.publish("bench-chat", payload)
                await pipe.execute()
            count += PUBLISH_PIPELINE
        pipelined = count / (time.perf_counter() - started)
    finally:
        await redis.aclose()
    return {"publish_per_s": sequential, "publish_pipelined_per_s": pipelined}


@contextlib.asynccontextmanager
async def servers(
    root: Path, redis_url: str, count: int, clients: int, http: aiohttp.ClientSession
) -> AsyncIterator[list[ServerProcess]]:
    limits = {
        "STREAM_RTMP_PORT": "0",  # several servers on one machine: RTMP is not under test
        "STREAM_CHAT_MAX_CONNECTIONS_PER_ADDRESS": str(clients + FD_MARGIN),
        "STREAM_CHAT_RATE_PER_SECOND": str(MAX_RATE),
        "STREAM_CHAT_RATE_BURST": str(int(MAX_RATE)),
        "STREAM_CHAT_ADDRESS_RATE_PER_SECOND": str(MAX_RATE),
        "STREAM_CHAT_ADDRESS_RATE_BURST": str(int(MAX_RATE)),
    }
    saved = {key: os.environ.get(key) for key in limits}
    os.environ.update(limits)  # the server processes inherit them
    started: list[ServerProcess] = []
    try:
        for index in range(count):
            server = ServerProcess(root / f"server-{count}-{index}", redis_url)
            started.append(server)
            await server.start(http)
        yield started
    finally:
        for server in started:
            await asyncio.to_thread(server.stop)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def _connect(
    http: aiohttp.ClientSession, base_url: str, name: str | None = None
) -> aiohttp.ClientWebSocketResponse:
    url = base_url.replace("http://", "ws://") + f"/ws/{SESSION_ID}"
    ws = await http.ws_connect(url, compress=0, max_msg_size=0, autoping=True)
    await ws.send_str('{"type":"hello"}')
    if name is not None:
        await ws.send_str(json.dumps({"type": "name", "name": name}))
    return ws


async def _receive(receiver: Receiver) -> None:
    async for message in receiver.ws:
        if message.type is not aiohttp.WSMsgType.TEXT:
            continue
        data: str = message.data
        if data.startswith('{"type":"history"'):
            continue
        receiver.received += data.count('"type":"msg"')


async def _sender_replies(ws: aiohttp.ClientWebSocketResponse, counter: Sending) -> None:
    async for message in ws:
        if message.type is not aiohttp.WSMsgType.TEXT:
            continue
        if message.data.startswith('{"type":"ack"'):
            counter.acked += 1
        elif message.data.startswith('{"type":"error"'):
            counter.errors += 1


@dataclass
class Sending:
    sent: int = 0
    acked: int = 0
    errors: int = 0


async def _send_loop(
    senders: Sequence[aiohttp.ClientWebSocketResponse],
    rate: float,
    counter: Sending,
    stop: asyncio.Event,
) -> None:
    """Post ``rate`` messages/s round-robin over the senders until ``stop``."""
    started = time.perf_counter()
    while not stop.is_set():
        sent = counter.sent
        delay = started + sent / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        text = message_text(sent, MESSAGE_BYTES - MESSAGE_OVERHEAD)
        frame = json.dumps({"type": "send", "cid": f"b{sent}", "text": text})
        await senders[sent % len(senders)].send_str(frame)
        counter.sent += 1


async def _stats(http: aiohttp.ClientSession, server: ServerProcess) -> dict[str, Any]:
    async with http.get(f"{server.base_url}/api/chat/stats") as response:
        body: dict[str, Any] = await response.json()
        return body


def _latency_diff(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[int]:
    counts = [0] * len(after[0]["latency_counts"])
    for old, new in zip(before, after, strict=True):
        for index, (a, b) in enumerate(
            zip(old["latency_counts"], new["latency_counts"], strict=True)
        ):
            counts[index] += b - a
    return counts


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def run_phase(
    args: argparse.Namespace,
    root: Path,
    redis_server: EmbeddedRedis,
    processes: int,
    clients: int,
) -> Phase:
    phase = Phase(processes, clients, args.rate, args.seconds)
    connector = aiohttp.TCPConnector(limit=0)
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        servers(root, redis_server.url, processes, clients, http) as running,
    ):
        urls = [server.base_url for server in running]
        receivers = await _connect_receivers(http, urls, clients)
        tasks = [asyncio.create_task(_receive(r)) for r in receivers]
        # Probes join last, so every fan-out writes to them after all the receivers: the
        # latency they see is the slowest a receiver of the same server sees.
        probes = ProbeProcess(urls, SESSION_ID, args.probes)
        try:
            await probes.start()
            senders = [
                await _connect(http, urls[i % len(urls)], name=f"Bench {i}")
                for i in range(math.ceil(args.rate / SENDER_RATE))
            ]
            counter = Sending()
            tasks += [asyncio.create_task(_sender_replies(ws, counter)) for ws in senders]
            stop = asyncio.Event()
            sending = asyncio.create_task(_send_loop(senders, args.rate, counter, stop))
            try:
                await asyncio.sleep(args.warmup)
                window = Window(http, running, redis_server, receivers, counter, probes)
                await _measure(phase, window, args)
                stop.set()
                await sending
                await _count_losses(phase, receivers, counter)
            finally:
                stop.set()
                with contextlib.suppress(Exception):
                    await sending
                for ws in [r.ws for r in receivers] + senders:
                    await ws.close()
        finally:
            await probes.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return phase


async def _connect_receivers(
    http: aiohttp.ClientSession, urls: list[str], clients: int
) -> list[Receiver]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect_one(index: int) -> Receiver:
        async with gate:
            return Receiver(await _connect(http, urls[index % len(urls)]))

    connecting = asyncio.gather(*(connect_one(i) for i in range(clients)))
    return await asyncio.wait_for(connecting, CONNECT_TIMEOUT)


@dataclass
class Window:
    """What one measuring window reads from."""

    http: aiohttp.ClientSession
    running: list[ServerProcess]
    redis_server: EmbeddedRedis
    receivers: list[Receiver]
    counter: Sending
    probes: ProbeProcess


async def _measure(phase: Phase, window: Window, args: argparse.Namespace) -> None:
    http, running, receivers, counter = (
        window.http,
        window.running,
        window.receivers,
        window.counter,
    )
    redis_pid = window.redis_server.pid
    stats_before = [await _stats(http, server) for server in running]
    server_cpu = sum(server.cpu_seconds() for server in running)
    redis_cpu = cpu_seconds(redis_pid) if redis_pid else 0.0
    own_cpu = cpu_seconds()
    received = sum(r.received for r in receivers)
    sent = counter.sent
    window.probes.begin_timing()
    started = time.perf_counter()
    await asyncio.sleep(args.seconds)
    elapsed = time.perf_counter() - started
    phase.sent = counter.sent - sent
    server_cpu = sum(server.cpu_seconds() for server in running) - server_cpu
    redis_cpu = (cpu_seconds(redis_pid) if redis_pid else 0.0) - redis_cpu
    own_cpu = cpu_seconds() - own_cpu
    # Messages in flight at either edge of the window balance out (latency << window).
    phase.deliveries = sum(r.received for r in receivers) - received
    latencies = await window.probes.latencies()
    stats_after = [await _stats(http, server) for server in running]
    phase.deliveries_per_s = phase.deliveries / elapsed
    server_deliveries = sum(s["deliveries"] for s in stats_after) - sum(
        s["deliveries"] for s in stats_before
    )
    phase.server_cpu_percent = 100 * server_cpu / elapsed
    phase.redis_cpu_percent = 100 * redis_cpu / elapsed
    phase.generator_cpu_percent = 100 * own_cpu / elapsed
    if server_deliveries:
        phase.server_cpu_us_per_delivery = 1e6 * server_cpu / server_deliveries
        phase.deliveries_per_core_s = server_deliveries / server_cpu if server_cpu else 0.0
    phase.probe_p50_ms = _percentile(latencies, 50)
    phase.probe_p99_ms = _percentile(latencies, 99)
    counts = _latency_diff(stats_before, stats_after)
    bounds = stats_after[0]["latency_bounds_ms"]
    phase.server_p50_ms = percentile_from_counts(counts, bounds, 50)
    phase.server_p99_ms = percentile_from_counts(counts, bounds, 99)
    phase.dropped_slow = sum(s["dropped_slow"] for s in stats_after)


async def _count_losses(phase: Phase, receivers: list[Receiver], counter: Sending) -> None:
    """After sending stopped: wait for the stragglers, then compare with everything sent."""
    phase.expected = counter.sent * phase.clients
    deadline = time.monotonic() + DRAIN_MAX_SECONDS
    last, idle_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        received = sum(r.received for r in receivers)
        if received >= phase.expected:
            break
        if received != last:
            last, idle_since = received, time.monotonic()
        elif time.monotonic() - idle_since > DRAIN_IDLE_SECONDS:
            break
        await asyncio.sleep(0.1)
    phase.received_total = sum(r.received for r in receivers)
    phase.short_clients = sum(1 for r in receivers if r.received < counter.sent)
    phase.acked = counter.acked
    phase.send_errors = counter.errors
    phase.delivered_share = phase.received_total / phase.expected if phase.expected else 0.0
    if phase.generator_cpu_percent > GENERATOR_SATURATED:
        phase.void = "load generator saturated"
    elif phase.received_total < phase.expected:
        phase.void = (
            f"{phase.expected - phase.received_total} deliveries missing "
            f"({phase.short_clients} clients short)"
        )


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _print(result: dict[str, Any], args: argparse.Namespace) -> None:
    publish = result["publish"]
    phases: list[Phase] = result["phases"]
    print(
        f"raw redis-py PUBLISH: {publish['publish_per_s']:,.0f}/s one by one, "
        f"{publish['publish_pipelined_per_s']:,.0f}/s pipelined x{PUBLISH_PIPELINE}"
    )
    print(f"rate {args.rate:g} msg/s, window {args.seconds:g} s, {os.cpu_count()} cores")
    header = (
        f"{'procs':>5} {'clients':>7} {'deliv/s':>9} {'share':>6} {'srv CPU%':>8} "
        f"{'us/deliv':>8} {'deliv/core-s':>12} {'probe p50/p99 ms':>17} "
        f"{'server p50/p99 ms':>18} {'redis%':>6} {'gen%':>5} {'vs PUBLISH':>10}"
    )
    print(header)
    for phase in phases:
        ratio = phase.deliveries_per_s / publish["publish_per_s"]
        print(
            f"{phase.processes:>5} {phase.clients:>7} {phase.deliveries_per_s:>9,.0f} "
            f"{phase.delivered_share:>6.1%} {phase.server_cpu_percent:>8.1f} "
            f"{phase.server_cpu_us_per_delivery:>8.1f} {phase.deliveries_per_core_s:>12,.0f} "
            f"{_fmt(phase.probe_p50_ms):>8}/{_fmt(phase.probe_p99_ms):<8} "
            f"{_fmt(phase.server_p50_ms):>9}/{_fmt(phase.server_p99_ms):<8} "
            f"{phase.redis_cpu_percent:>6.1f} {phase.generator_cpu_percent:>5.0f} "
            f"{ratio:>10.2f}" + (f"  VOID: {phase.void}" if phase.void else "")
        )
    if args.json:
        body = {
            **publish,
            "rate": args.rate,
            "seconds": args.seconds,
            "phases": [
                {
                    **asdict(phase),
                    "ratio_to_publish": phase.deliveries_per_s / publish["publish_per_s"],
                }
                for phase in phases
            ],
        }
        print(json.dumps(body))
