"""HTTP for the programme: the JSON API (``/api/program``, ``/api/sessions/{id}``) and the
iCalendar feeds (``/program.ics``, ``/s/{id}.ics``). Public: invite-only sessions are left out
of the listings (they are reachable by their id)."""

from __future__ import annotations

from aiohttp import web

from stream.common import times
from stream.common.errors import BadRequest
from stream.common.ids import validate_session_id
from stream.http.keys import REDIS
from stream.program import ical
from stream.program.programme import Programme, load_programme
from stream.program.schedule import MAX_QUERY_LENGTH, Live, live_lookup, on_day, search
from stream.program.serialize import session_json
from stream.program.sessions import Session
from stream.rooms.routes import ROOMS

PROGRAMME_CACHE_SECONDS = 15
CALENDAR_NAME = {"sv": "Programmet", "en": "Programme"}


def live_now(app: web.Application) -> dict[str, Live]:
    """Each room's live state on this node, by session id."""
    return {
        room.session_id: Live(
            live=room.live, publishing=room.publisher is not None, viewers=room.viewer_count
        )
        for room in app[ROOMS].all()
    }


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


async def api_program(request: web.Request) -> web.Response:
    programme = await load_programme(request.app[REDIS])
    sessions = filter_sessions(programme, dict(request.query))
    now = times.now()
    live = live_now(request.app)
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
    live = live_lookup(live_now(request.app), session_id)
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


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


async def programme_ics(request: web.Request) -> web.Response:
    programme = await load_programme(request.app[REDIS])
    sessions = filter_sessions(programme, dict(request.query))
    event = programme.events.get(request.query.get("event", ""))
    lang = "en" if request.query.get("lang") == "en" else "sv"
    text = ical.calendar(
        sessions,
        name=event.name if event else CALENDAR_NAME[lang],
        base_url=_base_url(request),
        host=request.host.split(":")[0] or "stream",
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
        base_url=_base_url(request),
        host=request.host.split(":")[0] or "stream",
        now=times.now(),
        studios=programme.studios,
    )
    return _calendar_response(text, f"{session.id}.ics")


def setup(app: web.Application) -> None:
    from stream.program import session_routes

    session_routes.setup(app)
    # Before the pages' ``/s/{session}``, so ``/s/x.ics`` reaches the calendar.
    app.router.add_get("/api/program", api_program)
    app.router.add_get("/api/sessions/{session}", api_session)
    app.router.add_get("/program.ics", programme_ics)
    app.router.add_get("/s/{session}.ics", session_ics)
