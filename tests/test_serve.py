"""The first README command for real: `stream serve --demo` in a subprocess."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import psutil

from stream.rtc.ice import host_addresses
from stream.store import connect
from tests.conftest import free_port
from tests.media import wait_for, watch

DEMO_KEY = "demo-key-for-tests-0123456789"


async def start_serve(data_dir: Path, port: int) -> asyncio.subprocess.Process:
    # RTMP off: its fixed default port may be taken by another server on this machine.
    env = {
        **os.environ,
        "STREAM_DEMO_KEY": DEMO_KEY,
        "STREAM_LOG_LEVEL": "INFO",
        "STREAM_RTMP_PORT": "0",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stream.cli", "serve", "--demo",
        "--port", str(port), "--data-dir", str(data_dir), "--ice-host", "127.0.0.1",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


async def read_until(process: asyncio.subprocess.Process, marker: str, lines: list[str]) -> None:
    assert process.stdout is not None
    async with asyncio.timeout(30):
        while True:
            line = (await process.stdout.readline()).decode()
            if not line:
                raise AssertionError("server exited:\n" + "".join(lines))
            lines.append(line)
            if marker in line:
                return


async def stop(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGINT)
    async with asyncio.timeout(30):
        return await process.wait()


async def test_demo_is_live_and_restart_keeps_the_data(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = await start_serve(tmp_path, port)
    lines: list[str] = []
    try:
        await read_until(process, "Running on", lines)
        output = "".join(lines)
        assert f"{base}/s/demo" in output
        assert DEMO_KEY in output
        children = psutil.Process(process.pid).children()
        assert children, "the embedded Redis runs as the server's child"
        with host_addresses(("127.0.0.1",)):
            viewer = None
            async with asyncio.timeout(20):
                while viewer is None:
                    try:
                        viewer, received = await watch(base, "demo")
                    except Exception:
                        await asyncio.sleep(0.3)
            try:
                await wait_for(lambda: len(received.frames["video"]) >= 10, what="demo frames")
                await wait_for(lambda: len(received.frames["audio"]) >= 10, what="demo audio")
            finally:
                await viewer.close()
        async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as r:
            assert r.status == 200
        redis = connect(f"unix://{tmp_path / 'redis.sock'}")
        await redis.xadd("persist-check", {"n": "1"})
        await redis.aclose()
    finally:
        code = await stop(process)
    assert code == 0, "".join(lines)
    assert not any(child.is_running() and child.status() != "zombie" for child in children)
    assert list(tmp_path.glob("appendonly*")), "Redis keeps an AOF in the data directory"

    # Restart on the same data: what was written is still there.
    process = await start_serve(tmp_path, port)
    lines = []
    try:
        await read_until(process, "Running on", lines)
        redis = connect(f"unix://{tmp_path / 'redis.sock'}")
        assert await redis.xlen("persist-check") == 1
        await redis.aclose()
    finally:
        assert await stop(process) == 0
