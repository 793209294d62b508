"""Two nodes on one Redis: a WHIP/WHEP resource made on node A answers PATCH and DELETE sent to
node B (B forwards them to A's node link and answers what A answered); A's node routes refuse
a request without the node secret; unknown or dead nodes give 404."""

from __future__ import annotations

import socket

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from stream.app import create_app
from stream.config import Settings
from stream.http.keys import NODE_SECRET, PEERS, REDIS, RESOURCE_NODES, ROOMS
from stream.rtc.peer import split_resource_id
from stream.rtc.resource_nodes import NODE_RECORD_TTL, ResourceNodes, node_key
from stream.store import Redis, connect
from tests.conftest import base_url, close_or_explain, create_session, free_port
from tests.media import publish_loop, wait_for
from tests.rtc.offers import real_offer

FRAGMENT = {"Content-Type": "application/trickle-ice-sdpfrag"}
CANDIDATE = "a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"


@pytest.fixture
async def two_nodes(nodes: tuple[TestServer, TestServer]) -> tuple[TestServer, TestServer]:
    return nodes


def app_of(server: TestServer) -> web.Application:
    app: web.Application = server.app  # type: ignore[assignment]
    return app


def nodes_of(server: TestServer) -> ResourceNodes:
    return app_of(server)[RESOURCE_NODES]


async def publish_on(server: TestServer, http: aiohttp.ClientSession, session: str) -> str:
    """POST a WHIP offer to ``server``; the resource path (its Location)."""
    key = await create_session(server, session)
    headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {key}"}
    async with http.post(
        f"{base_url(server)}/whip/{session}", data=await real_offer(), headers=headers
    ) as r:
        assert r.status == 201, await r.text()
        location: str = r.headers["Location"]
    return location


async def answer(
    http: aiohttp.ClientSession, method: str, url: str, **kwargs: object
) -> tuple[int, bytes, str | None]:
    async with http.request(method, url, **kwargs) as r:  # type: ignore[arg-type]
        return r.status, await r.read(), r.headers.get("Content-Type")


async def test_a_whip_resource_of_node_a_answers_through_node_b(
    two_nodes: tuple[TestServer, TestServer],
) -> None:
    a, b = two_nodes
    assert nodes_of(a).tag != nodes_of(b).tag
    async with aiohttp.ClientSession() as http:
        location = await publish_on(a, http, "fwd")
        resource_id = location.rsplit("/", 1)[1]
        tag, token = split_resource_id(resource_id)
        assert tag == nodes_of(a).tag
        assert len(token) >= 24  # the random part alone keeps it unguessable
        peer = app_of(a)[PEERS].get(resource_id)
        assert peer is not None
        via_a, via_b = base_url(a) + location, base_url(b) + location

        # Trickle through B: A's peer takes it, B answers what A answers.
        status, _, _ = await answer(http, "PATCH", via_b, data=CANDIDATE, headers=FRAGMENT)
        assert status == 204
        forwarded = nodes_of(b).forwarded
        assert forwarded >= 1
        for headers in ({**FRAGMENT, "If-Match": '"nope"'}, {"Content-Type": "text/plain"}):
            direct = await answer(http, "PATCH", via_a, data=CANDIDATE, headers=headers)
            through_b = await answer(http, "PATCH", via_b, data=CANDIDATE, headers=headers)
            assert through_b == direct
            assert direct[0] in (412, 415)
        assert nodes_of(b).forwarded == forwarded + 2
        restart = "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"
        restarting = {**FRAGMENT, "If-Match": "*"}
        status, body, content_type = await answer(
            http, "PATCH", via_b, data=restart, headers=restarting
        )
        assert (status, body, content_type) == await answer(
            http, "PATCH", via_a, data=restart, headers=restarting
        )
        assert status == 422
        assert (content_type or "").startswith("application/problem+json")
        assert b"ICE restart" in body

        # DELETE through B closes the peer on A and frees the session's publisher slot.
        assert (await answer(http, "DELETE", via_b))[0] == 200
        assert peer.closed
        assert app_of(a)[PEERS].get(resource_id) is None
        room = app_of(a)[ROOMS].get("fwd")
        assert room is None or room.publisher is None
        assert (await answer(http, "DELETE", via_b))[0] == 200  # just ended, as on A
        status, body, _ = await answer(http, "PATCH", via_b, data=CANDIDATE, headers=FRAGMENT)
        assert status == 404
        assert b"no such resource" in body


async def test_a_whep_resource_of_node_a_is_deleted_through_node_b(
    two_nodes: tuple[TestServer, TestServer],
) -> None:
    a, b = two_nodes
    key = await create_session(a, "fwdview")
    publisher, _ = await publish_loop(base_url(a), "fwdview", key)
    try:

        def live() -> bool:
            room = app_of(a)[ROOMS].get("fwdview")
            return room is not None and room.live

        await wait_for(live, timeout=20, what="the room goes live")
        async with aiohttp.ClientSession() as http:
            offer = await real_offer(direction="recvonly")
            async with http.post(
                f"{base_url(a)}/whep/fwdview",
                data=offer,
                headers={"Content-Type": "application/sdp"},
            ) as r:
                assert r.status == 201, await r.text()
                location = r.headers["Location"]
            resource_id = location.rsplit("/", 1)[1]
            assert split_resource_id(resource_id)[0] == nodes_of(a).tag
            viewer = app_of(a)[PEERS].get(resource_id)
            assert viewer is not None
            assert viewer.role == "whep"
            # The role is part of the path: a WHEP id under /whip/ is not found, through B too.
            wrong = f"{base_url(b)}/whip/fwdview/{resource_id}"
            assert (await answer(http, "DELETE", wrong))[0] == 404
            assert (await answer(http, "DELETE", base_url(b) + location))[0] == 200
            assert viewer.closed
            assert app_of(a)[PEERS].get(resource_id) is None
    finally:
        await publisher.close()


async def test_node_routes_need_the_secret_and_never_forward(
    two_nodes: tuple[TestServer, TestServer],
) -> None:
    a, b = two_nodes
    secret = app_of(a)[NODE_SECRET]
    assert secret == app_of(b)[NODE_SECRET]  # one secret for the deployment, through Redis
    async with aiohttp.ClientSession() as http:
        location = await publish_on(a, http, "forged")
        node_path = location.replace("/whip/", "/node/whip/", 1)
        # Forged: no secret, or a wrong one. The peer stays.
        for headers in ({}, {"Authorization": "Bearer not-the-secret"}):
            status, _, _ = await answer(http, "DELETE", base_url(a) + node_path, headers=headers)
            assert status == 401
            status, _, _ = await answer(
                http, "PATCH", base_url(a) + node_path, data=CANDIDATE, headers=headers
            )
            assert status == 401
        resource_id = location.rsplit("/", 1)[1]
        assert app_of(a)[PEERS].get(resource_id) is not None
        node = {"Authorization": f"Bearer {secret}"}
        # A node route on B answers from B's own peers only: it does not pass the request on.
        status, _, _ = await answer(http, "DELETE", base_url(b) + node_path, headers=node)
        assert status == 404
        assert app_of(a)[PEERS].get(resource_id) is not None
        status, _, _ = await answer(http, "DELETE", base_url(a) + node_path, headers=node)
        assert status == 200
        assert app_of(a)[PEERS].get(resource_id) is None


async def test_unknown_or_dead_nodes_give_404(two_nodes: tuple[TestServer, TestServer]) -> None:
    a, b = two_nodes
    redis = app_of(a)[REDIS]
    async with aiohttp.ClientSession() as http:
        for resource in ("abcdefghijklmnopqrstuvwx.0badc0de", "abc.not-a-tag", "x.", "a.b.c"):
            status, body, _ = await answer(http, "DELETE", f"{base_url(b)}/whip/s/{resource}")
            assert status == 404, resource
            assert b"no such resource" in body
        # A node whose record remains but which does not answer (it died a moment ago).
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))
        dead_port = dead.getsockname()[1]
        dead.close()
        await redis.set(node_key("0badc0de"), f"http://127.0.0.1:{dead_port}", ex=30)
        status, _, _ = await answer(
            http, "PATCH", f"{base_url(b)}/whip/s/x.0badc0de", data=CANDIDATE, headers=FRAGMENT
        )
        assert status == 404


async def test_a_node_records_its_link_while_it_runs(settings: Settings) -> None:
    port = free_port()
    link = f"http://127.0.0.1:{port}"
    node = settings.with_(port=port, node_link=link)
    server = TestServer(create_app(node), host="127.0.0.1", port=port)
    await server.start_server()
    assert settings.redis_url is not None
    redis = connect(settings.redis_url)
    try:
        tag = app_of(server)[RESOURCE_NODES].tag
        try:
            assert await redis.get(node_key(tag)) == link.encode()
            assert 0 < await redis.ttl(node_key(tag)) <= NODE_RECORD_TTL
        finally:
            await close_or_explain(server)
        assert await redis.exists(node_key(tag)) == 0  # withdrawn: its peers are gone
    finally:
        await redis.aclose()


async def test_a_node_record_that_cannot_be_read_is_503_not_500(
    two_nodes: tuple[TestServer, TestServer],
) -> None:
    _, b = two_nodes
    nodes = nodes_of(b)
    shared = nodes.redis
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    unreachable = Redis.from_url(f"redis://127.0.0.1:{dead.getsockname()[1]}", retry=None)
    dead.close()
    nodes.redis = unreachable
    try:
        async with aiohttp.ClientSession() as http:
            status, body, _ = await answer(http, "DELETE", f"{base_url(b)}/whip/s/x.0badc0de")
        assert status == 503
        assert b"try again" in body
    finally:
        nodes.redis = shared
        await unreachable.aclose()
