"""Reading the programme: each session's state, grouping by day and arranger, search, and the
warnings an organiser wants to see (a speaker in two places at once, a session without a key).

Pure functions over :class:`Session` values: the stores load, these decide.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from stream.common import times
from stream.program.bookings import overlaps
from stream.program.sessions import Session

MAX_QUERY_LENGTH = 200


class State(StrEnum):
    UNSCHEDULED = "unscheduled"  # no time slot: a channel that may go live at any time
    UPCOMING = "upcoming"  # before its start
    DUE = "due"  # within its slot but nobody is publishing (yet)
    LIVE = "live"  # a publisher is sending
    ENDED = "ended"  # after its end


@dataclass(frozen=True, slots=True)
class Live:
    """What the room of a session says right now (this node's view)."""

    live: bool = False
    publishing: bool = False
    viewers: int = 0


NOT_LIVE = Live()

# The audience may still write (chat, questions, votes) this long after a session's end: someone
# was still typing, the session ran late. After it, chat and Q&A are read-only; staff may tidy up.
AUDIENCE_GRACE_AFTER_END = timedelta(minutes=15)


def audience_closed(session: Session, now: datetime) -> bool:
    """Is the session over for the audience's writes (its end plus the grace)?"""
    return session.end is not None and now >= session.end + AUDIENCE_GRACE_AFTER_END


class LiveState(Protocol):
    """This node's rooms as the programme sees them (installed by the rooms)."""

    def now(self) -> dict[str, Live]: ...


def state_of(session: Session, now: datetime, live: Live = NOT_LIVE) -> State:
    if live.live:
        return State.LIVE
    if session.start is None or session.end is None:
        return State.UNSCHEDULED
    if now < session.start:
        return State.UPCOMING
    if now < session.end:
        return State.DUE
    return State.ENDED


def by_day(sessions: Iterable[Session]) -> list[tuple[date, list[Session]]]:
    """Scheduled sessions grouped by their day in Stockholm, in order."""
    days: dict[date, list[Session]] = {}
    for session in sessions:
        if session.start is not None:
            days.setdefault(times.local_day(session.start), []).append(session)
    return [(day, sorted(days[day], key=_start)) for day in sorted(days)]


def by_arranger(sessions: Iterable[Session]) -> list[tuple[str, list[Session]]]:
    """Sessions grouped by arranger name (alphabetical), each group in programme order."""
    groups: dict[str, list[Session]] = {}
    for session in sessions:
        groups.setdefault(session.arranger or "", []).append(session)
    return [(name, sorted(groups[name], key=_start)) for name in sorted(groups, key=str.casefold)]


def on_day(sessions: Iterable[Session], day: date) -> list[Session]:
    return [s for s in sessions if s.start is not None and times.local_day(s.start) == day]


def later_today(sessions: Iterable[Session], now: datetime) -> list[Session]:
    today = times.local_day(now)
    return [
        s
        for s in sessions
        if s.start is not None and s.start > now and times.local_day(s.start) == today
    ]


def matches(session: Session, query: str) -> bool:
    """Case- and accent-tolerant search over title, arranger, speakers and description."""
    words = _fold(query).split()
    haystack = _fold(
        " ".join((session.title, session.arranger, " ".join(session.speakers), session.description))
    )
    return all(word in haystack for word in words)


def search(sessions: Iterable[Session], query: str) -> list[Session]:
    query = query[:MAX_QUERY_LENGTH]
    return [s for s in sessions if matches(s, query)]


@dataclass(frozen=True, slots=True)
class SpeakerClash:
    speaker: str
    first: Session
    second: Session


def speaker_clashes(sessions: Iterable[Session]) -> list[SpeakerClash]:
    """Speakers booked into two sessions that overlap (a warning, not an error: a speaker may
    well appear by video in two places)."""
    scheduled = sorted((s for s in sessions if s.start and s.end), key=_start)
    clashes = []
    for index, first in enumerate(scheduled):
        assert first.start is not None and first.end is not None  # noqa: PT018
        for second in scheduled[index + 1 :]:
            assert second.start is not None and second.end is not None  # noqa: PT018
            if second.start >= first.end:
                break
            if not overlaps(first.start, first.end, second.start, second.end):
                continue
            shared = {_fold(n) for n in first.speakers} & {_fold(n) for n in second.speakers}
            for speaker in first.speakers:
                if _fold(speaker) in shared:
                    clashes.append(SpeakerClash(speaker, first, second))
    return clashes


def live_lookup(live: Mapping[str, Live], session_id: str) -> Live:
    return live.get(session_id, NOT_LIVE)


def _start(session: Session) -> tuple[float, str]:
    return (session.start.timestamp() if session.start else float("inf"), session.id)


def _fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
