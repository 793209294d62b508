"""Login over HTTP: the cookie, CSRF on the login form, the rate limit, logout, and logins
ending when the password changes or the account goes."""

from __future__ import annotations

from http.cookies import SimpleCookie

from aiohttp.test_utils import TestServer

from stream.auth.users import UserStore
from stream.common.grants import Role
from stream.common.rates import LOGIN_PER_ACCOUNT
from stream.http.identity import LOGIN_COOKIE
from tests.auth.staff import PASSWORD, Staff, make_user, redis_of


async def test_login_sets_an_http_only_cookie_and_opens_admin(server: TestServer) -> None:
    await make_user(server, "admin", Role.ADMIN)
    staff = Staff(server)
    try:
        status, _ = await staff.get("/admin")
        assert status == 303, "not logged in: to the login page"
        await staff.get("/login")
        async with staff.http.post(
            staff.base + "/login",
            data={
                "username": "Admin",
                "password": PASSWORD,
                "csrf_token": staff.csrf,
                "next": "/admin/sessions",
            },
            allow_redirects=False,
        ) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/admin/sessions"
            cookie = SimpleCookie(response.headers["Set-Cookie"])
            morsel = cookie[LOGIN_COOKIE]
            assert morsel["httponly"]
            assert morsel["samesite"] == "Lax"
            assert morsel["path"] == "/"
        status, html = await staff.get("/admin")
        assert status == 200
        assert "Inloggad som Admin" in html
    finally:
        await staff.close()


async def test_wrong_password_and_unknown_user_look_the_same(server: TestServer) -> None:
    await make_user(server, "admin", Role.ADMIN)
    staff = Staff(server)
    try:
        await staff.get("/login")
        for username, password in (("admin", "wrong password"), ("nobody", PASSWORD)):
            status, html, _ = await staff.post(
                "/login", {"username": username, "password": password}
            )
            assert status == 401
            assert "Fel användarnamn eller lösenord." in html
        status, html, _ = await staff.post("/login", {"username": "", "password": ""})
        assert status == 400
        assert "Fyll i användarnamn och lösenord." in html
    finally:
        await staff.close()


async def test_the_login_form_needs_its_csrf_token(server: TestServer) -> None:
    await make_user(server, "admin", Role.ADMIN)
    staff = Staff(server)
    try:
        await staff.get("/login")
        status, html, _ = await staff.post(
            "/login", {"username": "admin", "password": PASSWORD}, csrf=False
        )
        assert status == 403
        assert "Formuläret har gått ut" in html
        status, _, _ = await staff.post(
            "/login", {"username": "admin", "password": PASSWORD, "csrf_token": "forged"}
        )
        assert status == 403
        # A form posted from another site is refused even with a token.
        async with staff.http.post(
            staff.base + "/login",
            data={"username": "admin", "password": PASSWORD, "csrf_token": staff.csrf},
            headers={"Origin": "https://evil.example"},
            allow_redirects=False,
        ) as response:
            assert response.status == 403
        assert await staff.login("admin") == 303
    finally:
        await staff.close()


async def test_logins_are_rate_limited_per_account(server: TestServer) -> None:
    await make_user(server, "admin", Role.ADMIN)
    staff = Staff(server)
    try:
        await staff.get("/login")
        for _ in range(LOGIN_PER_ACCOUNT.burst):
            status, _, _ = await staff.post("/login", {"username": "admin", "password": "nope"})
            assert status == 401
        async with staff.http.post(
            staff.base + "/login",
            data={"username": "admin", "password": PASSWORD, "csrf_token": staff.csrf},
            allow_redirects=False,
        ) as response:
            assert response.status == 429, "even the right password waits"
            assert int(response.headers["Retry-After"]) > 0
            assert "För många misslyckade försök" in await response.text()
    finally:
        await staff.close()


async def test_logout_needs_csrf_and_ends_the_login(server: TestServer) -> None:
    await make_user(server, "admin", Role.ADMIN)
    staff = Staff(server)
    try:
        assert await staff.login("admin") == 303
        status, _, _ = await staff.post("/logout", {}, csrf=False)
        assert status == 403
        assert (await staff.get("/admin"))[0] == 200, "still logged in"
        status, _, location = await staff.post("/logout", {})
        assert (status, location) == (303, "/")
        assert (await staff.get("/admin"))[0] == 303
    finally:
        await staff.close()


async def test_a_new_password_or_a_deleted_account_ends_every_login(server: TestServer) -> None:
    await make_user(server, "admin", Role.ADMIN)
    await make_user(server, "second", Role.ADMIN)
    first, other = Staff(server), Staff(server)
    try:
        assert await first.login("second") == 303
        assert await other.login("second") == 303
        await UserStore(redis_of(server)).set_password("second", "a brand new password")
        assert (await first.get("/admin"))[0] == 303
        assert (await other.get("/admin"))[0] == 303
        assert await first.login("second", "a brand new password") == 303
        await UserStore(redis_of(server)).delete("second")
        assert (await first.get("/admin"))[0] == 303
    finally:
        await first.close()
        await other.close()


async def test_next_never_leaves_the_site(server: TestServer) -> None:
    await make_user(server, "admin", Role.ADMIN)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "/admin/staff"):
        staff = Staff(server)
        try:
            await staff.get("/login")
            status, _, location = await staff.post(
                "/login", {"username": "admin", "password": PASSWORD, "next": target}
            )
            expected = target if target == "/admin/staff" else "/admin"
            assert (status, location) == (303, expected)
        finally:
            await staff.close()
