"""Test helpers for staff: accounts made directly in Redis, a logged-in HTTP client, and the
CSRF token of a page."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher

from stream.auth.passwords import use_hasher
from stream.auth.users import User, UserStore
from stream.common.grants import Role
from stream.http.keys import REDIS
from stream.program.arrangers import Arranger, ArrangerStore

PASSWORD = "correct horse battery"
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


def redis_of(server: TestServer):  # type: ignore[no-untyped-def]
    app: web.Application = server.app  # type: ignore[assignment]
    return app[REDIS]


def base_url(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


async def make_arranger(server: TestServer, arranger_id: str, name: str) -> Arranger:
    arranger = Arranger(id=arranger_id, name=name)
    await ArrangerStore(redis_of(server)).save(arranger)
    return arranger


async def make_user(
    server: TestServer,
    username: str,
    role: Role,
    *,
    arranger: str = "",
    sessions: tuple[str, ...] = (),
    password: str = PASSWORD,
) -> User:
    user = User(
        username=username,
        display_name=username.title(),
        role=role,
        arranger=arranger,
        sessions=sessions,
    )
    return await UserStore(redis_of(server)).create(user, password)


def csrf_of(html: str) -> str:
    found = CSRF_PATTERN.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


class Staff:
    """A browser-like client: cookies kept, CSRF token read from the last page."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.base = base_url(server)
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies for 127.0.0.1
        )
        self.csrf = ""

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.base + path, allow_redirects=False) as response:
            text = await response.text()
            found = CSRF_PATTERN.search(text)
            if found:
                self.csrf = found.group(1)
            return response.status, text

    async def post(
        self, path: str, data: Mapping[str, str], *, csrf: bool = True
    ) -> tuple[int, str, str]:
        """POST a form (with the CSRF token unless told not to): status, body, Location."""
        fields = dict(data)
        if csrf:
            fields.setdefault("csrf_token", self.csrf)
        async with self.http.post(self.base + path, data=fields, allow_redirects=False) as response:
            text = await response.text()
            found = CSRF_PATTERN.search(text)
            if found:
                self.csrf = found.group(1)
            return response.status, text, response.headers.get("Location", "")

    async def login(self, username: str, password: str = PASSWORD) -> int:
        await self.get("/login")
        status, _, _ = await self.post("/login", {"username": username, "password": password})
        if status == 303:
            await self.get("/admin")  # the logged-in CSRF token
        return status


@contextlib.contextmanager
def cheap_passwords() -> Iterator[None]:
    """argon2 with small parameters: the same code path, milliseconds instead of 100s of ms."""
    previous = use_hasher(CHEAP_HASHER)
    try:
        yield
    finally:
        use_hasher(previous)
