"""Polls: created by moderators (also before the session), opened and closed, answered once.

Creating a poll stores it as a draft that only moderators see. Opening, closing and every
answer change Redis and append an event with the live results in one Lua call; an answer is
stored once per person (a second counts nothing on any node) and at most
``MAX_POLL_ANSWERS_PER_ADDRESS`` times per address.
Results stay with the session.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

from stream.chat.keys import stream_key
from stream.chat.log import STREAM_MAXLEN
from stream.chat.protocol import encode
from stream.qa.keys import (
    poll_addresses_key,
    poll_answers_key,
    poll_counts_key,
    poll_key,
    poll_seq_key,
    polls_key,
)
from stream.qa.limits import MAX_POLL_ANSWERS_PER_ADDRESS, MAX_POLLS_PER_SESSION
from stream.qa.lua import SPLICE
from stream.qa.model import Marks, Poll, PollState
from stream.qa.protocol import PollAnswer, PollCreate, PollModerate, QAError
from stream.store import Redis

# Builds the results array and fills the marks of a poll payload (the marks come with it).
_RESULTS = """
local function results(poll, counts, payload, counts_mark, voters_mark)
  local n = tonumber(redis.call('HGET', poll, 'n') or '0')
  local parts = {}
  for i = 0, n - 1 do
    parts[#parts + 1] = tostring(tonumber(redis.call('HGET', counts, tostring(i)) or '0'))
  end
  local voters = tostring(tonumber(redis.call('HGET', poll, 'voters') or '0'))
  return splice(splice(payload, counts_mark, '[' .. table.concat(parts, ',') .. ']'),
                voters_mark, voters)
end
"""

_CREATE = (
    SPLICE
    + """
-- KEYS: poll, polls, stream.  ARGV: pid, created, maxlen, max polls, moderator payload, fields.
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return {0} end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return {1, xadd(KEYS[3], ARGV[3], '', ARGV[5])}
"""
)

_CHANGE = (
    SPLICE
    + _RESULTS
    + """
-- KEYS: poll, counts, stream.
-- ARGV: expected v, new state, maxlen, payload, counts mark, voters mark.
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return {-1} end
if v ~= ARGV[1] then return {0} end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'v', tonumber(v) + 1)
return {1, xadd(KEYS[3], ARGV[3], results(KEYS[1], KEYS[2], ARGV[4], ARGV[5], ARGV[6]), '')}
"""
)

_ANSWER = (
    SPLICE
    + _RESULTS
    + """
-- KEYS: poll, answers, counts, stream, answers by address.
-- ARGV: uid, choices (JSON), maxlen, payload, counts mark, voters mark, address tag ('' for
--       none), answers per address, then the choices.
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {-1} end
if state ~= 'open' then return {-2} end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return {0} end
if ARGV[7] ~= '' then
  if tonumber(redis.call('HGET', KEYS[5], ARGV[7]) or '0') >= tonumber(ARGV[8]) then
    return {-3}
  end
  redis.call('HINCRBY', KEYS[5], ARGV[7], 1)
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
for i = 9, #ARGV do redis.call('HINCRBY', KEYS[3], ARGV[i], 1) end
redis.call('HINCRBY', KEYS[1], 'voters', 1)
return {1, xadd(KEYS[4], ARGV[3], results(KEYS[1], KEYS[3], ARGV[4], ARGV[5], ARGV[6]), '')}
"""
)

NEXT_STATE = {"open": ("draft", "closed"), "close": ("open",)}


class Polls:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._create = redis.register_script(_CREATE)
        self._change = redis.register_script(_CHANGE)
        self._answer = redis.register_script(_ANSWER)

    async def create(self, session_id: str, command: PollCreate) -> tuple[str, bytes]:
        number = await self.redis.incr(poll_seq_key(session_id))
        pid = f"p{number}"
        created = int(time.time() * 1000)
        poll = Poll(pid, command.question, command.kind, command.options, created=created)
        poll = replace(poll, counts=(0,) * len(command.options))
        fields: dict[str, Any] = {
            "id": pid,
            "question": poll.question,
            "kind": poll.kind,
            "options": json.dumps(list(poll.options)),
            "n": len(poll.options),
            "state": "draft",
            "v": 1,
            "created": created,
            "voters": 0,
        }
        payload = encode({"type": "poll", "action": "create", "poll": poll.view()})
        args: list[Any] = [pid, created, STREAM_MAXLEN, MAX_POLLS_PER_SESSION, payload]
        for name, value in fields.items():
            args += [name, value]
        keys = [poll_key(session_id, pid), polls_key(session_id), stream_key(session_id)]
        result = await self._create(keys=keys, args=args)
        if int(result[0]) == 0:
            raise QAError(f"at most {MAX_POLLS_PER_SESSION} polls a session", "full")
        return pid, bytes(result[1])

    async def get(self, session_id: str, pid: str) -> Poll | None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(poll_key(session_id, pid))
            pipe.hgetall(poll_counts_key(session_id, pid))
            raw, counts = await pipe.execute()
        return Poll.from_hash(raw, counts) if raw else None

    async def moderate(self, session_id: str, command: PollModerate) -> bytes:
        poll = await self.get(session_id, command.pid)
        if poll is None:
            raise QAError("no such poll", "not_found")
        if poll.v != command.v:
            raise QAError(
                f"another moderator changed this poll just now: it is {poll.state}", "conflict"
            )
        if poll.state not in NEXT_STATE[command.action]:
            raise QAError(f"cannot {command.action} a poll that is {poll.state}", "bad_state")
        state: PollState = "open" if command.action == "open" else "closed"
        marks = Marks.fresh()
        view = replace(poll, state=state, v=poll.v + 1).view(marks)
        payload = encode({"type": "poll", "action": command.action, "poll": view})
        keys = [
            poll_key(session_id, poll.id),
            poll_counts_key(session_id, poll.id),
            stream_key(session_id),
        ]
        args = [poll.v, state, STREAM_MAXLEN, payload, marks.counts, marks.voters]
        result = await self._change(keys=keys, args=args)
        if int(result[0]) != 1:
            raise QAError("another moderator changed this poll just now", "conflict")
        return bytes(result[1])

    async def check(self, session_id: str, command: PollAnswer) -> None:
        """Refuse an answer that cannot fit the poll (no such poll, no such option, two
        options in a single-choice poll)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(poll_key(session_id, command.pid), "options")
            pipe.hget(poll_key(session_id, command.pid), "kind")
            raw, kind = await pipe.execute()
        if raw is None:
            raise QAError("no such poll", "not_found")
        options = json.loads(raw)
        if any(choice >= len(options) for choice in command.choices):
            raise QAError("choices must be a list of option numbers")
        if kind != b"multiple" and len(command.choices) != 1:
            raise QAError("choose exactly one option", "one_choice")

    async def answer(
        self, session_id: str, uid: str, command: PollAnswer, *, address: str = ""
    ) -> bytes:
        """Record ``uid``'s answer; refused if they answered before, the poll is not open, or
        ``address`` (a tag; '' for none) has :data:`MAX_POLL_ANSWERS_PER_ADDRESS` in it."""
        await self.check(session_id, command)
        marks = Marks.fresh()
        payload = encode(
            {
                "type": "poll",
                "action": "results",
                "poll": command.pid,
                "counts": marks.counts,
                "voters": marks.voters,
            }
        )
        keys = [
            poll_key(session_id, command.pid),
            poll_answers_key(session_id, command.pid),
            poll_counts_key(session_id, command.pid),
            stream_key(session_id),
            poll_addresses_key(session_id, command.pid),
        ]
        choices = json.dumps(list(command.choices))
        args: list[Any] = [
            uid, choices, STREAM_MAXLEN, payload, marks.counts, marks.voters, address,
            MAX_POLL_ANSWERS_PER_ADDRESS, *command.choices,
        ]  # fmt: skip
        result = await self._answer(keys=keys, args=args)
        status = int(result[0])
        if status == -1:
            raise QAError("no such poll", "not_found")
        if status == -2:
            raise QAError("this poll is not open", "poll_closed")
        if status == 0:
            raise QAError("you have answered this poll already", "answered")
        if status == -3:
            raise QAError(
                "this poll has all the answers it takes from your address", "address_full"
            )
        return bytes(result[1])

    async def answered(self, session_id: str, pids: list[str], uid: str) -> dict[str, list[int]]:
        """``uid``'s answers to ``pids``."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for pid in pids:
                pipe.hget(poll_answers_key(session_id, pid), uid)
            answers = await pipe.execute()
        return {pid: json.loads(a) for pid, a in zip(pids, answers, strict=True) if a}
