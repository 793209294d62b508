"""Staff routes refuse with an HTML page in the user's language, never JSON or a 500."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.auth.staff import Staff

Login = Callable[[str], Awaitable[Staff]]


async def test_missing_and_forbidden_sessions_are_pages_in_the_users_language(
    login: Login,
) -> None:
    anna = await login("anna")
    status, html = await anna.get("/admin/sessions/finns-inte")
    assert status == 404
    assert '<html lang="sv">' in html
    assert "Hittades inte" in html
    status, html = await anna.get("/admin/sessions/finns-inte?lang=en")
    assert status == 404
    assert '<html lang="en">' in html
    assert "Not found" in html
    status, html = await anna.get("/admin/sessions/crispr?lang=sv")  # another arranger's session
    assert status == 403
    assert "Du har inte behörighet till det här" in html
    status, html = await anna.get("/admin/sessions/crispr/chat.json")
    assert status == 403
    assert "<html" in html
    status, html = await anna.get("/admin/sessions/Ogiltigt%20id")
    assert status in (400, 404)
    assert "<html" in html


async def test_the_header_names_the_login_and_its_role(login: Login) -> None:
    mo = await login("mo")
    _, html = await mo.get("/admin")
    assert "Inloggad som Mo (Moderator)" in html
    assert 'action="/logout"' in html
    _, html = await mo.get("/admin?lang=en")
    assert "Signed in as Mo (Moderator)" in html
