"""Probe clients for ``stream bench chat``, in a process of their own.

The load generator reads every receiver's copy of every message; a probe sharing its event loop
would be timed behind up to a thousand other reads. Here a few probes time each message from
the sender's ``time.monotonic_ns()`` (the system-wide monotonic clock on Linux) to their own
socket read, and send the latencies back over a pipe when told to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

READY_TIMEOUT = 30.0
RESULT_TIMEOUT = 30.0
JOIN_TIMEOUT = 10.0
BENCH_PREFIX = "bench "


def message_text(sequence: int, size: int) -> str:
    """A benchmark message: its number and send time, padded to about ``size`` characters."""
    head = f"{BENCH_PREFIX}{sequence} {time.monotonic_ns()} "
    return head + "x" * max(0, size - len(head))


def latencies_in(data: str, now_ns: int) -> list[float]:
    """Milliseconds since sending, of each benchmark message in one received frame."""
    frame: dict[str, Any] = json.loads(data)
    found = []
    for event in frame.get("events", [frame]):
        text = event.get("text", "")
        if isinstance(text, str) and text.startswith(BENCH_PREFIX):
            found.append((now_ns - int(text.split(" ")[2])) / 1e6)
    return found


class _Probes:
    def __init__(self) -> None:
        self.timing = False
        self.latencies_ms: list[float] = []

    async def read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if not self.timing or message.type is not aiohttp.WSMsgType.TEXT:
                continue
            data: str = message.data
            if not data.startswith('{"type":"history"'):
                self.latencies_ms += latencies_in(data, time.monotonic_ns())


async def _main(urls: list[str], session_id: str, count: int, conn: Connection) -> None:
    probes = _Probes()
    async with aiohttp.ClientSession() as http:
        sockets = []
        for index in range(count):
            url = urls[index % len(urls)].replace("http://", "ws://") + f"/ws/{session_id}"
            ws = await http.ws_connect(url, compress=0)
            await ws.send_str('{"type":"hello"}')
            sockets.append(ws)
        readers = [asyncio.create_task(probes.read(ws)) for ws in sockets]
        conn.send("ready")
        while True:
            command = await asyncio.to_thread(conn.recv)
            if command == "start":
                probes.timing = True
            elif command == "stop":
                probes.timing = False
                conn.send(probes.latencies_ms)
                break
        for ws in sockets:
            await ws.close()
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)


def _run(urls: list[str], session_id: str, count: int, conn: Connection) -> None:
    asyncio.run(_main(urls, session_id, count, conn))


class ProbeProcess:
    """``count`` probe sockets spread over ``urls``, in a child process (always reaped)."""

    def __init__(self, urls: list[str], session_id: str, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_run, args=(urls, session_id, count, child), daemon=True
        )

    async def start(self) -> None:
        self._process.start()
        if not await asyncio.to_thread(self._conn.poll, READY_TIMEOUT):
            raise RuntimeError("probe process did not connect in time")
        if self._conn.recv() != "ready":
            raise RuntimeError("probe process failed")

    def begin_timing(self) -> None:
        self._conn.send("start")

    async def latencies(self) -> list[float]:
        self._conn.send("stop")
        if not await asyncio.to_thread(self._conn.poll, RESULT_TIMEOUT):
            raise RuntimeError("probe process did not answer")
        result: list[float] = self._conn.recv()
        return result

    async def close(self) -> None:
        if self._process.pid is None:  # never started
            return
        await asyncio.to_thread(self._process.join, JOIN_TIMEOUT)
        if self._process.is_alive():
            self._process.terminate()
            await asyncio.to_thread(self._process.join)
        with contextlib.suppress(OSError):
            self._conn.close()
