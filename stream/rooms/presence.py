"""Where each live room is: every node records its live rooms in Redis, with a short TTL.

A viewer may reach any node. The node that hosts a session's room (its origin) refreshes
``room:{session}:live`` every ``PRESENCE_INTERVAL`` seconds with its public URL, its node link
(``stream.http.nodes``), the audience (its viewers and its edges') and the video codec; another
node can then serve the viewer from a mirror of the room (``stream.rooms.edge``) or send it
there (WHEP allows a 307 redirect), and pages on any node can show the live state. A node that
dies stops refreshing and its entries expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from stream.rooms.room import RoomRegistry
from stream.store import Redis, text

logger = logging.getLogger(__name__)

PRESENCE_INTERVAL = 2.0
PRESENCE_TTL = 10  # seconds: a few missed refreshes before a room counts as gone


def presence_key(session_id: str) -> str:
    return f"room:{session_id}:live"


@dataclass(frozen=True, slots=True)
class RoomPresence:
    origin: str
    viewers: int
    live_since: float
    video: str | None = None  # the codec (the watch page's HLS fallback needs H.264)
    link: str | None = None  # the origin's node link (None: records that predate it)

    @property
    def node(self) -> str:
        """Where other nodes reach the origin."""
        return self.link or self.origin


class Presence:
    def __init__(self, redis: Redis, rooms: RoomRegistry, origin: str, link: str) -> None:
        self.redis = redis
        self.rooms = rooms
        self.origin = origin
        self.link = link
        self._published: set[str] = set()

    async def refresh(self) -> None:
        live = {room.session_id: room for room in self.rooms.all() if room.live}
        async with self.redis.pipeline(transaction=False) as pipe:
            for session_id, room in live.items():
                key = presence_key(session_id)
                since = time.time() - (time.monotonic() - (room.live_since or time.monotonic()))
                pipe.hset(
                    key,
                    mapping={
                        "origin": self.origin,
                        "link": self.link,
                        "viewers": room.audience,
                        "since": f"{since:.3f}",
                        "video": room.codecs().get("video") or "",
                    },
                )
                pipe.expire(key, PRESENCE_TTL)
            for session_id in self._published - live.keys():
                pipe.delete(presence_key(session_id))
            await pipe.execute()
        self._published = set(live)

    async def run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as exc:  # Redis away for a moment: try again next round
                logger.warning("presence refresh failed: %s", exc)
            await asyncio.sleep(PRESENCE_INTERVAL)

    async def withdraw(self) -> None:
        if self._published:
            with contextlib.suppress(Exception):
                await self.redis.delete(*(presence_key(s) for s in self._published))
            self._published = set()

    async def lookup(self, session_id: str) -> RoomPresence | None:
        return await read_presence(self.redis, session_id)


async def read_presence(redis: Redis, session_id: str) -> RoomPresence | None:
    """What the session's origin node recorded (None: not live on any node)."""
    raw = await redis.hgetall(presence_key(session_id))
    if not raw:
        return None
    values = {text(k): text(v) for k, v in raw.items()}
    try:
        return RoomPresence(
            values["origin"],
            int(values["viewers"]),
            float(values["since"]),
            values.get("video") or None,
            values.get("link") or None,
        )
    except (KeyError, ValueError):
        return None
