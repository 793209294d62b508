"""WHIP with schedule-bound keys, over real HTTP: 401 for a wrong key at any time, 403 for
the right key outside its window (saying when it opens), a real publish inside it, and a
rotated key refused at once."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from stream.common import times
from stream.http.keys import PEERS, REDIS, ROOMS
from stream.program.keys import GRACE_PERIOD, REHEARSAL_WINDOW
from stream.program.sessions import Session, SessionStore
from tests.conftest import base_url
from tests.ingest.test_whip_http import make_offer, sdp_headers
from tests.media import publish_loop, wait_for


def store(server: TestServer) -> SessionStore:
    app: web.Application = server.app  # type: ignore[assignment]
    return SessionStore(app[REDIS])


async def scheduled(server: TestServer, session_id: str, start_in: timedelta) -> str:
    start = times.now() + start_in
    session = Session(
        id=session_id, title="Schemalagd", start=start, end=start + timedelta(hours=1)
    )
    await store(server).save(session)
    return await store(server).rotate_key(session_id)


async def post_offer(server: TestServer, session_id: str, key: str) -> tuple[int, dict[str, str]]:
    offer = await make_offer()
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base_url(server)}/whip/{session_id}", data=offer, headers=sdp_headers(key)
        ) as response:
            body = await response.json() if response.status >= 400 else {}
            return response.status, body


async def test_the_right_key_before_the_rehearsal_window_is_403(server: TestServer) -> None:
    key = await scheduled(server, "early", REHEARSAL_WINDOW + timedelta(minutes=10))
    status, body = await post_offer(server, "early", key)
    assert status == 403
    assert body["detail"].startswith("the publish key is not valid yet: publishing opens at ")
    status, body = await post_offer(server, "early", "a-guess")
    assert status == 401, "a wrong key learns nothing about the schedule"
    assert body["detail"] == "the publish key is not valid for this session"
    assert len(server.app[PEERS]) == 0


async def test_the_right_key_after_the_grace_period_is_403(server: TestServer) -> None:
    key = await scheduled(
        server, "late", -(timedelta(hours=1) + GRACE_PERIOD + timedelta(minutes=1))
    )
    status, body = await post_offer(server, "late", key)
    assert status == 403
    assert "expired" in body["detail"]
    status, _ = await post_offer(server, "late", "a-guess")
    assert status == 401


async def test_inside_the_window_the_key_publishes(server: TestServer) -> None:
    key = await scheduled(server, "rehearsal", REHEARSAL_WINDOW - timedelta(minutes=10))
    client, _ = await publish_loop(base_url(server), "rehearsal", key)
    try:
        room = server.app[ROOMS].get("rehearsal")
        assert room is not None
        await wait_for(lambda: room.live, what="the rehearsal going live")
    finally:
        await client.close()


async def test_a_rotated_key_is_refused_at_once(server: TestServer) -> None:
    old = await scheduled(server, "rotated", timedelta(0))
    new = await store(server).rotate_key("rotated")
    status, body = await post_offer(server, "rotated", old)
    assert (status, body["detail"]) == (401, "the publish key is not valid for this session")
    client, _ = await publish_loop(base_url(server), "rotated", new)
    await client.close()


async def test_a_live_publisher_is_cut_off_when_its_window_closes(server: TestServer) -> None:
    # The window (to end + grace) closes two seconds from now.
    key = await scheduled(
        server, "closing", -(timedelta(hours=1) + GRACE_PERIOD - timedelta(seconds=2))
    )
    publisher, _ = await publish_loop(base_url(server), "closing", key)
    try:
        room = server.app[ROOMS].get("closing")
        assert room is not None
        await wait_for(lambda: room.live, what="live inside the window")
        await wait_for(lambda: room.publisher is None, timeout=10, what="cut off at the end")
    finally:
        await publisher.close()
