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


# KEYS: the chat's deleted set, then every question's hash. Returns the deleted count, then
# (state, how many questions are in it) pairs: one round trip however many questions there are.
_COUNT = """
local by_state = {}
for i = 2, #KEYS do
  local state = redis.call('HGET', KEYS[i], 'state')
  if state then by_state[state] = (by_state[state] or 0) + 1 end
end
local out = {redis.call('SCARD', KEYS[1])}
for state, n in pairs(by_state) do
  out[#out + 1] = state
  out[#out + 1] = n
end
return out
"""


def tally(by_state: dict[str, int], removed: int, at: bytes) -> ModerationCounts:
    """The counts from how many questions are in each state (an unknown one reads as pending,
    as :func:`stream.qa.model.as_state` reads it)."""
    pending = merged = declined = 0
    for state, count in by_state.items():
        if state == "merged":
            merged += count
        elif state in HIDDEN:
            declined += count
        elif state not in VISIBLE:
            pending += count
    return ModerationCounts(pending, merged, declined, removed, at)


async def read_counts(
    redis: Redis, session_id: str, since: ModerationCounts | None = None
) -> ModerationCounts | None:
    """The session's counts, or None when the log has not moved since ``since`` was counted.

    The log's last id is read first: anything that changes after it moves the log again, and
    the next read counts afresh."""
    rows: Any = await redis.xrevrange(stream_key(session_id), count=1)
    at = bytes(rows[0][0]) if rows else b""
    if since is not None and since.at == at:
        return None
    qids: Any = await redis.zrange(order_key(session_id), 0, -1)
    keys = [deleted_key(session_id)]
    keys += [question_key(session_id, qid.decode()) for qid in qids]
    result: Any = await redis.eval(_COUNT, len(keys), *keys)
    pairs = result[1:]
    by_state = {
        bytes(pairs[i]).decode("utf-8", "replace"): int(pairs[i + 1])
        for i in range(0, len(pairs), 2)
    }
    return tally(by_state, int(result[0]), at)
