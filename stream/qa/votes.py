"""Upvotes: one per person per question, whichever node took it (a Lua script).

In one atomic step: the question must be visible, the voter is added to (or, withdrawing,
removed from) the question's voter set, and only if that changed the set is the count moved,
the question re-scored and the new count appended to the session's Stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from stream.chat.keys import stream_key
from stream.chat.log import STREAM_MAXLEN
from stream.qa.keys import question_key, score_key, voters_key
from stream.qa.protocol import QAError
from stream.store import Redis

_VOTE = """
-- KEYS: voters, question, score, stream.  ARGV: uid, 1 (up) or -1 (withdraw), maxlen, qid.
local state = redis.call('HGET', KEYS[2], 'state')
if not state then return {-2} end
if state ~= 'approved' and state ~= 'answered' then return {-1} end
local changed
if ARGV[2] == '1' then
  changed = redis.call('SADD', KEYS[1], ARGV[1])
else
  changed = redis.call('SREM', KEYS[1], ARGV[1])
end
if changed == 0 then return {0, tonumber(redis.call('HGET', KEYS[2], 'votes') or '0')} end
local votes = redis.call('HINCRBY', KEYS[2], 'votes', tonumber(ARGV[2]))
redis.call('ZADD', KEYS[3], votes, ARGV[4])
local payload = '{"type":"qa","action":"votes","q":"' .. ARGV[4] .. '","votes":' .. votes .. '}'
local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 'd', payload)
return {1, votes, id}
"""


@dataclass(frozen=True, slots=True)
class Voted:
    votes: int
    # False: the vote (or withdrawal) changed nothing (it was counted before).
    changed: bool
    entry_id: bytes | None = None


class Votes:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._vote = redis.register_script(_VOTE)

    async def vote(self, session_id: str, qid: str, uid: str, *, up: bool = True) -> Voted:
        keys = [
            voters_key(session_id, qid),
            question_key(session_id, qid),
            score_key(session_id),
            stream_key(session_id),
        ]
        result = await self._vote(keys=keys, args=[uid, 1 if up else -1, STREAM_MAXLEN, qid])
        status = int(result[0])
        if status == -2:
            raise QAError("no such question", "not_found")
        if status == -1:
            raise QAError("that question cannot be voted on now", "not_votable")
        if status == 0:
            return Voted(int(result[1]), changed=False)
        return Voted(int(result[1]), changed=True, entry_id=bytes(result[2]))

    async def voted(self, session_id: str, qids: list[str], uid: str) -> set[str]:
        """Which of ``qids`` ``uid`` has upvoted."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for qid in qids:
                pipe.sismember(voters_key(session_id, qid), uid)
            flags = await pipe.execute()
        return {qid for qid, flag in zip(qids, flags, strict=True) if flag}
