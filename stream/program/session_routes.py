"""The write API for sessions (scripts and integrations of logged-in staff):

``POST /api/sessions`` (201, with the new publish key, shown once), ``PUT /api/sessions/{id}``,
``DELETE /api/sessions/{id}``, ``POST /api/sessions/{id}/key`` (a new key). Authenticated by
the login cookie plus the ``X-CSRF-Token`` header; every refusal is problem+json, with an
``errors`` list naming each bad field, or the ``conflict`` that blocks a studio booking.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from stream.common import times
from stream.common.errors import BadRequest, Conflict, Forbidden
from stream.common.grants import Identity, Permission, Role
from stream.common.ids import validate_session_id
from stream.common.validation import Invalid
from stream.http import identity as guard
from stream.http.keys import LIVE, REDIS
from stream.program.bookings import ScheduleConflict
from stream.program.programme import load_programme
from stream.program.schedule import live_lookup
from stream.program.serialize import session_json
from stream.program.session_json import api_fields, session_from_json
from stream.program.sessions import Session, SessionStore

logger = logging.getLogger(__name__)

MAX_SESSION_JSON_BYTES = 64 * 1024


async def _body(request: web.Request) -> object:
    if request.content_type != "application/json":
        raise BadRequest("send the session as application/json")
    raw = await request.content.read(MAX_SESSION_JSON_BYTES + 1)
    if len(raw) > MAX_SESSION_JSON_BYTES:
        raise BadRequest(f"the body is larger than {MAX_SESSION_JSON_BYTES} bytes")
    try:
        return json.loads(raw)
    except ValueError:
        raise BadRequest("the body is not valid JSON") from None


def _invalid(exc: Invalid) -> web.Response:
    body = {
        "status": 400,
        "title": exc.title,
        "detail": exc.detail,
        "errors": [e.as_json() for e in api_fields(exc).errors],
    }
    return web.json_response(body, status=400, content_type="application/problem+json")


def _conflict(exc: ScheduleConflict, identity: Identity | None) -> web.Response:
    named = identity is not None and identity.may(
        Permission.PRESENT, exc.other_id, exc.other_arranger
    )
    conflict = exc.as_json(named=named)
    body = {"status": 409, "title": exc.title, "detail": exc.detail, "conflict": conflict}
    return web.json_response(body, status=409, content_type="application/problem+json")


def _check_owner(identity: Identity, session: Session) -> None:
    if not identity.may(Permission.MANAGE, session.id, session.arranger_id):
        raise Forbidden("this session belongs to another arranger")


async def _write(request: web.Request, *, session_id: str | None) -> tuple[Identity, Session]:
    identity = await guard.require_role(request, Role.ARRANGER)
    await guard.check_csrf(request)
    store = SessionStore(request.app[REDIS])
    if session_id is not None:
        _check_owner(identity, await store.get(session_id))
    draft = session_from_json(await _body(request), session_id=session_id)
    _check_owner(identity, draft)
    return identity, await store.save(draft, create=session_id is None)


async def _session_body(request: web.Request, session: Session) -> dict[str, object]:
    programme = await load_programme(request.app[REDIS])
    live = live_lookup(request.app[LIVE].now(), session.id)
    return session_json(session, programme, times.now(), live)


async def create_session(request: web.Request) -> web.Response:
    try:
        identity, session = await _write(request, session_id=None)
    except Invalid as exc:
        return _invalid(exc)
    except ScheduleConflict as exc:
        return _conflict(exc, await guard.current_identity(request))
    key = await SessionStore(request.app[REDIS]).rotate_key(session.id)
    logger.info("[%s] session created by %s (API)", session.id, identity.username)
    body = {"session": await _session_body(request, session), "key": key}
    return web.json_response(body, status=201, headers={"Location": f"/api/sessions/{session.id}"})


async def update_session(request: web.Request) -> web.Response:
    session_id = validate_session_id(request.match_info["session"])
    try:
        _, session = await _write(request, session_id=session_id)
    except Invalid as exc:
        return _invalid(exc)
    except ScheduleConflict as exc:
        return _conflict(exc, await guard.current_identity(request))
    return web.json_response({"session": await _session_body(request, session)})


async def _managed(request: web.Request) -> tuple[Identity, Session]:
    identity = await guard.require_role(request, Role.ARRANGER)
    await guard.check_csrf(request)
    session_id = validate_session_id(request.match_info["session"])
    session = await SessionStore(request.app[REDIS]).get(session_id)
    _check_owner(identity, session)
    return identity, session


async def delete_session(request: web.Request) -> web.Response:
    identity, session = await _managed(request)
    if live_lookup(request.app[LIVE].now(), session.id).live:
        raise Conflict("the session is live: stop the broadcast before deleting it")
    await SessionStore(request.app[REDIS]).delete(session.id)
    logger.info("[%s] session deleted by %s (API)", session.id, identity.username)
    return web.Response(status=204)


async def rotate_key(request: web.Request) -> web.Response:
    identity, session = await _managed(request)
    key = await SessionStore(request.app[REDIS]).rotate_key(session.id)
    logger.info("[%s] publish key rotated by %s (API)", session.id, identity.username)
    return web.json_response({"session": session.id, "key": key})
