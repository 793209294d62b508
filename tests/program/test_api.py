"""The programme's JSON API: public sessions with names resolved, filters that explain
themselves, and the live state of each session."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from stream.auth.invites import invite_code
from stream.http.keys import AUTH_SECRET, REDIS, ROOMS
from stream.program.arrangers import Arranger, ArrangerStore
from stream.program.events import Event, EventStore
from stream.program.sessions import Session, SessionStore
from stream.program.studios import Studio, StudioStore
from tests.conftest import base_url, create_session
from tests.media import publish_loop, wait_for
from tests.program.conftest import DAY, at


async def fill(server: TestServer) -> None:
    redis = server.app[REDIS]
    await ArrangerStore(redis).save(Arranger("skog", "Skogstekniska klustret"))
    await ArrangerStore(redis).save(Arranger("noden", "Kunskapsnoden"))
    await StudioStore(redis).save(Studio("studio-1", "Studio 1", "Campus Umeå"))
    await EventStore(redis).save(Event("vecka", "Digital vecka", DAY, DAY))
    sessions = SessionStore(redis)
    await sessions.save(
        Session(
            id="skogens-dag",
            title="Skogens dag",
            arranger_id="skog",
            event="vecka",
            studio="studio-1",
            start=at("10:00"),
            end=at("11:30"),
            speakers=("Moderator",),
        )
    )
    await sessions.save(
        Session(
            id="crispr",
            title="Gensaxen CRISPR-Cas9",
            arranger_id="noden",
            event="vecka",
            start=at("13:00"),
            end=at("14:00"),
        )
    )
    await sessions.save(
        Session(id="grupp", title="Arbetsgrupp", arranger_id="noden", visibility="invite")
    )


async def get_json(server: TestServer, path: str) -> tuple[int, str, object]:
    async with aiohttp.ClientSession() as http:
        async with http.get(base_url(server) + path) as response:
            return response.status, response.content_type, await response.json()


async def test_programme_lists_public_sessions_with_names(server: TestServer) -> None:
    await fill(server)
    status, _, body = await get_json(server, "/api/program")
    assert status == 200
    assert isinstance(body, dict)
    assert body["timezone"] == "Europe/Stockholm"
    sessions = body["sessions"]
    assert [s["id"] for s in sessions] == ["skogens-dag", "crispr"]
    first = sessions[0]
    assert first["arranger"] == {"id": "skog", "name": "Skogstekniska klustret"}
    assert first["studio"] == {"id": "studio-1", "name": "Studio 1", "location": "Campus Umeå"}
    assert first["event"] == {"id": "vecka", "name": "Digital vecka"}
    assert first["start"] == "2031-01-21T10:00:00+01:00"
    assert first["state"] == "upcoming"
    assert first["links"]["ical"] == "/s/skogens-dag.ics"
    assert first["links"]["embed"] == "/embed/skogens-dag"
    assert [e["id"] for e in body["events"]] == ["vecka"]


async def test_filters_narrow_the_programme(server: TestServer) -> None:
    await fill(server)
    for query, expected in (
        ("?arranger=noden", ["crispr"]),
        ("?studio=studio-1", ["skogens-dag"]),
        ("?event=vecka&day=2031-01-21", ["skogens-dag", "crispr"]),
        ("?day=2031-01-22", []),
        ("?q=gensaxen", ["crispr"]),
        ("?q=MODERATOR", ["skogens-dag"]),
    ):
        _, _, body = await get_json(server, "/api/program" + query)
        assert isinstance(body, dict)
        assert [s["id"] for s in body["sessions"]] == expected, query


async def test_bad_filters_are_explained(server: TestServer) -> None:
    await fill(server)
    for query, detail in (
        ("?day=19/1", "day: '19/1' is not a date like 2021-01-19"),
        ("?event=nope", "event: no such event"),
        ("?arranger=nope", "arranger: no such arranger"),
        ("?q=" + "x" * 201, "q: a search is at most 200 characters"),
    ):
        status, content_type, body = await get_json(server, "/api/program" + query)
        assert (status, content_type) == (400, "application/problem+json")
        assert isinstance(body, dict)
        assert body["detail"] == detail


async def test_one_session_and_its_live_state(server: TestServer) -> None:
    await fill(server)
    status, content_type, hidden = await get_json(server, "/api/sessions/grupp")
    assert (status, content_type) == (404, "application/problem+json"), "invite-only: as unknown"
    status, content_type, unknown = await get_json(server, "/api/sessions/saknas")
    assert (status, content_type) == (404, "application/problem+json")
    assert isinstance(hidden, dict) and isinstance(unknown, dict)  # noqa: PT018
    assert hidden["detail"] == unknown["detail"].replace("saknas", "grupp")
    code = invite_code(server.app[AUTH_SECRET], "grupp")
    status, _, _ = await get_json(server, f"/api/sessions/grupp?invite={code}")
    assert status == 200, "the invited reach it by its id"

    key = await create_session(server, "live-now", title="Direkt")
    client, _ = await publish_loop(base_url(server), "live-now", key)
    try:
        room = server.app[ROOMS]
        await wait_for(lambda: room.get("live-now") is not None and room.get("live-now").live)
        _, _, body = await get_json(server, "/api/sessions/live-now")
        assert isinstance(body, dict)
        assert (body["state"], body["live"], body["viewers"]) == ("live", True, 0)
        assert body["arranger"]["name"] == "Testarrangör"
    finally:
        await client.close()
