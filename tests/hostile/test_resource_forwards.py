"""Resource ids forged with another node's tag: each would cost that node a request, so the
forwards are limited per address (429 past the burst), and other addresses are not touched."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from stream.common.rates import RESOURCE_FORWARDS_PER_ADDRESS
from stream.config import Settings
from stream.http.keys import RESOURCE_NODES
from tests.conftest import base_url, two_nodes


async def test_forged_resource_ids_are_limited_per_address(settings: Settings) -> None:
    async with two_nodes(settings.with_(trusted_proxies=("127.0.0.1",))) as (a, b):
        tag = a.app[RESOURCE_NODES].tag
        nodes_b = b.app[RESOURCE_NODES]
        attacker = {"X-Forwarded-For": "203.0.113.7"}
        statuses: list[int] = []
        async with aiohttp.ClientSession() as http:
            for n in range(int(RESOURCE_FORWARDS_PER_ADDRESS.burst) + 20):
                async with http.delete(
                    f"{base_url(b)}/whep/s/forged{n:04d}.{tag}", headers=attacker
                ) as r:
                    statuses.append(r.status)
                    assert r.content_type == "application/problem+json"
                    if r.status == 429:
                        assert int(r.headers["Retry-After"]) >= 1
            assert statuses.count(404) <= RESOURCE_FORWARDS_PER_ADDRESS.burst + 2
            assert statuses[-1] == 429
            # Only what was let through reached node A.
            assert nodes_b.forwarded == statuses.count(404)
            # Another address is not limited by the first one's flood.
            async with http.delete(
                f"{base_url(b)}/whep/s/other.{tag}", headers={"X-Forwarded-For": "198.51.100.9"}
            ) as r:
                assert r.status == 404


async def test_requests_for_this_nodes_own_ids_are_not_counted(
    nodes: tuple[TestServer, TestServer],
) -> None:
    """A node answers its own (and untagged) ids itself: no forward, no limit spent."""
    a, _ = nodes
    tag = a.app[RESOURCE_NODES].tag
    async with aiohttp.ClientSession() as http:
        for n in range(int(RESOURCE_FORWARDS_PER_ADDRESS.burst) + 10):
            async with http.delete(f"{base_url(a)}/whep/s/gone{n:04d}.{tag}") as r:
                assert r.status == 404
    assert a.app[RESOURCE_NODES].forwarded == 0
