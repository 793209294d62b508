"""The demo's digital week: it fits the studios, it survives a restart, it uses the seeds."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from stream.common import times
from stream.program import demo_programme
from stream.program.programme import load_programme
from stream.program.sessions import SessionStore
from stream.store import Redis

FIRST_DAY = date(2031, 1, 21)


async def test_the_week_seeds_without_conflicts_and_keeps_edits(redis: Redis) -> None:
    await demo_programme.seed_catalogue(redis, FIRST_DAY)
    assert await demo_programme.seed_sessions(redis, FIRST_DAY)
    programme = await load_programme(redis)
    assert {a.name for a in programme.arrangers.values()} >= {
        "Skogstekniska klustret",
        "Kunskapsnoden",
        "Skellefteå kommun",
        "Region Västerbotten",
    }
    week = programme.events[demo_programme.WEEK_EVENT]
    assert (week.start_date, week.end_date) == (FIRST_DAY, FIRST_DAY + timedelta(days=3))
    kickoff = programme.events[demo_programme.KICKOFF_EVENT]
    assert kickoff.venue == "Hotell Lappland, Lycksele"
    groups = [s for s in programme.sessions if s.id.startswith("rus-grupp-")]
    assert len(groups) == 8, "the eight working groups meet in parallel rooms"
    assert {s.visibility for s in groups} == {"invite"}
    assert len({s.studio for s in groups}) == 8
    inledning = programme.session("rus-inledning")
    assert inledning is not None
    assert times.iso_local(inledning.start) == "2031-01-24T10:00:00+01:00"  # type: ignore[arg-type]

    # A restart on the same day keeps what the arrangers changed meanwhile.
    store = SessionStore(redis)
    edited = await store.get("skogens-dag")
    await store.save(replace(edited, title="Ändrad titel"))
    assert not await demo_programme.seed_sessions(redis, FIRST_DAY)
    assert (await store.get("skogens-dag")).title == "Ändrad titel"
    # On another day the week moves along with it, without double bookings.
    assert await demo_programme.seed_sessions(redis, FIRST_DAY + timedelta(days=1))
    moved = await store.get("invigning-digital-vecka")
    assert times.local_day(moved.start) == FIRST_DAY + timedelta(days=1)  # type: ignore[arg-type]


async def test_the_open_house_is_always_ahead(redis: Redis) -> None:
    await demo_programme.seed_catalogue(redis, FIRST_DAY)
    now = times.now()
    await demo_programme.seed_open_house(redis, now)
    await demo_programme.seed_open_house(redis, now)  # a restart replaces it
    session = await SessionStore(redis).get(demo_programme.OPEN_HOUSE)
    assert session.start is not None
    assert now < session.start <= now + timedelta(hours=1)
