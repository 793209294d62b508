"""Two nodes on one Redis: the node without the room knows it is live (and its video codec)
and redirects WHEP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from stream.config import Settings
from stream.rooms.presence import PRESENCE_INTERVAL
from tests.conftest import base_url, create_session
from tests.conftest import two_nodes as start_two_nodes
from tests.media import publish_loop


@pytest.fixture
async def two_nodes(settings: Settings) -> AsyncIterator[tuple[TestServer, TestServer]]:
    async with start_two_nodes(settings.with_(edge_relay=False)) as pair:
        yield pair


async def test_other_node_redirects_viewers_to_the_origin(
    two_nodes: tuple[TestServer, TestServer],
) -> None:
    origin, other = two_nodes
    key = await create_session(origin, "where")
    publisher, _ = await publish_loop(base_url(origin), "where", key)
    try:
        async with aiohttp.ClientSession() as http:

            async def live_on_other() -> bool:
                async with http.get(f"{base_url(other)}/api/sessions/where/status") as r:
                    return bool((await r.json())["live"])

            live = False
            for _ in range(int(3 * PRESENCE_INTERVAL / 0.1)):
                live = await live_on_other()
                if live:
                    break
                await asyncio.sleep(0.1)
            assert live
            # The watch page's HLS fallback reads the codec from the status, on either node.
            async with http.get(f"{base_url(origin)}/api/sessions/where/status") as r:
                video = (await r.json())["video"]
            assert video
            async with http.get(f"{base_url(other)}/api/sessions/where/status") as r:
                assert (await r.json())["video"] == video
            async with http.post(
                f"{base_url(other)}/whep/where",
                data="v=0\r\n",
                headers={"Content-Type": "application/sdp"},
                allow_redirects=False,
            ) as r:
                assert r.status == 307
                assert r.headers["Location"] == f"{base_url(origin)}/whep/where"
    finally:
        await publisher.close()
