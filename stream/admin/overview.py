"""The event-day overview: what an arranger (or the admin) needs at a glance — today's sessions
and anything live, who is publishing, how many watch, and what needs attention."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from stream.common import times
from stream.common.grants import Identity, Permission
from stream.program.schedule import (
    NOT_LIVE,
    Live,
    SpeakerClash,
    State,
    speaker_clashes,
    state_of,
)
from stream.program.sessions import Session


@dataclass(frozen=True, slots=True)
class Row:
    session: Session
    state: State
    live: Live


@dataclass(frozen=True, slots=True)
class Overview:
    rows: list[Row]  # today's sessions and anything live, in programme order
    without_key: list[Session]  # today's or upcoming sessions nobody can publish to yet
    clashes: list[SpeakerClash]

    @property
    def live_count(self) -> int:
        return sum(1 for row in self.rows if row.state is State.LIVE)

    @property
    def viewer_count(self) -> int:
        return sum(row.live.viewers for row in self.rows)


def visible_to(identity: Identity, sessions: Iterable[Session]) -> list[Session]:
    """The sessions this identity works on: all for an admin, the arranger's own for arranger
    staff, the assigned ones for moderators and speakers."""
    return [
        s
        for s in sessions
        if identity.may(Permission.MANAGE, s.id, s.arranger_id)
        or identity.may(Permission.PRESENT, s.id, s.arranger_id)
    ]


def build_overview(
    sessions: Iterable[Session],
    live: Mapping[str, Live],
    keyed: set[str],
    now: datetime,
) -> Overview:
    sessions = list(sessions)
    today = times.local_day(now)
    rows = []
    for session in sessions:
        state = live.get(session.id, NOT_LIVE)
        on_today = session.start is not None and times.local_day(session.start) == today
        if on_today or state.live or (session.start is None and state.publishing):
            rows.append(Row(session, state_of(session, now, state), state))
    without_key = [s for s in sessions if s.id not in keyed and s.end is not None and s.end > now]
    return Overview(rows=rows, without_key=without_key, clashes=speaker_clashes(sessions))
