"""Who is asking, and may they? The request-side API of :mod:`stream.auth`.

``current_identity(request)`` reads the login cookie (once per request, cached);
``require_role`` / ``require_session_permission`` raise 401 (not logged in) or 403;
``check_csrf`` guards every state-changing form or API call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from stream.auth.csrf import anonymous_token, new_nonce, new_secret, tokens_match
from stream.auth.logins import LoginStore
from stream.auth.users import UserStore
from stream.common.errors import Forbidden, Unauthorized
from stream.common.grants import Identity, Permission, Role
from stream.common.records import text
from stream.http.keys import REDIS
from stream.program.sessions import SessionStore

LOGIN_COOKIE = "stream_login"
NONCE_COOKIE = "stream_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SIGNING_KEY_NAME = "auth:signing-key"  # in Redis: shared by every node
NONCE_COOKIE_MAX_AGE = 2 * 3600

AUTH_SECRET = web.AppKey("auth_secret", bytes)


class CsrfRejected(Forbidden):
    """A state-changing request without the right CSRF token, or from another site."""


@dataclass(frozen=True, slots=True)
class _Current:
    identity: Identity | None
    csrf: str = ""


_CURRENT = web.RequestKey("stream_auth_current", _Current)
_NONCE = web.RequestKey("stream_auth_nonce", str)


async def auth_context(app: web.Application) -> AsyncIterator[None]:
    """Load (or create, once for every node) the secret the login form's CSRF token uses."""
    redis = app[REDIS]
    await redis.set(SIGNING_KEY_NAME, new_secret(), nx=True)
    secret = await redis.get(SIGNING_KEY_NAME)
    assert secret is not None
    app[AUTH_SECRET] = secret if isinstance(secret, bytes) else secret.encode()
    yield


async def _current(request: web.Request) -> _Current:
    if _CURRENT in request:
        return request[_CURRENT]
    current = _Current(None)
    token = request.cookies.get(LOGIN_COOKIE)
    if token:
        redis = request.app[REDIS]
        login = await LoginStore(redis).resolve(token)
        if login is not None:
            user = await UserStore(redis).find(login.username)
            if user is not None:
                current = _Current(user.identity(), login.csrf)
    request[_CURRENT] = current
    return current


async def current_identity(request: web.Request) -> Identity | None:
    """The logged-in staff member making this request, or None (a viewer)."""
    return (await _current(request)).identity


async def require_identity(request: web.Request) -> Identity:
    identity = await current_identity(request)
    if identity is None:
        raise Unauthorized("log in first")
    return identity


async def require_staff(request: web.Request) -> Identity:
    """A logged-in member of staff (registered viewers have accounts too, but no staff pages)."""
    identity = await require_identity(request)
    if not identity.is_staff:
        raise Forbidden("staff only")
    return identity


async def require_role(request: web.Request, *roles: Role) -> Identity:
    """The identity, if its role is one of ``roles`` (admins always pass)."""
    identity = await require_identity(request)
    if identity.is_admin or identity.role in roles:
        return identity
    raise Forbidden("your role does not allow this")


async def require_session_permission(
    request: web.Request, session_id: str, permission: Permission
) -> Identity:
    """The identity, if it may ``permission`` the session (e.g. moderate its chat)."""
    identity = await require_identity(request)
    owner = await request.app[REDIS].hget(f"session:{session_id}", "arranger_id")
    if not await SessionStore(request.app[REDIS]).exists(session_id):
        raise Forbidden("your role does not allow this")  # no hint whether it exists
    if not identity.may(permission, session_id, text(owner) if owner else ""):
        raise Forbidden("your role does not allow this")
    return identity


async def csrf_token(request: web.Request) -> str:
    """The token to put in a form: the login's, or (logged out) the login form's."""
    current = await _current(request)
    if current.identity is not None:
        return current.csrf
    nonce = (request[_NONCE] if _NONCE in request else "") or request.cookies.get(NONCE_COOKIE, "")
    if not nonce:
        nonce = new_nonce()
        request[_NONCE] = nonce
    return anonymous_token(request.app[AUTH_SECRET], nonce)


def remember_nonce(request: web.Request, response: web.StreamResponse) -> None:
    """Set the nonce cookie if :func:`csrf_token` made a new one for this response."""
    nonce = request[_NONCE] if _NONCE in request else ""
    if nonce:
        response.set_cookie(
            NONCE_COOKIE,
            nonce,
            max_age=NONCE_COOKIE_MAX_AGE,
            httponly=True,
            samesite="Strict",
            secure=request.secure,
            path="/",
        )


def check_origin(request: web.Request) -> None:
    """Refuse a state-changing request that a browser says came from another site."""
    origin = request.headers.get("Origin")
    if (
        request.headers.get("Sec-Fetch-Site") == "cross-site"
        or origin == "null"
        or (origin and urlsplit(origin).netloc != request.host)
    ):
        raise CsrfRejected("cross-site request refused")


async def check_csrf(request: web.Request, submitted: str | None = None) -> None:
    """Refuse a state-changing request without this login's (or login form's) CSRF token.

    ``submitted`` is the form's ``csrf_token`` field; without it the ``X-CSRF-Token`` header
    is used (API calls from scripts)."""
    check_origin(request)
    if submitted is None:
        submitted = request.headers.get(CSRF_HEADER)
    current = await _current(request)
    if current.identity is not None:
        expected = current.csrf
    else:
        nonce = request.cookies.get(NONCE_COOKIE, "")
        expected = anonymous_token(request.app[AUTH_SECRET], nonce) if nonce else ""
    if not tokens_match(expected, submitted):
        raise CsrfRejected("the form has expired or did not come from this site: reload and retry")


def set_login_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=request.secure,
        path="/",
    )
    response.del_cookie(NONCE_COOKIE, path="/")


def clear_login_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(LOGIN_COOKIE, path="/")


def forget_current(request: web.Request) -> None:
    """After logging in or out within a request, read the cookie afresh next time."""
    if _CURRENT in request:
        del request[_CURRENT]
