"""Login rate limit: failed attempts counted per client address and per account in Redis
(shared by every node), each in a fixed window. Past the limit, logins wait for the window."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from stream.store import Redis

LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ADDRESS = 20
MAX_FAILURES_PER_ACCOUNT = 10


def _address_key(address: str) -> str:
    return "ratelimit:login:addr:" + hashlib.sha256(address.encode()).hexdigest()[:32]


def _account_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return "ratelimit:login:user:" + digest


class LoginLimiter:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def retry_after(self, address: str, username: str) -> int | None:
        """Seconds until a login from ``address`` for ``username`` may be tried, or None."""
        keys = (_address_key(address), _account_key(username))
        limits = (MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_ACCOUNT)
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(key)
                pipe.ttl(key)
            raw = await pipe.execute()
        waits = []
        for index, limit in enumerate(limits):
            count, ttl = raw[2 * index], raw[2 * index + 1]
            if count is not None and int(count) >= limit:
                waits.append(max(int(ttl), 1))
        return max(waits) if waits else None

    async def failed(self, address: str, username: str) -> None:
        window = int(LOGIN_WINDOW.total_seconds())
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in (_address_key(address), _account_key(username)):
                pipe.incr(key)
                pipe.expire(key, window, nx=True)
            await pipe.execute()

    async def succeeded(self, username: str) -> None:
        await self.redis.delete(_account_key(username))
