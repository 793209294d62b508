"""HTTP for Q&A: the phone page ``/q/{session}``, the stage screen ``/stage/{session}``, the QR
code ``/q/{session}/qr.svg``, and the moderators' exports ``/api/qa/{session}/export.json``,
``questions.csv`` and ``polls.csv`` (the session's moderators: logged in, or a moderator
link's token as ``Authorization: Bearer``). The live
part rides the chat's socket: the ``qa.*``/``poll.*`` frames are registered on it here.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator

from aiohttp import web

from stream.auth.invites import require_attendance
from stream.common import times
from stream.common.errors import BadRequest
from stream.common.ids import validate_session_id
from stream.http.keys import CHAT, CHAT_SOCKETS, LIMITER, LIVE, QA, REDIS, SETTINGS, TEMPLATES
from stream.http.render import identity_context
from stream.http.urls import absolute_url
from stream.program.schedule import State, live_lookup, state_of
from stream.program.sessions import Session
from stream.qa import export
from stream.qa.protocol import EVENT_TYPES, FRAME_TYPES
from stream.qa.qr import qr_svg
from stream.qa.service import QAService
from stream.qa.snapshot import load_polls, load_questions
from stream.qa.tally import vote_tick_from_env

VARY = "Cookie, Accept-Language"


async def qa_context(app: web.Application) -> AsyncIterator[None]:
    """After the chat's context: the Q&A frames are answered on the chat's sockets."""
    service = QAService(app[REDIS], app[LIMITER], vote_tick_from_env(os.environ))
    app[QA] = service
    sockets = app[CHAT_SOCKETS]
    for kind in FRAME_TYPES:
        sockets.register(kind, service.handle)
    # Clients get the Q&A state from qa.sync: keep votes from crowding out the chat's history.
    for event_type in EVENT_TYPES:
        app[CHAT].exclude_from_history(event_type)
    yield
    for tally in (service.tally, service.poll_tally):
        if tally is not None:
            await tally.close()


async def _session(request: web.Request) -> Session:
    session_id = validate_session_id(request.match_info["session"])
    return await require_attendance(request, session_id)  # 404 for none, or not invited


def phone_url(request: web.Request, session_id: str) -> str:
    return absolute_url(request.app[SETTINGS], f"/q/{session_id}", request)


async def _render(
    request: web.Request, name: str, session: Session, **extra: object
) -> web.Response:
    url = phone_url(request, session.id)
    context = {
        "session": session,
        "phone_url": url,
        "short_url": url.split("://", 1)[-1],
        # After the session the page shows the questions read-only (the service refuses writes).
        "ended": state_of(session, times.now(), live_lookup(request.app[LIVE].now(), session.id))
        is State.ENDED,
    }
    header = await identity_context(request)  # who is logged in, with log out
    response = request.app[TEMPLATES].render(request, name, {**context, **header, **extra})
    response.headers["Vary"] = VARY
    response.headers["Cache-Control"] = "no-cache"
    return response


async def phone_page(request: web.Request) -> web.Response:
    """The light page for the room: ask, vote, answer polls; no video."""
    return await _render(request, "qa_phone.html", await _session(request))


async def stage_page(request: web.Request) -> web.Response:
    """The projector / confidence monitor / OBS overlay (``?transparent=1``)."""
    session = await _session(request)
    transparent = request.query.get("transparent") in ("1", "true", "yes")
    try:
        qr = qr_svg(phone_url(request, session.id))
    except ValueError:
        qr = ""  # an absurd Host header: the short link still shows
    return await _render(request, "stage.html", session, transparent=transparent, qr=qr)


async def qr_image(request: web.Request) -> web.Response:
    session = await _session(request)
    try:
        svg = qr_svg(phone_url(request, session.id))
    except ValueError:
        raise BadRequest("the page address is too long for a QR code") from None
    return web.Response(
        text=svg,
        content_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=3600", "Vary": "Host"},
    )


async def export_data(request: web.Request) -> web.Response:
    session = await _session(request)
    redis = request.app[REDIS]
    questions = await load_questions(redis, session.id)
    polls = await load_polls(redis, session.id, record=True)
    what = request.match_info["what"]
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="{session.id}-{what}"',
    }
    if what == "export.json":
        body = json.dumps(export.as_json(session.id, questions, polls), ensure_ascii=False)
        return web.Response(text=body, content_type="application/json", headers=headers)
    if what == "questions.csv":
        text = export.questions_csv(questions)
    else:
        text = export.polls_csv(polls)
    return web.Response(text=text, content_type="text/csv", charset="utf-8", headers=headers)
