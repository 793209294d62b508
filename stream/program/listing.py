"""The public programme as the programme page lays it out: live now, next up, the week by day
and by arranger, and channels without a time slot; each card with its arranger and studio."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from stream.common import times
from stream.common.errors import BadRequest
from stream.common.ids import SESSION_ID_PATTERN
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

# "Next up" at the top of the programme: this many sessions that have not started yet.
NEXT_UP_COUNT = 3
# ``?ids=`` (a personal list: the calendar of the sessions someone starred) names at most this many.
MAX_IDS = 200


@dataclass(frozen=True, slots=True)
class Card:
    session: Session
    state: State
    live: Live
    studio: str = ""  # the studio's name and place, empty for sessions sent from elsewhere


@dataclass(frozen=True, slots=True)
class ProgrammeView:
    live_now: list[Card]
    next_up: list[Card]  # waiting for the broadcast within its slot, then the next to start
    later_today: list[Card]
    days: list[tuple[date, list[Card]]]
    arrangers: list[tuple[str, list[Card]]]
    unscheduled: list[Card]
    count: int


def build_view(
    sessions: Iterable[Session],
    live: Mapping[str, Live],
    now: datetime,
    studios: Mapping[str, str] | None = None,
) -> ProgrammeView:
    """Cards for ``sessions``; ``studios`` maps a studio id to the label a card shows."""
    sessions = list(sessions)
    labels = studios or {}

    def card(session: Session) -> Card:
        state = live.get(session.id, NOT_LIVE)
        return Card(session, state_of(session, now, state), state, labels.get(session.studio, ""))

    cards = {s.id: card(s) for s in sessions}
    today = times.local_day(now)
    waiting = [c for c in cards.values() if c.state in (State.DUE, State.UPCOMING)]
    waiting.sort(key=lambda c: (c.state is not State.DUE, _start(c.session)))
    return ProgrammeView(
        live_now=[c for c in cards.values() if c.state is State.LIVE],
        next_up=waiting[:NEXT_UP_COUNT],
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


def _start(session: Session) -> float:
    return session.start.timestamp() if session.start else float("inf")


def day_choices(sessions: Iterable[Session]) -> list[date]:
    return [day for day, _ in by_day(sessions)]


def filter_sessions(programme: Programme, query: dict[str, str]) -> list[Session]:
    """The public sessions matching ``?event=&arranger=&studio=&day=&q=&ids=`` (400 if
    malformed). ``ids`` is a comma-separated list of session ids (a personal list); ids that
    are not public sessions are left out as if unknown."""
    sessions = programme.public_sessions()
    ids = query.get("ids", "")
    if ids:
        wanted = set(parse_ids(ids))
        sessions = [s for s in sessions if s.id in wanted]
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


def parse_ids(text: str) -> list[str]:
    """``a,b,c`` as session ids (400 if one is not shaped like an id, or too many)."""
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if len(ids) > MAX_IDS:
        raise BadRequest(f"ids: at most {MAX_IDS} sessions")
    for session_id in ids:
        if not SESSION_ID_PATTERN.fullmatch(session_id):
            raise BadRequest("ids: session ids are 1-64 lowercase letters, digits or '-'")
    return ids
