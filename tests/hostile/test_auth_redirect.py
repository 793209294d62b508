"""Open redirect: after logging in (or signing up) only a path of this site is followed; any
other ``next`` goes to the default, and no ``next`` can break the response."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from stream.common.grants import Role
from stream.http.render import safe_next
from tests.auth.staff import PASSWORD, Staff, cheap_passwords, csrf_of, make_user

HOSTILE = (
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\r\nSet-Cookie: x=1",
    "//evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "/ /evil.example",
    "/\x00/evil.example",
    "/\x0b/evil.example",
    "/\u2028/evil.example",
    "javascript:alert(1)",
    " /admin",
    "/" + "a" * 5000,
)
SAME_SITE = ("/admin/sessions", "/s/skogens-dag?lang=en", "/admin/sessions/new#top", "/")


def test_safe_next_keeps_same_site_paths_only() -> None:
    for target in HOSTILE:
        assert safe_next(target) == "/admin", repr(target)
    for target in SAME_SITE:
        assert safe_next(target) == target


@pytest.fixture(autouse=True)
def fast_password_hashing() -> Iterator[None]:
    with cheap_passwords():
        yield


@pytest.fixture
async def staff(server: TestServer) -> AsyncIterator[Staff]:
    await make_user(server, "anna", Role.ADMIN)
    client = Staff(server)
    yield client
    await client.close()


async def test_login_never_redirects_off_site(staff: Staff) -> None:
    answered: dict[str, str] = {}
    for target in HOSTILE:
        status, page = await staff.get("/login?next=" + quote(target, safe=""))
        assert status == 200, repr(target)
        try:
            status, _, location = await staff.post(
                "/login",
                {
                    "username": "anna",
                    "password": PASSWORD,
                    "next": target,
                    "csrf_token": csrf_of(page),
                },
            )
        except aiohttp.ClientError as exc:  # the connection dropped without a response
            answered[target] = f"no response: {type(exc).__name__}"
            continue
        answered[target] = location
        # Logged in now: the login page sends a logged-in visitor on at once.
        async with staff.http.get(
            staff.base + "/login?next=" + quote(target, safe=""), allow_redirects=False
        ) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/admin", repr(target)
        await staff.get("/admin")  # the logged-in CSRF token
        assert (await staff.post("/logout", {}))[0] == 303
    assert answered == dict.fromkeys(HOSTILE, "/admin")


async def test_login_follows_same_site_paths(staff: Staff) -> None:
    for target in SAME_SITE:
        _, page = await staff.get("/login?next=" + quote(target, safe=""))
        _, _, location = await staff.post(
            "/login",
            {"username": "anna", "password": PASSWORD, "next": target, "csrf_token": csrf_of(page)},
        )
        assert location == target
        await staff.get("/admin")
        assert (await staff.post("/logout", {}))[0] == 303


async def test_register_never_redirects_off_site(server: TestServer) -> None:
    for number, target in enumerate(HOSTILE[:5]):
        client = Staff(server)
        try:
            _, page = await client.get("/register?next=" + quote(target, safe=""))
            status, _, location = await client.post(
                "/register",
                {
                    "username": f"viewer{number}",
                    "display_name": "Viewer",
                    "password": PASSWORD,
                    "repeat": PASSWORD,
                    "next": target,
                    "csrf_token": csrf_of(page),
                },
            )
        finally:
            await client.close()
        assert (status, location) == (303, "/"), repr(target)
