"""Which session a stream key belongs to: RTMP clients send only the key.

The programme keeps an index from each key's hash to its session
(``SessionStore.session_for_key``); the key must also be valid now (its schedule window).
"""

from __future__ import annotations

from stream.ingest.rtmp.connection import KeyGrant
from stream.program.sessions import SessionStore
from stream.store import Redis


async def session_for_key(redis: Redis, key: str) -> KeyGrant | None:
    """The session whose publish key is ``key`` and valid now (until its window closes)."""
    store = SessionStore(redis)
    session_id = await store.session_for_key(key)
    if session_id is None or not await store.check_key(session_id, key):
        return None
    window = (await store.get(session_id)).key_window()
    return KeyGrant(session_id, window[1] if window is not None else None)
