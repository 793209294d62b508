"""Shared fixtures: a real embedded Redis, the real app on a real port, loopback-only ICE."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import hypothesis
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from stream.app import create_app
from stream.config import Settings
from stream.http.keys import REDIS
from stream.program.sessions import Session, SessionStore
from stream.store import EmbeddedRedis, connect

LOOPBACK = ("127.0.0.1",)
SERVER_CLOSE_SECONDS = 30.0  # a server that takes longer to close fails with its tasks' stacks


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def redis_url(redis_server: EmbeddedRedis) -> str:
    """The shared test Redis, emptied for this test."""
    client = connect(redis_server.url)
    await client.flushall()
    await client.aclose()
    return redis_server.url


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Settings:
    return Settings(
        host="127.0.0.1",
        port=8080,
        rtmp_port=0,  # off: RTMP tests choose a free port
        redis_url=redis_url,
        data_dir=tmp_path / "data",
        ice_hosts=LOOPBACK,
        handshake_timeout=10.0,
    )


MakeServer = Callable[[Settings], Awaitable[TestServer]]


@pytest.fixture
async def make_server() -> AsyncIterator[MakeServer]:
    """Start the real app on 127.0.0.1 (a free port); several may run in one test."""
    servers: list[TestServer] = []

    async def start(settings: Settings) -> TestServer:
        app = create_app(settings)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        await close_or_explain(server)


async def close_or_explain(server: TestServer) -> None:
    """Close a test server; if it hangs, fail with the stack of every task still pending."""
    closing = asyncio.ensure_future(server.close())
    done, _ = await asyncio.wait({closing}, timeout=SERVER_CLOSE_SECONDS)
    if closing in done:
        closing.result()
        return
    report = io.StringIO()
    for task in asyncio.all_tasks():
        if task is not asyncio.current_task():
            task.print_stack(limit=12, file=report)
    closing.cancel()
    pytest.fail(
        f"the server did not close within {SERVER_CLOSE_SECONDS:.0f} s:\n{report.getvalue()}"
    )


@pytest.fixture
async def server(make_server: MakeServer, settings: Settings) -> TestServer:
    return await make_server(settings)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def two_nodes(settings: Settings) -> AsyncIterator[tuple[TestServer, TestServer]]:
    """Two nodes of one deployment on one Redis, each at its own URL (its node link)."""
    servers = []
    try:
        for _ in range(2):
            port = free_port()
            node = settings.with_(port=port, public_url=f"http://127.0.0.1:{port}")
            server = TestServer(create_app(node), host="127.0.0.1", port=port)
            await server.start_server()
            servers.append(server)
        yield servers[0], servers[1]
    finally:
        for server in reversed(servers):
            await close_or_explain(server)


@pytest.fixture
async def nodes(settings: Settings) -> AsyncIterator[tuple[TestServer, TestServer]]:
    async with two_nodes(settings) as pair:
        yield pair


async def wait_live(http: aiohttp.ClientSession, base: str, session: str) -> None:
    """Wait until the node at ``base`` says ``session`` is live (its own room or another node's
    record, refreshed every 2 s)."""
    for _ in range(100):
        async with http.get(f"{base}/api/sessions/{session}/status") as r:
            if (await r.json())["live"]:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{session} never showed live at {base}")


async def live_on(server: TestServer, session: str) -> None:
    async with aiohttp.ClientSession() as http:
        await wait_live(http, base_url(server), session)


def base_url(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


async def create_session(server: TestServer, session_id: str, title: str = "Test session") -> str:
    """Store a session directly in Redis and return its publish key."""
    app: web.Application = server.app  # type: ignore[assignment]
    store = SessionStore(app[REDIS])
    await store.save(Session(id=session_id, title=title, arranger="Testarrangör"))
    return await store.rotate_key(session_id)


# Property tests count examples, not milliseconds: on a busy 2-core machine one example can take
# longer than hypothesis's default 200 ms deadline without anything being wrong.
hypothesis.settings.register_profile("stream", deadline=None)
hypothesis.settings.load_profile("stream")


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("STREAM_LOG_LEVEL", "WARNING")
