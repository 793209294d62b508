"""Out-of-range dates: refused at every entry (admin form, JSON API, CSV and frab imports) with
a field error and nothing stored; a time already stored out of range (by an older version)
never makes a page fail."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestServer

from stream.common import times
from stream.common.grants import Role
from stream.http.identity import CSRF_HEADER
from stream.program.importer import ImportOptions, import_drafts, read_file
from stream.program.sessions import SCHEDULE_ZSET, SESSIONS_SET, SessionStore
from stream.program.studios import Studio, StudioStore
from tests.auth.staff import Staff, cheap_passwords, make_arranger, make_user, redis_of

# Dates an attacker (or a typo) sends: far past, far future, the calendar's edges.
BAD_DAYS = ("0001-01-01", "9999-12-31", "1900-01-01", "2200-06-01")
PAGES = ("/", "/admin", "/admin/sessions", "/program.ics", "/api/program")


@pytest.fixture(autouse=True)
def fast_password_hashing() -> Iterator[None]:
    with cheap_passwords():
        yield


@pytest.fixture
async def admin(server: TestServer) -> AsyncIterator[Staff]:
    await make_arranger(server, "skog", "Skogstekniska klustret")
    await StudioStore(redis_of(server)).save(Studio("studio-1", "Studio 1"))
    await make_user(server, "root", Role.ADMIN)
    staff = Staff(server)
    assert await staff.login("root") == 303
    yield staff
    await staff.close()


async def pages_render(staff: Staff, *extra: str) -> dict[str, int]:
    statuses = {}
    for path in (*PAGES, *extra):
        status, _ = await staff.get(path)
        statuses[path] = status
    return statuses


async def test_admin_form_refuses_dates_out_of_range(admin: Staff) -> None:
    for day in BAD_DAYS:
        await admin.get("/admin/sessions/new")
        status, body, _ = await admin.post(
            "/admin/sessions/new",
            {
                "id": "tidig",
                "title": "Tidig",
                "arranger_id": "skog",
                "date": day,
                "start": "10:00",
                "end": "11:00",
                "visibility": "public",
            },
        )
        assert status == 400, day
        assert 'data-field="date"' in body or "date" in body
        assert not await SessionStore(redis_of(admin.server)).exists("tidig"), day
    assert set((await pages_render(admin)).values()) == {200}


async def test_admin_form_refuses_event_out_of_range(admin: Staff) -> None:
    await admin.get("/admin/events/new")
    status, _, _ = await admin.post(
        "/admin/events/new",
        {"id": "antik", "name": "Antik", "start_date": "0001-01-01", "end_date": "0001-01-02"},
    )
    assert status == 400
    assert not await redis_of(admin.server).exists("event:antik")


async def call(staff: Staff, method: str, path: str, body: object) -> tuple[int, dict[str, object]]:
    async with staff.http.request(
        method, staff.base + path, json=body, headers={CSRF_HEADER: staff.csrf}
    ) as response:
        assert response.status < 500
        return response.status, await response.json()


async def test_json_api_refuses_dates_and_durations_out_of_range(admin: Staff) -> None:
    good_start = (times.now() + timedelta(days=30)).replace(microsecond=0)
    cases = [
        ("0001-01-01T00:00", "0001-01-01T01:00", "start"),
        ("9999-12-31T22:00+00:00", "9999-12-31T23:00+00:00", "start"),
        ("0001-01-01T00:30+14:00", "0001-01-01T01:00+14:00", "start"),
        (good_start.isoformat(), (good_start + timedelta(hours=25)).isoformat(), "end"),
    ]
    for start, end, field in cases:
        body = {"id": "api-tidig", "title": "T", "arranger": "skog", "start": start, "end": end}
        status, problem = await call(admin, "POST", "/api/sessions", body)
        assert status == 400, (start, problem)
        fields = {e["field"] for e in problem["errors"]}  # type: ignore[union-attr, index]
        assert field in fields, (start, problem)
        assert not await SessionStore(redis_of(admin.server)).exists("api-tidig")
    # An existing session cannot be moved out of range either.
    ok = {"id": "api-ok", "title": "T", "arranger": "skog", "start": good_start.isoformat(),
          "end": (good_start + timedelta(hours=1)).isoformat()}  # fmt: skip
    assert (await call(admin, "POST", "/api/sessions", ok))[0] == 201
    moved = {**ok, "start": "0001-01-01T00:00", "end": "0001-01-01T01:00"}
    moved.pop("id")
    status, _ = await call(admin, "PUT", "/api/sessions/api-ok", moved)
    assert status == 400
    stored = await SessionStore(redis_of(admin.server)).get("api-ok")
    assert stored.start == good_start
    assert set((await pages_render(admin, "/s/api-ok")).values()) == {200}


async def test_imports_refuse_dates_out_of_range(admin: Staff) -> None:
    redis = redis_of(admin.server)
    csv_file = (
        b"id;title;arranger;date;start;end\n"
        b"csv-tidig;Tidig;skog;0001-01-01;00:00;01:00\n"
        b"csv-sen;Sen;skog;9999-12-31;22:00;23:59\n"
        b"csv-iso;Iso;skog;;0001-01-01T00:10;0001-01-01T00:50\n"
    )
    frab = {
        "schedule": {
            "conference": {
                "days": [
                    {
                        "rooms": {
                            "Studio 1": [
                                {"slug": "frab-tidig", "title": "A", "track": "skog",
                                 "date": "0001-01-01T00:00:00+00:00", "duration": "01:00"},
                                {"slug": "frab-lang", "title": "B", "track": "skog",
                                 "date": "2027-01-01T10:00:00+01:00", "duration": "99999:00"},
                                {"slug": "frab-sen", "title": "C", "track": "skog",
                                 "date": "9999-12-31T23:30:00+00:00", "duration": "00:30"},
                            ]
                        }
                    }
                ]
            }
        }
    }  # fmt: skip
    for name, data in (("p.csv", csv_file), ("p.json", json.dumps(frab).encode())):
        drafts, problems = read_file(data, name)
        report = await import_drafts(redis, drafts, ImportOptions(), problems)
        assert not report.created, (name, report.text())
        assert len(report.problems) == 3, (name, report.text())
    assert await SessionStore(redis).all_ids() == []
    assert set((await pages_render(admin)).values()) == {200}


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("-62135596800", "-62135593200"),  # 0001-01-01 UTC: year 0 in Stockholm
        ("253402297000", "253402297100"),  # 9999-12-31 23:56 UTC: year 10000 in Stockholm
        ("99999999999999999", "99999999999999999"),  # past every calendar
        ("soon", "later"),  # not a number at all
        ("1700000000", "1600000000"),  # ends before it starts
    ],
)
async def test_a_stored_time_out_of_range_never_fails_a_page(
    admin: Staff, start: str, end: str
) -> None:
    redis = redis_of(admin.server)
    await redis.hset(
        "session:gammal",
        mapping={"id": "gammal", "title": "Gammal", "arranger": "Skog", "arranger_id": "skog",
                 "studio": "studio-1", "start": start, "end": end, "visibility": "public"},
    )  # fmt: skip
    await redis.sadd(SESSIONS_SET, "gammal")
    await redis.zadd(SCHEDULE_ZSET, {"gammal": 0})
    await redis.zadd("studio:studio-1:bookings", {"gammal": 0})
    statuses = await pages_render(
        admin, "/s/gammal", "/s/gammal.ics", "/api/sessions/gammal", "/admin/sessions/gammal",
        "/embed/gammal", "/api/program?day=2031-01-21",
    )  # fmt: skip
    assert all(status < 500 for status in statuses.values()), statuses
    assert statuses["/"] == statuses["/api/program"] == statuses["/s/gammal"] == 200, statuses
    _, body = await admin.get("/s/gammal")
    assert "Gammal" in body
    # A new booking in the same studio still works (the broken one does not block it).
    soon = (times.now() + timedelta(days=3)).replace(second=0, microsecond=0)
    end = soon + timedelta(hours=1)
    booking = {"id": "ny", "title": "Ny", "arranger": "skog", "studio": "studio-1",
               "start": soon.isoformat(), "end": end.isoformat()}  # fmt: skip
    assert (await call(admin, "POST", "/api/sessions", booking))[0] == 201


async def test_a_stored_event_day_out_of_range_never_fails_a_page(admin: Staff) -> None:
    redis = redis_of(admin.server)
    for number, (first, last) in enumerate(
        [("0001-01-01", "0001-01-01"), ("soon", "later"), ("2031-01-22", "2031-01-21")]
    ):
        await redis.hset(
            f"event:gammal-{number}",
            mapping={"id": f"gammal-{number}", "name": "Gammal", "start_date": first,
                     "end_date": last, "languages": "sv"},
        )  # fmt: skip
        await redis.sadd("events", f"gammal-{number}")
    statuses = await pages_render(admin, "/admin/events", "/admin/events/gammal-1")
    assert set(statuses.values()) == {200}, statuses
