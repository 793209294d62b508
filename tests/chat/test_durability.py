"""Redis killed and restarted mid-stream: everything acknowledged is delivered, once."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp.test_utils import TestServer

from stream.config import Settings
from stream.store import EmbeddedRedis
from tests.chat.client import ChatClient
from tests.conftest import MakeServer, create_session

MESSAGES = 40
KILL_AFTER = 10
REPLY_TIMEOUT = 20.0
SEND_DEADLINE = 60.0


async def send_until_stored(client: ChatClient, text: str, cid: str) -> str:
    """What a browser does: resend with the same cid until the server says it is stored."""
    deadline = time.monotonic() + SEND_DEADLINE
    while time.monotonic() < deadline:
        client.frames = [f for f in client.frames if f.get("cid") != cid]
        await client.ws.send_json({"type": "send", "cid": cid, "text": text})
        try:
            reply = await client.reply(cid, timeout=REPLY_TIMEOUT)
        except AssertionError:
            continue
        if reply["type"] == "ack":
            return str(reply["id"])
        assert reply["code"] == "unavailable", reply
        await asyncio.sleep(0.2)
    raise AssertionError(f"{text} was never stored")


# A short outage is covered by the Redis client's own retries; a long one makes the server
# answer "unavailable" and the client resend with the same cid.
@pytest.mark.parametrize("outage", [1.5, 8.0], ids=["short", "long"])
async def test_redis_restart_loses_nothing_acknowledged(
    make_server: MakeServer, settings: Settings, redis_server: EmbeddedRedis, outage: float
) -> None:
    one: TestServer = await make_server(settings)
    two: TestServer = await make_server(settings)
    await create_session(one, "durable")
    writer = await ChatClient.connect(one, "durable", name="Skribent")
    reader = await ChatClient.connect(two, "durable")
    acked: list[str] = []
    longest = 0.0
    try:
        for n in range(MESSAGES):
            if n == KILL_AFTER:
                redis_server.kill()
                restart = asyncio.create_task(_restart_later(redis_server, outage))
            started = time.monotonic()
            acked.append(await send_until_stored(writer, f"m{n}", f"durable-{n}"))
            longest = max(longest, time.monotonic() - started)
            await asyncio.sleep(0.02)
        await restart
        assert longest > outage / 2, "a send waited for Redis to come back"
        await reader.until(lambda: len(reader.messages()) >= MESSAGES, timeout=30)
        await asyncio.sleep(0.3)
        delivered = [e["id"] for e in reader.messages()]
        assert delivered == acked, "every acknowledged message exactly once, in order"
        assert reader.texts() == [f"m{n}" for n in range(MESSAGES)]
        late = await ChatClient.connect(two, "durable")
        try:
            assert late.texts()[-MESSAGES:] == [f"m{n}" for n in range(MESSAGES)]
        finally:
            await late.close()
    finally:
        await writer.close()
        await reader.close()


async def _restart_later(redis_server: EmbeddedRedis, outage: float) -> None:
    await asyncio.sleep(outage)
    # Started from this thread on purpose: the server gets SIGTERM when the thread that
    # started it ends (PR_SET_PDEATHSIG), and an executor thread ends with the test's loop.
    redis_server.start()
