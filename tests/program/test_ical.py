"""iCalendar export: escaping, folding, the programme feed and one session's event."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from stream.http.keys import REDIS
from stream.program.ical import MAX_LINE_OCTETS, escape, fold
from stream.program.sessions import Session, SessionStore
from tests.conftest import base_url
from tests.program.conftest import at


def test_text_is_escaped() -> None:
    assert escape("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"


def test_long_lines_fold_at_75_octets_without_splitting_characters() -> None:
    line = "SUMMARY:" + "Västerbotten på Grand Hôtel " * 6
    folded = fold(line)
    pieces = folded.split("\r\n")
    assert all(len(p.encode()) <= MAX_LINE_OCTETS for p in pieces)
    assert all(p.startswith(" ") for p in pieces[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(pieces)) == line
    assert fold("SHORT:x") == "SHORT:x"


async def add(server: TestServer, session: Session) -> None:
    await SessionStore(server.app[REDIS]).save(session)


async def test_programme_feed_lists_public_scheduled_sessions(server: TestServer) -> None:
    await add(
        server,
        Session(
            id="skogens-dag",
            title="Skogens dag, digitalt; live",
            start=at("10:00"),
            end=at("11:30"),
            speakers=("Moderator",),
            description="Rad ett\nRad två",
            arranger="Skogstekniska klustret",
        ),
    )
    await add(
        server,
        Session(
            id="hemlig",
            title="Arbetsgrupp",
            start=at("13:00"),
            end=at("15:00"),
            visibility="invite",
        ),
    )
    await add(server, Session(id="kanal", title="Kanal utan tid"))
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base_url(server)}/program.ics") as response:
            assert response.status == 200
            assert response.content_type == "text/calendar"
            body = await response.text()
    assert body.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert body.endswith("END:VCALENDAR\r\n")
    assert body.count("BEGIN:VEVENT") == 1, "invite-only and unscheduled sessions are left out"
    unfolded = body.replace("\r\n ", "")
    assert "SUMMARY:Skogens dag\\, digitalt\\; live\r\n" in unfolded
    assert "DTSTART:20310121T090000Z\r\n" in unfolded
    assert "DTEND:20310121T103000Z\r\n" in unfolded
    assert "DESCRIPTION:Moderator\\n\\nRad ett\\nRad två\\n\\nhttp://" in unfolded
    assert "UID:skogens-dag@127.0.0.1\r\n" in unfolded
    assert "CATEGORIES:Skogstekniska klustret" in unfolded


async def test_one_session_as_ics(server: TestServer) -> None:
    await add(server, Session(id="pass", title="Pass", start=at("10:00"), end=at("11:00")))
    await add(server, Session(id="kanal", title="Kanal utan tid"))
    base = base_url(server)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/s/pass.ics") as response:
            assert response.status == 200
            assert 'filename="pass.ics"' in response.headers["Content-Disposition"]
            assert (await response.text()).count("BEGIN:VEVENT") == 1
        for path, status in (("/s/kanal.ics", 404), ("/s/saknas.ics", 404), ("/s/BAD!.ics", 400)):
            async with http.get(base + path) as response:
                assert response.status == status, path
                assert response.content_type == "application/problem+json"
