"""Which session a stream key belongs to: RTMP clients send only the key.

Scans the sessions with the program store's public API (``all_ids`` + ``check_key``, which
also applies the key's time window). An index from key hash to session id in the program
store would replace this scan; until then it costs one Redis round trip per
:data:`LOOKUP_BATCH` sessions per publish attempt.
"""

from __future__ import annotations

import asyncio

from stream.program.sessions import SessionStore
from stream.store import Redis

LOOKUP_BATCH = 64  # check_key calls in flight at once


async def session_for_key(redis: Redis, key: str) -> str | None:
    """The id of the session whose publish key is ``key`` and valid now, or None."""
    if not key:
        return None
    store = SessionStore(redis)
    ids = await store.all_ids()
    for start in range(0, len(ids), LOOKUP_BATCH):
        batch = ids[start : start + LOOKUP_BATCH]
        matches = await asyncio.gather(*(store.check_key(session_id, key) for session_id in batch))
        for session_id, matched in zip(batch, matches, strict=True):
            if matched:
                return session_id
    return None
