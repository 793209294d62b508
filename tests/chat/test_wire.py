"""The byte-level fan-out against real aiohttp sockets: frames the fan-out writes straight to the
transport reach a real aiohttp client intact, between aiohttp's own frames; per-message deflate
is never negotiated on a session socket; a real client that stops reading is told ``too_slow``
and closed with 1013."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import string
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer, make_mocked_request

from stream.chat.wire import (
    WireContractBroken,
    close_frame,
    encode_text_frame,
    socket_transport,
)
from stream.chat.ws import SLOW_CLOSE_REASON, SocketSubscriber, socket_response
from tests.chat.client import ws_url
from tests.conftest import create_session

WAIT = 10.0
BOUNDARY_SIZES = (0, 1, 124, 125, 126, 127, 65534, 65535, 65536, 65537, 300_000)


@dataclass
class Opened:
    """The server side of one socket, as the test handler opened it."""

    ws: web.WebSocketResponse
    subscriber: SocketSubscriber
    drops: list[bool] = field(default_factory=list)


@contextlib.asynccontextmanager
async def socket_server(max_behind: int) -> AsyncIterator[tuple[TestServer, asyncio.Queue[Opened]]]:
    """A server whose one route opens a session-style socket and hands it to the test."""
    opened: asyncio.Queue[Opened] = asyncio.Queue()

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = socket_response()
        await ws.prepare(request)
        drops: list[bool] = []
        subscriber = SocketSubscriber(
            ws, socket_transport(request, ws), False, max_behind, lambda: drops.append(True)
        )
        await opened.put(Opened(ws, subscriber, drops))
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ws", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server, opened
    finally:
        await server.close()


def _text(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return "".join(rng.choices(string.ascii_letters + string.digits, k=size)).encode()


def test_close_frame_reason_is_bounded() -> None:
    assert close_frame(1013, b"x" * 123)[1] == 125
    with pytest.raises(ValueError, match="123 bytes"):
        close_frame(1013, b"x" * 124)


def test_a_socket_with_deflate_is_refused_loudly() -> None:
    request = make_mocked_request("GET", "/ws/talk")
    with pytest.raises(WireContractBroken, match="deflate"):
        socket_transport(request, web.WebSocketResponse(compress=True))
    assert not socket_response().compress


async def test_frames_of_every_length_form_reach_a_real_client_between_aiohttps_own() -> None:
    async with (
        socket_server(max_behind=64 << 20) as (server, opened),
        aiohttp.ClientSession() as http,
        http.ws_connect(server.make_url("/ws"), max_msg_size=1 << 20) as client,
    ):
        side = await asyncio.wait_for(opened.get(), WAIT)
        expected: list[str] = []
        for index, size in enumerate(BOUNDARY_SIZES):
            payload = _text(size, index)
            # aiohttp's writer and the fan-out alternate on the same transport, no await between
            await side.ws.send_str(f"aiohttp {index}")
            side.subscriber.deliver(encode_text_frame(payload))
            expected += [f"aiohttp {index}", payload.decode()]
        side.subscriber.deliver(encode_text_frame("hälsningar från fan-out ✓".encode()))
        expected.append("hälsningar från fan-out ✓")
        for want in expected:
            message = await client.receive(timeout=WAIT)
            assert message.type is WSMsgType.TEXT
            assert message.data == want, f"frame of {len(want)} bytes arrived changed"
        # the socket still works both ways afterwards (aiohttp's framing is in step)
        await client.send_str("still there")
        await client.ping()
        await side.ws.close()
        message = await client.receive(timeout=WAIT)
        assert message.type is WSMsgType.CLOSE
        assert not side.drops


async def test_a_closed_socket_is_skipped() -> None:
    async with (
        socket_server(max_behind=1 << 20) as (server, opened),
        aiohttp.ClientSession() as http,
    ):
        client = await http.ws_connect(server.make_url("/ws"))
        side = await asyncio.wait_for(opened.get(), WAIT)
        await client.close()
        async with asyncio.timeout(WAIT):
            while not side.ws.closed:
                await asyncio.sleep(0.01)
        side.subscriber.deliver(encode_text_frame(b"too late"))  # neither raises nor writes
        assert side.subscriber.transport.get_write_buffer_size() == 0
        assert not side.drops


async def test_real_client_that_stops_reading_is_told_too_slow_and_closed_1013() -> None:
    max_behind = 256 << 10
    frame = encode_text_frame(b"x" * (64 << 10))
    async with (
        socket_server(max_behind=max_behind) as (server, opened),
        aiohttp.ClientSession() as http,
        http.ws_connect(server.make_url("/ws"), max_msg_size=1 << 20) as client,
    ):
        side = await asyncio.wait_for(opened.get(), WAIT)
        # The client does not read: aiohttp's client stops reading its socket once 64 KiB
        # wait in its queue, the kernel buffers fill, then the transport's own buffer.
        written = 0
        async with asyncio.timeout(WAIT):
            while not side.drops and written < 4000:  # 4000 x 64 KiB: far past any buffer
                side.subscriber.deliver(frame)
                written += 1
                await asyncio.sleep(0)
        assert side.drops == [True], f"not dropped after {written} frames"
        assert side.subscriber.transport.is_closing()
        side.subscriber.deliver(frame)  # after the drop: nothing more is written
        data_frames = 0
        async with asyncio.timeout(WAIT):
            while True:
                message = await client.receive()
                if message.type is not WSMsgType.TEXT or not message.data.startswith("{"):
                    if message.type is WSMsgType.TEXT:
                        data_frames += 1
                        continue
                    break
                told = json.loads(message.data)
        assert message.type is WSMsgType.CLOSE
        assert message.data == 1013
        assert message.extra == SLOW_CLOSE_REASON.decode()
        assert told["type"] == "error"
        assert told["code"] == "too_slow"
        assert 0 < data_frames < written, "everything written before the drop arrives first"


async def test_session_socket_never_negotiates_per_message_deflate(server: TestServer) -> None:
    await create_session(server, "deflate")
    async with aiohttp.ClientSession() as http:
        # The client offers permessage-deflate; the server must decline it.
        async with http.ws_connect(ws_url(server, "deflate"), compress=15) as client:
            assert client.compress == 0
            await client.send_json({"type": "hello"})
            await client.send_json({"type": "name", "name": "Deflate", "cid": "n1"})
            await client.send_json({"type": "send", "text": "okomprimerad", "cid": "c1"})
            async with asyncio.timeout(WAIT):
                while True:
                    message = await client.receive()
                    assert message.type is WSMsgType.TEXT
                    frame = json.loads(message.data)
                    # the live frame from the fan-out: the event, or a batch holding it
                    events = frame.get("events", []) if frame["type"] == "batch" else [frame]
                    if any(
                        event.get("type") == "msg" and event.get("text") == "okomprimerad"
                        for event in events
                    ):
                        break
