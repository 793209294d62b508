"""How moderation went, in counts the audience may see: questions waiting for approval, merged,
declined (rejected or dismissed), and chat messages removed. Never a text, never an author.

The counts are read from what Redis holds, so they are exact after a restart and on every node
alike: how many questions are in each state is a hash (:func:`stream.qa.keys.states_key`) the
scripts that ask or change a question move in the same call, and the removed chat messages are
the chat's set of deleted messages; reading them is two commands however many questions there
are. A session's hash is counted once from the questions themselves when it is first read
without its ``~counted`` mark (a session from before the hash). Every change to the counts is
also an entry in the session's log, so a reader that remembers the log's last id skips the
read while nothing happened (the chat's audience watcher asks at most once a second).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stream.chat.keys import deleted_key, stream_key
from stream.qa.keys import order_key, question_key, states_key
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


COUNTED = b"~counted"
RECOUNT_TRIES = 3

# KEYS: the states hash, the order, then every question's hash. Counts the states from the
# questions themselves unless that was done; 0 when a question was asked since the order was
# read (read it again), else 1.
_RECOUNT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('ZCARD', KEYS[2]) ~= #KEYS - 2 then return 0 end
redis.call('DEL', KEYS[1])
for i = 3, #KEYS do
  local state = redis.call('HGET', KEYS[i], 'state')
  if state then redis.call('HINCRBY', KEYS[1], state, 1) end
end
redis.call('HSET', KEYS[1], ARGV[1], 1)
return 1
"""


def tally(by_state: dict[str, int], removed: int, at: bytes) -> ModerationCounts:
    """The counts from how many questions are in each state (an unknown one reads as pending,
    as :func:`stream.qa.model.as_state` reads it)."""
    pending = merged = declined = 0
    for state, count in by_state.items():
        count = max(count, 0)
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
    the next read reads afresh."""
    rows: Any = await redis.xrevrange(stream_key(session_id), count=1)
    at = bytes(rows[0][0]) if rows else b""
    if since is not None and since.at == at:
        return None
    for _ in range(RECOUNT_TRIES + 1):
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(states_key(session_id))
            pipe.scard(deleted_key(session_id))
            raw, removed = await pipe.execute()
        if COUNTED in raw:
            break
        await recount(redis, session_id)
    by_state = {
        bytes(state).decode("utf-8", "replace"): int(n)
        for state, n in raw.items()
        if state != COUNTED
    }
    return tally(by_state, int(removed), at)


async def recount(redis: Redis, session_id: str) -> None:
    """Count the session's questions in each state from the questions themselves, once."""
    for _ in range(RECOUNT_TRIES):
        qids: Any = await redis.zrange(order_key(session_id), 0, -1)
        keys = [states_key(session_id), order_key(session_id)]
        keys += [question_key(session_id, qid.decode()) for qid in qids]
        if await redis.eval(_RECOUNT, len(keys), *keys, COUNTED):
            return
