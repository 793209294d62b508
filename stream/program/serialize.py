"""The JSON shape of a session in the public API (``/api/program``, ``/api/sessions/{id}``)."""

from __future__ import annotations

from datetime import datetime

from stream.common import times
from stream.program.programme import Programme
from stream.program.record_switch import records
from stream.program.schedule import NOT_LIVE, Live, state_of
from stream.program.sessions import Session


def session_json(
    session: Session, programme: Programme, now: datetime, live: Live = NOT_LIVE
) -> dict[str, object]:
    studio = programme.studios.get(session.studio)
    event = programme.events.get(session.event)
    return {
        "id": session.id,
        "title": session.title,
        "description": session.description,
        "event": {"id": event.id, "name": event.name} if event else None,
        "arranger": {"id": session.arranger_id or None, "name": session.arranger},
        "speakers": list(session.speakers),
        "studio": (
            {"id": studio.id, "name": studio.name, "location": studio.location} if studio else None
        ),
        "start": times.iso_local(session.start) if session.start else None,
        "end": times.iso_local(session.end) if session.end else None,
        "language": session.language or None,
        "visibility": session.visibility,
        "chat": session.chat,
        "qa": session.qa,
        "record": session.record,  # the session's own switch
        "recorded": records(session, event),  # with its event's: what the archive does
        "state": state_of(session, now, live).value,
        "live": live.live,
        "viewers": live.viewers,
        "links": {
            "watch": f"/s/{session.id}",
            "embed": f"/embed/{session.id}",
            "ical": f"/s/{session.id}.ics" if session.scheduled else None,
            "status": f"/api/sessions/{session.id}/status",
        },
    }
