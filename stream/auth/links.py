"""Moderator links: a scoped grant of the same kind as a staff login.

A link carries a random token (shown once, stored hashed) that makes its holder a moderator of
one session, under the label the granter gave (what the moderation log shows), until it
expires or is revoked. The deployment-wide ``STREAM_MODERATOR_TOKEN`` (for tools and bots) is
the same grant for every session. Either resolves to an :class:`Identity` with the moderator
role for that session, so every guard treats it like a logged-in moderator.
"""

from __future__ import annotations

import hmac
import json
import time
from dataclasses import dataclass

from stream.common.grants import Identity, Role
from stream.common.hashing import MAX_KEY_LENGTH, hash_key, new_key
from stream.common.records import text
from stream.store import Redis

MAX_LABEL_LENGTH = 60
GLOBAL_LABEL = "staff"
DEFAULT_LINK_LIFETIME = 14 * 24 * 3600  # seconds: a digital week and its follow-up
MAX_LINK_LIFETIME = 365 * 24 * 3600
LINK_USERNAME_PREFIX = "link:"


def links_key(session_id: str) -> str:
    return f"session:{{{session_id}}}:moderator-links"


LINK_ID_LENGTH = 16  # hex digits of the token's hash that name a link in forms and lists


@dataclass(frozen=True, slots=True)
class ModeratorLink:
    label: str
    expires: float  # unix time


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """A stored link as the staff pages list it: never its token, only a short id."""

    id: str
    label: str
    expires: float  # unix time


def _parse(raw: bytes | str) -> ModeratorLink | None:
    try:
        record = json.loads(text(raw))
        return ModeratorLink(str(record["label"]), float(record["expires"]))
    except (ValueError, KeyError, TypeError):
        return None


def link_identity(session_id: str, label: str) -> Identity:
    return Identity(
        username=LINK_USERNAME_PREFIX + label,
        display_name=label,
        role=Role.MODERATOR,
        sessions=frozenset({session_id}),
        via_link=True,
    )


class ModeratorLinks:
    def __init__(self, redis: Redis, global_token: str | None = None) -> None:
        self.redis = redis
        self._global_hash = hash_key(global_token) if global_token else None

    async def grant(
        self, session_id: str, label: str, lifetime: float = DEFAULT_LINK_LIFETIME
    ) -> str:
        """A new link token for one session; shown once, stored hashed with ``label``."""
        label = label.strip()[:MAX_LABEL_LENGTH] or "moderator"
        lifetime = min(max(lifetime, 1.0), MAX_LINK_LIFETIME)
        token = new_key()
        record = json.dumps({"label": label, "expires": time.time() + lifetime})
        await self.redis.hset(links_key(session_id), hash_key(token), record)
        return token

    async def revoke(self, session_id: str, token: str | None = None) -> None:
        """Revoke one link (by its token), or every link of the session."""
        if token is None:
            await self.redis.delete(links_key(session_id))
        else:
            await self.redis.hdel(links_key(session_id), hash_key(token))

    async def active(self, session_id: str) -> list[LinkInfo]:
        """The session's unexpired links, soonest expiry first (expired ones are dropped)."""
        stored = await self.redis.hgetall(links_key(session_id))
        now = time.time()
        found: list[LinkInfo] = []
        stale: list[str] = []
        for raw_digest, raw in stored.items():
            digest = text(raw_digest)
            link = _parse(raw)
            if link is None or link.expires < now:
                stale.append(digest)
            else:
                found.append(LinkInfo(digest[:LINK_ID_LENGTH], link.label, link.expires))
        if stale:
            await self.redis.hdel(links_key(session_id), *stale)
        return sorted(found, key=lambda link: (link.expires, link.label))

    async def revoke_id(self, session_id: str, link_id: str) -> bool:
        """Revoke the link the lists name ``link_id``; False if there is none."""
        if len(link_id) != LINK_ID_LENGTH:
            return False
        for raw_digest in await self.redis.hkeys(links_key(session_id)):
            digest = text(raw_digest)
            if hmac.compare_digest(digest[:LINK_ID_LENGTH], link_id):
                return bool(await self.redis.hdel(links_key(session_id), digest))
        return False

    async def resolve(self, session_id: str, token: str | None) -> Identity | None:
        """The moderator identity a token grants for the session, or None."""
        if not token or len(token) > MAX_KEY_LENGTH:
            return None
        digest = hash_key(token)
        if self._global_hash is not None and hmac.compare_digest(digest, self._global_hash):
            return link_identity(session_id, GLOBAL_LABEL)
        raw = await self.redis.hget(links_key(session_id), digest)
        if raw is None:
            return None
        link = _parse(raw)
        if link is None:
            return None
        if link.expires < time.time():
            await self.redis.hdel(links_key(session_id), digest)
            return None
        return link_identity(session_id, link.label)
