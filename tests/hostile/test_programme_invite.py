"""Invite-only sessions: to anyone without the invite (or a staff grant on the session) every
route answers exactly as for an id that does not exist; listings, metrics and booking clashes
never name them; a re-import keeps them invite-only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import time, timedelta

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from stream.auth.invites import invite_code
from stream.common import times
from stream.common.grants import Role
from stream.http.identity import CSRF_HEADER
from stream.http.keys import AUTH_SECRET, ROOMS
from stream.program.importer import ImportOptions, import_drafts, read_file
from stream.program.sessions import Session, SessionStore
from stream.program.studios import Studio, StudioStore
from tests.auth.staff import Staff, base_url, cheap_passwords, make_arranger, make_user, redis_of

TITLE = "Hemlig styrelse"
START = times.at_local(times.local_day(times.now()) + timedelta(days=2), time(10, 0))
END = START + timedelta(hours=1)
# Each path with {id}: the secret session and an unknown one must answer alike.
PATHS = (
    "/api/sessions/{id}",
    "/api/sessions/{id}/status",
    "/s/{id}.ics",
    "/s/{id}",
    "/embed/{id}",
    "/studio/{id}",
    "/moderate/{id}",
    "/q/{id}",
    "/stage/{id}",
)


@pytest.fixture(autouse=True)
def fast_password_hashing() -> Iterator[None]:
    with cheap_passwords():
        yield


@pytest.fixture
async def secret(server: TestServer) -> TestServer:
    redis = redis_of(server)
    await make_arranger(server, "skog", "Skogstekniska klustret")
    await make_arranger(server, "noden", "Kunskapsnoden")
    await StudioStore(redis).save(Studio("studio-1", "Studio 1"))
    sessions = SessionStore(redis)
    await sessions.save(
        Session(id="hemlig", title=TITLE, arranger_id="skog", studio="studio-1",
                start=START, end=END, visibility="invite")
    )  # fmt: skip
    await sessions.save(Session(id="oppen", title="Öppen", arranger_id="skog"))
    await make_user(server, "nora", Role.ARRANGER, arranger="noden")
    return server


@pytest.fixture
async def anonymous(secret: TestServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield http


NONCE = re.compile(r"nonce-?[=\"']*[A-Za-z0-9+/_=-]{8,}")


async def answer(http: aiohttp.ClientSession, url: str) -> tuple[int, str, str]:
    async with http.get(url, allow_redirects=False) as response:
        body = await response.text()
        return response.status, response.content_type, body


async def alike(
    http: aiohttp.ClientSession, base: str, path: str, session_id: str
) -> tuple[int, str, str]:
    """The answer with the id asked for and the page's nonces taken out."""
    status, kind, body = await answer(http, base + path.format(id=session_id))
    return status, kind, NONCE.sub("nonce", body.replace(session_id, "{id}"))


async def test_every_route_answers_as_for_an_unknown_id(
    secret: TestServer, anonymous: aiohttp.ClientSession
) -> None:
    base = base_url(secret)
    leaks = {}
    for path in PATHS:
        hidden = await alike(anonymous, base, path, "hemlig")
        unknown = await alike(anonymous, base, path, "finns-inte")
        if hidden[0] != 404 or hidden != unknown or TITLE in hidden[2]:
            leaks[path] = (hidden[0], unknown[0])
    assert leaks == {}


async def test_the_invited_still_get_in(
    secret: TestServer, anonymous: aiohttp.ClientSession
) -> None:
    base = base_url(secret)
    code = invite_code(secret.app[AUTH_SECRET], "hemlig")  # type: ignore[index]
    status, _, body = await answer(anonymous, f"{base}/s/hemlig?invite={code}")
    assert status == 200
    assert TITLE in body
    for path in PATHS:  # the invite is remembered in a cookie
        status, _, _ = await answer(anonymous, base + path.format(id="hemlig"))
        assert status == 200, path
    assert (await answer(anonymous, f"{base}/api/sessions/oppen/status"))[0] == 200


async def test_metrics_and_room_stats_leave_it_out(
    secret: TestServer, anonymous: aiohttp.ClientSession
) -> None:
    app: web.Application = secret.app  # type: ignore[assignment]
    app[ROOMS].get_or_create("hemlig")
    app[ROOMS].get_or_create("oppen")
    base = base_url(secret)
    _, _, metrics = await answer(anonymous, base + "/metrics")
    _, _, rooms = await answer(anonymous, base + "/api/rooms")
    assert "hemlig" not in metrics
    assert "hemlig" not in rooms
    assert 'session="oppen"' in metrics
    assert '"oppen"' in rooms


async def test_a_booking_clash_does_not_name_it(secret: TestServer) -> None:
    nora = Staff(secret)
    try:
        assert await nora.login("nora") == 303
        clash = {"id": "krock", "title": "Krock", "arranger": "noden", "studio": "studio-1",
                 "start": START.isoformat(), "end": END.isoformat()}  # fmt: skip
        async with nora.http.post(
            nora.base + "/api/sessions", json=clash, headers={CSRF_HEADER: nora.csrf}
        ) as response:
            status, body = response.status, await response.text()
        assert status == 409
        assert TITLE not in body
        assert "hemlig" not in body
        await nora.get("/admin/sessions/new")
        status, page, _ = await nora.post(
            "/admin/sessions/new",
            {"id": "krock", "title": "Krock", "arranger_id": "noden", "studio": "studio-1",
             "date": times.local_day(START).isoformat(), "start": times.format_clock(START),
             "end": times.format_clock(END), "visibility": "public"},
        )  # fmt: skip
        assert status == 409
        assert TITLE not in page
        assert "/admin/sessions/hemlig" not in page
    finally:
        await nora.close()
    day, clock = times.local_day(START).isoformat(), times.format_clock(START)
    csv_file = f"title;arranger;studio;date;start;end\nKrock;noden;studio-1;{day};{clock};23:59\n"
    drafts, problems = read_file(csv_file.encode(), "p.csv")
    report = await import_drafts(redis_of(secret), drafts, ImportOptions(), problems)
    assert len(report.problems) == 1
    assert TITLE not in report.text()


async def test_a_reimport_keeps_it_invite_only(secret: TestServer) -> None:
    redis = redis_of(secret)
    day = times.local_day(START).isoformat()
    start, end = times.format_clock(START), times.format_clock(END)
    csv_file = (
        "id;title;arranger;studio;date;start;end\n"
        f"hemlig;{TITLE} 2;skog;studio-1;{day};{start};{end}\n"
    )
    frab = (
        '{"schedule": {"conference": {"days": [{"rooms": {"Studio 1": [{"slug": "hemlig", '
        f'"title": "{TITLE} 3", "track": "skog", "date": "{START.isoformat()}", '
        '"duration": "01:00"}]}}]}}}'
    )
    for name, data in (("p.csv", csv_file.encode()), ("p.json", frab.encode())):
        drafts, problems = read_file(data, name)
        report = await import_drafts(redis, drafts, ImportOptions(), problems)
        assert report.updated == ["hemlig"], report.text()
        assert (await SessionStore(redis).get("hemlig")).visibility == "invite", name
    # Told so, an import does make it public.
    told = (
        f"id;title;arranger;date;start;end;visibility\nhemlig;T;skog;{day};{start};{end};public\n"
    )
    drafts, problems = read_file(told.encode(), "p.csv")
    await import_drafts(redis, drafts, ImportOptions(), problems)
    assert (await SessionStore(redis).get("hemlig")).visibility == "public"
