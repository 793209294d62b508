"""The durable chat log: one Redis Stream per session, appended by a Lua script.

Each entry has ``d`` (what everyone sees) and/or ``m`` (what moderators see, when it differs):
a held message has only ``m``. The append script, in one atomic step, returns the id stored
earlier under the same client message id (so a retry is not stored twice), enforces slow mode,
adds the entries (capped at ``STREAM_MAXLEN``) and remembers the client message id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio.client import Pipeline

from stream.chat.keys import stream_key
from stream.chat.protocol import event_bytes
from stream.store import Redis

STREAM_MAXLEN = 10_000
# How long a client message id is remembered for de-duplicating retries.
DEDUP_TTL_SECONDS = 3600
EMPTY_ID = b"0-0"

_APPEND = """
-- KEYS: stream, guard, slow.  ARGV: maxlen, guard ttl (0: none), slow ms (0: none),
-- then (public, moderator) payload pairs, '' for absent.
if ARGV[2] ~= '0' then
  local previous = redis.call('GET', KEYS[2])
  if previous then return {0, previous} end
end
if ARGV[3] ~= '0' then
  if not redis.call('SET', KEYS[3], '1', 'PX', ARGV[3], 'NX') then
    return {2, redis.call('PTTL', KEYS[3])}
  end
end
local result = {1}
for i = 4, #ARGV, 2 do
  local fields = {}
  if ARGV[i] ~= '' then fields[#fields + 1] = 'd'; fields[#fields + 1] = ARGV[i] end
  if ARGV[i + 1] ~= '' then fields[#fields + 1] = 'm'; fields[#fields + 1] = ARGV[i + 1] end
  result[#result + 1] = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
end
if ARGV[2] ~= '0' then redis.call('SET', KEYS[2], result[2], 'EX', ARGV[2]) end
return result
"""


@dataclass(frozen=True, slots=True)
class Draft:
    """An entry to append: ``public`` None means moderators only; ``moderator`` None: same."""

    public: bytes | None
    moderator: bytes | None = None

    def __post_init__(self) -> None:
        if self.public is None and self.moderator is None:
            raise ValueError("an entry needs a payload")


@dataclass(frozen=True, slots=True)
class Entry:
    id: bytes
    public: bytes | None
    moderator: bytes

    @classmethod
    def from_redis(cls, entry_id: bytes, fields: dict[bytes, bytes]) -> Entry:
        public = fields.get(b"d")
        return cls(entry_id, public, fields.get(b"m") or public or b"{}")

    def event(self, moderator: bool) -> bytes | None:
        """This entry as a viewer or a moderator receives it (None: not for viewers)."""
        payload = self.moderator if moderator else self.public
        return None if payload is None else event_bytes(self.id, payload)


_DELETE_PREFIX = b'{"type":"mod","action":"delete"'


def visible_events(entries: list[Entry], moderator: bool) -> list[bytes]:
    """The events of ``entries`` that a viewer (or a moderator) receives: a viewer never gets
    a message that a later entry of ``entries`` deletes."""
    if not moderator:
        entries = _without_deleted(entries)
    events = (entry.event(moderator) for entry in entries)
    return [event for event in events if event is not None]


def _without_deleted(entries: list[Entry]) -> list[Entry]:
    targets: set[bytes] = set()
    for entry in entries:
        if entry.public is not None and entry.public.startswith(_DELETE_PREFIX):
            target = json.loads(entry.public).get("target")
            if isinstance(target, str):
                targets.add(target.encode())
    return [e for e in entries if e.id not in targets] if targets else entries


@dataclass(frozen=True, slots=True)
class Appended:
    """``ids`` of the new entries; ``duplicate``: stored before (``ids`` holds the first id);
    ``wait``: slow mode refused it, seconds until allowed."""

    ids: tuple[bytes, ...] = ()
    duplicate: bool = False
    wait: float = 0.0


def parse_id(entry_id: bytes | str) -> tuple[int, int]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def _entries(rows: Any) -> list[Entry]:
    return [Entry.from_redis(entry_id, fields) for entry_id, fields in rows]


class ChatLog:
    def __init__(self, redis: Redis, maxlen: int = STREAM_MAXLEN) -> None:
        self.redis = redis
        self.maxlen = maxlen
        self._append = redis.register_script(_APPEND)

    async def append(
        self,
        session_id: str,
        drafts: list[Draft],
        *,
        guard: str | None = None,
        slow_key: str | None = None,
        slow_seconds: float = 0.0,
        guard_ttl: int = DEDUP_TTL_SECONDS,
    ) -> Appended:
        """Append ``drafts`` atomically, unless ``guard`` was set before (a duplicate: the id
        stored then is returned) or ``slow_key`` is still cooling down."""
        stream = stream_key(session_id)
        slow_ms = int(slow_seconds * 1000) if slow_key else 0
        args: list[Any] = [self.maxlen, guard_ttl if guard else 0, slow_ms]
        for draft in drafts:
            args += [draft.public or b"", draft.moderator or b""]
        result = await self._append(keys=[stream, guard or stream, slow_key or stream], args=args)
        status = int(result[0])
        if status == 0:
            return Appended((bytes(result[1]),), duplicate=True)
        if status == 2:
            return Appended(wait=max(int(result[1]), 1) / 1000)
        return Appended(tuple(bytes(entry_id) for entry_id in result[1:]))

    def queue_append(self, pipe: Pipeline, session_id: str, draft: Draft) -> None:
        """Queue one entry on a MULTI pipeline (moderation changes state and logs at once)."""
        fields: dict[Any, Any] = {}
        if draft.public is not None:
            fields[b"d"] = draft.public
        if draft.moderator is not None:
            fields[b"m"] = draft.moderator
        pipe.xadd(stream_key(session_id), fields, maxlen=self.maxlen, approximate=True)

    async def latest(self, session_id: str, count: int) -> list[Entry]:
        rows: Any = await self.redis.xrevrange(stream_key(session_id), count=count)
        return _entries(reversed(rows))

    async def after(self, session_id: str, last_id: str, count: int) -> list[Entry]:
        """Entries after ``last_id`` (exclusive), oldest first, at most ``count``."""
        rows = await self.redis.xrange(stream_key(session_id), min=f"({last_id}", count=count)
        return _entries(rows)

    async def get(self, session_id: str, entry_id: str) -> Entry | None:
        rows = await self.redis.xrange(stream_key(session_id), min=entry_id, max=entry_id)
        entries = _entries(rows)
        return entries[0] if entries else None

    async def last_id(self, session_id: str) -> bytes:
        rows: Any = await self.redis.xrevrange(stream_key(session_id), count=1)
        return bytes(rows[0][0]) if rows else EMPTY_ID

    async def read(
        self, session_id: str, after_id: bytes, *, block_ms: int, count: int
    ) -> list[Entry]:
        """Block up to ``block_ms`` for entries after ``after_id``."""
        key = stream_key(session_id)
        reply: Any = await self.redis.xread({key: after_id}, count=count, block=block_ms)
        if not reply:
            return []
        return [entry for _, rows in reply for entry in _entries(rows)]

    async def read_streams(
        self, streams: dict[Any, Any], *, block_ms: int, count: int
    ) -> list[tuple[bytes, list[Entry]]]:
        """Block up to ``block_ms`` for entries of several streams (key → after id): the keys
        that had any, each with its entries."""
        reply: Any = await self.redis.xread(streams, count=count, block=block_ms)
        if not reply:
            return []
        return [(bytes(key), _entries(rows)) for key, rows in reply]
