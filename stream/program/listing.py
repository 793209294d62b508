"""The public programme as the programme page lays it out: live now, later today, the week by
day and by arranger, and channels without a time slot."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from stream.common import times
from stream.common.errors import BadRequest
from stream.program.programme import Programme
from stream.program.schedule import (
    MAX_QUERY_LENGTH,
    NOT_LIVE,
    Live,
    State,
    by_arranger,
    by_day,
    on_day,
    search,
    state_of,
)
from stream.program.sessions import Session


@dataclass(frozen=True, slots=True)
class Card:
    session: Session
    state: State
    live: Live


@dataclass(frozen=True, slots=True)
class ProgrammeView:
    live_now: list[Card]
    later_today: list[Card]
    days: list[tuple[date, list[Card]]]
    arrangers: list[tuple[str, list[Card]]]
    unscheduled: list[Card]
    count: int


def build_view(
    sessions: Iterable[Session], live: Mapping[str, Live], now: datetime
) -> ProgrammeView:
    sessions = list(sessions)

    def card(session: Session) -> Card:
        state = live.get(session.id, NOT_LIVE)
        return Card(session, state_of(session, now, state), state)

    cards = {s.id: card(s) for s in sessions}
    today = times.local_day(now)
    return ProgrammeView(
        live_now=[c for c in cards.values() if c.state is State.LIVE],
        later_today=[
            c
            for c in cards.values()
            if c.state is State.UPCOMING
            and c.session.start is not None
            and times.local_day(c.session.start) == today
        ],
        days=[(day, [cards[s.id] for s in group]) for day, group in by_day(sessions)],
        arrangers=[(name, [cards[s.id] for s in group]) for name, group in by_arranger(sessions)],
        unscheduled=[c for c in cards.values() if not c.session.scheduled],
        count=len(sessions),
    )


def day_choices(sessions: Iterable[Session]) -> list[date]:
    return [day for day, _ in by_day(sessions)]


def filter_sessions(programme: Programme, query: dict[str, str]) -> list[Session]:
    """The public sessions matching ``?event=&arranger=&studio=&day=&q=`` (400 if malformed)."""
    sessions = programme.public_sessions()
    event = query.get("event", "")
    if event:
        if event not in programme.events:
            raise BadRequest("event: no such event")
        sessions = [s for s in sessions if s.event == event]
    arranger = query.get("arranger", "")
    if arranger:
        if arranger not in programme.arrangers:
            raise BadRequest("arranger: no such arranger")
        sessions = [s for s in sessions if s.arranger_id == arranger]
    studio = query.get("studio", "")
    if studio:
        if studio not in programme.studios:
            raise BadRequest("studio: no such studio")
        sessions = [s for s in sessions if s.studio == studio]
    day = query.get("day", "")
    if day:
        try:
            sessions = on_day(sessions, times.parse_date(day))
        except ValueError as exc:
            raise BadRequest(f"day: {exc}") from None
    text = query.get("q", "")
    if len(text) > MAX_QUERY_LENGTH:
        raise BadRequest(f"q: a search is at most {MAX_QUERY_LENGTH} characters")
    if text.strip():
        sessions = search(sessions, text)
    return sessions
