"""HTTP for the back office: the event-day dashboard (``/admin``) and its live JSON, and the
registration of every admin page."""

from __future__ import annotations

from aiohttp import web

from stream.admin.overview import build_overview, visible_to
from stream.common import times
from stream.common.grants import Role
from stream.http import identity as guard
from stream.http.keys import LIVE, REDIS
from stream.http.render import render
from stream.program.programme import load_programme
from stream.program.schedule import NOT_LIVE, state_of
from stream.program.sessions import SessionStore


async def dashboard(request: web.Request) -> web.StreamResponse:
    identity = await guard.require_staff(request)
    redis = request.app[REDIS]
    programme = await load_programme(redis)
    sessions = visible_to(identity, programme.sessions)
    now = times.now()
    if identity.role in (Role.MODERATOR, Role.SPEAKER):
        return await render(
            request,
            "admin/dashboard.html",
            {"assigned": sessions, "overview": None, "programme": programme, "today": now},
        )
    keyed = await SessionStore(redis).keyed(s.id for s in sessions)
    overview = build_overview(sessions, request.app[LIVE].now(), keyed, now)
    return await render(
        request,
        "admin/dashboard.html",
        {"assigned": [], "overview": overview, "programme": programme, "today": now},
    )


async def overview_json(request: web.Request) -> web.Response:
    """Live state of the sessions this identity works on (polled by the dashboard)."""
    identity = await guard.require_staff(request)
    programme = await load_programme(request.app[REDIS])
    live = request.app[LIVE].now()
    now = times.now()
    body = {
        s.id: {
            "state": state_of(s, now, live.get(s.id, NOT_LIVE)).value,
            "live": live.get(s.id, NOT_LIVE).live,
            "publishing": live.get(s.id, NOT_LIVE).publishing,
            "viewers": live.get(s.id, NOT_LIVE).viewers,
        }
        for s in visible_to(identity, programme.sessions)
    }
    return web.json_response({"sessions": body}, headers={"Cache-Control": "no-store"})
