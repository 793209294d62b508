"""The session store: references checked, studios never double-booked, nothing half-saved."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from stream.common.errors import Conflict, NotFound
from stream.common.validation import Invalid
from stream.program.arrangers import ArrangerStore
from stream.program.events import EventStore
from stream.program.sessions import (
    MAX_SPEAKERS,
    ScheduleConflict,
    Session,
    SessionStore,
)
from stream.program.studios import StudioStore
from stream.store import Redis
from tests.program.conftest import at


def booked(session_id: str, start: str, end: str, studio: str = "studio-1") -> Session:
    return Session(
        id=session_id,
        title=f"Session {session_id}",
        arranger_id="skog",
        event="vecka",
        studio=studio,
        start=at(start),
        end=at(end),
        speakers=("Moderator", "Forskare"),
        description="Om skogen.\nRad två.",
        language="sv",
        visibility="public",
        chat=False,
    )


async def test_a_session_round_trips_with_every_field(catalogue: Redis) -> None:
    store = SessionStore(catalogue)
    stored = await store.save(booked("skogens-dag", "10:00", "11:30"), create=True)
    assert stored.arranger == "Skogstekniska klustret", "the arranger's name is copied"
    loaded = await store.get("skogens-dag")
    assert loaded == stored
    assert loaded.speakers == ("Moderator", "Forskare")
    assert loaded.chat is False
    assert loaded.qa is True
    assert await store.all_ids() == ["skogens-dag"]
    assert await StudioStore(catalogue).booked_session_ids("studio-1") == ["skogens-dag"]


async def test_sessions_without_a_schedule_still_work_as_before(catalogue: Redis) -> None:
    store = SessionStore(catalogue)
    await store.save(Session(id="demo", title="Testbild", arranger="Region Västerbotten"))
    session = await store.get("demo")
    assert session.arranger == "Region Västerbotten"
    assert not session.scheduled
    assert session.key_window() is None


async def test_unknown_references_are_named(catalogue: Redis) -> None:
    store = SessionStore(catalogue)
    draft = Session(
        id="x",
        title="X",
        arranger_id="nobody",
        event="no-event",
        studio="no-studio",
        start=at("10:00"),
        end=at("11:00"),
    )
    with pytest.raises(Invalid) as caught:
        await store.save(draft)
    assert {(e.field, e.code) for e in caught.value.errors} == {
        ("arranger_id", "unknown_arranger"),
        ("event", "unknown_event"),
        ("studio", "unknown_studio"),
    }
    assert not await store.exists("x"), "nothing was saved"


async def test_overlapping_bookings_in_one_studio_are_refused(catalogue: Redis) -> None:
    store = SessionStore(catalogue)
    await store.save(booked("first", "10:00", "11:30"))
    with pytest.raises(ScheduleConflict) as caught:
        await store.save(booked("second", "11:00", "12:00"))
    conflict = caught.value
    assert (conflict.status, conflict.other_id, conflict.studio) == (409, "first", "studio-1")
    assert "is booked by 'Session first'" in conflict.detail
    assert conflict.as_json()["start"] == "2031-01-21T10:00:00+01:00"
    assert not await store.exists("second")
    # Back to back is fine, and so is the same time in another studio.
    await store.save(booked("after", "11:30", "12:30"))
    await store.save(booked("elsewhere", "10:30", "11:00", studio="studio-2"))
    # A session inside another one is an overlap too.
    with pytest.raises(ScheduleConflict):
        await store.save(booked("inside", "10:15", "10:45"))
    with pytest.raises(ScheduleConflict):
        await store.save(booked("around", "09:00", "13:00"))


async def test_moving_a_session_frees_its_old_slot(catalogue: Redis) -> None:
    store = SessionStore(catalogue)
    await store.save(booked("mover", "10:00", "11:00"))
    await store.save(booked("mover", "10:00", "11:00", studio="studio-2"))
    assert await StudioStore(catalogue).booked_session_ids("studio-1") == []
    await store.save(booked("newcomer", "10:00", "11:00"))
    # Rescheduling itself never conflicts with its own booking.
    await store.save(booked("newcomer", "10:30", "11:30"))


async def test_concurrent_bookings_of_one_slot_let_exactly_one_win(catalogue: Redis) -> None:
    store = SessionStore(catalogue)
    results = await asyncio.gather(
        *(store.save(booked(f"race-{n}", "10:00", "11:00")) for n in range(6)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, Session)]
    assert len(winners) == 1
    assert all(isinstance(r, ScheduleConflict | Conflict) for r in results if r not in winners)
    assert await StudioStore(catalogue).booked_session_ids("studio-1") == [winners[0].id]


async def test_create_refuses_an_existing_id(catalogue: Redis) -> None:
    store = SessionStore(catalogue)
    await store.save(booked("one", "10:00", "11:00"), create=True)
    with pytest.raises(Conflict, match="already exists"):
        await store.save(booked("one", "12:00", "13:00"), create=True)
    assert (await store.get("one")).start == at("10:00")


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"end": at("09:00")}, "end", "end_before_start"),
        ({"end": at("10:00")}, "end", "end_before_start"),
        ({"end": at("10:00") + timedelta(hours=13)}, "end", "too_long_session"),
        ({"end": None}, "end", "start_and_end"),
        ({"start": None, "end": None}, "start", "booking_needs_time"),
        ({"title": "x" * 201}, "title", "too_long"),
        ({"title": "  "}, "title", "required"),
        ({"speakers": ("A",) * (MAX_SPEAKERS + 1)}, "speakers", "too_many"),
        ({"speakers": ("x" * 121,)}, "speakers", "too_long"),
        ({"visibility": "secret"}, "visibility", "bad_choice"),
        ({"description": "x" * 5001}, "description", "too_long"),
        ({"id": "Not OK"}, "id", "bad_id"),
    ],
)
def test_bad_sessions_explain_themselves(changes: dict[str, object], field: str, code: str) -> None:
    values: dict[str, object] = {
        "id": "s",
        "title": "T",
        "studio": "studio-1",
        "start": at("10:00"),
        "end": at("11:00"),
    }
    values.update(changes)
    with pytest.raises(Invalid) as caught:
        Session(**values)  # type: ignore[arg-type]
    assert (field, code) in {(e.field, e.code) for e in caught.value.errors}


async def test_delete_removes_the_session_and_its_indexes(catalogue: Redis) -> None:
    store = SessionStore(catalogue)
    await store.save(booked("gone", "10:00", "11:00"))
    key = await store.rotate_key("gone")
    await store.delete("gone")
    assert not await store.exists("gone")
    assert await store.all_ids() == []
    assert await StudioStore(catalogue).booked_session_ids("studio-1") == []
    assert await ArrangerStore(catalogue).session_ids("skog") == []
    assert await store.session_for_key(key) is None
    with pytest.raises(NotFound):
        await store.delete("gone")
    await store.save(booked("again", "10:00", "11:00"))  # the slot is free again


async def test_arrangers_events_and_studios_in_use_cannot_be_deleted(catalogue: Redis) -> None:
    await SessionStore(catalogue).save(booked("held", "10:00", "11:00"))
    with pytest.raises(Conflict, match="still has sessions"):
        await ArrangerStore(catalogue).delete("skog")
    with pytest.raises(Conflict, match="still has sessions"):
        await EventStore(catalogue).delete("vecka")
    with pytest.raises(Conflict, match="still has bookings"):
        await StudioStore(catalogue).delete("studio-1")
    await StudioStore(catalogue).delete("studio-2")
    assert [s.id for s in await StudioStore(catalogue).all()] == ["studio-1"]


async def test_renaming_an_arranger_renames_its_sessions(catalogue: Redis) -> None:
    from stream.program.arrangers import Arranger

    await SessionStore(catalogue).save(booked("named", "10:00", "11:00"))
    await ArrangerStore(catalogue).save(Arranger("skog", "Skogstekniska klustret AB"))
    assert (await SessionStore(catalogue).get("named")).arranger == "Skogstekniska klustret AB"
