"""The programme page's top (live now, next up), its filters as removable chips, and the
personal list's calendar: ``/program.ics?ids=...`` with the starred sessions only."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from stream.common import times
from stream.common.errors import BadRequest
from stream.http.keys import REDIS
from stream.program.listing import MAX_IDS, NEXT_UP_COUNT, build_view, parse_ids
from stream.program.schedule import State
from stream.program.sessions import Session, SessionStore
from tests.conftest import base_url
from tests.program.test_pages import fill, get


def test_ids_are_checked() -> None:
    assert parse_ids("a, b-2 ,,c") == ["a", "b-2", "c"]
    with pytest.raises(BadRequest, match="ids: session ids are"):
        parse_ids("a,B!")
    with pytest.raises(BadRequest, match=f"ids: at most {MAX_IDS} sessions"):
        parse_ids(",".join(f"s{n}" for n in range(MAX_IDS + 1)))


def test_next_up_puts_waiting_sessions_first_then_the_soonest() -> None:
    now = times.now()
    due = Session(
        id="due", title="Due", start=now - timedelta(minutes=5), end=now + timedelta(hours=1)
    )
    later = [
        Session(
            id=f"s{n}",
            title=f"S{n}",
            start=now + timedelta(hours=n),
            end=now + timedelta(hours=n, minutes=30),
        )
        for n in range(5, 0, -1)
    ]
    ended = Session(
        id="old", title="Old", start=now - timedelta(hours=3), end=now - timedelta(hours=2)
    )
    view = build_view([ended, *later, due], {}, now, {"studio-1": "Studio 1"})
    assert [c.session.id for c in view.next_up] == ["due", "s1", "s2"][:NEXT_UP_COUNT]
    assert view.next_up[0].state is State.DUE


async def test_the_calendar_of_a_personal_list(server: TestServer) -> None:
    await fill(server)
    store = SessionStore(server.app[REDIS])
    await store.save(
        Session(
            id="tredje",
            title="Tredje passet",
            start=times.now() + timedelta(days=1),
            end=times.now() + timedelta(days=1, hours=1),
        )
    )
    async with aiohttp.ClientSession() as http:
        url = f"{base_url(server)}/program.ics?ids=skogens-dag,hemlig,tredje,saknas"
        async with http.get(url) as response:
            assert response.status == 200
            text = await response.text()
        assert text.count("BEGIN:VEVENT") == 2
        assert "SUMMARY:Skogens dag" in text and "SUMMARY:Tredje passet" in text  # noqa: PT018
        assert "Arbetsgrupp" not in text, "an invite-only session is not told by its id"
        async with http.get(f"{base_url(server)}/program.ics?ids=BAD!") as response:
            assert response.status == 400


async def test_filters_in_use_show_as_chips_that_remove_themselves(server: TestServer) -> None:
    await fill(server)
    status, html, _ = await get(server, "/?q=skogen&studio=studio-1&view=arranger")
    assert status == 200
    assert "Träffar: 1" in html
    assert 'href="/?studio=studio-1&amp;view=arranger"' in html, (
        "removing the search keeps the rest"
    )
    assert 'href="/?q=skogen&amp;view=arranger"' in html
    assert "Studio 1, Campus Umeå" in html, "each card names its studio"
    _, html, _ = await get(server, "/?studio=studio-1")
    assert "Skogens dag" in html
    assert "Snart på campus" not in html
