"""The public pages with the programme: live now, later today, by day and by arranger,
search and filters; the watch page's details; the embeddable player."""

from __future__ import annotations

import re
from datetime import timedelta

import aiohttp
from aiohttp.test_utils import TestServer

from stream.common import times
from stream.http.keys import REDIS, ROOMS
from stream.program.arrangers import Arranger, ArrangerStore
from stream.program.events import Event, EventStore
from stream.program.sessions import Session, SessionStore
from stream.program.studios import Studio, StudioStore
from tests.conftest import base_url
from tests.media import publish_loop, wait_for
from tests.program.conftest import DAY, at


async def get(server: TestServer, path: str) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as http:
        async with http.get(base_url(server) + path, headers={"Accept-Language": "sv"}) as r:
            return r.status, await r.text(), dict(r.headers)


async def fill(server: TestServer) -> None:
    redis = server.app[REDIS]
    await ArrangerStore(redis).save(Arranger("skog", "Skogstekniska klustret"))
    await ArrangerStore(redis).save(Arranger("noden", "Kunskapsnoden"))
    await StudioStore(redis).save(Studio("studio-1", "Studio 1", "Campus Umeå"))
    await EventStore(redis).save(Event("vecka", "Digital vecka", DAY, DAY))
    store = SessionStore(redis)
    now = times.now()
    await store.save(
        Session(
            id="snart",
            title="Snart på campus",
            arranger_id="noden",
            start=now + timedelta(minutes=30),
            end=now + timedelta(minutes=90),
        )
    )
    await store.save(
        Session(
            id="skogens-dag",
            title="Skogens dag",
            arranger_id="skog",
            event="vecka",
            studio="studio-1",
            start=at("10:00"),
            end=at("11:30"),
            speakers=("Moderator", "Forskare"),
            description="Om skogen.",
        )
    )
    await store.save(Session(id="hemlig", title="Arbetsgrupp", visibility="invite"))


async def test_the_programme_by_day_and_by_arranger(server: TestServer) -> None:
    await fill(server)
    status, html, _ = await get(server, "/")
    assert status == 200
    assert html.count("<h1") == 1
    assert "Härnäst" in html, "the next sessions are at the top"
    assert "tisdag 21 januari 2031" in html
    assert "Moderator, Forskare" in html
    assert "Arbetsgrupp" not in html, "invite-only sessions are not listed"
    assert 'href="/program.ics"' in html
    ids = re.findall(r'id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "ids are unique even when a session shows twice"
    _, html, _ = await get(server, "/?view=arranger")
    assert html.index("Kunskapsnoden</h3>") < html.index("Skogstekniska klustret</h3>")


async def test_search_and_filters(server: TestServer) -> None:
    await fill(server)
    _, html, _ = await get(server, "/?q=skogen")
    assert "Skogens dag" in html
    assert "Snart på campus" not in html
    assert "Träffar: 1" in html
    _, html, _ = await get(server, "/?arranger=noden")
    assert "Snart på campus" in html
    assert "Skogens dag" not in html
    _, html, _ = await get(server, "/?day=2031-01-21")
    assert "Skogens dag" in html
    assert "Snart på campus" not in html
    _, html, _ = await get(server, "/?q=ingenting+alls")
    assert "Inga sessioner matchar sökningen." in html
    status, html, _ = await get(server, "/?day=igår")
    assert status == 200, "a bad filter on a page is explained, not a 400"
    assert "Sökningen kunde inte användas." in html
    assert "Skogens dag" in html


async def test_live_now_and_later_today(server: TestServer) -> None:
    await fill(server)
    key = await SessionStore(server.app[REDIS]).rotate_key("snart")
    publisher, _ = await publish_loop(base_url(server), "snart", key)
    try:
        rooms = server.app[ROOMS]
        await wait_for(lambda: rooms.get("snart") is not None and rooms.get("snart").live)
        _, html, _ = await get(server, "/")
        live = html[html.index('id="live-now-title"') : html.index('id="later-title"')]
        assert 'data-session="snart" data-live="true"' in live
    finally:
        await publisher.close()


async def test_the_watch_page_tells_when_where_and_who(server: TestServer) -> None:
    await fill(server)
    status, html, _ = await get(server, "/s/skogens-dag")
    assert status == 200
    assert "tisdag 21 januari 2031 10:00\u201311:30" in html
    assert "Studio 1, Campus Umeå" in html
    assert "Moderator, Forskare" in html
    assert "Digital vecka" in html
    assert 'href="/s/skogens-dag.ics"' in html
    assert "/embed/skogens-dag" in html
    _, html, _ = await get(server, "/s/snart")
    assert re.search(r"börjar om (29|30) min", html)


async def test_the_embed_page_is_the_player_and_may_be_framed(server: TestServer) -> None:
    await fill(server)
    status, html, headers = await get(server, "/embed/skogens-dag")
    assert status == 200
    assert 'id="player"' in html
    assert "site-header" not in html
    assert "frame-ancestors *" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    status, _, headers = await get(server, "/s/skogens-dag")
    assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
    status, _, _ = await get(server, "/embed/saknas")
    assert status == 404
