"""Webhooks reach a local receiver, signed; ``--log-format json`` logs one JSON object a line."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from stream.config import ConfigError, Settings
from stream.http.webhooks import QUEUE_SIZE, SIGNATURE_HEADER, Webhooks, verify
from tests.conftest import MakeServer, base_url, create_session
from tests.media import publish_loop, wait_for
from tests.ops.server import Serve, free_port

SECRET = "webhook-test-secret"


async def test_live_and_ended_webhooks_are_signed(
    make_server: MakeServer, settings: Settings
) -> None:
    received: list[tuple[bytes, str]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.read(), request.headers.get(SIGNATURE_HEADER, "")))
        return web.Response(status=204)

    receiver_app = web.Application()
    receiver_app.router.add_post("/hook", hook)
    receiver = TestServer(receiver_app, host="127.0.0.1")
    await receiver.start_server()
    try:
        url = str(receiver.make_url("/hook"))
        server = await make_server(settings.with_(webhook_url=url, webhook_secret=SECRET))
        key = await create_session(server, "hooked")
        client, _ = await publish_loop(base_url(server), "hooked", key)
        try:
            await wait_for(lambda: len(received) >= 1, 15, "the live webhook")
        finally:
            await client.close()
        await wait_for(lambda: len(received) >= 2, 15, "the ended webhook")
    finally:
        await receiver.close()
    events = []
    for body, signature in received:
        assert verify(SECRET, body, signature)
        assert not verify("another-secret", body, signature)
        events.append(json.loads(body))
    assert [(e["event"], e["session"]) for e in events] == [
        ("session.live", "hooked"),
        ("session.ended", "hooked"),
    ]


async def test_json_log_format_is_one_object_per_line(tmp_path: Path) -> None:
    serve = Serve(tmp_path / "data", "--log-format", "json", "--log-level", "info")
    await serve.start()
    try:
        await asyncio.sleep(0.2)
    finally:
        await serve.stop()
    lines = [line for line in serve.stderr if line.strip()]
    assert lines
    for line in lines:
        event = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(event)


def test_the_webhook_queue_is_bounded_and_keeps_the_newest() -> None:
    hooks = Webhooks("http://127.0.0.1:9/hook", SECRET)
    for index in range(QUEUE_SIZE + 10):
        hooks.emit("session.live", f"s{index}")
    assert hooks.queue.qsize() == QUEUE_SIZE
    assert hooks.dropped == 10
    assert json.loads(hooks.queue.get_nowait())["session"] == "s10"


async def test_an_unreachable_receiver_costs_one_bounded_attempt() -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    hooks = Webhooks(dead, SECRET)
    hooks.emit("session.ended", "gone")
    delivery = asyncio.create_task(hooks.deliver())
    try:
        await wait_for(lambda: hooks.failed == 1, 10, "a failed delivery")
    finally:
        delivery.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await delivery
    assert hooks.sent == 0


def test_webhook_and_log_settings_are_checked() -> None:
    env = {"STREAM_WEBHOOK_URL": "https://hooks.example.org/x", "STREAM_WEBHOOK_SECRET": "s"}
    settings = Settings.from_env({**env, "STREAM_LOG_FORMAT": "JSON"})
    assert settings.log_format == "json"
    assert "'s'" not in repr(settings), "the webhook secret stays out of reprs"
    for bad in (
        {"STREAM_WEBHOOK_URL": "https://hooks.example.org/x"},  # no secret
        {**env, "STREAM_WEBHOOK_URL": "ftp://x"},
        {"STREAM_LOG_FORMAT": "xml"},
        {"STREAM_LOG_LEVEL": "chatty"},
        {"STREAM_PUBLISHER_TIMEOUT": "0"},
    ):
        with pytest.raises(ConfigError):
            Settings.from_env(bad)
