"""HTTP for the programme: the JSON API (``/api/program``, ``/api/sessions/{id}``) and the
iCalendar feeds (``/program.ics``, ``/s/{id}.ics``). Public: invite-only sessions are left out
of the listings; one session's routes are guarded (the invited and its staff, else 404)."""

from __future__ import annotations

from aiohttp import web

from stream.common import times
from stream.common.ids import validate_session_id
from stream.http.keys import LIVE, REDIS, SETTINGS
from stream.http.urls import base_url, host_name
from stream.program import ical
from stream.program.listing import filter_sessions
from stream.program.programme import load_programme
from stream.program.schedule import live_lookup
from stream.program.serialize import session_json

PROGRAMME_CACHE_SECONDS = 15
CALENDAR_NAME = {"sv": "Programmet", "en": "Programme"}


async def api_program(request: web.Request) -> web.Response:
    programme = await load_programme(request.app[REDIS])
    sessions = filter_sessions(programme, dict(request.query))
    now = times.now()
    live = request.app[LIVE].now()
    body = {
        "timezone": times.TIMEZONE_NAME,
        "generated": times.iso_local(now),
        "events": [e.as_json() for e in programme.events.values()],
        "arrangers": [a.as_json() for a in programme.arrangers.values()],
        "studios": [s.as_json() for s in programme.studios.values()],
        "sessions": [session_json(s, programme, now, live_lookup(live, s.id)) for s in sessions],
    }
    return web.json_response(
        body, headers={"Cache-Control": f"public, max-age={PROGRAMME_CACHE_SECONDS}"}
    )


async def api_session(request: web.Request) -> web.Response:
    session_id = validate_session_id(request.match_info["session"])
    programme = await load_programme(request.app[REDIS])
    session = programme.session(session_id)
    if session is None:
        raise web.HTTPNotFound(reason="no such session")
    live = live_lookup(request.app[LIVE].now(), session_id)
    return web.json_response(
        session_json(session, programme, times.now(), live),
        headers={"Cache-Control": "no-cache"},
    )


def _calendar_response(text: str, filename: str) -> web.Response:
    return web.Response(
        text=text,
        content_type=ical.CONTENT_TYPE,
        charset="utf-8",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": f"public, max-age={PROGRAMME_CACHE_SECONDS}",
        },
    )


async def programme_ics(request: web.Request) -> web.Response:
    programme = await load_programme(request.app[REDIS])
    sessions = filter_sessions(programme, dict(request.query))
    event = programme.events.get(request.query.get("event", ""))
    lang = "en" if request.query.get("lang") == "en" else "sv"
    text = ical.calendar(
        sessions,
        name=event.name if event else CALENDAR_NAME[lang],
        base_url=base_url(request.app[SETTINGS], request),
        host=host_name(request.app[SETTINGS], request),
        now=times.now(),
        studios=programme.studios,
    )
    return _calendar_response(text, f"{event.id if event else 'programme'}.ics")


async def session_ics(request: web.Request) -> web.Response:
    session_id = validate_session_id(request.match_info["session"])
    programme = await load_programme(request.app[REDIS])
    session = programme.session(session_id)
    if session is None:
        raise web.HTTPNotFound(reason="no such session")
    if not session.scheduled:
        raise web.HTTPNotFound(reason="this session has no time in the programme")
    text = ical.calendar(
        [session],
        name=session.title,
        base_url=base_url(request.app[SETTINGS], request),
        host=host_name(request.app[SETTINGS], request),
        now=times.now(),
        studios=programme.studios,
    )
    return _calendar_response(text, f"{session.id}.ics")
