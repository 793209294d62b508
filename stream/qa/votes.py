"""Upvotes: one per person per question, whichever node took it (a Lua script).

In one atomic step: the question must be visible, the voter is added to (or, withdrawing,
removed from) the question's voter set, and only if that changed the set is the count moved,
the question re-scored (the ranking is the score set, moved by one vote at a time) and, when
``publish`` is on, the new count appended to the session's Stream. With a
:class:`~stream.qa.tally.Tally` the counts are published per tick instead (``publish`` off).
An address (its keyed tag) adds at most ``MAX_VOTES_PER_ADDRESS_PER_QUESTION`` upvotes to one
question, so identities made by reconnecting from one address stop there (a withdrawal frees a
place).
"""

from __future__ import annotations

from dataclasses import dataclass

from stream.chat.keys import stream_key
from stream.chat.log import STREAM_MAXLEN
from stream.qa.keys import question_key, score_key, vote_addresses_key, voters_key
from stream.qa.limits import MAX_VOTES_PER_ADDRESS_PER_QUESTION
from stream.qa.protocol import QAError
from stream.store import Redis

_VOTE = """
-- KEYS: voters, question, score, stream, voter addresses.
-- ARGV: uid, 1 (up) or -1 (withdraw), maxlen, qid, address tag ('' for none), votes per address,
-- 1 to append the new count to the stream (0: the caller's tally publishes it).
local state = redis.call('HGET', KEYS[2], 'state')
if not state then return {-2} end
if state ~= 'approved' and state ~= 'answered' then return {-1} end
local changed = 0
if ARGV[2] == '1' then
  if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
    if ARGV[5] ~= '' then
      local by_address = 'a:' .. ARGV[5]
      if tonumber(redis.call('HGET', KEYS[5], by_address) or '0') >= tonumber(ARGV[6]) then
        return {-3}
      end
      redis.call('HINCRBY', KEYS[5], by_address, 1)
      redis.call('HSET', KEYS[5], 'u:' .. ARGV[1], ARGV[5])
    end
    changed = redis.call('SADD', KEYS[1], ARGV[1])
  end
else
  changed = redis.call('SREM', KEYS[1], ARGV[1])
  local tag = changed == 1 and redis.call('HGET', KEYS[5], 'u:' .. ARGV[1])
  if tag then
    redis.call('HDEL', KEYS[5], 'u:' .. ARGV[1])
    if redis.call('HINCRBY', KEYS[5], 'a:' .. tag, -1) <= 0 then
      redis.call('HDEL', KEYS[5], 'a:' .. tag)
    end
  end
end
if changed == 0 then return {0, tonumber(redis.call('HGET', KEYS[2], 'votes') or '0')} end
local votes = redis.call('HINCRBY', KEYS[2], 'votes', tonumber(ARGV[2]))
redis.call('ZADD', KEYS[3], votes, ARGV[4])
if ARGV[7] ~= '1' then return {1, votes, ''} end
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
    """``publish``: each vote appends its new count to the stream itself (the per-vote path);
    off, the caller publishes counts (a :class:`~stream.qa.tally.Tally`)."""

    def __init__(self, redis: Redis, *, publish: bool = True) -> None:
        self.redis = redis
        self.publish = publish
        self._vote = redis.register_script(_VOTE)

    async def vote(
        self,
        session_id: str,
        qid: str,
        uid: str,
        *,
        up: bool = True,
        address: str = "",
        publish: bool | None = None,
    ) -> Voted:
        """``uid`` upvotes (or withdraws) once; ``address``: the voter's address tag ('' for
        none: moderators and tools are not held to the per-address ceiling); ``publish``: this
        vote appends its new count itself (None: as set for these votes)."""
        keys = [
            voters_key(session_id, qid),
            question_key(session_id, qid),
            score_key(session_id),
            stream_key(session_id),
            vote_addresses_key(session_id, qid),
        ]
        args: list[str | int] = [
            uid, 1 if up else -1, STREAM_MAXLEN, qid, address, MAX_VOTES_PER_ADDRESS_PER_QUESTION,
            1 if (self.publish if publish is None else publish) else 0,
        ]  # fmt: skip
        result = await self._vote(keys=keys, args=args)
        status = int(result[0])
        if status == -2:
            raise QAError("no such question", "not_found")
        if status == -1:
            raise QAError("that question cannot be voted on now", "not_votable")
        if status == -3:
            raise QAError(
                "this question has all the votes it takes from your address", "address_full"
            )
        if status == 0:
            return Voted(int(result[1]), changed=False)
        return Voted(int(result[1]), changed=True, entry_id=bytes(result[2]) or None)

    async def voted(self, session_id: str, qids: list[str], uid: str) -> set[str]:
        """Which of ``qids`` ``uid`` has upvoted."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for qid in qids:
                pipe.sismember(voters_key(session_id, qid), uid)
            flags = await pipe.execute()
        return {qid for qid, flag in zip(qids, flags, strict=True) if flag}
