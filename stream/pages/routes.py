"""Pages: the programme (``/``), the watch page (``/s/{id}``), the studio (``/studio/{id}``)."""

from __future__ import annotations

from aiohttp import web

from stream.http.keys import REDIS
from stream.http.templates import TEMPLATES
from stream.program.sessions import SessionStore, validate_session_id


async def programme(request: web.Request) -> web.Response:
    store = SessionStore(request.app[REDIS])
    sessions = [await store.get(session_id) for session_id in await store.all_ids()]
    return request.app[TEMPLATES].render(request, "programme.html", {"sessions": sessions})


async def watch(request: web.Request) -> web.Response:
    session_id = validate_session_id(request.match_info["session"])
    session = await SessionStore(request.app[REDIS]).get(session_id)
    return request.app[TEMPLATES].render(request, "watch.html", {"session": session})


async def studio(request: web.Request) -> web.Response:
    session_id = validate_session_id(request.match_info["session"])
    session = await SessionStore(request.app[REDIS]).get(session_id)
    return request.app[TEMPLATES].render(request, "studio.html", {"session": session})


def setup(app: web.Application) -> None:
    app.router.add_get("/", programme)
    app.router.add_get("/s/{session}", watch)
    app.router.add_get("/studio/{session}", studio)
