"""The chat benchmark's run: raw PUBLISH first, then each phase of clients x server processes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import secrets
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from stream.bench.chat_clients import (
    Receiver,
    Sending,
    connect_client,
    connect_receivers,
    receive,
    send_loop,
    sender_replies,
)
from stream.bench.chat_config import (
    BASELINE,
    DRAIN_IDLE_SECONDS,
    DRAIN_MAX_SECONDS,
    GENERATOR_SATURATED,
    MEMORY_SETTLE_SECONDS,
    MESSAGE_BYTES,
    PUBLISH_PIPELINE,
    PUBLISH_SECONDS,
    SENDER_RATE,
    SESSION_ID,
)
from stream.bench.chat_probes import ProbeProcess
from stream.bench.chat_report import Phase
from stream.bench.chat_servers import latency_diff, rss_bytes, server_stats, servers
from stream.bench.relay_server import (
    ServerProcess,
    cpu_seconds,
    runqueue_wait_seconds,
    system_cpu_seconds,
)
from stream.chat.stats import percentile_from_counts
from stream.program.sessions import Session, SessionStore
from stream.store import EmbeddedRedis, connect, wait_ready


async def run_chat(args: argparse.Namespace) -> dict[str, Any]:
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
                    for strategy in args.strategies:
                        phase = await run_phase(
                            args, root, redis_server, processes, clients, strategy
                        )
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
    strategy: str,
) -> Phase:
    tick_ms = 0.0 if strategy == BASELINE else args.tick_ms
    phase = Phase(processes, clients, args.rate, args.seconds, strategy, tick_ms)
    connector = aiohttp.TCPConnector(limit=0)
    # The strategy is the servers' setting: the fan-out picks its delivery once at start.
    extra = {"STREAM_CHAT_FANOUT_TICK_MS": f"{tick_ms:g}"}
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        servers(root, redis_server.url, processes, clients, http, extra) as running,
    ):
        urls = [server.base_url for server in running]
        rss_before = sum(rss_bytes(server) for server in running)
        receivers = await connect_receivers(http, urls, clients)
        await asyncio.sleep(MEMORY_SETTLE_SECONDS)
        phase.rss_per_client_bytes = (
            sum(rss_bytes(server) for server in running) - rss_before
        ) / clients
        tasks = [asyncio.create_task(receive(r)) for r in receivers]
        # Probes join last, so every fan-out writes to them after all the receivers: the
        # latency they see is the slowest a receiver of the same server sees.
        probes = ProbeProcess(urls, SESSION_ID, args.probes)
        try:
            await probes.start()
            run_tag = secrets.token_hex(3)
            senders = [
                # A fresh name each run: a guest's name stays theirs in the session.
                await connect_client(http, urls[i % len(urls)], name=f"Bench {i} {run_tag}")
                for i in range(math.ceil(args.rate / SENDER_RATE))
            ]
            counter = Sending()
            tasks += [asyncio.create_task(sender_replies(ws, counter)) for ws in senders]
            stop = asyncio.Event()
            sending = asyncio.create_task(send_loop(senders, args.rate, counter, stop))
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
    stats_before = [await server_stats(http, server) for server in running]
    server_cpu = sum(server.cpu_seconds() for server in running)
    server_kernel = sum(system_cpu_seconds(server.pid) for server in running)
    redis_cpu = cpu_seconds(redis_pid) if redis_pid else 0.0
    own_cpu = cpu_seconds()
    waited = _waits(running)
    received = sum(r.received for r in receivers)
    sent = counter.sent
    window.probes.begin_timing()
    started = time.perf_counter()
    await asyncio.sleep(args.seconds)
    elapsed = time.perf_counter() - started
    phase.sent = counter.sent - sent
    server_cpu = sum(server.cpu_seconds() for server in running) - server_cpu
    server_kernel = sum(system_cpu_seconds(server.pid) for server in running) - server_kernel
    redis_cpu = (cpu_seconds(redis_pid) if redis_pid else 0.0) - redis_cpu
    own_cpu = cpu_seconds() - own_cpu
    waited_after = _waits(running)
    if waited is not None and waited_after is not None:
        phase.server_wait_percent = 100 * (waited_after - waited) / elapsed
    phase.load_average = os.getloadavg()[0]
    # Messages in flight at either edge of the window balance out (latency << window).
    phase.deliveries = sum(r.received for r in receivers) - received
    latencies = await window.probes.latencies()
    stats_after = [await server_stats(http, server) for server in running]
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
        phase.server_kernel_us_per_delivery = 1e6 * server_kernel / server_deliveries
        writes = sum(s["writes"] for s in stats_after) - sum(s["writes"] for s in stats_before)
        phase.deliveries_per_write = server_deliveries / writes if writes else 0.0
    phase.probe_p50_ms = _percentile(latencies, 50)
    phase.probe_p95_ms = _percentile(latencies, 95)
    phase.probe_p99_ms = _percentile(latencies, 99)
    counts = latency_diff(stats_before, stats_after)
    bounds = stats_after[0]["latency_bounds_ms"]
    phase.server_p50_ms = percentile_from_counts(counts, bounds, 50)
    phase.server_p99_ms = percentile_from_counts(counts, bounds, 99)
    phase.dropped_slow = sum(s["dropped_slow"] for s in stats_after)


def _waits(running: list[ServerProcess]) -> float | None:
    waits = [runqueue_wait_seconds(server.pid) for server in running]
    return None if any(w is None for w in waits) else sum(w for w in waits if w is not None)


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
    _check_numbers(phase, receivers, counter.sent)
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


def _check_numbers(phase: Phase, receivers: list[Receiver], sent: int) -> None:
    """Per message: every receiver got it exactly once (sent x receivers = received)."""
    per_message = Counter[int]()
    repeats = 0
    for receiver in receivers:
        unique = set(receiver.numbers)
        repeats += len(receiver.numbers) - len(unique)
        per_message.update(unique)
    phase.messages_missing = sum(1 for n in range(sent) if per_message[n] != len(receivers))
    phase.repeated = repeats
    phase.all_delivered = phase.messages_missing == 0 and repeats == 0
