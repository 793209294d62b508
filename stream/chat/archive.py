"""The session archive: every entry of a session's chat log, kept past the Stream's cap.

The Stream holds the last ``STREAM_MAXLEN`` entries (enough for history on join and for
reconnects); the archive keeps them all, for the transcript and the replay. Each process's
reader of a session (``stream.chat.fanout``) adds what it reads; entries are stored under their
Stream id in a sorted set, so the readers of several processes add each entry once.
"""

from __future__ import annotations

import json
from typing import Any

from stream.chat.keys import archive_key
from stream.chat.log import Entry, parse_id
from stream.store import Redis

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
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def add(self, session_id: str, entries: list[Entry]) -> None:
        if not entries:
            return
        mapping: dict[Any, Any] = {_member(entry): parse_id(entry.id)[0] for entry in entries}
        await self.redis.zadd(archive_key(session_id), mapping, nx=True)

    async def entries(self, session_id: str) -> list[Entry]:
        """The whole archive, oldest first (read in pages)."""
        key = archive_key(session_id)
        out: list[Entry] = []
        start = 0
        while True:
            members: Any = await self.redis.zrange(key, start, start + ARCHIVE_PAGE - 1)
            out.extend(_entry(member) for member in members)
            if len(members) < ARCHIVE_PAGE:
                return out
            start += ARCHIVE_PAGE
