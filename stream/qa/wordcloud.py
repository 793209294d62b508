"""Word clouds: a poll whose answers are a few short words, counted per normalised entry.

An answer stores the person's entries once (one answer per person, as in every poll) and adds
one to each entry's count, in one Lua call that also appends the new cloud as an event in a
quiet session (in a busy one the cloud goes out once per tick: :mod:`stream.qa.polls`). A poll
keeps at most ``MAX_DISTINCT_WORDS_PER_POLL`` distinct entries: an entry new to a full poll is
not counted (the answer keeps only what was counted, so the counts always equal the stored
answers). Viewers get the ``WORD_CLOUD_TOP`` most given entries; an entry a moderator hid is
never sent again (its count stays, for the record).
"""

from __future__ import annotations

import json
from typing import Any

from stream.chat.keys import stream_key
from stream.chat.log import STREAM_MAXLEN
from stream.chat.protocol import encode
from stream.qa.keys import (
    poll_addresses_key,
    poll_answers_key,
    poll_hidden_key,
    poll_key,
    poll_labels_key,
    poll_words_key,
)
from stream.qa.limits import (
    MAX_DISTINCT_WORDS_PER_POLL,
    MAX_POLL_ANSWERS_PER_ADDRESS,
    WORD_CLOUD_TOP,
)
from stream.qa.lua import SPLICE
from stream.qa.model import Marks, WordEntry
from stream.qa.protocol import PollAnswer, QAError, Word, check_answer_status
from stream.store import Redis

# cloud(words, labels, hidden, top): the most given entries that are not hidden, as a JSON
# array of [label, count] (cjson escapes the text; ties in a stable order).
CLOUD = """
local function cloud(words, labels, hidden, top)
  local hidden_count = redis.call('SCARD', hidden)
  local raw = redis.call('ZREVRANGE', words, 0, top + hidden_count - 1, 'WITHSCORES')
  local out = {}
  for i = 1, #raw, 2 do
    if #out >= top then break end
    if redis.call('SISMEMBER', hidden, raw[i]) == 0 then
      out[#out + 1] = {redis.call('HGET', labels, raw[i]) or raw[i], tonumber(raw[i + 1])}
    end
  end
  if #out == 0 then return '[]' end
  return cjson.encode(out)
end
"""

_READ = (
    CLOUD
    + """
-- KEYS: words, labels, hidden.  ARGV: top.
return cloud(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1]))
"""
)

_ANSWER = (
    SPLICE
    + CLOUD
    + """
-- KEYS: poll, answers, words, stream, answers by address, labels, hidden.
-- ARGV: uid, maxlen, payload, words mark, voters mark, address tag ('' for none), answers per
--       address, distinct entries per poll, top, then key and label of each entry.
local admitted = admit_answer(KEYS[1], KEYS[2], KEYS[5], ARGV[1], ARGV[6], ARGV[7])
if admitted ~= 1 then return {admitted} end
local kept = {}
for i = 10, #ARGV, 2 do
  local key = ARGV[i]
  if redis.call('ZSCORE', KEYS[3], key)
     or redis.call('ZCARD', KEYS[3]) < tonumber(ARGV[8]) then
    redis.call('ZINCRBY', KEYS[3], 1, key)
    redis.call('HSETNX', KEYS[6], key, ARGV[i + 1])
    kept[#kept + 1] = key
  end
end
local stored = '[]'
if #kept > 0 then stored = cjson.encode(kept) end
redis.call('HSET', KEYS[2], ARGV[1], stored)
local voters = redis.call('HINCRBY', KEYS[1], 'voters', 1)
if ARGV[3] == '' then return {1, '', stored} end
local payload = splice(ARGV[3], ARGV[4], cloud(KEYS[3], KEYS[6], KEYS[7], tonumber(ARGV[9])))
payload = splice(payload, ARGV[5], tostring(voters))
return {1, xadd(KEYS[4], ARGV[2], payload, ''), stored}
"""
)

_HIDE = (
    SPLICE
    + CLOUD
    + """
-- KEYS: poll, words, labels, hidden, stream.
-- ARGV: key, maxlen, payload, words mark, voters mark, top.
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return {0} end
if redis.call('SADD', KEYS[4], ARGV[1]) == 0 then return {0} end
local voters = tostring(tonumber(redis.call('HGET', KEYS[1], 'voters') or '0'))
local payload = splice(ARGV[3], ARGV[4], cloud(KEYS[2], KEYS[3], KEYS[4], tonumber(ARGV[6])))
payload = splice(payload, ARGV[5], voters)
return {1, xadd(KEYS[5], ARGV[2], payload, '')}
"""
)


def results_payload(pid: str, marks: Marks, field: str = "words") -> bytes:
    """A poll's results event, its figures left as marks the Lua script fills in: ``words``
    for a word cloud, ``counts`` for a choice or rating poll."""
    figures = marks.words if field == "words" else marks.counts
    return encode(
        {"type": "poll", "action": "results", "poll": pid, field: figures, "voters": marks.voters}
    )


class WordCloud:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._read = redis.register_script(_READ)
        self._answer = redis.register_script(_ANSWER)
        self._hide = redis.register_script(_HIDE)

    async def top(self, session_id: str, pid: str) -> tuple[tuple[str, int], ...]:
        """The entries viewers see, most given first."""
        keys = [
            poll_words_key(session_id, pid),
            poll_labels_key(session_id, pid),
            poll_hidden_key(session_id, pid),
        ]
        raw = await self._read(keys=keys, args=[WORD_CLOUD_TOP])
        return tuple((str(label), int(count)) for label, count in json.loads(raw))

    async def everything(self, session_id: str, pid: str) -> tuple[WordEntry, ...]:
        """Every stored entry (at most ``MAX_DISTINCT_WORDS_PER_POLL``) with its count and
        whether it is hidden, most given first: the record, not the view."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrevrange(poll_words_key(session_id, pid), 0, -1, withscores=True)
            pipe.hgetall(poll_labels_key(session_id, pid))
            pipe.smembers(poll_hidden_key(session_id, pid))
            ranked, labels, hidden = await pipe.execute()
        return tuple(
            WordEntry(
                (labels.get(key) or key).decode("utf-8", "replace"), int(score), key in hidden
            )
            for key, score in ranked
        )

    async def answer(
        self,
        session_id: str,
        uid: str,
        command: PollAnswer,
        *,
        address: str = "",
        publish: bool = True,
    ) -> tuple[bytes, list[str]]:
        """Record ``uid``'s entries (refused as :meth:`stream.qa.polls.Polls.answer` refuses);
        the event's id (b"" unless ``publish``: the cloud then goes out with
        :meth:`stream.qa.polls.Polls.publish_results`) and the entries counted (by their
        keys)."""
        marks = Marks.fresh()
        keys = [
            poll_key(session_id, command.pid),
            poll_answers_key(session_id, command.pid),
            poll_words_key(session_id, command.pid),
            stream_key(session_id),
            poll_addresses_key(session_id, command.pid),
            poll_labels_key(session_id, command.pid),
            poll_hidden_key(session_id, command.pid),
        ]
        args: list[Any] = [
            uid, STREAM_MAXLEN, results_payload(command.pid, marks) if publish else b"",
            marks.words, marks.voters,
            address, MAX_POLL_ANSWERS_PER_ADDRESS, MAX_DISTINCT_WORDS_PER_POLL, WORD_CLOUD_TOP,
        ]  # fmt: skip
        for word in command.words:
            args += [word.key, word.label]
        result = await self._answer(keys=keys, args=args)
        check_answer_status(int(result[0]))
        return bytes(result[1]), [str(k) for k in json.loads(result[2])]

    async def hide(self, session_id: str, pid: str, word: Word) -> bytes:
        """Leave ``word`` out of the cloud from now on; the event's id."""
        marks = Marks.fresh()
        keys = [
            poll_key(session_id, pid),
            poll_words_key(session_id, pid),
            poll_labels_key(session_id, pid),
            poll_hidden_key(session_id, pid),
            stream_key(session_id),
        ]
        args: list[Any] = [
            word.key, STREAM_MAXLEN, results_payload(pid, marks), marks.words, marks.voters,
            WORD_CLOUD_TOP,
        ]  # fmt: skip
        result = await self._hide(keys=keys, args=args)
        if int(result[0]) != 1:
            raise QAError("no such entry in the cloud", "not_found")
        return bytes(result[1])
