"""Credentials into identities: the login cookie or a moderator link (one grant model).

:class:`LoginAuthenticator` is what :mod:`stream.http.identity` asks; the composition root
installs it. The login cookie is set here, on a successful login, and cleared on logout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from stream.auth.links import ModeratorLinks
from stream.auth.logins import LoginStore
from stream.auth.users import UserStore
from stream.common.records import text
from stream.http.csrf import new_secret
from stream.http.identity import LOGIN_COOKIE, NONCE_COOKIE, Authenticated
from stream.http.keys import AUTH_SECRET, AUTHENTICATOR, REDIS, SETTINGS
from stream.program.sessions import SessionStore, session_key
from stream.store import Redis

SIGNING_KEY_NAME = "auth:signing-key"  # in Redis: shared by every node


class LoginAuthenticator:
    """A staff or viewer account, by the login cookie's token."""

    def __init__(self, redis: Redis, links: ModeratorLinks) -> None:
        self.redis = redis
        self.links = links
        self.logins = LoginStore(redis)
        self.users = UserStore(redis)
        self.sessions = SessionStore(redis)

    async def authenticate(self, request: web.Request) -> Authenticated | None:
        token = request.cookies.get(LOGIN_COOKIE)
        if not token:
            return await self._link(request)
        login = await self.logins.resolve(token)
        if login is None:
            return None
        user = await self.users.find(login.username)
        if user is None:
            return None
        return Authenticated(user.identity(), login.csrf)

    async def _link(self, request: web.Request) -> Authenticated | None:
        """A moderator link's token (``Authorization: Bearer``) on one of its session's routes."""
        session_id = request.match_info.get("session")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if not session_id or scheme.lower() != "bearer" or not token.strip():
            return None
        identity = await self.links.resolve(session_id, token.strip())
        return Authenticated(identity) if identity is not None else None

    async def session_owner(self, session_id: str) -> str | None:
        if not await self.sessions.exists(session_id):
            return None
        owner = await self.redis.hget(session_key(session_id), "arranger_id")
        return text(owner) if owner else ""


async def auth_context(app: web.Application) -> AsyncIterator[None]:
    """Load (or create, once for every node) the deployment's signing secret; install the
    authenticator."""
    redis = app[REDIS]
    await redis.set(SIGNING_KEY_NAME, new_secret(), nx=True)
    secret = await redis.get(SIGNING_KEY_NAME)
    assert secret is not None
    app[AUTH_SECRET] = secret if isinstance(secret, bytes) else secret.encode()
    app[AUTHENTICATOR] = LoginAuthenticator(
        redis, ModeratorLinks(redis, app[SETTINGS].moderator_token)
    )
    yield


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
