"""Socket churn: open, hello, abort at once, from several clients; nothing is left behind.

Each round opens the session socket, sends ``hello`` and aborts the TCP connection (RST) within
``MAX_ABORT_DELAY``, landing at every stage of the join. Afterwards no session is read and at
most the process's one reader task is alive, Redis holds a bounded number of clients, and
pages, chat and Q&A work. Many active sessions never hold more than the reader's own
connections for their blocking reads.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import time
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from stream.http.keys import CHAT, REDIS
from tests.chat.client import ChatClient, ws_url
from tests.conftest import base_url, create_session

CLIENTS = 8
ROUNDS_PER_CLIENT = 50  # 400 rounds in all
MAX_ABORT_DELAY = 0.01
# Redis clients the server may hold beyond what it held before the churn: one per concurrent
# request at most, plus the reader's own.
MAX_EXTRA_REDIS_CLIENTS = CLIENTS + 4
SETTLE_SECONDS = 5.0
# Sessions with an open socket each, and the Redis clients they may add together.
ACTIVE_SESSIONS = 30
MAX_CLIENTS_FOR_SESSIONS = 8
PAGE_SECONDS = 2.0


async def _redis_clients(server: TestServer) -> int:
    info: Any = await server.app[REDIS].info("clients")
    return int(info["connected_clients"])


async def _blocked_reads(server: TestServer) -> int:
    """Redis clients blocked in XREAD right now."""
    listing: Any = await server.app[REDIS].client_list()
    return sum(1 for client in listing if "b" in client["flags"] and client["cmd"] == "xread")


def _reader_tasks() -> int:
    """Fan-out tasks alive in this process (the server runs in the test's event loop)."""
    return sum(
        1
        for task in asyncio.all_tasks()
        if task.get_name().startswith(("chat-reader", "audience-")) and not task.done()
    )


async def _churn(server: TestServer, session_id: str, seed: int) -> None:
    rng = random.Random(seed)  # timing jitter, not security
    for _ in range(ROUNDS_PER_CLIENT):
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(ws_url(server, session_id))
            await ws.send_str('{"type":"hello"}')
            await asyncio.sleep(rng.uniform(0, MAX_ABORT_DELAY))
            connection = ws._response.connection  # the raw socket, to reset it
            assert connection is not None
            assert connection.transport is not None
            sock = connection.transport.get_extra_info("socket")
            if isinstance(sock, socket.socket):  # a reset, not a polite close
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.transport.abort()


async def _settled(server: TestServer) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        idle = server.app[CHAT].fanout.sessions == 0 and _reader_tasks() <= 1
        # The reader's last read ends within its block time; then it waits without Redis.
        if idle and await _blocked_reads(server) == 0:
            return
        await asyncio.sleep(0.1)


async def test_churn_leaves_no_reader_and_no_redis_client(server: TestServer) -> None:
    await create_session(server, "churn")
    before = await _redis_clients(server)
    started = time.monotonic()
    await asyncio.gather(*(_churn(server, "churn", seed) for seed in range(CLIENTS)))
    churn_seconds = time.monotonic() - started
    await _settled(server)
    readers, sessions = _reader_tasks(), server.app[CHAT].fanout.sessions
    clients, blocked = await _redis_clients(server), await _blocked_reads(server)
    print(
        f"churn {CLIENTS * ROUNDS_PER_CLIENT} rounds in {churn_seconds:.1f}s: "
        f"reader tasks {readers}, sessions read {sessions}, blocked reads {blocked}, "
        f"Redis clients {before} -> {clients}"
    )
    assert sessions == 0
    assert blocked == 0
    assert readers <= 1  # the process's one reader, idle
    assert clients - before <= MAX_EXTRA_REDIS_CLIENTS

    async with aiohttp.ClientSession() as http:
        started = time.monotonic()
        async with http.get(base_url(server) + "/s/churn") as page:
            assert page.status == 200
        assert time.monotonic() - started < PAGE_SECONDS
    viewer = await ChatClient.connect(server, "churn", name="Kvar")
    other = await ChatClient.connect(server, "churn", name="Också")
    try:
        entry_id = await viewer.say("still here")
        await other.event(lambda e: e.get("id") == entry_id)
        await viewer.ws.send_json({"type": "qa.ask", "cid": "q1", "text": "does Q&A work?"})
        await viewer.frame("qa.ack")
    finally:
        await viewer.close()
        await other.close()


async def test_many_sessions_do_not_hold_the_pool(server: TestServer) -> None:
    ids = [f"many{n}" for n in range(ACTIVE_SESSIONS)]
    for session_id in ids:
        await create_session(server, session_id)
    before = await _redis_clients(server)
    clients = [await ChatClient.connect(server, session_id) for session_id in ids]
    try:
        await asyncio.sleep(0.5)  # every read blocked
        during = await _redis_clients(server)
        print(f"{ACTIVE_SESSIONS} active sessions: Redis clients {before} -> {during}")
        assert during - before <= MAX_CLIENTS_FOR_SESSIONS
        writer = await ChatClient.connect(server, ids[-1], name="Sist")
        try:
            entry_id = await writer.say("heard in the last session")
            await clients[-1].event(lambda e: e.get("id") == entry_id)
        finally:
            await writer.close()
    finally:
        for client in clients:
            await client.close()
