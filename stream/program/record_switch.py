"""Whether a session is recorded: the rule the archive applies when its room opens.

Two switches, both on by default: the session's own ``record`` and its event's ``record``. A
session is recorded when its own switch is on and its event (if it has one) does not forbid
it. Turning an event's switch off is the way to leave a whole event unrecorded; turning a
session's switch off leaves out that session alone. A switch changed while a session is live
applies from its next room (the next time a publisher starts after the room has closed).
"""

from __future__ import annotations

from stream.common.errors import NotFound
from stream.program.events import Event, EventStore
from stream.program.sessions import Session, SessionStore
from stream.store import Redis


def records(session: Session, event: Event | None) -> bool:
    """The rule: the session's switch, unless its event's is off."""
    return session.record and (event is None or event.record)


async def recording_allowed(redis: Redis, session_id: str) -> bool:
    """The rule applied to the stored session and its event (an unknown session: recorded,
    as the relay itself does not need the programme)."""
    try:
        session = await SessionStore(redis).get(session_id)
    except NotFound:
        return True
    event: Event | None = None
    if session.event:
        try:
            event = await EventStore(redis).get(session.event)
        except NotFound:
            event = None
    return records(session, event)
