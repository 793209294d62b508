"""The embedded Redis dies (kill -9) under a running ``stream serve``: /healthz says degraded,
the server restarts Redis by itself, the clients heal, and nothing acknowledged is lost; if
Redis cannot come back within the bound, the server exits non-zero (systemd restarts it)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from prometheus_client.parser import text_string_to_metric_families

from stream.program.sessions import Session, SessionStore
from stream.store import connect
from tests.ops.server import Serve, serving

RECOVERY_BOUND = 10.0
Frame = dict[str, Any]


def redis_pid(server: Serve) -> int:
    assert server.process is not None
    children = [c for c in psutil.Process(server.process.pid).children() if "server" in c.name()]
    assert len(children) == 1, children
    return children[0].pid


def hold_back_the_aof(data: Path) -> Callable[[], None]:
    """Swap the append-only files for a broken manifest, so restarts fail until put back."""
    aof, held = data / "appendonlydir", data / "appendonlydir.held"
    aof.rename(held)
    aof.mkdir()
    (aof / "appendonly.aof.manifest").write_text("broken\n")

    def put_back() -> None:
        shutil.rmtree(aof)
        held.rename(aof)

    return put_back


async def until(check: Callable[[], Any], bound: float, what: str) -> Any:
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Chat:
    """A raw chat socket against a server process."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.http, self.ws = http, ws
        self.backlog: list[Frame] = []

    @classmethod
    async def open(cls, base: str, session_id: str, name: str) -> Chat:
        http = aiohttp.ClientSession()
        ws = await http.ws_connect(base.replace("http://", "ws://") + f"/ws/{session_id}")
        chat = cls(http, ws)
        await ws.send_json({"type": "hello"})
        await chat.frame("history")
        await ws.send_json({"type": "name", "name": name})
        await chat.frame("identity")
        return chat

    async def frame(self, kind: str, cid: str | None = None, text: str | None = None) -> Frame:
        """The first frame of ``kind`` (with that ``text``), or the reply to ``cid``, whether
        it came already (frames arrive in any order: a message's fan-out may beat its ack)."""

        def matches(frame: Frame) -> bool:
            if cid is not None:
                return frame.get("cid") == cid
            return frame.get("type") == kind and text in (None, frame.get("text"))

        async with asyncio.timeout(RECOVERY_BOUND):
            while True:
                for index, frame in enumerate(self.backlog):
                    if matches(frame):
                        return self.backlog.pop(index)
                self.backlog.append(dict(json.loads(await self.ws.receive_str())))

    async def say(self, text: str, cid: str) -> Frame:
        await self.ws.send_json({"type": "send", "cid": cid, "text": text})
        return await self.frame("ack", cid)

    async def close(self) -> None:
        await self.ws.close()
        await self.http.close()


async def history_texts(base: str, session_id: str) -> list[str]:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(base.replace("http://", "ws://") + f"/ws/{session_id}")
        await ws.send_json({"type": "hello"})
        async with asyncio.timeout(RECOVERY_BOUND):
            while True:
                frame = json.loads(await ws.receive_str())
                if frame.get("type") == "history":
                    await ws.close()
                    return [e["text"] for e in frame["events"] if e.get("type") == "msg"]


async def test_redis_killed_the_server_heals_and_keeps_what_it_acknowledged(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    async with serving(data) as server:
        lock = json.loads((data / "stream.lock").read_text())
        redis = connect(lock["url"])
        await SessionStore(redis).save(Session(id="hall", title="Aulan", arranger="Umeå"))
        await redis.aclose()
        chat = await Chat.open(server.base, "hall", "Maja")
        try:
            before = await chat.say("före", "c1")
            assert before["type"] == "ack", before
            put_back = hold_back_the_aof(data)
            os.kill(redis_pid(server), signal.SIGKILL)
            killed = time.monotonic()

            async def degraded() -> bool:
                status, body = await server.health()
                return status == 503 and json.loads(body) == {
                    "status": "degraded",
                    "redis": "restarting",
                }

            await until(degraded, 5.0, "/healthz degraded")
            put_back()

            async def healthy() -> bool:
                status, _ = await server.health()
                return status == 200

            await until(healthy, RECOVERY_BOUND, "/healthz healthy again")
            assert time.monotonic() - killed < RECOVERY_BOUND
            # The socket opened before the failure still works, and so does the fan-out.
            after = await chat.say("efter", "c2")
            assert after["type"] == "ack", after
            assert (await chat.frame("msg", text="efter"))["text"] == "efter"
            # Killed again, nothing in its way: back by itself well within the bound.
            os.kill(redis_pid(server), signal.SIGKILL)
            killed = time.monotonic()
            again = await chat.say("igen", "c3")
            assert again["type"] == "ack", again
            await until(healthy, RECOVERY_BOUND, "/healthz healthy after the second kill")
            assert time.monotonic() - killed < RECOVERY_BOUND
        finally:
            await chat.close()
        assert await history_texts(server.base, "hall") == ["före", "efter", "igen"]
        status, body = await server.get("/api/sessions/hall")
        assert status == 200
        assert "Aulan" in body
        status, body = await server.get("/metrics")
        families = {f.name: f for f in text_string_to_metric_families(body)}
        assert families["stream_redis_embedded_restarts"].samples[0].value == 2
        assert "embedded Redis is back" in "".join(server.stderr)
    assert server.process is not None
    assert server.process.returncode == 0


async def test_redis_that_cannot_come_back_stops_the_server_non_zero(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = Serve(data, env={"STREAM_REDIS_RESTART_WITHIN": "2"})
    await server.start()
    try:
        hold_back_the_aof(data)
        os.kill(redis_pid(server), signal.SIGKILL)
        assert await server.exit_code(timeout=20) == 1
    finally:
        if server.process is not None and server.process.returncode is None:
            await server.stop()
    assert "the embedded Redis died and could not be restarted" in "".join(server.stderr)
    assert "Traceback" not in server.output
