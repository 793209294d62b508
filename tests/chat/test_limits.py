"""Limits: per-person rate with burst, connections per address, slow sockets dropped."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from stream.chat.limits import ChatLimits
from stream.chat.wire import close_frame
from stream.chat.ws import SLOW_CLOSE_REASON, SocketSubscriber
from tests.chat.client import ChatClient, chat_service, ws_url
from tests.conftest import create_session


async def test_flooder_is_told_and_others_are_unaffected(server: TestServer) -> None:
    await create_session(server, "flood")
    chat_service(server).limits = ChatLimits(rate_per_second=0.5, rate_burst=3)
    flooder = await ChatClient.connect(server, "flood")
    other = await ChatClient.connect(server, "flood")
    try:
        await flooder.rename("Flod")  # takes a token, like a message
        await other.rename("Lugn")
        replies = [await flooder.send(f"spam {n}") for n in range(8)]
        assert [r["type"] for r in replies] == ["ack", "ack"] + ["error"] * 6
        assert {r["code"] for r in replies[2:]} == {"rate_limited"}
        assert all(0 < r["retry_after"] <= 2 for r in replies[2:])
        await other.say("jag påverkas inte")
        await other.say("inte alls")
    finally:
        await flooder.close()
        await other.close()


async def test_connections_per_address_are_limited(server: TestServer) -> None:
    await create_session(server, "crowd")
    chat_service(server).limits = ChatLimits(max_connections_per_address=3)
    clients = [await ChatClient.connect(server, "crowd") for _ in range(3)]
    try:
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(ws_url(server, "crowd"))
            assert refused.value.status == 429
        await clients.pop().close()
        clients.append(await ChatClient.connect(server, "crowd"))
    finally:
        for client in clients:
            await client.close()


class FakeTransport:
    def __init__(self, buffered: int) -> None:
        self.buffered = buffered
        self.written: list[bytes] = []
        self.aborted = False
        self.closed = False

    def is_closing(self) -> bool:
        return self.aborted or self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def abort(self) -> None:
        self.aborted = True


class FakeSocket:
    closed = False


async def test_socket_far_behind_is_dropped_and_told_why() -> None:
    drops: list[bool] = []
    transport = FakeTransport(buffered=1000)
    subscriber = SocketSubscriber(
        FakeSocket(),  # type: ignore[arg-type]
        transport,  # type: ignore[arg-type]
        moderator=False,
        max_behind=4096,
        on_drop=lambda: drops.append(True),
    )
    subscriber.deliver(b"one")
    transport.buffered = 5000
    subscriber.deliver(b"two")
    subscriber.deliver(b"three")
    one, told, close = transport.written
    assert one == b"one"
    assert b'"code":"too_slow"' in told
    assert close == close_frame(1013, SLOW_CLOSE_REASON)
    assert transport.closed
    assert drops == [True]


async def test_socket_that_never_reads_its_drop_notice_is_cut_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("stream.chat.ws.SLOW_CLOSE_GRACE_SECONDS", 0.01)
    transport = FakeTransport(buffered=5000)
    subscriber = SocketSubscriber(
        FakeSocket(),  # type: ignore[arg-type]
        transport,  # type: ignore[arg-type]
        moderator=False,
        max_behind=4096,
        on_drop=lambda: None,
    )
    subscriber.deliver(b"one")
    await asyncio.sleep(0.05)
    assert transport.aborted
