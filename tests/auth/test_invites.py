"""Invite-only sessions: hidden from everyone without the link, open with it or to staff."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from stream.auth.invites import invite_code
from stream.common.grants import Role
from stream.http.keys import AUTH_SECRET, REDIS
from stream.program.sessions import Session, SessionStore
from tests.auth.staff import Staff, cheap_passwords, make_user
from tests.chat.client import ws_url
from tests.conftest import base_url
from tests.media import publish_loop

SDP = {"Content-Type": "application/sdp"}


async def invite_session(server: TestServer) -> tuple[str, str]:
    app: web.Application = server.app  # type: ignore[assignment]
    store = SessionStore(app[REDIS])
    await store.save(Session(id="grupp-1", title="Arbetsgrupp 1", visibility="invite"))
    key = await store.rotate_key("grupp-1")
    return key, invite_code(app[AUTH_SECRET], "grupp-1")


async def test_pages_media_and_chat_need_the_invitation(server: TestServer) -> None:
    base = base_url(server)
    key, code = await invite_session(server)
    publisher, _ = await publish_loop(base, "grupp-1", key)  # publishing needs only the key
    try:
        async with aiohttp.ClientSession() as stranger:
            for path in (
                "/s/grupp-1",
                "/embed/grupp-1",
                "/q/grupp-1",
                "/s/grupp-1?invite=not-the-code",
            ):
                async with stranger.get(base + path) as r:
                    assert r.status == 404, path
            async with stranger.post(f"{base}/whep/grupp-1", data="v=0\r\n", headers=SDP) as r:
                assert r.status == 404
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await stranger.ws_connect(ws_url(server, "grupp-1"), headers={"Origin": base})
            assert refused.value.status == 404
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as guest:
            async with guest.get(f"{base}/s/grupp-1?invite={code}") as r:
                assert r.status == 200
            # the link is remembered: the player's WHEP request and the chat carry the cookie
            async with guest.get(f"{base}/s/grupp-1") as r:
                assert r.status == 200
            async with guest.post(f"{base}/whep/grupp-1", data="v=0\r\n", headers=SDP) as r:
                assert r.status == 400  # past the door: now it is the offer that is wrong
            async with guest.ws_connect(ws_url(server, "grupp-1"), headers={"Origin": base}) as ws:
                await ws.send_json({"type": "hello"})
                assert (await ws.receive_json(timeout=10))["type"] == "welcome"
    finally:
        await publisher.close()


async def test_staff_of_the_session_need_no_invitation(server: TestServer) -> None:
    _, code = await invite_session(server)
    with cheap_passwords():
        await make_user(server, "tal", Role.SPEAKER, sessions=("grupp-1",))
        await make_user(server, "ann", Role.ADMIN)
        speaker, admin = Staff(server), Staff(server)
        try:
            assert await speaker.login("tal") == 303
            status, _ = await speaker.get("/s/grupp-1")
            assert status == 200
            assert await admin.login("ann") == 303
            status, page = await admin.get("/admin/sessions/grupp-1")
            assert status == 200
            assert f"/s/grupp-1?invite={code}" in page  # the admin page shows the link to share
        finally:
            await speaker.close()
            await admin.close()
