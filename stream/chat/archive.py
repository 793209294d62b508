"""The session archive: every entry of a session's chat log, kept past the Stream's cap.

The Stream holds the last ``STREAM_MAXLEN`` entries (enough for history on join and for
reconnects); the archive keeps the last ``MAX_ARCHIVE_ENTRIES``, for the transcript and the
replay, and is read a page at a time after a cursor (never whole). Each process's reader of a
session (``stream.chat.fanout``) adds what it reads; entries are stored under their Stream id in
a sorted set, so the readers of several processes add each entry once.
"""

from __future__ import annotations

import json
from typing import Any

from stream.chat.keys import archive_key
from stream.chat.log import Entry, parse_id
from stream.store import Redis

# Entries kept per session (the oldest go first), and the most one read returns.
MAX_ARCHIVE_ENTRIES = 50_000
ARCHIVE_PAGE = 1_000


def _member(entry: Entry) -> bytes:
    ms, seq = parse_id(entry.id)
    record = {
        "id": entry.id.decode(),
        "d": entry.public.decode() if entry.public is not None else None,
        "m": entry.moderator.decode(),
    }
    # Same-millisecond entries sort by their zero-padded sequence number.
    return f"{ms:013d}-{seq:010d} ".encode() + json.dumps(record).encode()


def _entry(member: bytes) -> Entry:
    record = json.loads(member.split(b" ", 1)[1])
    public = record["d"].encode() if record["d"] is not None else None
    return Entry(record["id"].encode(), public, record["m"].encode())


class ChatArchive:
    def __init__(self, redis: Redis, max_entries: int = MAX_ARCHIVE_ENTRIES) -> None:
        self.redis = redis
        self.max_entries = max_entries

    async def add(self, session_id: str, entries: list[Entry]) -> None:
        if not entries:
            return
        key = archive_key(session_id)
        mapping: dict[Any, Any] = {_member(entry): parse_id(entry.id)[0] for entry in entries}
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, mapping, nx=True)
            pipe.zremrangebyrank(key, 0, -self.max_entries - 1)
            await pipe.execute()

    async def page(self, session_id: str, after: bytes | None, count: int) -> list[Entry]:
        """At most ``count`` entries after id ``after`` (from the start: None), oldest first."""
        count = max(1, min(count, ARCHIVE_PAGE))
        key = archive_key(session_id)
        if after is None:
            members: Any = await self.redis.zrange(key, 0, count - 1)
            return [_entry(member) for member in members]
        cursor = parse_id(after)
        # Entries of the cursor's own millisecond first (few), then the later ones.
        same: Any = await self.redis.zrangebyscore(key, cursor[0], cursor[0])
        entries = [e for e in map(_entry, same) if parse_id(e.id) > cursor][:count]
        if len(entries) < count:
            later: Any = await self.redis.zrangebyscore(
                key, f"({cursor[0]}", "+inf", start=0, num=count - len(entries)
            )
            entries.extend(_entry(member) for member in later)
        return entries

    async def size(self, session_id: str) -> int:
        return int(await self.redis.zcard(archive_key(session_id)))
