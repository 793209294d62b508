"""A snapshot of the whole programme (events, arrangers, studios, sessions) in a few round trips,
for pages, feeds and the API that show many sessions with their names resolved."""

from __future__ import annotations

from dataclasses import dataclass

from stream.program.arrangers import Arranger, ArrangerStore
from stream.program.events import Event, EventStore
from stream.program.sessions import Session, SessionStore
from stream.program.studios import Studio, StudioStore
from stream.store import Redis


@dataclass(frozen=True, slots=True)
class Programme:
    events: dict[str, Event]
    arrangers: dict[str, Arranger]
    studios: dict[str, Studio]
    sessions: list[Session]  # scheduled by start, then unscheduled

    def public_sessions(self) -> list[Session]:
        return [s for s in self.sessions if s.public]

    def session(self, session_id: str) -> Session | None:
        return next((s for s in self.sessions if s.id == session_id), None)

    def studio_label(self, session: Session) -> str:
        studio = self.studios.get(session.studio)
        if studio is None:
            return ""
        return ", ".join(part for part in (studio.name, studio.location) if part)


async def load_programme(redis: Redis) -> Programme:
    events = await EventStore(redis).all()
    arrangers = await ArrangerStore(redis).all()
    studios = await StudioStore(redis).all()
    sessions = await SessionStore(redis).all()
    return Programme(
        events={e.id: e for e in events},
        arrangers={a.id: a for a in arrangers},
        studios={s.id: s for s in studios},
        sessions=sessions,
    )
