"""The WebSockets a page opens and the frames on them, as Chromium reports them to Playwright."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from playwright.async_api import Page, WebSocket

Frame = dict[str, Any]
T = TypeVar("T")
WAIT = 15.0


def _frame(payload: str | bytes) -> Frame:
    try:
        data = json.loads(payload)
    except ValueError:
        return {"type": "<not json>"}
    return data if isinstance(data, dict) else {"type": "<not an object>"}


@dataclass
class PageSocket:
    url: str
    socket: WebSocket
    received: list[Frame] = field(default_factory=list)
    sent: list[Frame] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.socket.is_closed()

    def got(self, kind: str, **match: Any) -> Frame | None:
        """The first received frame of type ``kind`` whose fields include ``match``."""
        return next((f for f in self.received if _matches(f, kind, match)), None)

    def said(self, kind: str, **match: Any) -> Frame | None:
        """The first frame of type ``kind`` the page sent."""
        return next((f for f in self.sent if _matches(f, kind, match)), None)

    def events(self) -> list[Frame]:
        """Stored events received, from histories, batches and single frames."""
        found: list[Frame] = []
        for frame in self.received:
            if frame.get("type") in ("history", "batch"):
                found += frame["events"]
            elif "id" in frame and frame.get("type") in ("msg", "mod", "qa", "poll"):
                found.append(frame)
        return found


def _matches(frame: Frame, kind: str, match: dict[str, Any]) -> bool:
    return frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items())


class SocketLog:
    """Every WebSocket a page opened, in order, with its frames."""

    def __init__(self, page: Page) -> None:
        self.sockets: list[PageSocket] = []
        page.on("websocket", self._opened)

    def _opened(self, socket: WebSocket) -> None:
        entry = PageSocket(socket.url, socket)
        socket.on("framereceived", lambda payload: entry.received.append(_frame(payload)))
        socket.on("framesent", lambda payload: entry.sent.append(_frame(payload)))
        self.sockets.append(entry)

    @property
    def urls(self) -> list[str]:
        return [entry.url for entry in self.sockets]

    def open(self) -> list[PageSocket]:
        return [entry for entry in self.sockets if not entry.closed]

    async def until(self, check: Callable[[], T | None], what: str, timeout: float = WAIT) -> T:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                got = [f.get("type") for s in self.sockets for f in s.received]
                raise AssertionError(f"timed out waiting for {what}; {self.urls} got {got}")
            await asyncio.sleep(0.05)

    async def welcomed(self, index: int = 0) -> PageSocket:
        """The page's ``index``-th socket once the server welcomed it."""

        def ready() -> PageSocket | None:
            if len(self.sockets) > index and self.sockets[index].got("welcome"):
                return self.sockets[index]
            return None

        return await self.until(ready, f"socket {index} welcomed")
