"""Asking: a new question stored and announced in one atomic step (a Lua script).

The script refuses a retried ask (same client id: the first question's id comes back), enforces
the per-person rate across every node, writes the question's hash, indexes it by time (and by
votes once visible) and appends its event to the session's Stream: the whole question for
moderators, and for viewers either the question (no pre-moderation) or only that one is
waiting (pre-moderation).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from stream.chat.identity import Identity
from stream.chat.keys import stream_key
from stream.chat.log import STREAM_MAXLEN
from stream.chat.protocol import encode
from stream.qa.keys import (
    ask_dedup_key,
    ask_rate_key,
    order_key,
    question_key,
    question_seq_key,
    score_key,
    settings_key,
)
from stream.qa.limits import (
    ASK_DEDUP_TTL_SECONDS,
    ASK_RATE_WINDOW_SECONDS,
    MAX_QUESTIONS_PER_SESSION,
    QUESTIONS_PER_MINUTE,
)
from stream.qa.lua import SPLICE
from stream.qa.model import Asker, Question
from stream.qa.protocol import Ask, QAError
from stream.store import Redis

_ASK = (
    SPLICE
    + """
-- KEYS: question, order, score, stream, rate, dedup.
-- ARGV: qid, ts, maxlen, per-minute limit, window s, dedup ttl, max questions, visible (1/0),
--       public payload ('' for none), moderator payload, then the hash's field/value pairs.
local previous = redis.call('GET', KEYS[6])
if previous then return {0, previous} end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[7]) then return {3} end
local count = redis.call('INCR', KEYS[5])
if count == 1 then redis.call('EXPIRE', KEYS[5], ARGV[5]) end
if count > tonumber(ARGV[4]) then return {2, redis.call('TTL', KEYS[5])} end
redis.call('HSET', KEYS[1], unpack(ARGV, 11))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if ARGV[8] == '1' then redis.call('ZADD', KEYS[3], 0, ARGV[1]) end
local id = xadd(KEYS[4], ARGV[3], ARGV[9], ARGV[10])
redis.call('SET', KEYS[6], ARGV[1], 'EX', ARGV[6])
return {1, ARGV[1], id}
"""
)


@dataclass(frozen=True, slots=True)
class Asked:
    qid: str
    duplicate: bool = False
    state: str = "pending"


async def premoderated(redis: Redis, session_id: str) -> bool:
    """Whether new questions wait for a moderator (the default: yes)."""
    value = await redis.hget(settings_key(session_id), "premod")
    return value != b"0"


class Questions:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._ask = redis.register_script(_ASK)

    async def ask(
        self, session_id: str, who: Identity, ask: Ask, cid: str, pos: int | None
    ) -> Asked:
        """Store ``ask`` from ``who`` (``pos``: the stream position they were seeing, ms)."""
        premod = await premoderated(self.redis, session_id) and not who.moderator
        number = await self.redis.incr(question_seq_key(session_id))
        qid = f"q{number}"
        ts = int(time.time() * 1000)
        question = Question(
            id=qid,
            text=ask.text,
            uid=who.uid,
            name=who.name,
            anon=ask.anon,
            source=ask.source,
            state="pending" if premod else "approved",
            ts=ts,
            pos=pos,
            askers=(Asker(who.uid, who.name),),
        )
        fields: dict[str, Any] = {
            "id": qid,
            "text": question.text,
            "uid": who.uid,
            "name": who.name,
            "ah": who.address_tag,
            "anon": "1" if ask.anon else "0",
            "source": ask.source,
            "state": question.state,
            "votes": 0,
            "v": 1,
            "ts": ts,
            "pos": "" if pos is None else pos,
            "askers": json.dumps([{"uid": who.uid, "name": who.name}]),
        }
        public = {"type": "qa", "action": "ask", "q": question.public()}
        private = {"type": "qa", "action": "ask", "q": question.moderator()}
        args: list[Any] = [
            qid, ts, STREAM_MAXLEN, QUESTIONS_PER_MINUTE, ASK_RATE_WINDOW_SECONDS,
            ASK_DEDUP_TTL_SECONDS, MAX_QUESTIONS_PER_SESSION, "0" if premod else "1",
            encode(public), encode(private),
        ]  # fmt: skip
        for name, value in fields.items():
            args += [name, value]
        keys = [
            question_key(session_id, qid),
            order_key(session_id),
            score_key(session_id),
            stream_key(session_id),
            ask_rate_key(session_id, who.uid),
            ask_dedup_key(session_id, who.uid, cid),
        ]
        result = await self._ask(keys=keys, args=args)
        status = int(result[0])
        if status == 2:
            raise QAError(f"at most {QUESTIONS_PER_MINUTE} questions a minute", "rate_limited")
        if status == 3:
            raise QAError("this session takes no more questions", "full")
        if status == 0:
            return Asked(bytes(result[1]).decode(), duplicate=True)
        return Asked(qid, state=question.state)

    async def get(self, session_id: str, qid: str) -> Question | None:
        raw: Any = await self.redis.hgetall(question_key(session_id, qid))
        return Question.from_hash(raw) if raw else None
