"""Shutdown under load: SIGTERM to a real ``stream serve`` with many open sockets (and more
still opening) closes every socket with 1001 and exits within ``MAX_EXIT_SECONDS``."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp

from stream.program.sessions import Session, SessionStore
from stream.store import connect

SOCKETS = 150
CHURNERS = 8
MAX_EXIT_SECONDS = 5.0
START_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _start(redis_url: str, data_dir: Path, port: int) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "STREAM_LOG_LEVEL": "WARNING",
        "STREAM_CHAT_MAX_CONNECTIONS_PER_ADDRESS": str(SOCKETS * 10),
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stream.cli", "serve",
        "--port", str(port), "--rtmp-port", "0", "--data-dir", str(data_dir),
        "--redis-url", redis_url, "--ice-host", "127.0.0.1",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


async def _wait_up(base: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            await asyncio.sleep(0.1)


async def _hold(http: aiohttp.ClientSession, url: str, joined: asyncio.Queue[int]) -> int | None:
    """Join and wait for the server to close; the close code (None: the socket just died)."""
    ws = await http.ws_connect(url)
    await ws.send_str('{"type":"hello"}')
    await joined.put(1)
    async for _ in ws:
        pass
    return ws.close_code


async def _late_joiners(http: aiohttp.ClientSession, url: str, stop: asyncio.Event) -> None:
    """Keep opening sockets that stay, so some are mid-handshake or mid-join at SIGTERM."""
    opened: list[aiohttp.ClientWebSocketResponse] = []
    while not stop.is_set():
        try:
            ws = await http.ws_connect(url)
            await ws.send_str('{"type":"hello"}')
            opened.append(ws)
        except (aiohttp.ClientError, OSError):
            await asyncio.sleep(0.01)
    for ws in opened:
        await ws.close()


async def test_sigterm_closes_every_socket_and_exits_in_time(
    redis_url: str, tmp_path: Path
) -> None:
    redis = connect(redis_url)
    await SessionStore(redis).save(Session(id="last", title="Last talk", arranger="Arr"))
    await redis.aclose()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"ws://127.0.0.1:{port}/ws/last"
    process = await _start(redis_url, tmp_path / "data", port)
    stop = asyncio.Event()
    try:
        await _wait_up(base)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            joined: asyncio.Queue[int] = asyncio.Queue()
            holders = [asyncio.create_task(_hold(http, url, joined)) for _ in range(SOCKETS)]
            async with asyncio.timeout(30):
                for _ in range(SOCKETS):
                    await joined.get()
            await asyncio.sleep(0.5)  # every socket past its welcome
            churners = [
                asyncio.create_task(_late_joiners(http, url, stop)) for _ in range(CHURNERS)
            ]
            await asyncio.sleep(0.3)
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(MAX_EXIT_SECONDS * 3):
                code = await process.wait()
            exit_seconds = time.monotonic() - started
            stop.set()
            await asyncio.gather(*churners, return_exceptions=True)
            codes = await asyncio.gather(*holders, return_exceptions=True)
        going_away = sum(1 for c in codes if c == aiohttp.WSCloseCode.GOING_AWAY)
        print(
            f"SIGTERM with {SOCKETS} sockets: exit {code} in {exit_seconds:.2f}s, "
            f"{going_away} closed with 1001, others: {[c for c in codes if c != 1001][:5]}"
        )
        assert code == 0
        assert exit_seconds < MAX_EXIT_SECONDS, f"exit took {exit_seconds:.2f}s"
        assert going_away == SOCKETS, f"close codes: {sorted(map(str, codes))[:10]}"
    finally:
        stop.set()
        if process.returncode is None:
            process.kill()
            await process.wait()
