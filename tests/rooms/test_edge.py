"""Edges: a node where a session is not live serves its viewers from a mirror of the origin's
room, over one relay link, with real nodes on one Redis and real WebRTC peers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from stream.app import create_app
from stream.config import Settings
from stream.http.keys import EDGES, NODE_SECRET, ROOMS
from stream.rooms import edge
from stream.rooms.media import h264_is_keyframe
from stream.rooms.room import Room
from tests.conftest import base_url, close_or_explain, create_session, free_port, live_on
from tests.media import publish_loop, wait_for, watch


def origin_room(server: TestServer, session: str) -> Room:
    room = server.app[ROOMS].get(session)
    assert room is not None
    return room


async def test_viewers_of_an_edge_cost_the_origin_one_link(
    nodes: tuple[TestServer, TestServer],
) -> None:
    origin, other = nodes
    key = await create_session(origin, "edgy")
    publisher, _ = await publish_loop(base_url(origin), "edgy", key)
    viewers = []
    try:
        await live_on(other, "edgy")
        for _ in range(2):
            viewers.append(await watch(base_url(other), "edgy"))
        for _, received in viewers:
            await wait_for(lambda r=received: len(r.frames["video"]) >= 20, 15, "edge video")
            await wait_for(lambda r=received: len(r.frames["audio"]) >= 20, 15, "edge audio")
            assert h264_is_keyframe(received.frames["video"][0])  # started at a keyframe
        room = origin_room(origin, "edgy")
        assert room.relays == 1  # one link for both viewers
        assert room.viewer_count == 0  # the link is not a viewer
        mirror = other.app[EDGES].get("edgy")
        assert mirror is not None
        assert mirror.viewer_count == 2
        assert other.app[ROOMS].get("edgy") is None  # a mirror is not the node's own room
        # The edge reports its viewers: the origin's audience (and its presence) counts them.
        await wait_for(lambda: room.audience == 2, 10, "the edge's report")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base_url(origin)}/metrics") as r:
                origin_metrics = await r.text()
            async with http.get(f"{base_url(other)}/metrics") as r:
                edge_metrics = await r.text()
            assert "stream_relay_links 1.0" in origin_metrics
            assert "stream_viewers 0.0" in origin_metrics
            assert "stream_mirrored_rooms 1.0" in edge_metrics
            assert "stream_viewers 2.0" in edge_metrics
            for _ in range(60):
                async with http.get(f"{base_url(other)}/api/sessions/edgy/status") as r:
                    if (await r.json())["viewers"] == 2:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the audience never reached the presence record")
    finally:
        for client, _ in viewers:
            await client.close()
        await publisher.close()


async def test_an_edge_follows_the_publisher_leaving_and_coming_back(
    nodes: tuple[TestServer, TestServer],
) -> None:
    origin, other = nodes
    key = await create_session(origin, "again")
    publisher, _ = await publish_loop(base_url(origin), "again", key)
    await live_on(other, "again")
    client, received = await watch(base_url(other), "again")
    try:
        await wait_for(lambda: len(received.frames["video"]) >= 10, 15, "video before")
        mirror = other.app[EDGES].get("again")
        assert mirror is not None
        await publisher.close()
        await wait_for(lambda: not mirror.live, 10, "the mirror to see the publisher leave")
        publisher, _ = await publish_loop(base_url(origin), "again", key)
        before = len(received.frames["video"])
        await wait_for(lambda: mirror.live, 10, "the mirror live again")
        await wait_for(lambda: len(received.frames["video"]) >= before + 20, 15, "video after")
        assert other.app[EDGES].get("again") is mirror  # the same mirror, its viewer kept
    finally:
        await client.close()
        await publisher.close()


async def test_a_mirror_without_viewers_closes_its_link(
    nodes: tuple[TestServer, TestServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(edge, "MIRROR_IDLE", 0.5)
    monkeypatch.setattr(edge, "REPORT_INTERVAL", 0.1)
    origin, other = nodes
    key = await create_session(origin, "brief")
    publisher, _ = await publish_loop(base_url(origin), "brief", key)
    try:
        await live_on(other, "brief")
        client, received = await watch(base_url(other), "brief")
        await wait_for(lambda: len(received.frames["video"]) >= 5, 15, "edge video")
        room = origin_room(origin, "brief")
        assert room.relays == 1
        await client.close()
        await wait_for(lambda: other.app[EDGES].get("brief") is None, 10, "the mirror to close")
        await wait_for(lambda: room.relays == 0, 10, "the origin to drop the link")
        assert room.live  # the origin's room goes on
    finally:
        await publisher.close()


async def test_the_relay_link_needs_the_node_secret(
    nodes: tuple[TestServer, TestServer],
) -> None:
    origin, _ = nodes
    key = await create_session(origin, "locked")
    publisher, _ = await publish_loop(base_url(origin), "locked", key)
    secret = origin.app[NODE_SECRET]
    url = f"{base_url(origin)}/relay/locked"
    try:
        await wait_for(lambda: origin_room(origin, "locked").live, 10, "live")
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": secret}):
                async with http.get(url, headers=headers) as r:
                    assert r.status == 401
                    assert r.content_type == "application/problem+json"
            async with http.get(
                f"{base_url(origin)}/relay/nothing", headers={"Authorization": f"Bearer {secret}"}
            ) as r:
                assert r.status in (404, 409)
            # A node that says nonsense is cut off; the room is not disturbed.
            for message in (
                "not json",
                '{"type": "publisher"}',
                '{"type": "viewers", "count": -1}',
            ):
                async with http.ws_connect(
                    url, headers={"Authorization": f"Bearer {secret}"}
                ) as ws:
                    await ws.send_str(message)
                    closing = None
                    async for incoming in ws:
                        if incoming.type == aiohttp.WSMsgType.CLOSE:
                            break
                    closing = ws.close_code
                    assert closing == 1008, message
            room = origin_room(origin, "locked")
            await wait_for(lambda: room.relays == 0, 5, "the links gone")
            assert room.live
    finally:
        await publisher.close()


async def test_bad_offers_at_an_edge_open_no_link(
    nodes: tuple[TestServer, TestServer],
) -> None:
    """A visitor posting bad offer after offer to an edge opens no relay link: the offers are
    refused (400, then 429) before a mirror is looked for."""
    origin, other = nodes
    key = await create_session(origin, "flood")
    publisher, _ = await publish_loop(base_url(origin), "flood", key)
    try:
        await live_on(other, "flood")
        statuses = []
        async with aiohttp.ClientSession() as http:
            for _ in range(8):
                async with http.post(
                    f"{base_url(other)}/whep/flood",
                    data="v=0\r\n",
                    headers={"Content-Type": "application/sdp"},
                ) as r:
                    statuses.append(r.status)
                    assert r.content_type == "application/problem+json"
        assert set(statuses) <= {400, 429}, statuses
        assert statuses[0] == 400
        assert origin_room(origin, "flood").relays == 0
        assert other.app[EDGES].get("flood") is None
    finally:
        await publisher.close()


async def test_status_of_a_session_live_elsewhere_is_not_a_mirror(
    nodes: tuple[TestServer, TestServer],
) -> None:
    """Without viewers at the edge there is no mirror: pages only read the presence record."""
    origin, other = nodes
    key = await create_session(origin, "quiet")
    publisher, _ = await publish_loop(base_url(origin), "quiet", key)
    try:
        await live_on(other, "quiet")
        assert other.app[EDGES].get("quiet") is None
        assert origin_room(origin, "quiet").relays == 0
    finally:
        await publisher.close()


async def test_an_origin_shutting_down_closes_its_links_at_once(
    nodes: tuple[TestServer, TestServer],
) -> None:
    """The origin's shutdown closes each relay link (1001) before its handlers are awaited: it
    is not held up by them, and the edge sees its publisher gone."""
    origin, other = nodes
    key = await create_session(origin, "bye")
    publisher, _ = await publish_loop(base_url(origin), "bye", key)
    await live_on(other, "bye")
    client, received = await watch(base_url(other), "bye")
    try:
        await wait_for(lambda: len(received.frames["video"]) >= 5, 15, "edge video")
        mirror = other.app[EDGES].get("bye")
        assert mirror is not None
        started = asyncio.get_running_loop().time()
        await close_or_explain(origin)
        assert asyncio.get_running_loop().time() - started < 10
        await wait_for(lambda: not mirror.live, 10, "the mirror to lose its publisher")
    finally:
        await client.close()
        await publisher.close()


async def test_an_edge_reaches_its_origin_over_a_unix_socket(
    settings: Settings, tmp_path: Path
) -> None:
    """Worker processes on one machine link over Unix sockets (``unix:/path`` node links)."""
    sock = tmp_path / "origin.sock"
    servers: list[TestServer] = []
    try:
        for node_settings in (
            settings.with_(port=free_port(), node_link=f"unix:{sock}"),
            settings.with_(port=free_port(), node_link=f"unix:{tmp_path / 'edge.sock'}"),
        ):
            server = TestServer(create_app(node_settings), host="127.0.0.1")
            await server.start_server()
            servers.append(server)
        origin, other = servers
        assert origin.runner is not None
        unix_site = web.UnixSite(origin.runner, str(sock))
        await unix_site.start()
        key = await create_session(origin, "lokal")
        publisher, _ = await publish_loop(base_url(origin), "lokal", key)
        try:
            await live_on(other, "lokal")
            client, received = await watch(base_url(other), "lokal")
            try:
                await wait_for(lambda: len(received.frames["video"]) >= 10, 15, "video")
                assert origin_room(origin, "lokal").relays == 1
            finally:
                await client.close()
        finally:
            await publisher.close()
    finally:
        for server in reversed(servers):
            await close_or_explain(server)
