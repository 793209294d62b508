"""Who is asking, and may they? The request-side half of the grant model.

Every capability asks here: ``current_identity(request)`` (once per request, cached),
``require_identity`` / ``require_role`` / ``require_session_permission`` (401 when nobody is
logged in, 403 when the grant does not cover it), and ``check_csrf`` for every state-changing
form or API call. How a credential becomes an identity (the login cookie, a moderator link) is
the business of :mod:`stream.auth`, which the composition root installs as the app's
:class:`Authenticator`; nothing here knows how grants are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from aiohttp import web

from stream.common.errors import Forbidden, Unauthorized
from stream.common.grants import Identity, Permission, Role
from stream.http.csrf import anonymous_token, new_nonce, tokens_match
from stream.http.keys import AUTH_SECRET, AUTHENTICATOR

LOGIN_COOKIE = "stream_login"
NONCE_COOKIE = "stream_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
NONCE_COOKIE_MAX_AGE = 2 * 3600


class CsrfRejected(Forbidden):
    """A state-changing request without the right CSRF token, or from another site."""


@dataclass(frozen=True, slots=True)
class Authenticated:
    """What a credential proves: who, and the CSRF token bound to this login."""

    identity: Identity
    csrf: str = ""


class Authenticator(Protocol):
    """Turns a request's credentials into an identity (installed by :mod:`stream.auth`)."""

    async def authenticate(self, request: web.Request) -> Authenticated | None: ...

    async def session_owner(self, session_id: str) -> str | None:
        """The arranger id owning the session ("" for none), or None if there is no session."""


@dataclass(frozen=True, slots=True)
class _Current:
    authenticated: Authenticated | None


_CURRENT = web.RequestKey("stream_identity_current", _Current)
_NONCE = web.RequestKey("stream_identity_nonce", str)


async def _current(request: web.Request) -> _Current:
    if _CURRENT in request:
        return request[_CURRENT]
    current = _Current(await request.app[AUTHENTICATOR].authenticate(request))
    request[_CURRENT] = current
    return current


def forget_current(request: web.Request) -> None:
    """After logging in or out within a request, read the credentials afresh next time."""
    if _CURRENT in request:
        del request[_CURRENT]


async def current_identity(request: web.Request) -> Identity | None:
    """The logged-in (or link-granted) identity making this request, or None (a viewer)."""
    authenticated = (await _current(request)).authenticated
    return authenticated.identity if authenticated else None


async def require_identity(request: web.Request) -> Identity:
    identity = await current_identity(request)
    if identity is None:
        raise Unauthorized("log in first")
    return identity


async def require_staff(request: web.Request) -> Identity:
    """A member of staff (registered viewers have accounts too, but no staff pages)."""
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


async def may_on_session(request: web.Request, session_id: str, permission: Permission) -> bool:
    """Does the current identity hold ``permission`` on the session? (False when logged out.)"""
    identity = await current_identity(request)
    if identity is None:
        return False
    owner = await request.app[AUTHENTICATOR].session_owner(session_id)
    return owner is not None and identity.may(permission, session_id, owner)


async def require_session_permission(
    request: web.Request, session_id: str, permission: Permission
) -> Identity:
    """The identity, if it may ``permission`` the session (e.g. moderate its chat)."""
    identity = await require_identity(request)
    if not await may_on_session(request, session_id, permission):
        raise Forbidden("your role does not allow this")  # no hint whether the session exists
    return identity


async def csrf_token(request: web.Request) -> str:
    """The token to put in a form: the login's, or (logged out) the login form's."""
    current = await _current(request)
    if current.authenticated is not None and current.authenticated.csrf:
        return current.authenticated.csrf
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
    if current.authenticated is not None and current.authenticated.csrf:
        expected = current.authenticated.csrf
    else:
        nonce = request.cookies.get(NONCE_COOKIE, "")
        expected = anonymous_token(request.app[AUTH_SECRET], nonce) if nonce else ""
    if not tokens_match(expected, submitted):
        raise CsrfRejected("the form has expired or did not come from this site: reload and retry")
