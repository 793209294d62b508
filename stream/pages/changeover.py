"""The studio's changeover: who uses the studio before and after a session, when it is free,
and when each slot's publish key works (its rehearsal window, :mod:`stream.program.keys`).

The arranger of the next slot opens its studio page early and sees when the studio is free and
from when its own key is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from stream.program.sessions import Session


@dataclass(frozen=True, slots=True)
class Changeover:
    studio: str  # the studio's id ("" when the session has none)
    previous: Session | None  # the slot before this one in the same studio
    next: Session | None  # the slot after this one in the same studio
    key_opens: datetime | None  # this session's key window (None: always valid)
    key_closes: datetime | None

    @property
    def free_from(self) -> datetime | None:
        """When the studio is free for this session (the previous slot's end)."""
        return self.previous.end if self.previous is not None else None

    @property
    def next_key_opens(self) -> datetime | None:
        window = self.next.key_window() if self.next is not None else None
        return window[0] if window else None


def changeover(session: Session, sessions: Iterable[Session], now: datetime) -> Changeover:
    """The neighbours of ``session`` in its studio's schedule.

    A scheduled session's neighbours are the slots ending before its start and starting after
    its end; an unscheduled one (a permanent channel) looks from ``now``."""
    window = session.key_window()
    opens, closes = window if window else (None, None)
    if not session.studio:
        return Changeover("", None, None, opens, closes)
    others = [
        s
        for s in sessions
        if s.studio == session.studio and s.id != session.id and s.start and s.end
    ]
    begins = session.start or now
    ends = session.end or now
    before = [s for s in others if s.end is not None and s.end <= begins]
    after = [s for s in others if s.start is not None and s.start >= ends]
    previous = max(before, key=lambda s: s.end or now, default=None)
    following = min(after, key=lambda s: s.start or now, default=None)
    return Changeover(session.studio, previous, following, opens, closes)
