"""Asking: a new question stored and announced in one atomic step (a Lua script).

The script refuses a retried ask (same client id: the first question's id comes back), holds
the session's cap (questions a moderator rejected do not count toward it, up to a hard ceiling
of everything stored) and each address's share of it (so one address cannot fill the session:
it alone is told), writes the question's hash, indexes it by time (and by votes once visible)
and appends its event to the session's Stream: the whole question for moderators, and for
viewers either the question (no pre-moderation) or only that one is waiting (pre-moderation).
The rates of asking are the service's (:mod:`stream.common.rates`), counted before this.
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
    asked_by_address_key,
    order_key,
    question_key,
    question_seq_key,
    score_key,
    settings_key,
    states_key,
)
from stream.qa.limits import (
    ASK_DEDUP_TTL_SECONDS,
    MAX_QUESTIONS_PER_ADDRESS,
    MAX_QUESTIONS_PER_SESSION,
    MAX_STORED_QUESTIONS_PER_SESSION,
)
from stream.qa.lua import SPLICE
from stream.qa.model import Asker, Question
from stream.qa.protocol import Ask, QAError
from stream.store import Redis

_ASK = (
    SPLICE
    + """
-- KEYS: question, order, score, stream, asked by address, dedup, settings, states.
-- ARGV: qid, ts, maxlen, address tag ('' for none), questions per address, dedup ttl,
--       max questions, visible (1/0), public payload ('' for none), moderator payload,
--       max stored, then the hash's field/value pairs.
local previous = redis.call('GET', KEYS[6])
if previous then return {0, previous} end
if ARGV[4] ~= '' and tonumber(redis.call('HGET', KEYS[5], ARGV[4]) or '0') >= tonumber(ARGV[5])
then
  return {4}
end
local stored = redis.call('ZCARD', KEYS[2])
local rejected = tonumber(redis.call('HGET', KEYS[7], 'rejected') or '0')
if stored - rejected >= tonumber(ARGV[7]) or stored >= tonumber(ARGV[11]) then return {3} end
if ARGV[4] ~= '' then redis.call('HINCRBY', KEYS[5], ARGV[4], 1) end
redis.call('HSET', KEYS[1], unpack(ARGV, 12))
move_state(KEYS[8], false, redis.call('HGET', KEYS[1], 'state'))
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
        """Store ``ask`` from ``who`` (``pos``: the stream position they were seeing, ms).
        Moderators are not held to an address's share."""
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
        address = "" if who.moderator else who.address_tag
        args: list[Any] = [
            qid, ts, STREAM_MAXLEN, address, MAX_QUESTIONS_PER_ADDRESS,
            ASK_DEDUP_TTL_SECONDS, MAX_QUESTIONS_PER_SESSION, "0" if premod else "1",
            encode(public), encode(private), MAX_STORED_QUESTIONS_PER_SESSION,
        ]  # fmt: skip
        for name, value in fields.items():
            args += [name, value]
        keys = [
            question_key(session_id, qid),
            order_key(session_id),
            score_key(session_id),
            stream_key(session_id),
            asked_by_address_key(session_id),
            ask_dedup_key(session_id, who.uid, cid),
            settings_key(session_id),
            states_key(session_id),
        ]
        result = await self._ask(keys=keys, args=args)
        status = int(result[0])
        if status == 4:
            raise QAError(
                "your address has asked as many questions as this session takes from one",
                "address_full",
            )
        if status == 3:
            raise QAError("this session takes no more questions", "full")
        if status == 0:
            return Asked(bytes(result[1]).decode(), duplicate=True)
        return Asked(qid, state=question.state)

    async def asked_before(self, session_id: str, uid: str, cid: str) -> str | None:
        """The question id a client's ask id was stored under, if it was."""
        qid: Any = await self.redis.get(ask_dedup_key(session_id, uid, cid))
        return bytes(qid).decode() if qid else None

    async def get(self, session_id: str, qid: str) -> Question | None:
        raw: Any = await self.redis.hgetall(question_key(session_id, qid))
        return Question.from_hash(raw) if raw else None
