"""The role hook: who may moderate a session's chat.

Staff who log in and may moderate the session are moderators without a token (see
``stream.chat.ws.staff_moderator``). Besides that, a token proves the role: the deployment-wide
``STREAM_MODERATOR_TOKEN`` (for tools and bots) or a per-session token granted with
:func:`grant_moderator_token` (stored hashed, with a label naming who holds it; the label is what
the moderation log shows). Anything implementing :class:`RoleHook` can replace this.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Protocol

from stream.chat.identity import Role
from stream.chat.keys import moderators_key
from stream.common.hashing import MAX_KEY_LENGTH, hash_key, new_key
from stream.store import Redis

MAX_LABEL_LENGTH = 60
GLOBAL_LABEL = "staff"


@dataclass(frozen=True, slots=True)
class Grant:
    role: Role
    # Who holds the credential, as the one who granted it named them.
    label: str = ""
    # A logged-in account's stable chat id (the same on every device; bans follow it).
    uid: str = ""


VIEWER = Grant("viewer")


class RoleHook(Protocol):
    async def grant(self, session_id: str, credential: str | None) -> Grant: ...


class TokenRoles:
    """Moderator by a global token (from the environment) or a per-session token in Redis."""

    def __init__(self, redis: Redis, global_token: str | None = None) -> None:
        self.redis = redis
        self._global_hash = hash_key(global_token) if global_token else None

    async def grant(self, session_id: str, credential: str | None) -> Grant:
        if not credential or len(credential) > MAX_KEY_LENGTH:
            return VIEWER
        digest = hash_key(credential)
        if self._global_hash is not None and hmac.compare_digest(digest, self._global_hash):
            return Grant("moderator", GLOBAL_LABEL)
        label = await self.redis.hget(moderators_key(session_id), digest)
        if label is None:
            return VIEWER
        text = label.decode("utf-8", "replace") if isinstance(label, bytes) else label
        return Grant("moderator", text)


async def grant_moderator_token(redis: Redis, session_id: str, label: str) -> str:
    """A new moderator token for one session; shown once, stored hashed with ``label``."""
    label = label.strip()[:MAX_LABEL_LENGTH] or "moderator"
    token = new_key()
    await redis.hset(moderators_key(session_id), hash_key(token), label)
    return token


async def revoke_moderator_tokens(redis: Redis, session_id: str) -> None:
    await redis.delete(moderators_key(session_id))
