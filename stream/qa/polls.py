"""Polls: created by moderators (also before the session), opened and closed, answered once.

Creating a poll stores it as a draft that only moderators see. Opening, closing and every
answer change Redis and append an event with the live results in one Lua call; answering uses
HSETNX on the poll's answers hash, so a person's second answer counts nothing on any node.
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
    poll_answers_key,
    poll_counts_key,
    poll_key,
    poll_seq_key,
    polls_key,
)
from stream.qa.limits import MAX_POLLS_PER_SESSION
from stream.qa.lua import SPLICE
from stream.qa.model import Poll, PollState
from stream.qa.protocol import PollAnswer, PollCreate, PollModerate, QAError
from stream.store import Redis

# Builds the results array and fills the marks of a poll payload.
_RESULTS = """
local function results(poll, counts, payload)
  local n = tonumber(redis.call('HGET', poll, 'n') or '0')
  local parts = {}
  for i = 0, n - 1 do
    parts[#parts + 1] = tostring(tonumber(redis.call('HGET', counts, tostring(i)) or '0'))
  end
  local voters = tostring(tonumber(redis.call('HGET', poll, 'voters') or '0'))
  return splice(splice(payload, '@counts@', '[' .. table.concat(parts, ',') .. ']'),
                '@voters@', voters)
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
-- KEYS: poll, counts, stream.  ARGV: expected v, new state, maxlen, payload.
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return {-1} end
if v ~= ARGV[1] then return {0} end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'v', tonumber(v) + 1)
return {1, xadd(KEYS[3], ARGV[3], results(KEYS[1], KEYS[2], ARGV[4]), '')}
"""
)

_ANSWER = (
    SPLICE
    + _RESULTS
    + """
-- KEYS: poll, answers, counts, stream.  ARGV: uid, choices (JSON), maxlen, payload, choices...
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {-1} end
if state ~= 'open' then return {-2} end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return {0} end
for i = 5, #ARGV do redis.call('HINCRBY', KEYS[3], ARGV[i], 1) end
redis.call('HINCRBY', KEYS[1], 'voters', 1)
return {1, xadd(KEYS[4], ARGV[3], results(KEYS[1], KEYS[3], ARGV[4]), '')}
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
        view = replace(poll, state=state, v=poll.v + 1).view(live=True)
        payload = encode({"type": "poll", "action": command.action, "poll": view})
        keys = [
            poll_key(session_id, poll.id),
            poll_counts_key(session_id, poll.id),
            stream_key(session_id),
        ]
        result = await self._change(keys=keys, args=[poll.v, state, STREAM_MAXLEN, payload])
        if int(result[0]) != 1:
            raise QAError("another moderator changed this poll just now", "conflict")
        return bytes(result[1])

    async def answer(self, session_id: str, uid: str, command: PollAnswer) -> bytes:
        """Record ``uid``'s answer; refused if they answered before or the poll is not open."""
        raw = await self.redis.hget(poll_key(session_id, command.pid), "options")
        if raw is None:
            raise QAError("no such poll", "not_found")
        options = json.loads(raw)
        kind = await self.redis.hget(poll_key(session_id, command.pid), "kind")
        if any(choice >= len(options) for choice in command.choices):
            raise QAError("choices must be a list of option numbers")
        if kind != b"multiple" and len(command.choices) != 1:
            raise QAError("choose exactly one option", "one_choice")
        payload = encode(
            {
                "type": "poll",
                "action": "results",
                "poll": command.pid,
                "counts": "@counts@",
                "voters": "@voters@",
            }
        )
        keys = [
            poll_key(session_id, command.pid),
            poll_answers_key(session_id, command.pid),
            poll_counts_key(session_id, command.pid),
            stream_key(session_id),
        ]
        choices = json.dumps(list(command.choices))
        result = await self._answer(
            keys=keys, args=[uid, choices, STREAM_MAXLEN, payload, *command.choices]
        )
        status = int(result[0])
        if status == -1:
            raise QAError("no such poll", "not_found")
        if status == -2:
            raise QAError("this poll is not open", "poll_closed")
        if status == 0:
            raise QAError("you have answered this poll already", "answered")
        return bytes(result[1])

    async def answered(self, session_id: str, pids: list[str], uid: str) -> dict[str, list[int]]:
        """``uid``'s answers to ``pids``."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for pid in pids:
                pipe.hget(poll_answers_key(session_id, pid), uid)
            answers = await pipe.execute()
        return {pid: json.loads(a) for pid, a in zip(pids, answers, strict=True) if a}
