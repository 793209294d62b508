"""Hostile programme files and texts: deep or huge JSON, and any CSV row, schedule talk or
session text, give a clear reason or a valid import, never a crash; whatever gets stored, every
page still renders."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.common.grants import Role
from stream.http.identity import CSRF_HEADER
from stream.program.import_frab import MAX_JSON_DEPTH
from stream.program.importer import MAX_IMPORT_BYTES, ImportOptions, import_drafts, read_file
from tests.auth.staff import Staff, cheap_passwords, make_arranger, make_user, redis_of

PAGES = ("/", "/api/program", "/program.ics", "/admin", "/admin/sessions")
EXAMPLES = settings(
    max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)


@pytest.fixture(autouse=True)
def fast_password_hashing() -> Iterator[None]:
    with cheap_passwords():
        yield


@pytest.fixture
async def admin(server: TestServer) -> AsyncIterator[Staff]:
    await make_arranger(server, "skog", "Skogstekniska klustret")
    await make_user(server, "root", Role.ADMIN)
    staff = Staff(server)
    assert await staff.login("root") == 303
    yield staff
    await staff.close()


async def every_page_renders(staff: Staff) -> None:
    for path in PAGES:
        status, _ = await staff.get(path)
        assert status == 200, path
    ids = await redis_of(staff.server).smembers("sessions")
    for raw in sorted(ids)[:5]:
        session_id = raw.decode() if isinstance(raw, bytes) else raw
        for path in (f"/s/{session_id}", f"/api/sessions/{session_id}"):
            status, _ = await staff.get(path)
            assert status in (200, 404), path


def schedule(talks: object) -> bytes:
    document = {"schedule": {"conference": {"days": [{"rooms": {"Studio 1": talks}}]}}}
    return json.dumps(document).encode()


def deep(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


@pytest.mark.parametrize(
    "data",
    [
        deep(100_000).encode(),
        deep(MAX_JSON_DEPTH + 1).encode(),
        b'{"schedule": ' + deep(500_000, "{}").encode() + b"}",
        schedule(
            [
                {
                    "title": "T",
                    "date": "2027-01-01T10:00",
                    "duration": "01:00",
                    "persons": json.loads(deep(MAX_JSON_DEPTH)),
                }
            ]
        ),
        b'{"a": "' + b"\\\\[" * 300_000 + b'"}',  # brackets in a string: not nesting
        b"[" + b"1" * 100_000 + b"]",  # a number past int parsing's limit
        b" " * (MAX_IMPORT_BYTES + 1),
    ],
    ids=["deep-list", "one-too-deep", "deep-object", "deep-persons", "escaped", "long-int", "big"],
)
async def test_deep_or_huge_json_is_refused_with_a_reason(admin: Staff, data: bytes) -> None:
    drafts, problems = read_file(data, "schedule.json")
    assert drafts == []
    assert problems
    assert all(p.message and len(p.message) < 300 for p in problems)
    # The admin's import page says why, on a page.
    await admin.get("/admin/import")
    form = aiohttp.FormData()
    form.add_field("csrf_token", admin.csrf)
    form.add_field("file", data, filename="schedule.json", content_type="application/json")
    async with admin.http.post(admin.base + "/admin/import", data=form) as response:
        assert response.status in (200, 413), response.status
    await every_page_renders(admin)


TEXT = st.text(max_size=60)
DAYS = st.dates().map(lambda d: d.isoformat()) | TEXT
CLOCKS = st.times().map(lambda t: t.strftime("%H:%M")) | TEXT
MOMENTS = st.datetimes(timezones=st.none() | st.timezones()).map(lambda m: m.isoformat()) | TEXT
CELL_SAFE = TEXT.map(lambda s: s.replace(";", ",").replace("\n", " ").replace('"', "'"))


@EXAMPLES
@given(
    st.lists(
        st.tuples(
            CELL_SAFE, CELL_SAFE, st.sampled_from(["skog", "Skogstekniska klustret", "x"]),
            DAYS, CLOCKS, CLOCKS, CELL_SAFE, st.sampled_from(["", "public", "invite", "x"]),
        ),
        max_size=6,
    )
)  # fmt: skip
async def test_any_csv_row_is_imported_or_explained(
    admin: Staff, rows: list[tuple[str, ...]]
) -> None:
    text = "id;title;arranger;date;start;end;description;visibility\n"
    text += "".join(";".join(row) + "\n" for row in rows)
    drafts, problems = read_file(text.encode(), "p.csv")
    report = await import_drafts(redis_of(admin.server), drafts, ImportOptions(), problems)
    assert all(p.message for p in report.problems)
    await every_page_renders(admin)


TALKS = st.lists(
    st.fixed_dictionaries(
        {"title": TEXT, "date": MOMENTS, "track": st.sampled_from(["skog", "", "okänd"])},
        optional={
            "duration": st.from_regex(r"\A[0-9]{1,6}:[0-9]{1,3}(:[0-9]{1,2})?\Z") | TEXT,
            "slug": TEXT,
            "persons": st.lists(st.dictionaries(st.sampled_from(["name", "x"]), TEXT)) | TEXT,
            "abstract": TEXT,
            "room": TEXT,
            "language": TEXT,
        },
    ),
    max_size=6,
)


@EXAMPLES
@given(TALKS)
async def test_any_schedule_talk_is_imported_or_explained(
    admin: Staff, talks: list[dict[str, object]]
) -> None:
    drafts, problems = read_file(schedule(talks), "schedule.json")
    options = ImportOptions(create_missing=True)
    report = await import_drafts(redis_of(admin.server), drafts, options, problems)
    assert all(p.message for p in report.problems)
    await every_page_renders(admin)


@EXAMPLES
@given(
    st.fixed_dictionaries(
        {"title": TEXT, "arranger": st.just("skog")},
        optional={
            "id": TEXT,
            "speakers": st.lists(TEXT, max_size=25),
            "description": st.text(max_size=6000),
            "language": TEXT,
            "start": MOMENTS,
            "end": MOMENTS,
            "visibility": st.sampled_from(["public", "invite", ""]) | TEXT,
        },
    )
)
async def test_any_session_text_is_stored_or_refused(admin: Staff, body: dict[str, object]) -> None:
    async with admin.http.post(
        admin.base + "/api/sessions", json=body, headers={CSRF_HEADER: admin.csrf}
    ) as response:
        assert response.status in (201, 400, 409), await response.text()
    await every_page_renders(admin)
