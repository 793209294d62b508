"""The chat benchmark's servers: ``stream serve`` processes sharing one Redis, their statistics.

Also used by ``stream bench qa``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil  # type: ignore[import-untyped,unused-ignore]

from stream.bench.chat_config import FD_MARGIN, MAX_RATE
from stream.bench.relay_server import ServerProcess


def raise_open_files(needed: int) -> None:
    """Raise the soft open-files limit to cover every socket; the servers inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            print(f"warning: open files limited to {target}; {needed} wanted (ulimit -n)")


@contextlib.asynccontextmanager
async def servers(
    root: Path,
    redis_url: str,
    count: int,
    clients: int,
    http: aiohttp.ClientSession,
    extra: dict[str, str] | None = None,
) -> AsyncIterator[list[ServerProcess]]:
    limits = {
        **(extra or {}),
        "STREAM_RTMP_PORT": "0",  # several servers on one machine: RTMP is not under test
        "STREAM_CHAT_MAX_CONNECTIONS_PER_ADDRESS": str(clients + FD_MARGIN),
        "STREAM_CHAT_RATE_PER_SECOND": str(MAX_RATE),
        "STREAM_CHAT_RATE_BURST": str(int(MAX_RATE)),
        "STREAM_CHAT_ADDRESS_RATE_PER_SECOND": str(MAX_RATE),
        "STREAM_CHAT_ADDRESS_RATE_BURST": str(int(MAX_RATE)),
        # Every bench client comes from one address and may take a name.
        "STREAM_CHAT_NEW_IDENTITIES_PER_SECOND": str(MAX_RATE),
        "STREAM_CHAT_NEW_IDENTITIES_BURST": str(int(MAX_RATE)),
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


def rss_bytes(server: ServerProcess) -> int:
    """The server process's resident memory."""
    memory: Any = psutil.Process(server.pid).memory_info()
    return int(memory.rss)


async def server_stats(http: aiohttp.ClientSession, server: ServerProcess) -> dict[str, Any]:
    async with http.get(f"{server.base_url}/api/chat/stats") as response:
        body: dict[str, Any] = await response.json()
        return body


def latency_diff(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[int]:
    counts = [0] * len(after[0]["latency_counts"])
    for old, new in zip(before, after, strict=True):
        for index, (a, b) in enumerate(
            zip(old["latency_counts"], new["latency_counts"], strict=True)
        ):
            counts[index] += b - a
    return counts
