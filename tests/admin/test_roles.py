"""Each role tries what it may and may not do in /admin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer

from stream.program.events import EventStore
from stream.program.sessions import SessionStore
from tests.auth.staff import Staff, redis_of

Login = Callable[[str], Awaitable[Staff]]

SESSION_FORM = {
    "title": "Nytt pass",
    "arranger_id": "skog",
    "event": "vecka",
    "date": "2031-01-22",
    "start": "10:00",
    "end": "11:00",
    "visibility": "public",
    "chat": "on",
}

# (username, method, path, expected status); GETs first, then form posts.
PAGES = [
    ("admin", "/admin/events/new", 200),
    ("admin", "/admin/arrangers", 200),
    ("admin", "/admin/import", 200),
    ("admin", "/admin/sessions/crispr", 200),
    ("anna", "/admin", 200),
    ("anna", "/admin/sessions", 200),
    ("anna", "/admin/sessions/skogens-dag", 200),
    ("anna", "/admin/sessions/crispr", 403),
    ("anna", "/admin/events", 200),
    ("anna", "/admin/events/new", 403),
    ("anna", "/admin/arrangers/new", 403),
    ("anna", "/admin/studios/studio-1", 200),
    ("anna", "/admin/import", 403),
    ("anna", "/admin/staff/mo", 200),
    ("anna", "/admin/staff/admin", 403),
    ("mo", "/admin", 200),
    ("mo", "/admin/sessions", 403),
    ("mo", "/admin/sessions/skogens-dag", 403),
    ("mo", "/admin/staff", 403),
    ("mo", "/admin/account", 200),
    ("sp", "/admin", 200),
    ("sp", "/admin/events", 403),
]


@pytest.mark.parametrize(("username", "path", "status"), PAGES)
async def test_pages_by_role(login: Login, username: str, path: str, status: int) -> None:
    staff = await login(username)
    got, html = await staff.get(path)
    assert got == status, html[:300]
    if status == 403:
        assert "Du har inte behörighet till det här" in html


async def test_visitors_are_sent_to_the_login_page(world: TestServer) -> None:
    staff = Staff(world)
    try:
        async with staff.http.get(staff.base + "/admin/sessions/new", allow_redirects=False) as r:
            assert r.status == 303
            assert r.headers["Location"] == "/login?next=/admin/sessions/new"
        status, _, _ = await staff.post("/admin/events/new", {"name": "X"}, csrf=False)
        assert status in (401, 403)
    finally:
        await staff.close()


async def test_an_arranger_creates_sessions_for_their_own_arranger_only(login: Login) -> None:
    anna = await login("anna")
    # The arranger field is ignored: arranger staff always get their own arranger.
    status, html, _ = await anna.post(
        "/admin/sessions/new", {**SESSION_FORM, "arranger_id": "noden"}
    )
    assert status == 201, html[:500]
    session = await SessionStore(redis_of_login(anna)).get("nytt-pass")
    assert session.arranger_id == "skog"
    # Another arranger's session is out of reach, for reading and writing alike.
    status, _, _ = await anna.post("/admin/sessions/crispr", {**SESSION_FORM, "title": "Kapad"})
    assert status == 403
    status, _, _ = await anna.post("/admin/sessions/crispr/key", {})
    assert status == 403
    status, _, _ = await anna.post("/admin/sessions/crispr/delete", {})
    assert status == 403
    assert (await SessionStore(redis_of_login(anna)).get("crispr")).title == "CRISPR-Cas9"


async def test_an_arranger_makes_moderators_but_not_admins(login: Login) -> None:
    anna = await login("anna")
    await anna.get("/admin/staff/new")
    status, html, location = await anna.post(
        "/admin/staff/new",
        {
            "username": "mod2",
            "display_name": "Moderator två",
            "role": "moderator",
            "password": "a long password",
            "session:skogens-dag": "on",
        },
    )
    assert (status, location) == (303, "/admin/staff/mod2?notice=created"), html[:400]
    status, html, _ = await anna.post(
        "/admin/staff/new",
        {"username": "boss", "display_name": "Boss", "role": "admin", "password": "x" * 12},
    )
    assert status == 400
    assert "Välj ett av alternativen." in html
    status, html, _ = await anna.post(
        "/admin/staff/new",
        {
            "username": "mod3",
            "display_name": "Tre",
            "role": "moderator",
            "password": "a long password",
            "session:crispr": "on",
        },
    )
    assert status == 400
    assert "En av sessionerna tillhör en annan arrangör." in html


async def test_moderators_and_speakers_see_their_sessions_only(login: Login) -> None:
    mo = await login("mo")
    status, html = await mo.get("/admin")
    assert status == 200
    assert "Skogens dag" in html
    assert "CRISPR" not in html
    assert 'href="/moderate/skogens-dag"' in html
    sp = await login("sp")
    _, html = await sp.get("/admin")
    assert 'href="/stage/skogens-dag"' in html
    assert 'href="/moderate/' not in html
    status, _, _ = await mo.post("/admin/events/new", {"name": "Mitt event"})
    assert status == 403


async def test_only_admins_edit_the_catalogue(login: Login) -> None:
    admin = await login("admin")
    await admin.get("/admin/events/new")
    status, _, location = await admin.post(
        "/admin/events/new",
        {
            "name": "Mötesplats Lycksele",
            "start_date": "2031-09-26",
            "end_date": "2031-09-26",
            "venue": "Hotell Lappland, Lycksele",
            "languages": "sv",
        },
    )
    assert (status, location) == (303, "/admin/events/motesplats-lycksele?notice=created")
    anna = await login("anna")
    status, _, _ = await anna.post("/admin/events/motesplats-lycksele", {"name": "Kapat"})
    assert status == 403
    status, _, _ = await anna.post("/admin/events/motesplats-lycksele/delete", {})
    assert status == 403
    event = await EventStore(redis_of_login(admin)).get("motesplats-lycksele")
    assert event.name == "Mötesplats Lycksele"


def redis_of_login(staff: Staff):  # type: ignore[no-untyped-def]
    return redis_of(staff.server)
