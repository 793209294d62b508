"""``/api/rooms`` on an edge lists the rooms it mirrors from other nodes (the relay benchmark
reads each node's figures there), marked apart from the node's own rooms."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from tests.conftest import base_url, create_session
from tests.media import publish_loop, wait_for, watch
from tests.rooms.test_edge import live_on


async def rooms_of(server: TestServer) -> list[dict[str, object]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{base_url(server)}/api/rooms") as response,
    ):
        assert response.status == 200
        rooms: list[dict[str, object]] = await response.json()
        return rooms


async def test_room_stats_list_a_mirror_on_the_edge(
    nodes: tuple[TestServer, TestServer],
) -> None:
    origin, other = nodes
    key = await create_session(origin, "mirrored")
    publisher, _ = await publish_loop(base_url(origin), "mirrored", key)
    client = None
    try:
        await live_on(other, "mirrored")
        assert await rooms_of(other) == []  # nothing mirrored before a viewer comes
        client, received = await watch(base_url(other), "mirrored")
        await wait_for(lambda: len(received.frames["video"]) >= 10, 15, "edge video")
        (mirror,) = await rooms_of(other)
        assert mirror["session"] == "mirrored"
        assert mirror["mirror"] is True
        assert mirror["links_opened"] == 1
        assert mirror["viewers"] == 1
        assert mirror["live"] is True
        assert isinstance(mirror["frames_in"], dict)
        assert mirror["frames_in"]["video"] > 0
        (room,) = await rooms_of(origin)
        assert room["mirror"] is False
        assert room["relays"] == 1
        assert "links_opened" not in room
    finally:
        if client is not None:
            await client.close()
        await publisher.close()
