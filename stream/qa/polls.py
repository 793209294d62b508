"""Polls: created by moderators (also before the session), opened and closed, answered once.

Four kinds: single and multiple choice, a rating from 1 to 5 (five fixed options, one chosen)
and a word cloud (:mod:`stream.qa.wordcloud`). Creating a poll stores it as a draft that only
moderators see. Opening and closing change Redis and append an event with the live results in
one Lua call; so does an answer in a quiet session, while in a busy one the answers' results go
out once per tick (:class:`stream.qa.tally.Tally`, :meth:`Polls.publish_results`: one entry a
poll, read when published, the last one exact); an answer is stored once per person (a second
counts nothing on any node) and at most ``MAX_POLL_ANSWERS_PER_ADDRESS`` times per address.
Closing a poll puts its result on screen (the watch and phone pages, the stage) until a
moderator clears it or opens the poll again; which poll is on screen is kept in Redis.
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
    poll_hidden_key,
    poll_key,
    poll_labels_key,
    poll_screen_key,
    poll_seq_key,
    poll_words_key,
    polls_key,
)
from stream.qa.limits import MAX_POLL_ANSWERS_PER_ADDRESS, MAX_POLLS_PER_SESSION, WORD_CLOUD_TOP
from stream.qa.lua import SPLICE
from stream.qa.model import Marks, Poll, PollState
from stream.qa.protocol import PollAnswer, PollCreate, PollModerate, QAError, check_answer_status
from stream.qa.wordcloud import CLOUD, WordCloud, results_payload
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
    + CLOUD
    + """
-- KEYS: poll, counts, stream, words, labels, hidden, screen.
-- ARGV: expected v, new state, maxlen, payload, counts mark, voters mark, words mark,
--       screen mark, pid, top.
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return {-1} end
if v ~= ARGV[1] then return {0} end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'v', tonumber(v) + 1)
if ARGV[2] == 'closed' then
  redis.call('SET', KEYS[7], ARGV[9])
elseif redis.call('GET', KEYS[7]) == ARGV[9] then
  redis.call('DEL', KEYS[7])
end
local payload = results(KEYS[1], KEYS[2], ARGV[4], ARGV[5], ARGV[6])
if string.find(payload, ARGV[7], 1, true) then
  payload = splice(payload, ARGV[7], cloud(KEYS[4], KEYS[5], KEYS[6], tonumber(ARGV[10])))
end
payload = splice(payload, ARGV[8], json_id(redis.call('GET', KEYS[7])))
return {1, xadd(KEYS[3], ARGV[3], payload, '')}
"""
)

_CLEAR = (
    SPLICE
    + """
-- KEYS: screen, stream.  ARGV: pid, maxlen, payload.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0} end
redis.call('DEL', KEYS[1])
return {1, xadd(KEYS[2], ARGV[2], ARGV[3], '')}
"""
)

_ANSWER = (
    SPLICE
    + _RESULTS
    + """
-- KEYS: poll, answers, counts, stream, answers by address.
-- ARGV: uid, choices (JSON), maxlen, payload, counts mark, voters mark, address tag ('' for
--       none), answers per address, then the choices.
local admitted = admit_answer(KEYS[1], KEYS[2], KEYS[5], ARGV[1], ARGV[7], ARGV[8])
if admitted ~= 1 then return {admitted} end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
for i = 9, #ARGV do redis.call('HINCRBY', KEYS[3], ARGV[i], 1) end
redis.call('HINCRBY', KEYS[1], 'voters', 1)
if ARGV[4] == '' then return {1, ''} end
return {1, xadd(KEYS[4], ARGV[3], results(KEYS[1], KEYS[3], ARGV[4], ARGV[5], ARGV[6]), '')}
"""
)

# One ``results`` entry per poll with its results as they are now, read in the script (a
# later entry never holds less than an earlier one, whichever node wrote it).
_PUBLISH = (
    SPLICE
    + _RESULTS
    + CLOUD
    + """
-- KEYS: stream, then per poll: poll, counts, words, labels, hidden.
-- ARGV: maxlen, top, counts mark, voters mark, words mark, then per poll: the payload for
--       choices, the payload for a word cloud.
local published = 0
for p = 0, (#KEYS - 1) / 5 - 1 do
  local poll = KEYS[2 + p * 5]
  local kind = redis.call('HGET', poll, 'kind')
  if kind then
    local payload
    if kind == 'words' then
      local base = 2 + p * 5
      local words = cloud(KEYS[base + 2], KEYS[base + 3], KEYS[base + 4], tonumber(ARGV[2]))
      local voters = tostring(tonumber(redis.call('HGET', poll, 'voters') or '0'))
      payload = splice(splice(ARGV[7 + p * 2], ARGV[5], words), ARGV[4], voters)
    else
      payload = results(poll, KEYS[3 + p * 5], ARGV[6 + p * 2], ARGV[3], ARGV[4])
    end
    xadd(KEYS[1], ARGV[1], payload, '')
    published = published + 1
  end
end
return published
"""
)

NEXT_STATE = {"open": ("draft", "closed"), "close": ("open",)}


class Polls:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._create = redis.register_script(_CREATE)
        self._change = redis.register_script(_CHANGE)
        self._answer = redis.register_script(_ANSWER)
        self._clear = redis.register_script(_CLEAR)
        self._publish = redis.register_script(_PUBLISH)
        self.cloud = WordCloud(redis)

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
        if not raw:
            return None
        words = await self.cloud.top(session_id, pid) if raw.get(b"kind") == b"words" else ()
        return Poll.from_hash(raw, counts, words)

    async def on_screen(self, session_id: str) -> str | None:
        """The closed poll whose result is on screen."""
        pid: Any = await self.redis.get(poll_screen_key(session_id))
        return pid.decode() if pid else None

    async def moderate(self, session_id: str, command: PollModerate) -> bytes:
        if command.action == "clear":
            return await self.clear(session_id, command.pid)
        poll = await self.get(session_id, command.pid)
        if poll is None:
            raise QAError("no such poll", "not_found")
        if command.action == "hide":
            if poll.kind != "words" or command.word is None:
                raise QAError("only a word cloud's entries can be hidden", "bad_state")
            return await self.cloud.hide(session_id, poll.id, command.word)
        if poll.v != command.v:
            raise QAError(
                f"another moderator changed this poll just now: it is {poll.state}", "conflict"
            )
        if poll.state not in NEXT_STATE[command.action]:
            raise QAError(f"cannot {command.action} a poll that is {poll.state}", "bad_state")
        state: PollState = "open" if command.action == "open" else "closed"
        marks = Marks.fresh()
        view = replace(poll, state=state, v=poll.v + 1).view(marks)
        payload = encode(
            {"type": "poll", "action": command.action, "poll": view, "screen": marks.screen}
        )
        keys = [
            poll_key(session_id, poll.id),
            poll_counts_key(session_id, poll.id),
            stream_key(session_id),
            poll_words_key(session_id, poll.id),
            poll_labels_key(session_id, poll.id),
            poll_hidden_key(session_id, poll.id),
            poll_screen_key(session_id),
        ]
        args = [
            poll.v, state, STREAM_MAXLEN, payload, marks.counts, marks.voters, marks.words,
            marks.screen, poll.id, WORD_CLOUD_TOP,
        ]  # fmt: skip
        result = await self._change(keys=keys, args=args)
        if int(result[0]) != 1:
            raise QAError("another moderator changed this poll just now", "conflict")
        return bytes(result[1])

    async def clear(self, session_id: str, pid: str) -> bytes:
        """Take ``pid``'s result off screen, everywhere; the event's id."""
        payload = encode({"type": "poll", "action": "clear", "poll": pid, "screen": None})
        keys = [poll_screen_key(session_id), stream_key(session_id)]
        result = await self._clear(keys=keys, args=[pid, STREAM_MAXLEN, payload])
        if int(result[0]) != 1:
            raise QAError("this poll is not on screen", "not_on_screen")
        return bytes(result[1])

    async def check(self, session_id: str, command: PollAnswer) -> None:
        """Refuse an answer that cannot fit the poll (no such poll, no such option, two
        options in a single-choice or rating poll, choices for a word cloud or words for
        the others)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(poll_key(session_id, command.pid), "options")
            pipe.hget(poll_key(session_id, command.pid), "kind")
            raw, kind = await pipe.execute()
        if raw is None:
            raise QAError("no such poll", "not_found")
        if kind == b"words":
            if not command.words:
                raise QAError("a word cloud is answered with words")
            return
        if command.words:
            raise QAError("this poll is answered with choices")
        options = json.loads(raw)
        if any(choice >= len(options) for choice in command.choices):
            raise QAError("choices must be a list of option numbers")
        if kind != b"multiple" and len(command.choices) != 1:
            raise QAError("choose exactly one option", "one_choice")

    async def answer_words(
        self,
        session_id: str,
        uid: str,
        command: PollAnswer,
        *,
        address: str = "",
        publish: bool = True,
    ) -> tuple[bytes, list[str]]:
        """Record ``uid``'s entries in a word cloud (refused as :meth:`answer` refuses)."""
        await self.check(session_id, command)
        return await self.cloud.answer(session_id, uid, command, address=address, publish=publish)

    async def answer(
        self,
        session_id: str,
        uid: str,
        command: PollAnswer,
        *,
        address: str = "",
        publish: bool = True,
    ) -> bytes:
        """Record ``uid``'s answer; refused if they answered before, the poll is not open, or
        ``address`` (a tag; '' for none) has :data:`MAX_POLL_ANSWERS_PER_ADDRESS` in it.
        ``publish``: the answer appends the new results itself (the event's id); otherwise
        they go out with :meth:`publish_results` (b"")."""
        await self.check(session_id, command)
        if command.words:
            raise QAError("a word cloud's entries are recorded by answer_words")
        marks = Marks.fresh()
        payload = results_payload(command.pid, marks, "counts") if publish else b""
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
        check_answer_status(int(result[0]))
        return bytes(result[1])

    async def publish_results(self, session_id: str, pids: list[str]) -> None:
        """Append each poll's results as they are now (one entry a poll; the answers that
        did not publish their own: :class:`stream.qa.tally.Tally`)."""
        marks = Marks.fresh()
        keys = [stream_key(session_id)]
        args: list[Any] = [
            STREAM_MAXLEN, WORD_CLOUD_TOP, marks.counts, marks.voters, marks.words,
        ]  # fmt: skip
        for pid in pids:
            keys += [
                poll_key(session_id, pid),
                poll_counts_key(session_id, pid),
                poll_words_key(session_id, pid),
                poll_labels_key(session_id, pid),
                poll_hidden_key(session_id, pid),
            ]
            args += [results_payload(pid, marks, "counts"), results_payload(pid, marks)]
        await self._publish(keys=keys, args=args)

    async def answered(self, session_id: str, pids: list[str], uid: str) -> dict[str, list[Any]]:
        """``uid``'s answers to ``pids`` (option numbers; a word cloud's entry keys)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for pid in pids:
                pipe.hget(poll_answers_key(session_id, pid), uid)
            answers = await pipe.execute()
        return {pid: json.loads(a) for pid, a in zip(pids, answers, strict=True) if a}
