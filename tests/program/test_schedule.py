from __future__ import annotations

from datetime import timedelta

from stream.program.schedule import (
    Live,
    State,
    by_arranger,
    by_day,
    later_today,
    search,
    speaker_clashes,
    state_of,
)
from stream.program.sessions import Session
from tests.program.conftest import DAY, at


def session(session_id: str, start: str | None, end: str | None, **extra: object) -> Session:
    return Session(
        id=session_id,
        title=str(extra.pop("title", f"Pass {session_id}")),
        start=at(start) if start else None,
        end=at(end) if end else None,
        **extra,  # type: ignore[arg-type]
    )


def test_state_follows_the_clock_and_the_room() -> None:
    s = session("s", "10:00", "11:00")
    assert state_of(s, at("09:00")) is State.UPCOMING
    assert state_of(s, at("10:30")) is State.DUE
    assert state_of(s, at("10:30"), Live(live=True)) is State.LIVE
    assert state_of(s, at("11:00")) is State.ENDED
    assert state_of(session("u", None, None), at("10:00")) is State.UNSCHEDULED


def test_grouping_by_day_and_arranger() -> None:
    sessions = [
        session("b", "13:00", "14:00", arranger="Kunskapsnoden"),
        session("a", "10:00", "11:00", arranger="Region Västerbotten"),
        session("c", "10:00", "11:00", arranger="Kunskapsnoden").__class__(
            id="c",
            title="Morgon",
            start=at("10:00", DAY + timedelta(days=1)),
            end=at("11:00", DAY + timedelta(days=1)),
            arranger="Kunskapsnoden",
        ),
        session("u", None, None, arranger="Region Västerbotten"),
    ]
    days = by_day(sessions)
    assert [(day, [s.id for s in group]) for day, group in days] == [
        (DAY, ["a", "b"]),
        (DAY + timedelta(days=1), ["c"]),
    ]
    assert [(name, [s.id for s in group]) for name, group in by_arranger(sessions)] == [
        ("Kunskapsnoden", ["b", "c"]),
        ("Region Västerbotten", ["a", "u"]),
    ]
    assert [s.id for s in later_today(sessions, at("11:30"))] == ["b"]


def test_search_ignores_case_and_accents() -> None:
    sessions = [
        session("s", "10:00", "11:00", title="Skogens dag", speakers=("Forskare vid SLU",)),
        session("e", "12:00", "13:00", title="Energidagen", description="Ett robust elnät"),
    ]
    assert [s.id for s in search(sessions, "SKOGENS")] == ["s"]
    assert [s.id for s in search(sessions, "slu skog")] == ["s"]
    assert [s.id for s in search(sessions, "elnat")] == ["e"]
    assert [s.id for s in search(sessions, "")] == ["s", "e"]


def test_a_speaker_in_two_overlapping_sessions_is_a_clash() -> None:
    sessions = [
        session("a", "10:00", "11:00", speakers=("Regiondirektören",)),
        session("b", "10:30", "11:30", speakers=("regiondirektören", "Någon annan")),
        session("c", "11:00", "12:00", speakers=("Regiondirektören",)),
    ]
    clashes = speaker_clashes(sessions)
    assert [(c.speaker, c.first.id, c.second.id) for c in clashes] == [
        ("Regiondirektören", "a", "b"),
        ("regiondirektören", "b", "c"),
    ]
