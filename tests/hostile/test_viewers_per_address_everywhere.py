"""The per-address viewer cap holds over the whole deployment: an address at its cap on one node
is refused on another too (behind one port the workers are such nodes), and a viewer that
leaves makes room everywhere."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from stream.config import Settings
from stream.http.keys import PEERS, VIEWER_CAP
from stream.rooms.whep import MAX_VIEWERS_PER_ADDRESS
from stream.rtc import address_caps
from stream.rtc.address_caps import SharedAddressCap
from tests.conftest import base_url, create_session, live_on, two_nodes
from tests.media import publish_loop, wait_for
from tests.rtc.offers import real_offer

ADDRESS = "203.0.113.80"


@dataclass
class Answer:
    status: int
    text: str
    location: str
    headers: Mapping[str, str]  # the response's own (case-insensitive) headers
    content_type: str


async def offer(http: aiohttp.ClientSession, node: TestServer, address: str = ADDRESS) -> Answer:
    """A real viewer's offer to ``node`` from ``address`` (never connected: it holds a slot)."""
    async with http.post(
        f"{base_url(node)}/whep/capped",
        data=await real_offer(("video", "audio"), direction="recvonly"),
        headers={"Content-Type": "application/sdp", "X-Forwarded-For": address},
    ) as r:
        location = base_url(node) + r.headers["Location"] if r.status == 201 else ""
        return Answer(r.status, await r.text(), location, r.headers, r.content_type)


async def test_an_address_at_its_cap_on_one_node_is_refused_on_another(
    settings: Settings,
) -> None:
    async with two_nodes(settings.with_(trusted_proxies=("127.0.0.1",))) as (a, b):
        key = await create_session(a, "capped")
        publisher, _ = await publish_loop(base_url(a), "capped", key)
        try:
            await live_on(b, "capped")
            locations = []
            async with aiohttp.ClientSession() as http:
                # Half the cap on each node: each process's own count stays under it.
                for n in range(MAX_VIEWERS_PER_ADDRESS):
                    answer = await offer(http, a if n % 2 else b)
                    assert answer.status == 201, answer.text
                    locations.append(answer.location)
                for node in (a, b):
                    answer = await offer(http, node)
                    assert answer.status == 429, answer.text
                    assert "Retry-After" in answer.headers
                    assert answer.content_type == "application/problem+json"
                # Another address is not affected.
                answer = await offer(http, a, "198.51.100.81")
                assert answer.status == 201
                await http.delete(answer.location)
                # One viewer leaves (from node B): node A admits one more.
                async with http.delete(locations[0]) as r:
                    assert r.status == 200
                await wait_for(
                    lambda: (
                        b.app[PEERS].by_address("whep").get(ADDRESS, 0)
                        == MAX_VIEWERS_PER_ADDRESS // 2 - 1
                    ),
                    what="the viewer gone",
                )
                for _ in range(50):
                    if (await offer(http, a)).status == 201:
                        break
                    await asyncio.sleep(0.1)
                else:
                    pytest.fail("no room for a viewer after one left")
        finally:
            await publisher.close()


async def test_a_dead_nodes_counts_lapse_and_a_refresh_rewrites_ours(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with two_nodes(settings) as (a, _):
        redis = a.app[VIEWER_CAP].redis
        dead = SharedAddressCap(redis, "deadbeef", b"secret", 3)
        ours = SharedAddressCap(redis, "0badcafe", b"secret", 3)
        address = "192.0.2.1"
        assert [await dead.acquire(address) for _ in range(4)] == [True, True, True, False]
        assert not await ours.acquire(address)  # the cap is over both nodes
        # The first node dies (no release, no refresh): past the hold its counts lapse.
        later = int(time.time() * 1000) + address_caps.ADDRESS_HOLD_TTL_MS + 1000
        monkeypatch.setattr(address_caps, "_now_ms", lambda: later)
        assert await ours.acquire(address)
        fields = await redis.hgetall(ours.key(address))
        assert set(fields) == {b"0badcafe"}  # the dead node's field is gone
        await ours.release(address)
        assert await redis.hgetall(ours.key(address)) == {}
        # A refresh writes what this node holds now (a lost decrement heals this way).
        await ours.refresh({address: 2})
        value = await redis.hget(ours.key(address), "0badcafe")
        assert value is not None
        assert value.decode().split(":")[0] == "2"
        assert ours.key(address) != ours.key("192.0.2.2")
        assert address not in ours.key(address)  # no address stored in clear
