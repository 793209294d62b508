"""Session forms in /admin: validation shown per field, conflicts explained, the key shown
once, rotation and deletion, and nothing saved when anything is wrong."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from stream.http.keys import ROOMS
from stream.program.keys import KeyCheck
from stream.program.sessions import SessionStore
from tests.admin.test_roles import SESSION_FORM
from tests.auth.staff import Staff, redis_of
from tests.conftest import base_url
from tests.media import publish_loop, wait_for

Login = Callable[[str], Awaitable[Staff]]
KEY_PATTERN = re.compile(r'id="publish-key"[^>]*value="([^"]+)"')


def sessions(staff: Staff) -> SessionStore:
    return SessionStore(redis_of(staff.server))


async def test_bad_input_is_explained_per_field_and_nothing_is_saved(login: Login) -> None:
    anna = await login("anna")
    await anna.get("/admin/sessions/new")
    status, html, _ = await anna.post(
        "/admin/sessions/new",
        {
            **SESSION_FORM,
            "title": "",
            "start": "12:00",
            "end": "11:00",
            "studio": "nowhere",
            "description": "x" * 5001,
        },
    )
    assert status == 400
    assert 'id="error-summary"' in html
    assert 'role="alert"' in html
    for field, message in (
        ("title", "Fyll i det här fältet."),
        ("end", "Sluttiden måste vara efter starttiden."),
        ("description", "Högst 5000 tecken."),
    ):
        assert f'<a href="#f-{field}">' in html, field
        assert message in html
        assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true"', html), field
    assert 'value="12:00"' in html, "what was typed is kept"
    assert await sessions(anna).all_ids() == ["crispr", "skogens-dag"]


async def test_unknown_references_and_oversized_fields(login: Login) -> None:
    admin = await login("admin")
    await admin.get("/admin/sessions/new")
    status, html, _ = await admin.post(
        "/admin/sessions/new", {**SESSION_FORM, "arranger_id": "okand", "studio": "okand"}
    )
    assert status == 400
    assert "Arrangören finns inte." in html
    assert "Studion finns inte." in html
    status, html, _ = await admin.post(
        "/admin/sessions/new", {**SESSION_FORM, "title": "x" * 20_000}
    )
    assert status == 400
    assert "Högst 10000 tecken." in html


async def test_a_double_booking_names_the_other_session(login: Login) -> None:
    anna = await login("anna")
    await anna.get("/admin/sessions/new")
    status, html, _ = await anna.post(
        "/admin/sessions/new",
        {
            **SESSION_FORM,
            "title": "Krock",
            "studio": "studio-1",
            "date": "2031-01-21",
            "start": "11:00",
            "end": "12:00",
        },
    )
    assert status == 409
    assert "Studion är redan bokad" in html
    shown = re.sub(r"<[^>]+>", "", html)  # the time is a <time> with its zone beside it
    assert (
        "Studio 1 är bokad för ”Skogens dag” tisdag 21 januari 2031 10:00\u201311:30 CET" in shown
    )
    assert 'href="/admin/sessions/skogens-dag"' in html
    assert "krock" not in await sessions(anna).all_ids()


async def test_the_key_is_shown_once_and_works(login: Login) -> None:
    anna = await login("anna")
    await anna.get("/admin/sessions/new")
    status, html, _ = await anna.post(
        "/admin/sessions/new",
        {**SESSION_FORM, "title": "Kanal", "date": "", "start": "", "end": ""},
    )
    assert status == 201
    found = KEY_PATTERN.search(html)
    assert found
    key = found.group(1)
    assert "Nyckeln visas bara den här gången." in html
    assert await sessions(anna).check_publish_key("kanal", key) is KeyCheck.VALID
    status, html = await anna.get("/admin/sessions/kanal")
    assert status == 200
    assert key not in html, "the key is never shown again"
    assert "kan inte visas igen" in html

    # Rotating (and disconnecting the publisher) gives a new key; the old one stops at once.
    client, _ = await publish_loop(base_url(anna.server), "kanal", key)
    try:
        status, html, _ = await anna.post("/admin/sessions/kanal/key", {"disconnect": "on"})
        assert status == 200
        new_key = KEY_PATTERN.search(html)
        assert new_key
        assert new_key.group(1) != key
        assert await sessions(anna).check_publish_key("kanal", key) is KeyCheck.WRONG
        rooms = anna.server.app[ROOMS]
        await wait_for(
            lambda: rooms.get("kanal") is None or rooms.get("kanal").publisher is None,
            what="the publisher disconnected",
        )
    finally:
        await client.close()


async def test_edit_and_delete(login: Login) -> None:
    anna = await login("anna")
    await anna.get("/admin/sessions/skogens-dag")
    status, _, location = await anna.post(
        "/admin/sessions/skogens-dag",
        {**SESSION_FORM, "title": "Skogens dag 2031", "speakers": "Moderator\n\nForskare\n"},
    )
    assert (status, location) == (303, "/admin/sessions/skogens-dag?notice=saved")
    session = await sessions(anna).get("skogens-dag")
    assert session.title == "Skogens dag 2031"
    assert session.speakers == ("Moderator", "Forskare")
    _, html = await anna.get("/admin/sessions/skogens-dag?notice=saved")
    assert "Ändringarna är sparade." in html
    status, _, location = await anna.post("/admin/sessions/skogens-dag/delete", {})
    assert (status, location) == (303, "/admin/sessions?notice=deleted")
    assert not await sessions(anna).exists("skogens-dag")


ADMIN_POSTS = [
    ("/admin/sessions/new", SESSION_FORM),
    ("/admin/sessions/skogens-dag", SESSION_FORM),
    ("/admin/sessions/skogens-dag/key", {}),
    ("/admin/sessions/skogens-dag/delete", {}),
    ("/admin/events/new", {"name": "E", "start_date": "2031-01-01", "end_date": "2031-01-01"}),
    ("/admin/events/vecka/delete", {}),
    ("/admin/studios/new", {"name": "Studio 9"}),
    ("/admin/arrangers/new", {"name": "Ny arrangör"}),
    ("/admin/staff/new", {"username": "x1", "display_name": "X", "role": "speaker"}),
    ("/admin/staff/mo", {"display_name": "Mo", "role": "moderator"}),
    ("/admin/staff/mo/password", {"password": "a new long password"}),
    ("/admin/staff/mo/delete", {}),
    ("/admin/account", {"current": "x", "password": "y" * 12, "repeat": "y" * 12}),
]


async def test_every_admin_form_needs_its_csrf_token(login: Login) -> None:
    admin = await login("admin")
    redis = redis_of(admin.server)
    before = sorted(await redis.keys("*"))
    for path, data in ADMIN_POSTS:
        for token in (None, "forged-token"):
            fields = dict(data) if token is None else {**data, "csrf_token": token}
            status, html, _ = await admin.post(path, fields, csrf=False)
            assert status == 403, (path, token)
            assert "Formuläret har gått ut. Ladda om sidan och försök igen." in html
    assert sorted(await redis.keys("*")) == before, "nothing changed"
