"""Staff who log in moderate the sessions their role allows; others stay viewers."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from stream.auth.roles import Role
from tests.auth.staff import Staff, cheap_passwords, make_user
from tests.chat.client import ws_url
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
            assert await welcome_role(staff, server, "other") == "viewer"  # not assigned
        finally:
            await staff.close()


async def test_anonymous_socket_is_a_viewer(server: TestServer) -> None:
    await create_session(server, "open")
    async with aiohttp.ClientSession() as http:
        anonymous = Staff(server)
        anonymous.http = http
        assert await welcome_role(anonymous, server, "open") == "viewer"
