"""An RTMP publisher obeys the same rule as a WHIP one: cut when its key is rotated (with
"disconnect") and when the key's window closes, not only refused at the next publish."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestServer

from stream.common import times
from stream.common.grants import Role
from stream.config import Settings
from stream.http.keys import REDIS, ROOMS, RTMP_SERVER
from stream.ingest.rtmp.publisher import RtmpPublisher
from stream.program.keys import GRACE_PERIOD
from stream.program.sessions import Session, SessionStore
from stream.rooms.room import Room
from tests.auth.staff import Staff, cheap_passwords, make_user
from tests.conftest import MakeServer, create_session
from tests.ingest.rtmp.client import RtmpTestClient
from tests.ingest.rtmp.conftest import free_port
from tests.media import wait_for

WINDOW_LEFT = 3  # seconds the publishing window has left when the publisher starts


@pytest.fixture(autouse=True)
def fast_password_hashing() -> Iterator[None]:
    with cheap_passwords():
        yield


@pytest.fixture
async def rtmp_server(make_server: MakeServer, settings: Settings) -> TestServer:
    for attempt in range(3):
        try:
            return await make_server(settings.with_(rtmp_port=free_port()))
        except OSError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def publish(server: TestServer, session_id: str, key: str) -> tuple[RtmpTestClient, Room]:
    client = await RtmpTestClient.open(server.app[RTMP_SERVER].port)
    status = await client.start_publish(key)
    assert status.info["code"] == "NetStream.Publish.Start", status
    room = server.app[ROOMS].get(session_id)
    assert room is not None
    assert isinstance(room.publisher, RtmpPublisher)
    return client, room


async def test_rotating_the_key_with_disconnect_cuts_an_rtmp_publisher(
    rtmp_server: TestServer,
) -> None:
    key = await create_session(rtmp_server, "rtmp-rotate")
    client, room = await publish(rtmp_server, "rtmp-rotate", key)
    await make_user(rtmp_server, "admin", Role.ADMIN)
    admin = Staff(rtmp_server)
    try:
        assert await admin.login("admin") == 303
        status, _, _ = await admin.post("/admin/sessions/rtmp-rotate/key", {"disconnect": "on"})
        assert status == 200
        assert await client.closed_by_server(5.0), "the RTMP publisher was not cut"
        assert room.publisher is None
    finally:
        await admin.close()
        await client.close()


async def test_an_rtmp_publisher_is_cut_when_its_window_closes(rtmp_server: TestServer) -> None:
    store = SessionStore(rtmp_server.app[REDIS])
    end = times.now() - GRACE_PERIOD + timedelta(seconds=WINDOW_LEFT)
    await store.save(
        Session(id="rtmp-window", title="Window", start=end - timedelta(hours=1), end=end)
    )
    key = await store.rotate_key("rtmp-window")
    client, room = await publish(rtmp_server, "rtmp-window", key)
    try:
        assert not await client.closed_by_server(1.0), "cut before its window closed"
        assert await client.closed_by_server(WINDOW_LEFT + 3.0), "still publishing after the window"
        assert room.publisher is None
        await wait_for(lambda: not rtmp_server.app[RTMP_SERVER].connections, 5, "connection gone")
    finally:
        await client.close()
