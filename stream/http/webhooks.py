"""Webhooks: a signed POST to ``STREAM_WEBHOOK_URL`` when a session goes live or ends.

The body is JSON ``{"event": "session.live" | "session.ended", "session": id, "time": iso}``;
the ``X-Stream-Signature: sha256=<hex>`` header is the HMAC-SHA256 of the exact body bytes
with ``STREAM_WEBHOOK_SECRET``. The signed body carries its own ``time``, so a receiver can
refuse replayed deliveries.

Events are found by comparing this node's live sessions once per :data:`POLL_INTERVAL` (no hook
in the media path), put on a bounded queue (the oldest is dropped when it is full: a receiver
that is down never grows memory) and sent by one task with a timeout per request; a failed
delivery is logged and not retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
from aiohttp import web

from stream.http.keys import LIVE, SETTINGS

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Stream-Signature"
POLL_INTERVAL = 1.0
QUEUE_SIZE = 256
SEND_TIMEOUT = 5.0


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(sign(secret, body), header)


def event_body(event: str, session_id: str) -> bytes:
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    return json.dumps({"event": event, "session": session_id, "time": now}).encode()


class Webhooks:
    """The queue of events and the task that delivers them."""

    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self.secret = secret
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_SIZE)
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    def emit(self, event: str, session_id: str) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event_body(event, session_id))

    async def deliver(self) -> None:
        timeout = aiohttp.ClientTimeout(total=SEND_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                body = await self.queue.get()
                headers = {
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: sign(self.secret, body),
                }
                try:
                    async with http.post(self.url, data=body, headers=headers) as response:
                        if response.status >= 300:
                            raise aiohttp.ClientResponseError(
                                response.request_info, (), status=response.status
                            )
                    self.sent += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    self.failed += 1
                    logger.warning("webhook delivery failed: %s", type(exc).__name__)


async def watch_live(app: web.Application, hooks: Webhooks) -> None:
    was_live: set[str] = set()
    while True:
        live = {sid for sid, state in app[LIVE].now().items() if state.live}
        for session_id in sorted(live - was_live):
            hooks.emit("session.live", session_id)
        for session_id in sorted(was_live - live):
            hooks.emit("session.ended", session_id)
        was_live = live
        await asyncio.sleep(POLL_INTERVAL)


async def webhooks_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if not settings.webhook_url or not settings.webhook_secret:
        yield
        return
    hooks = Webhooks(settings.webhook_url, settings.webhook_secret)
    tasks = [
        asyncio.create_task(hooks.deliver(), name="webhook delivery"),
        asyncio.create_task(watch_live(app, hooks), name="webhook live watch"),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
