"""A small chat client for tests: a real WebSocket, frames collected by a reader task."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from stream.auth.links import ModeratorLinks
from stream.http.keys import CHAT, REDIS
from tests.conftest import base_url

Frame = dict[str, Any]
WAIT = 5.0
_cids = itertools.count(1)


def ws_url(server: TestServer, session_id: str) -> str:
    return base_url(server).replace("http://", "ws://") + f"/ws/{session_id}"


class ChatClient:
    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.http = http
        self.ws = ws
        self.frames: list[Frame] = []
        # Stored events (msg/mod) in arrival order, from history, replays and live frames.
        self.events: list[Frame] = []
        self.token: str | None = None
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls,
        server: TestServer,
        session_id: str,
        *,
        name: str | None = None,
        token: str | None = None,
        moderator_token: str | None = None,
        last_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> ChatClient:
        http = aiohttp.ClientSession()
        try:
            ws = await http.ws_connect(ws_url(server, session_id), headers=headers)
        except BaseException:
            await http.close()
            raise
        client = cls(http, ws)
        hello: Frame = {"type": "hello"}
        if token:
            hello["token"] = token
        if moderator_token:
            hello["moderator_token"] = moderator_token
        if last_id:
            hello["last_id"] = last_id
        await ws.send_json(hello)
        await client.frame("welcome")
        await client.frame("history")
        if name is not None:
            await client.rename(name)
        return client

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            self.frames.append(frame)
            if frame.get("type") in ("history", "batch"):
                self.events.extend(frame["events"])
            elif "id" in frame and frame.get("type") in ("msg", "mod"):
                self.events.append(frame)
            self._changed.set()
        self._changed.set()

    async def until(self, check: Callable[[], Any], timeout: float = WAIT, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out waiting for {what or check}; got {self.frames[-5:]}"
                )
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))
            except TimeoutError:
                pass

    async def frame(self, kind: str, timeout: float = WAIT, **match: Any) -> Frame:
        def find() -> Frame | None:
            for frame in self.frames:
                if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                    return frame
            return None

        found: Frame = await self.until(find, timeout, f"{kind} {match}")
        return found

    async def reply(self, cid: str, timeout: float = WAIT) -> Frame:
        def find() -> Frame | None:
            for frame in self.frames:
                if frame.get("cid") == cid and frame.get("type") in ("ack", "held", "error"):
                    return frame
            return None

        found: Frame = await self.until(find, timeout, f"reply to {cid}")
        return found

    async def rename(self, name: str) -> Frame:
        before = len(self.frames)
        await self.ws.send_json({"type": "name", "name": name})
        frame: Frame = await self.until(
            lambda: next(
                (f for f in self.frames[before:] if f.get("type") in ("identity", "error")), None
            ),
            what="identity",
        )
        if frame["type"] == "identity":
            self.token = frame["token"]
        return frame

    async def send(self, text: str, cid: str | None = None) -> Frame:
        """Send and return the server's reply (ack, held or error) for it."""
        cid = cid or f"c{next(_cids)}"
        await self.ws.send_json({"type": "send", "cid": cid, "text": text})
        return await self.reply(cid)

    async def say(self, text: str) -> str:
        """Send, insist it was stored; its id."""
        reply = await self.send(text)
        assert reply["type"] == "ack", reply
        return str(reply["id"])

    async def mod(self, action: str, **params: Any) -> Frame:
        cid = f"m{next(_cids)}"
        await self.ws.send_json({"type": "mod", "action": action, "cid": cid, **params})
        return await self.reply(cid)

    def messages(self) -> list[Frame]:
        return [e for e in self.events if e.get("type") == "msg"]

    def texts(self) -> list[str]:
        return [e["text"] for e in self.messages()]

    async def event(self, check: Callable[[Frame], bool], timeout: float = WAIT) -> Frame:
        found: Frame = await self.until(
            lambda: next((e for e in self.events if check(e)), None), timeout, "event"
        )
        return found

    @property
    def last_id(self) -> str | None:
        return self.events[-1]["id"] if self.events else None

    async def close(self) -> None:
        await self.ws.close()
        await self.http.close()
        self._reader.cancel()
        try:
            await self._reader
        except asyncio.CancelledError:
            pass


async def moderator_token(server: TestServer, session_id: str, label: str = "Moa") -> str:
    return await ModeratorLinks(server.app[REDIS]).grant(session_id, label)


def chat_service(server: TestServer) -> Any:
    return server.app[CHAT]
