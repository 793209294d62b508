"""How moderation went, in counts the audience may see: questions waiting for approval, merged,
declined (rejected or dismissed), and chat messages removed. Never a text, never an author.

The counts are read from what Redis holds (each question's state, the chat's set of deleted
messages), so they are exact after a restart and on every node alike. Every change to them is
also an entry in the session's log, so a reader that remembers the log's last id skips the
count while nothing happened (the chat's audience watcher asks at most once a second).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stream.chat.keys import deleted_key, stream_key
from stream.qa.keys import order_key, question_key
from stream.qa.model import HIDDEN, VISIBLE
from stream.store import Redis


@dataclass(frozen=True, slots=True)
class ModerationCounts:
    pending: int = 0
    merged: int = 0
    declined: int = 0
    removed: int = 0
    at: bytes = b""  # the log's last id when counted

    def __post_init__(self) -> None:
        if min(self.pending, self.merged, self.declined, self.removed) < 0:
            raise ValueError("counts must not be negative")

    def frame(self) -> dict[str, Any]:
        return {
            "type": "moderation",
            "pending": self.pending,
            "merged": self.merged,
            "declined": self.declined,
            "removed": self.removed,
        }


def tally(states: list[bytes | None], removed: int, at: bytes) -> ModerationCounts:
    """The counts of questions in ``states`` (None: a question no longer stored)."""
    pending = merged = declined = 0
    for raw in states:
        if raw is None:
            continue
        state = raw.decode("utf-8", "replace")
        if state == "merged":
            merged += 1
        elif state in HIDDEN:
            declined += 1
        elif state not in VISIBLE:
            pending += 1
    return ModerationCounts(pending, merged, declined, removed, at)


async def read_counts(
    redis: Redis, session_id: str, since: ModerationCounts | None = None
) -> ModerationCounts | None:
    """The session's counts, or None when the log has not moved since ``since`` was counted."""
    rows: Any = await redis.xrevrange(stream_key(session_id), count=1)
    at = bytes(rows[0][0]) if rows else b""
    if since is not None and since.at == at:
        return None
    raw: Any = await redis.zrange(order_key(session_id), 0, -1)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.scard(deleted_key(session_id))
        for qid in raw:
            pipe.hget(question_key(session_id, qid.decode()), "state")
        results = await pipe.execute()
    return tally(list(results[1:]), int(results[0]), at)
