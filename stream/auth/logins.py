"""Login sessions: a random token in an HttpOnly cookie; Redis keeps only its hash.

``login:{sha256(token)}`` holds the username and the login's CSRF token and expires after
:data:`LOGIN_IDLE_TIMEOUT` without use; ``user:{name}:logins`` lists them so a password change
or a deleted account ends every login at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from stream.common.records import decode, text, texts
from stream.store import Redis

LOGIN_TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128
LOGIN_IDLE_TIMEOUT = timedelta(hours=12)


def user_logins_key(username: str) -> str:
    return f"user:{username}:logins"


def _login_key(token: str) -> str:
    return "login:" + hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Login:
    username: str
    csrf: str


class LoginStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def create(self, username: str) -> tuple[str, Login]:
        """A new login for ``username``: the cookie's token and the login."""
        token = secrets.token_urlsafe(LOGIN_TOKEN_BYTES)
        login = Login(username=username, csrf=secrets.token_urlsafe(LOGIN_TOKEN_BYTES))
        key = _login_key(token)
        ttl = int(LOGIN_IDLE_TIMEOUT.total_seconds())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"username": username, "csrf": login.csrf})
            pipe.expire(key, ttl)
            pipe.sadd(user_logins_key(username), key)
            pipe.expire(user_logins_key(username), ttl)
            await pipe.execute()
        return token, login

    async def resolve(self, token: str) -> Login | None:
        """The login a cookie's token stands for (and its idle timer restarted), or None."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        key = _login_key(token)
        values = decode(await self.redis.hgetall(key))
        if not values.get("username"):
            return None
        await self.redis.expire(key, int(LOGIN_IDLE_TIMEOUT.total_seconds()))
        return Login(username=values["username"], csrf=values.get("csrf", ""))

    async def destroy(self, token: str) -> None:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return
        key = _login_key(token)
        username = await self.redis.hget(key, "username")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if username is not None:
                pipe.srem(user_logins_key(text(username)), key)
            await pipe.execute()

    async def count(self, username: str) -> int:
        keys = texts(await self.redis.smembers(user_logins_key(username)))
        if not keys:
            return 0
        return int(await self.redis.exists(*keys))
