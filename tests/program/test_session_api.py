"""The write API: validation as problem+json naming each field, conflicts, roles, CSRF."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp.test_utils import TestServer

from stream.common.grants import Role
from stream.http.identity import CSRF_HEADER
from stream.program.keys import KeyCheck
from stream.program.sessions import Session, SessionStore
from stream.program.studios import Studio, StudioStore
from tests.auth.staff import Staff, cheap_passwords, make_arranger, make_user, redis_of

GOOD = {
    "title": "Skogens dag",
    "arranger": "skog",
    "studio": "studio-1",
    "start": "2031-01-21T10:00:00+01:00",
    "end": "2031-01-21T11:30",
    "speakers": ["Moderator"],
}


@pytest.fixture(autouse=True)
def fast_password_hashing() -> Iterator[None]:
    with cheap_passwords():
        yield


@pytest.fixture
async def anna(server: TestServer) -> AsyncIterator[Staff]:
    await make_arranger(server, "skog", "Skogstekniska klustret")
    await make_arranger(server, "noden", "Kunskapsnoden")
    await StudioStore(redis_of(server)).save(Studio("studio-1", "Studio 1"))
    await make_user(server, "anna", Role.ARRANGER, arranger="skog")
    staff = Staff(server)
    assert await staff.login("anna") == 303
    yield staff
    await staff.close()


async def call(
    staff: Staff, method: str, path: str, body: object = None, *, csrf: bool = True
) -> tuple[int, str, dict[str, object]]:
    headers = {CSRF_HEADER: staff.csrf} if csrf else {}
    async with staff.http.request(
        method, staff.base + path, json=body, headers=headers
    ) as response:
        data = await response.json() if response.status != 204 else {}
        return response.status, response.content_type, data


async def test_create_update_rotate_delete(anna: Staff) -> None:
    status, _, body = await call(anna, "POST", "/api/sessions", GOOD)
    assert status == 201
    session = body["session"]
    assert isinstance(session, dict)
    assert (session["id"], session["end"]) == ("skogens-dag", "2031-01-21T11:30:00+01:00")
    key = body["key"]
    assert isinstance(key, str)
    store = SessionStore(redis_of(anna.server))
    assert (
        await store.check_publish_key("skogens-dag", key, (await store.get("skogens-dag")).start)
        is KeyCheck.VALID
    )

    status, _, body = await call(
        anna, "PUT", "/api/sessions/skogens-dag", {**GOOD, "title": "Ny titel"}
    )
    assert status == 200
    assert (await store.get("skogens-dag")).title == "Ny titel"

    status, _, body = await call(anna, "POST", "/api/sessions/skogens-dag/key")
    assert status == 200
    assert body["key"] != key
    assert await store.check_publish_key("skogens-dag", key) is KeyCheck.WRONG

    status, _, _ = await call(anna, "DELETE", "/api/sessions/skogens-dag")
    assert status == 204
    assert not await store.exists("skogens-dag")


async def test_every_bad_field_is_named(anna: Staff) -> None:
    bad = {
        "title": "",
        "arranger": 7,
        "start": "i morgon",
        "speakers": "Moderator",
        "chat": "yes",
        "colour": "red",
    }
    status, content_type, body = await call(anna, "POST", "/api/sessions", bad)
    assert (status, content_type) == (400, "application/problem+json")
    errors = {(e["field"], e["code"]) for e in body["errors"]}  # type: ignore[index, union-attr]
    assert errors >= {
        ("body", "unknown_fields"),
        ("title", "required"),
        ("arranger", "not_text"),
        ("start", "bad_datetime"),
        ("speakers", "not_text_list"),
        ("chat", "not_boolean"),
    }
    status, _, body = await call(anna, "POST", "/api/sessions", {**GOOD, "end": "2031-01-21T09:00"})
    assert status == 400
    assert body["errors"] == [
        {
            "field": "end",
            "code": "end_before_start",
            "message": "the session ends before it starts",
            "params": {},
        }
    ]
    for payload in ([1, 2], "text"):
        status, _, body = await call(anna, "POST", "/api/sessions", payload)
        assert status == 400
    async with anna.http.post(
        anna.base + "/api/sessions",
        data="{",
        headers={CSRF_HEADER: anna.csrf, "Content-Type": "application/json"},
    ) as response:
        assert response.status == 400
        assert (await response.json())["detail"] == "the body is not valid JSON"


async def test_a_double_booking_is_409_with_the_conflict(anna: Staff) -> None:
    await call(anna, "POST", "/api/sessions", GOOD)
    status, _, body = await call(
        anna, "POST", "/api/sessions", {**GOOD, "title": "Krock", "start": "2031-01-21T11:00"}
    )
    assert status == 409
    assert body["conflict"] == {
        "studio": "studio-1",
        "session": "skogens-dag",
        "title": "Skogens dag",
        "start": "2031-01-21T10:00:00+01:00",
        "end": "2031-01-21T11:30:00+01:00",
    }
    status, _, body = await call(anna, "POST", "/api/sessions", GOOD)
    assert (status, body["detail"]) == (409, "a session with id 'skogens-dag' already exists")


async def test_roles_and_csrf(anna: Staff) -> None:
    status, _, _ = await call(anna, "POST", "/api/sessions", {**GOOD, "arranger": "noden"})
    assert status == 403, "arranger staff write their own arranger's sessions only"
    await SessionStore(redis_of(anna.server)).save(
        Session(id="annat", title="Annat", arranger_id="noden")
    )
    for method, path in (
        ("PUT", "/api/sessions/annat"),
        ("DELETE", "/api/sessions/annat"),
        ("POST", "/api/sessions/annat/key"),
    ):
        status, _, _ = await call(anna, method, path, {**GOOD, "arranger": "skog"})
        assert status == 403, (method, path)
    status, _, _ = await call(anna, "POST", "/api/sessions", GOOD, csrf=False)
    assert status == 403
    visitor = Staff(anna.server)
    try:
        status, _, _ = await call(visitor, "POST", "/api/sessions", GOOD, csrf=False)
        assert status == 401
    finally:
        await visitor.close()
    assert await SessionStore(redis_of(anna.server)).all_ids() == ["annat"]
