"""Invite-only sessions: who may watch them, chat in them and ask in them.

An invite-only session is left out of the public programme and its pages and media answer as if
it did not exist (404), except for people with its invite link (``/s/{id}?invite=CODE``) and for
staff who work on it. The code is an HMAC of the session id with the deployment's secret, so
every node agrees without storing anything; following the link remembers it in a cookie, which
the player's WHEP request and the chat socket then carry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from aiohttp import web

from stream.common.errors import NotFound
from stream.common.grants import Permission
from stream.http.identity import current_identity
from stream.http.keys import AUTH_SECRET, REDIS
from stream.program.sessions import Session, SessionStore

INVITE_PARAM = "invite"
INVITE_COOKIE_PREFIX = "stream_invite_"
INVITE_COOKIE_MAX_AGE = 30 * 24 * 3600
INVITE_CODE_LENGTH = 22  # characters of base64url: 132 bits

_ATTENDED = web.RequestKey("stream_attended_session", Session)


def invite_code(secret: bytes, session_id: str) -> str:
    digest = hmac.new(secret, f"invite:{session_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:INVITE_CODE_LENGTH]


def invite_link(request: web.Request, base_url: str, session_id: str) -> str:
    code = invite_code(request.app[AUTH_SECRET], session_id)
    return f"{base_url}/s/{session_id}?{INVITE_PARAM}={code}"


def _cookie(session_id: str) -> str:
    return INVITE_COOKIE_PREFIX + session_id


def _valid(request: web.Request, session_id: str, code: str | None) -> bool:
    if not code or len(code) != INVITE_CODE_LENGTH:
        return False
    return hmac.compare_digest(code, invite_code(request.app[AUTH_SECRET], session_id))


async def may_attend(request: web.Request, session: Session) -> bool:
    """Public sessions: everyone. Invite-only: the invited, and the session's staff."""
    if session.public:
        return True
    if _valid(request, session.id, request.query.get(INVITE_PARAM)):
        return True
    if _valid(request, session.id, request.cookies.get(_cookie(session.id))):
        return True
    identity = await current_identity(request)
    return identity is not None and identity.may(
        Permission.PRESENT, session.id, session.arranger_id
    )


async def require_attendance(request: web.Request, session_id: str) -> Session:
    """The session, if this request may attend it; otherwise 404, as for no session at all.

    Asked by the route guard and again by the handler that needs the session: the answer is
    kept for the request."""
    if _ATTENDED in request and request[_ATTENDED].id == session_id:
        return request[_ATTENDED]
    session = await SessionStore(request.app[REDIS]).get(session_id)
    if not await may_attend(request, session):
        raise NotFound(f"no session {session_id!r}")
    request[_ATTENDED] = session
    return session


def remember_invite(request: web.Request, response: web.StreamResponse, session_id: str) -> None:
    """After a visit through a valid invite link, keep the code for the player and the chat."""
    code = request.query.get(INVITE_PARAM)
    if _valid(request, session_id, code):
        response.set_cookie(
            _cookie(session_id),
            code or "",
            max_age=INVITE_COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.secure,
            path="/",
        )
