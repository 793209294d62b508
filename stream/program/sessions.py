"""Sessions of the programme, stored in Redis hashes (``session:{id}``) and a set of ids."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from redis.typing import EncodableT, FieldT

from stream.errors import BadRequest, NotFound
from stream.program.keys import hash_key, key_matches, new_key
from stream.store import Redis

SESSION_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_TITLE_LENGTH = 200
SESSIONS_SET = "sessions"


def validate_session_id(session_id: str) -> str:
    if not SESSION_ID_PATTERN.fullmatch(session_id):
        raise BadRequest("session id must be 1-64 lowercase letters, digits or '-'")
    return session_id


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _session_key(session_id: str) -> str:
    return f"session:{session_id}"


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    title: str
    arranger: str = ""
    description: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_session_id(self.id)
        if not self.title.strip():
            raise BadRequest("title is required")
        if len(self.title) > MAX_TITLE_LENGTH:
            raise BadRequest(f"title is longer than {MAX_TITLE_LENGTH} characters")


class SessionStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def save(self, session: Session) -> None:
        mapping: dict[FieldT, EncodableT] = {
            k: v for k, v in asdict(session).items() if k != "extra"
        }
        mapping.update(session.extra)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(_session_key(session.id), mapping=mapping)
            pipe.sadd(SESSIONS_SET, session.id)
            await pipe.execute()

    async def get(self, session_id: str) -> Session:
        raw = await self.redis.hgetall(_session_key(session_id))
        if not raw:
            raise NotFound(f"no session {session_id!r}")
        values = {_text(k): _text(v) for k, v in raw.items()}
        values.pop("key_hash", None)
        base = {name: values.pop(name, "") for name in ("id", "title", "arranger", "description")}
        return Session(extra=values, **base)

    async def exists(self, session_id: str) -> bool:
        return bool(await self.redis.exists(_session_key(session_id)))

    async def all_ids(self) -> list[str]:
        return sorted(_text(member) for member in await self.redis.smembers(SESSIONS_SET))

    async def rotate_key(self, session_id: str, key: str | None = None) -> str:
        """Give the session a new publish key (the old one stops working at once); return it."""
        if not await self.exists(session_id):
            raise NotFound(f"no session {session_id!r}")
        key = key or new_key()
        await self.redis.hset(_session_key(session_id), "key_hash", hash_key(key))
        return key

    async def check_key(self, session_id: str, key: str) -> bool:
        stored = await self.redis.hget(_session_key(session_id), "key_hash")
        return stored is not None and key_matches(key, _text(stored))
