"""The record switch in /admin and the write API: a session's checkbox, an event's checkbox,
and what a live session then leaves on disk (nothing, state ``off``)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from stream.http.identity import CSRF_HEADER
from stream.http.keys import ARCHIVE
from stream.program.events import EventStore
from stream.program.sessions import SessionStore
from tests.archive.helpers import end_session, publish_for, recording_state
from tests.auth.staff import Staff, redis_of

Login = Callable[[str], Awaitable[Staff]]

UNSCHEDULED = {"title": "Utan inspelning", "arranger_id": "skog", "event": "vecka", "chat": "on"}


def checked(html: str, name: str) -> bool:
    found = re.search(rf'<input type="checkbox" id="f-{name}" name="{name}"( checked)?>', html)
    assert found, f"no {name} checkbox"
    return found.group(1) is not None


async def _no_recording_when_live(staff: Staff, session_id: str) -> None:
    server = staff.server
    key = await SessionStore(redis_of(server)).rotate_key(session_id)
    await publish_for(server, session_id, key, 1.5)
    await end_session(server, session_id)
    assert (await recording_state(server, session_id)).state == "off"
    directory = server.app[ARCHIVE].recordings / session_id
    assert not directory.exists() or not any(directory.iterdir()), list(directory.iterdir())


async def test_session_checkbox_off_means_no_recording(login: Login) -> None:
    anna = await login("anna")
    status, html = await anna.get("/admin/sessions/new")
    assert checked(html, "record"), "new sessions are recorded by default"
    status, html, _ = await anna.post("/admin/sessions/new", UNSCHEDULED)  # box left unticked
    assert status == 201, html[:300]
    assert (await SessionStore(redis_of(anna.server)).get("utan-inspelning")).record is False
    _, html = await anna.get("/admin/sessions/utan-inspelning")
    assert not checked(html, "record")
    await _no_recording_when_live(anna, "utan-inspelning")


async def test_event_checkbox_off_means_none_of_its_sessions_is_recorded(login: Login) -> None:
    admin = await login("admin")
    _, html = await admin.get("/admin/events/vecka")
    assert checked(html, "record")
    _, html = await admin.get("/admin/events/new")
    assert checked(html, "record"), "new events record by default"
    form = {"name": "Digital vecka", "start_date": "2031-01-21", "end_date": "2031-01-21"}
    await admin.get("/admin/events/vecka")
    status, html, _ = await admin.post("/admin/events/vecka", form)
    assert status in (200, 303), html[:300]
    assert (await EventStore(redis_of(admin.server)).get("vecka")).record is False
    status, html, _ = await admin.post("/admin/sessions/new", {**UNSCHEDULED, "record": "on"})
    assert status == 201, html[:300]
    assert (await SessionStore(redis_of(admin.server)).get("utan-inspelning")).record is True
    await _no_recording_when_live(admin, "utan-inspelning")


async def test_the_write_api_carries_the_switch(login: Login) -> None:
    anna = await login("anna")
    body = {"title": "Via API", "arranger": "skog", "event": "vecka", "record": False}
    headers = {CSRF_HEADER: anna.csrf}
    async with anna.http.post(f"{anna.base}/api/sessions", json=body, headers=headers) as r:
        assert r.status == 201, await r.text()
        created = (await r.json())["session"]
    assert (created["record"], created["recorded"]) == (False, False)
    body["record"] = "no"
    async with anna.http.put(f"{anna.base}/api/sessions/via-api", json=body, headers=headers) as r:
        assert r.status == 400
        assert "record must be true or false" in await r.text()
    body["record"] = True
    async with anna.http.put(f"{anna.base}/api/sessions/via-api", json=body, headers=headers) as r:
        assert r.status == 200, await r.text()
    async with anna.http.get(f"{anna.base}/api/sessions/via-api") as r:
        data = await r.json()
    assert (data["record"], data["recorded"]) == (True, True)
