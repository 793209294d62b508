"""`stream serve --workers 2` for real: one port, two worker processes (each a node with its own
unix-socket link), the supervisor that restarts a killed worker and stops them all on SIGTERM,
and a WHIP resource answering wherever its requests land."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil
import pytest

from stream.config import ConfigError, Settings, parse_workers
from stream.ingest.whep_client import WhepClient, WhepError
from stream.program.sessions import Session, SessionStore
from stream.rtc.peer import split_resource_id
from stream.serve import JsonFormatter, configure_logging
from stream.store import EmbeddedRedis, connect
from stream.workers import (
    MAX_RESTARTS,
    RUN_DIR,
    Supervisor,
    WorkersFailed,
    decode_settings,
    encode_settings,
)
from tests.conftest import free_port, wait_live
from tests.media import Received, publish_loop, wait_for, watch
from tests.rtc.offers import real_offer

START_SECONDS = 60.0  # two Python processes importing aiortc on a loaded 2-core machine
STOP_SECONDS = 30.0
PROCESS_TEST_SECONDS = 300  # several starts of the server, bounded each; a loaded machine
FRAGMENT = {"Content-Type": "application/trickle-ice-sdpfrag"}
VIEWER_ATTEMPTS = 16  # viewers made until one reached each worker
CANDIDATE = "a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"


@dataclass
class Server:
    process: asyncio.subprocess.Process
    base: str
    data_dir: Path
    lines: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    @property
    def output(self) -> str:
        return "".join(self.lines)

    async def read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.lines.append(line.decode(errors="replace"))

    async def wait_line(self, marker: str, seconds: float = START_SECONDS) -> None:
        async with asyncio.timeout(seconds):
            while not any(marker in line for line in self.lines):
                if self.process.returncode is not None:
                    raise AssertionError("server exited:\n" + self.output)
                await asyncio.sleep(0.05)

    def workers(self) -> dict[int, psutil.Process]:
        """The live worker processes by index (from their command line and output)."""
        found = {}
        for child in psutil.Process(self.process.pid).children():
            with contextlib.suppress(psutil.NoSuchProcess):
                if "--worker-of" in child.cmdline() and child.status() != "zombie":
                    found[child.pid] = child
        by_index = {}
        for line in reversed(self.lines):  # "worker 1 started (pid 123)", newest first
            if " started (pid " in line and "worker " in line:
                index = int(line.split("worker ", 1)[1].split(" ", 1)[0])
                pid = int(line.rsplit("(pid ", 1)[1].split(")", 1)[0])
                if pid in found and index not in by_index:
                    by_index[index] = found[pid]
        return by_index

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(STOP_SECONDS):
            code = await self.process.wait()
        if self.reader is not None:
            await self.reader
        return code


@contextlib.asynccontextmanager
async def serve_workers(data_dir: Path, port: int, workers: int = 2) -> AsyncIterator[Server]:
    env = {
        **os.environ,
        "STREAM_LOG_LEVEL": "INFO",  # the access log names the node route a request took
        "STREAM_RTMP_PORT": "0",
        "STREAM_HANDSHAKE_TIMEOUT": "120",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stream.cli", "serve", "--workers", str(workers),
        "--port", str(port), "--data-dir", str(data_dir), "--ice-host", "127.0.0.1",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    server = Server(process, f"http://127.0.0.1:{port}", data_dir)
    server.reader = asyncio.create_task(server.read())
    try:
        await server.wait_line(f"with {workers} workers")
        yield server
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await server.reader


async def answering_workers(base: str, attempts: int = 400, want: int = 2) -> set[int]:
    """Which workers answer ``/healthz``, each request on a new connection."""
    seen: set[int] = set()
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        for _ in range(attempts):
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 200
                seen.add((await r.json())["worker"])
            if len(seen) >= want:
                break
    return seen


async def node_health(path: Path) -> dict[str, object]:
    connector = aiohttp.UnixConnector(path=str(path))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.get("http://node.local/healthz") as r,
    ):
        body: dict[str, object] = await r.json()
        return body


@pytest.mark.timeout(PROCESS_TEST_SECONDS)
async def test_two_workers_share_the_port_restart_and_stop(tmp_path: Path) -> None:
    port = free_port()
    async with serve_workers(tmp_path, port) as server:
        assert await answering_workers(server.base) == {0, 1}
        # Each worker has its node link: a unix socket in the private run directory.
        run = tmp_path / "run"
        assert stat.S_IMODE(run.stat().st_mode) == 0o700
        for index in (0, 1):
            sock = run / f"node-{index}.sock"
            assert stat.S_ISSOCK(sock.stat().st_mode)
            assert (await node_health(sock))["worker"] == index
        # One embedded Redis, the supervisor's child; the workers use it.
        redis = connect(f"unix://{tmp_path / 'redis.sock'}")
        try:
            await SessionStore(redis).save(Session(id="kept", title="Kept", arranger="A"))
        finally:
            await redis.aclose()
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:
            for _ in range(6):  # whichever worker answers reads it
                async with http.get(f"{server.base}/api/sessions/kept") as r:
                    assert r.status == 200
                    assert (await r.json())["title"] == "Kept"

        # A killed worker is started again, on the same node socket.
        workers = server.workers()
        assert sorted(workers) == [0, 1], server.output
        killed = workers[1]
        killed.kill()
        async with asyncio.timeout(START_SECONDS):
            while (worker := server.workers().get(1)) is None or worker.pid == killed.pid:
                await asyncio.sleep(0.1)
            while True:
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    if (await node_health(run / "node-1.sock"))["worker"] == 1:
                        break
                await asyncio.sleep(0.1)
        assert await answering_workers(server.base) == {0, 1}
        assert "worker 1 (pid" in server.output

        # The embedded Redis is the supervisor's: killed, it is started again, the workers
        # reconnect by themselves and the data is there.
        redis_before = [
            c
            for c in psutil.Process(server.process.pid).children()
            if "--worker-of" not in c.cmdline()
        ]
        assert len(redis_before) == 1, redis_before
        redis_before[0].kill()
        async with asyncio.timeout(START_SECONDS):
            while "embedded Redis is back" not in server.output:
                await asyncio.sleep(0.1)
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:
            for _ in range(6):
                async with http.get(f"{server.base}/api/sessions/kept") as r:
                    assert r.status == 200
        assert await answering_workers(server.base) == {0, 1}

        children = psutil.Process(server.process.pid).children(recursive=True)
        assert len(children) == 3, children  # two workers and the Redis
        started = asyncio.get_running_loop().time()
        code = await server.stop()
        took = asyncio.get_running_loop().time() - started
    assert code == 0, server.output
    assert took < STOP_SECONDS
    assert not any(c.is_running() and c.status() != "zombie" for c in children)
    assert not list(run.glob("node-*.sock"))
    assert "Traceback" not in server.output, server.output

    # The same data directory again: what was written is there.
    async with serve_workers(tmp_path, port) as server:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{server.base}/api/sessions/kept") as r,
        ):
            assert r.status == 200
        assert await server.stop() == 0


@pytest.mark.timeout(PROCESS_TEST_SECONDS)
async def test_resource_requests_reach_the_worker_that_holds_the_peer(tmp_path: Path) -> None:
    port = free_port()
    async with serve_workers(tmp_path, port) as server:
        key = await session_with_key(tmp_path, "spread")
        connector = aiohttp.TCPConnector(force_close=True)  # each request may reach either worker
        async with aiohttp.ClientSession(connector=connector) as http:
            headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {key}"}
            async with http.post(
                f"{server.base}/whip/spread", data=await real_offer(), headers=headers
            ) as r:
                assert r.status == 201, await r.text()
                resource = server.base + r.headers["Location"]
            # Trickle until one PATCH has gone through the other worker's node route.
            for _ in range(60):
                async with http.patch(resource, data=CANDIDATE, headers=FRAGMENT) as r:
                    assert r.status == 204, await r.text()
                if "PATCH /node/{role}/{session}/{resource} 204" in server.output:
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("no PATCH reached the peer's worker through its node link")
            async with http.delete(resource) as r:
                assert r.status == 200
            for _ in range(4):  # gone, whichever worker is asked
                async with http.patch(resource, data=CANDIDATE, headers=FRAGMENT) as r:
                    assert r.status == 404
        # More signals while the workers stop (systemd signals every process of a service,
        # the supervisor passes its own on): each worker stops once, cleanly.
        workers = server.workers()
        assert sorted(workers) == [0, 1]
        server.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(STOP_SECONDS):
            while any(w.is_running() and w.status() != "zombie" for w in workers.values()):
                for worker in workers.values():
                    with contextlib.suppress(psutil.NoSuchProcess):
                        worker.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.01)
        assert await server.stop() == 0, server.output
    assert "Traceback" not in server.output, server.output
    assert "exited with code" not in server.output  # stopping, not dying
    assert "stopped with code" not in server.output, server.output  # 0: a clean stop


@pytest.mark.timeout(PROCESS_TEST_SECONDS)
async def test_a_worker_that_keeps_exiting_stops_the_server(
    tmp_path: Path, redis_server: EmbeddedRedis
) -> None:
    """Past ``MAX_RESTARTS`` exits a minute the supervisor gives up (``stream serve`` exits 1)."""
    settings = Settings(
        port=free_port(),
        rtmp_port=0,
        redis_url=redis_server.url,
        data_dir=tmp_path,
        workers=2,
        web_dir=tmp_path / "no-such-web-dir",  # every worker fails to start
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", settings.port))
        sock.listen()
        supervisor = Supervisor(settings, [sock, sock], redis_server.url)
        with pytest.raises(WorkersFailed, match="exited") as failed:
            async with asyncio.timeout(START_SECONDS * 2):
                await supervisor.run()
    assert f"{MAX_RESTARTS + 1} times" in str(failed.value)
    assert not any(worker.running for worker in supervisor.workers)


def test_workers_setting() -> None:
    assert parse_workers("3") == 3
    assert parse_workers("auto") == parse_workers("0") >= 1
    with pytest.raises(ConfigError, match="STREAM_WORKERS"):
        parse_workers("many")
    with pytest.raises(ConfigError, match="STREAM_WORKERS"):
        Settings(workers=0)
    assert Settings.from_env({"STREAM_WORKERS": "2"}).workers == 2
    assert Settings.from_env({}).workers == 1
    # One link cannot name N processes.
    with pytest.raises(ConfigError, match="STREAM_NODE_LINK"):
        Settings(workers=2, node_link="http://10.0.0.2:8080")
    assert Settings(workers=2, worker=1, node_link="unix:/run/n.sock").worker == 1
    # Workers share one public URL: a redirect to "the room's node" cannot reach it.
    with pytest.raises(ConfigError, match="STREAM_EDGE_RELAY"):
        Settings(workers=2, edge_relay=False)
    assert Settings().runs_singletons
    assert Settings(worker=0).runs_singletons
    assert not Settings(worker=1).runs_singletons


def test_settings_reach_a_worker_whole() -> None:
    settings = Settings(
        data_dir=Path("/var/lib/stream"),
        ice_hosts=("192.0.2.1", "192.0.2.2"),
        trusted_proxies=("127.0.0.1",),
        chat_secret="s3cret",
        node_link="unix:/var/lib/stream/run/node-1.sock",
        webhook_url="https://example.org/hook",
        webhook_secret="hook-secret",
        workers=4,
        worker=1,
        recording_max_bytes=10,
        cors_origins=("https://a.example", "https://b.example"),
    )
    assert decode_settings(encode_settings(settings)) == settings


def test_serve_help_names_workers() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stream.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "--workers" in result.stdout
    assert "--worker-of" not in result.stdout  # the supervisor's, not the user's


def test_log_lines_name_their_process() -> None:
    record = logging.LogRecord("stream.x", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    line = json.loads(JsonFormatter("worker 1").format(record))
    assert (line["process"], line["message"]) == ("worker 1", "hello you")
    assert "process" not in json.loads(JsonFormatter().format(record))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        configure_logging("text", "INFO", "worker 1")
        assert "[worker 1] stream.x: hello you" in root.handlers[0].format(record)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


async def live_at(node_socket: Path, session: str) -> None:
    connector = aiohttp.UnixConnector(path=str(node_socket))
    async with aiohttp.ClientSession(connector=connector) as http:
        await wait_live(http, "http://node.local", session)


async def session_with_key(data_dir: Path, session_id: str) -> str:
    """A session stored in the server's Redis; its publish key."""
    redis = connect(f"unix://{data_dir / 'redis.sock'}")
    try:
        store = SessionStore(redis)
        await store.save(Session(id=session_id, title=session_id.title(), arranger="A"))
        return await store.rotate_key(session_id)
    finally:
        await redis.aclose()


async def watch_when_live(base: str, session: str) -> tuple[WhepClient, Received]:
    """A viewer, once the worker its POST reached knows the session is live (the presence
    record is refreshed every 2 s)."""
    for _ in range(100):
        try:
            return await watch(base, session)
        except WhepError as exc:
            if exc.status != 409:
                raise
            await asyncio.sleep(0.1)
    raise AssertionError("the session never showed live")


@pytest.mark.timeout(PROCESS_TEST_SECONDS)
async def test_viewers_on_either_worker_watch_a_room_published_to_one(tmp_path: Path) -> None:
    """The publisher reaches one worker; a viewer who reaches the other is served there from
    its mirror of the room, pulled over the first worker's unix-socket link."""
    port = free_port()
    async with serve_workers(tmp_path, port) as server:
        key = await session_with_key(tmp_path, "both")
        publisher, _ = await publish_loop(server.base, "both", key)
        viewers = []
        try:
            assert publisher.resource_url is not None
            origin_tag, _ = split_resource_id(publisher.resource_url.rsplit("/", 1)[1])
            # Both workers know it is live (the origin's presence record, refreshed every 2 s).
            for node in (0, 1):
                await live_at(tmp_path / RUN_DIR / f"node-{node}.sock", "both")
            tags: set[str | None] = set()
            for _ in range(VIEWER_ATTEMPTS):  # each POST on a new connection: either worker
                client, received = await watch_when_live(server.base, "both")
                viewers.append((client, received))
                assert client.resource_url is not None
                tags.add(split_resource_id(client.resource_url.rsplit("/", 1)[1])[0])
                if len(tags) == 2:
                    break
            # SO_REUSEPORT spreads the connections: both workers have viewers (all 16 on one
            # would happen once in 30 000 runs).
            assert len(tags) == 2, "every viewer reached the same worker"
            assert origin_tag in tags
            for _, received in viewers:
                await wait_for(lambda r=received: len(r.frames["video"]) >= 10, 30, "video")
        finally:
            for client, _ in viewers:
                await client.close()
            await publisher.close()
        assert await server.stop() == 0, server.output
    assert "Traceback" not in server.output, server.output
