"""The chat benchmark's load: receiving WebSocket clients and the senders that post at a rate."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp

from stream.bench.chat_config import (
    CONNECT_CONCURRENCY,
    CONNECT_TIMEOUT,
    MESSAGE_BYTES,
    MESSAGE_OVERHEAD,
    SESSION_ID,
)
from stream.bench.chat_probes import BENCH_PREFIX, message_text

# A benchmark message's number, as it appears in any frame (single event or batch).
_NUMBER = re.compile('"text":"' + BENCH_PREFIX + r"(\d+) ")


@dataclass
class Receiver:
    ws: aiohttp.ClientWebSocketResponse
    received: int = 0
    # The number of every benchmark message received, in order (repeats kept: they are errors).
    numbers: list[int] = field(default_factory=list)


@dataclass
class Sending:
    sent: int = 0
    acked: int = 0
    errors: int = 0


async def connect_client(
    http: aiohttp.ClientSession, base_url: str, name: str | None = None
) -> aiohttp.ClientWebSocketResponse:
    url = base_url.replace("http://", "ws://") + f"/ws/{SESSION_ID}"
    ws = await http.ws_connect(url, compress=0, max_msg_size=0, autoping=True)
    await ws.send_str('{"type":"hello"}')
    if name is not None:
        await ws.send_str(json.dumps({"type": "name", "name": name}))
    return ws


async def receive(receiver: Receiver) -> None:
    async for message in receiver.ws:
        if message.type is not aiohttp.WSMsgType.TEXT:
            continue
        data: str = message.data
        if data.startswith('{"type":"history"'):
            continue
        receiver.received += data.count('"type":"msg"')
        receiver.numbers += [int(n) for n in _NUMBER.findall(data)]


async def sender_replies(ws: aiohttp.ClientWebSocketResponse, counter: Sending) -> None:
    async for message in ws:
        if message.type is not aiohttp.WSMsgType.TEXT:
            continue
        if message.data.startswith('{"type":"ack"'):
            counter.acked += 1
        elif message.data.startswith('{"type":"error"'):
            counter.errors += 1


async def send_loop(
    senders: Sequence[aiohttp.ClientWebSocketResponse],
    rate: float,
    counter: Sending,
    stop: asyncio.Event,
) -> None:
    """Post ``rate`` messages/s round-robin over the senders until ``stop``."""
    started = time.perf_counter()
    while not stop.is_set():
        sent = counter.sent
        delay = started + sent / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        text = message_text(sent, MESSAGE_BYTES - MESSAGE_OVERHEAD)
        frame = json.dumps({"type": "send", "cid": f"b{sent}", "text": text})
        await senders[sent % len(senders)].send_str(frame)
        counter.sent += 1


async def connect_receivers(
    http: aiohttp.ClientSession, urls: list[str], clients: int
) -> list[Receiver]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect_one(index: int) -> Receiver:
        async with gate:
            return Receiver(await connect_client(http, urls[index % len(urls)]))

    connecting = asyncio.gather(*(connect_one(i) for i in range(clients)))
    return await asyncio.wait_for(connecting, CONNECT_TIMEOUT)
