"""Login and sign-up limits under parallel requests: every attempt is counted (atomically, in
Redis) before a password is checked, so a burst of parallel guesses gets no more checks than
the limit allows; a locked-out account refuses the right password too."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from stream.common.grants import Role
from stream.common.rates import LOGIN_PER_ACCOUNT, LOGIN_PER_ADDRESS, SIGNUP_PER_ADDRESS
from tests.auth.staff import PASSWORD, Staff, base_url, cheap_passwords, csrf_of, make_user

PARALLEL = 40


@pytest.fixture(autouse=True)
def fast_password_hashing() -> Iterator[None]:
    with cheap_passwords():
        yield


@pytest.fixture
async def http(server: TestServer) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    """One anonymous client (one address) and the login form's CSRF token."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get(base_url(server) + "/login") as response:
        token = csrf_of(await response.text())
    yield session, token
    await session.close()


async def attempt(
    http: tuple[aiohttp.ClientSession, str], server: TestServer, username: str, password: str
) -> tuple[int, str]:
    session, token = http
    async with session.post(
        base_url(server) + "/login",
        data={"username": username, "password": password, "csrf_token": token},
        allow_redirects=False,
    ) as response:
        await response.read()
        return response.status, response.headers.get("Retry-After", "")


async def test_parallel_guesses_on_one_account_get_at_most_the_burst(
    server: TestServer, http: tuple[aiohttp.ClientSession, str]
) -> None:
    await make_user(server, "admin", Role.ADMIN)
    results = await asyncio.gather(
        *(attempt(http, server, "admin", f"guess-{n}") for n in range(PARALLEL))
    )
    statuses = Counter(status for status, _ in results)
    assert statuses[401] <= LOGIN_PER_ACCOUNT.burst, statuses
    assert statuses[401] + statuses[429] == PARALLEL, statuses
    assert all(int(wait) > 0 for status, wait in results if status == 429)
    # Locked out: the right password waits too, and is told so on a page.
    status, wait = await attempt(http, server, "Admin ", PASSWORD)
    assert status == 429
    assert int(wait) > 0


async def test_parallel_guesses_over_many_accounts_get_at_most_the_address_burst(
    server: TestServer, http: tuple[aiohttp.ClientSession, str]
) -> None:
    await make_user(server, "admin", Role.ADMIN)
    results = await asyncio.gather(
        *(attempt(http, server, f"user{n}", "guess") for n in range(PARALLEL))
    )
    statuses = Counter(status for status, _ in results)
    assert statuses[401] <= LOGIN_PER_ADDRESS.burst, statuses
    assert statuses[429] >= PARALLEL - LOGIN_PER_ADDRESS.burst, statuses
    # The address is locked out: even a good account with the right password waits.
    assert (await attempt(http, server, "admin", PASSWORD))[0] == 429


async def test_a_good_login_is_not_slowed_by_its_own_successes(
    server: TestServer, http: tuple[aiohttp.ClientSession, str]
) -> None:
    await make_user(server, "admin", Role.ADMIN)
    for _ in range(LOGIN_PER_ACCOUNT.burst + 2):
        assert (await attempt(http, server, "admin", PASSWORD))[0] == 303
        http[0].cookie_jar.clear_domain("127.0.0.1")  # logged out again (the form's nonce too)
        async with http[0].get(base_url(server) + "/login") as response:
            http = (http[0], csrf_of(await response.text()))


async def test_parallel_signups_from_one_address_get_at_most_the_burst(server: TestServer) -> None:
    async def sign_up(number: int) -> int:
        viewer = Staff(server)
        try:
            _, page = await viewer.get("/register")
            status, _, _ = await viewer.post(
                "/register",
                {
                    "username": f"viewer{number}",
                    "display_name": "Viewer",
                    "password": PASSWORD,
                    "repeat": PASSWORD,
                    "csrf_token": csrf_of(page),
                },
            )
            return status
        finally:
            await viewer.close()

    statuses = Counter(await asyncio.gather(*(sign_up(n) for n in range(20))))
    assert statuses[303] == SIGNUP_PER_ADDRESS.burst, statuses
    assert statuses[429] == 20 - SIGNUP_PER_ADDRESS.burst, statuses
