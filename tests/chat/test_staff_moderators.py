"""Staff who log in moderate the sessions their role allows; others stay viewers."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from stream.common.grants import Role
from tests.auth.staff import Staff, cheap_passwords, make_user
from tests.chat.client import ChatClient, moderator_token, ws_url
from tests.conftest import base_url, create_session


async def welcome_role(staff: Staff, server: TestServer, session_id: str) -> str:
    origin = {"Origin": base_url(server)}
    async with staff.http.ws_connect(ws_url(server, session_id), headers=origin) as ws:
        await ws.send_json({"type": "hello"})
        welcome = await ws.receive_json(timeout=10)
        assert welcome["type"] == "welcome"
        role: str = welcome["you"]["role"]
        return role


async def test_logged_in_moderator_of_the_session_moderates(server: TestServer) -> None:
    await create_session(server, "mine")
    await create_session(server, "other")
    with cheap_passwords():
        await make_user(server, "moa", Role.MODERATOR, sessions=("mine",))
        staff = Staff(server)
        try:
            assert await staff.login("moa") == 303
            assert await welcome_role(staff, server, "mine") == "moderator"
            assert await welcome_role(staff, server, "other") == "registered"  # not assigned
        finally:
            await staff.close()


async def test_anonymous_socket_is_a_viewer(server: TestServer) -> None:
    await create_session(server, "open")
    async with aiohttp.ClientSession() as http:
        anonymous = Staff(server)
        anonymous.http = http
        assert await welcome_role(anonymous, server, "open") == "viewer"


async def test_a_viewer_registers_and_writes_where_only_registered_may(server: TestServer) -> None:
    base = base_url(server)
    await create_session(server, "reg")
    mod_token = await moderator_token(server, "reg")
    moderator = await ChatClient.connect(server, "reg", moderator_token=mod_token)
    anonymous = await ChatClient.connect(server, "reg", name="Anon")
    viewer = Staff(server)
    try:
        await moderator.mod("registered_only", on=True)
        refused = await anonymous.send("hej")
        assert refused["type"] == "error"
        assert refused["code"] == "registered_only"

        with cheap_passwords():
            status, page = await viewer.get("/register")
            assert status == 200
            assert 'name="csrf_token"' in page
            form = {
                "username": "lisa",
                "display_name": "Lisa L",
                "password": "a long enough password",
                "repeat": "a long enough password",
                "next": "/s/reg",
            }
            status, _, location = await viewer.post("/register", form)
            assert status == 303
            assert location == "/s/reg"
            await viewer.get("/register")  # logged in now: a fresh CSRF token
            status, _, _ = await viewer.post("/register", form)  # the same name again
            assert status == 409
        origin = {"Origin": base}
        async with viewer.http.ws_connect(ws_url(server, "reg"), headers=origin) as ws:
            await ws.send_json({"type": "hello"})
            welcome = await ws.receive_json(timeout=10)
            assert welcome["you"]["role"] == "registered"
            assert welcome["you"]["name"] == "Lisa L"
        # a registered viewer has an account, but no staff pages
        status, _ = await viewer.get("/admin")
        assert status == 403
    finally:
        await viewer.close()
        await moderator.close()
        await anonymous.close()
