"""The moderators' Q&A queue: approve, reject, edit, merge, answer, dismiss, reopen, put on
stage, answer privately; and the session's pre-moderation switch.

Every question carries a revision ``v``. A moderator's action names the revision they saw; the
script applies it only if the question is still at that revision (votes do not change it), so
two moderators never both handle one question: the second is refused with what happened.
State, scores, the stage and the event appended to the Stream change in one Lua call.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from stream.chat.keys import stream_key
from stream.chat.log import STREAM_MAXLEN
from stream.chat.protocol import encode
from stream.qa.keys import (
    question_key,
    score_key,
    settings_key,
    stage_key,
    states_key,
    voters_key,
)
from stream.qa.lua import SPLICE
from stream.qa.model import VISIBLE, Marks, Question, as_state
from stream.qa.protocol import QAError, QAModerate
from stream.qa.questions import Questions
from stream.store import Redis

logger = logging.getLogger(__name__)

# Which states each action may start from, and the state it leaves (None: unchanged).
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "approve": (frozenset({"pending"}), "approved"),
    "reject": (frozenset({"pending"}), "rejected"),
    "edit": (frozenset({"pending", "approved", "answered"}), None),
    "answer": (frozenset({"approved"}), "answered"),
    "dismiss": (frozenset({"pending", "approved", "answered"}), "dismissed"),
    "reopen": (frozenset({"answered", "dismissed", "rejected"}), "approved"),
    "stage": (frozenset({"approved", "answered"}), None),
    "reply": (frozenset({"pending", "approved", "answered", "dismissed"}), None),
}
MERGE_SOURCES = frozenset({"pending", "approved", "answered", "rejected", "dismissed"})
MERGE_TARGETS = frozenset({"pending", "approved", "answered"})
# Leaving the stage: a question that is answered, hidden or merged is taken off it.
LEAVES_STAGE = frozenset({"answer", "reject", "dismiss"})

_CHANGE = (
    SPLICE
    + """
-- KEYS: question, score, stage, stream, settings, states.
-- ARGV: expected v, maxlen, score op (add/rem/-), stage op (set/clear_if/-), qid,
--       public payload, moderator payload, votes mark, stage mark, rejected (+1/-1/0),
--       then the hash's field/value pairs.
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return {-1} end
if v ~= ARGV[1] then return {0} end
local before = redis.call('HGET', KEYS[1], 'state')
redis.call('HSET', KEYS[1], unpack(ARGV, 11))
move_state(KEYS[6], before, redis.call('HGET', KEYS[1], 'state'))
if ARGV[10] ~= '0' then redis.call('HINCRBY', KEYS[5], 'rejected', tonumber(ARGV[10])) end
local votes = redis.call('HGET', KEYS[1], 'votes') or '0'
if ARGV[3] == 'add' then redis.call('ZADD', KEYS[2], votes, ARGV[5]) end
if ARGV[3] == 'rem' then redis.call('ZREM', KEYS[2], ARGV[5]) end
if ARGV[4] == 'set' then redis.call('SET', KEYS[3], ARGV[5]) end
if ARGV[4] == 'clear_if' and redis.call('GET', KEYS[3]) == ARGV[5] then
  redis.call('DEL', KEYS[3])
end
local stage = json_id(redis.call('GET', KEYS[3]))
local public = splice(splice(ARGV[6], ARGV[8], votes), ARGV[9], stage)
local moderator = splice(splice(ARGV[7], ARGV[8], votes), ARGV[9], stage)
return {1, xadd(KEYS[4], ARGV[2], public, moderator)}
"""
)

_MERGE = (
    SPLICE
    + """
-- KEYS: source, target, source voters, target voters, score, stage, stream, settings,
--       states.
-- ARGV: source v, target v, maxlen, source id, target id, public, moderator,
--       target visible (1/0), source fields (JSON), target fields (JSON), votes mark,
--       stage mark, rejected (+1/-1/0).
local sv = redis.call('HGET', KEYS[1], 'v')
local tv = redis.call('HGET', KEYS[2], 'v')
if not sv or not tv then return {-1} end
if sv ~= ARGV[1] or tv ~= ARGV[2] then return {0} end
redis.call('SUNIONSTORE', KEYS[4], KEYS[4], KEYS[3])
local votes = redis.call('SCARD', KEYS[4])
local source_before = redis.call('HGET', KEYS[1], 'state')
local target_before = redis.call('HGET', KEYS[2], 'state')
for field, value in pairs(cjson.decode(ARGV[9])) do redis.call('HSET', KEYS[1], field, value) end
for field, value in pairs(cjson.decode(ARGV[10])) do redis.call('HSET', KEYS[2], field, value) end
move_state(KEYS[9], source_before, redis.call('HGET', KEYS[1], 'state'))
move_state(KEYS[9], target_before, redis.call('HGET', KEYS[2], 'state'))
if ARGV[13] ~= '0' then redis.call('HINCRBY', KEYS[8], 'rejected', tonumber(ARGV[13])) end
redis.call('HSET', KEYS[2], 'votes', votes)
redis.call('ZREM', KEYS[5], ARGV[4])
if ARGV[8] == '1' then redis.call('ZADD', KEYS[5], votes, ARGV[5]) end
if redis.call('GET', KEYS[6]) == ARGV[4] then redis.call('DEL', KEYS[6]) end
local stage = json_id(redis.call('GET', KEYS[6]))
local public = splice(splice(ARGV[6], ARGV[11], tostring(votes)), ARGV[12], stage)
local moderator = splice(splice(ARGV[7], ARGV[11], tostring(votes)), ARGV[12], stage)
return {1, xadd(KEYS[7], ARGV[3], public, moderator)}
"""
)

_SESSION = (
    SPLICE
    + """
-- KEYS: stage, settings, stream.  ARGV: action (unstage/premod), maxlen, payload, premod value.
if ARGV[1] == 'unstage' then
  if redis.call('DEL', KEYS[1]) == 0 then return {0} end
else
  redis.call('HSET', KEYS[2], 'premod', ARGV[4])
end
return {1, xadd(KEYS[3], ARGV[2], ARGV[3], '')}
"""
)


def rejected_delta(before: str, after: str) -> int:
    """How the session's count of rejected questions moves (they do not count toward the cap)."""
    return int(after == "rejected") - int(before == "rejected")


def _conflict(now: Question) -> QAError:
    who = f" ({now.by})" if now.by else ""
    return QAError(
        f"another moderator{who} changed this question just now: it is {now.state}; "
        "look again before acting",
        "conflict",
    )


class QAModeration:
    def __init__(self, redis: Redis, questions: Questions) -> None:
        self.redis = redis
        self.questions = questions
        self._change = redis.register_script(_CHANGE)
        self._merge = redis.register_script(_MERGE)
        self._session = redis.register_script(_SESSION)

    async def apply(self, session_id: str, command: QAModerate, by: dict[str, str]) -> bytes:
        """Carry out ``command`` for the moderator ``by`` ({name, label}); the event's id."""
        if command.action in ("unstage", "premod"):
            return await self._session_action(session_id, command, by)
        question = await self._current(session_id, command.qid, command.v)
        if command.action == "merge":
            return await self._merge_into(session_id, question, command, by)
        allowed, state = TRANSITIONS[command.action]
        if question.state not in allowed:
            raise QAError(
                f"cannot {command.action} a question that is {question.state}", "bad_state"
            )
        new = replace(
            question, v=question.v + 1, by=by["name"], state=as_state(state or question.state)
        )
        fields: dict[str, Any] = {"v": new.v, "by": new.by}
        if state:
            fields["state"] = state
        if command.action == "edit":
            new = replace(new, text=command.text, edited=True)
            fields.update(text=command.text, edited="1")
        elif command.action == "reply":
            new = replace(new, answer=command.text)
            fields["answer"] = command.text
        score_op = "-"
        if state in VISIBLE and question.state not in VISIBLE:
            score_op = "add"
        elif state is not None and state not in VISIBLE:
            score_op = "rem"
        stage_op = "-"
        if command.action == "stage":
            stage_op = "set"
        elif command.action in LEAVES_STAGE:
            stage_op = "clear_if"
        marks = Marks.fresh()
        public = {
            "type": "qa",
            "action": command.action,
            "q": new.public(marks.votes),
            "stage": marks.stage,
        }
        private = {**public, "q": new.moderator(marks.votes), "by": by}
        args: list[Any] = [
            question.v, STREAM_MAXLEN, score_op, stage_op, question.id,
            encode(public), encode(private), marks.votes, marks.stage,
            rejected_delta(question.state, new.state),
        ]  # fmt: skip
        for name, value in fields.items():
            args += [name, value]
        keys = [
            question_key(session_id, question.id),
            score_key(session_id),
            stage_key(session_id),
            stream_key(session_id),
            settings_key(session_id),
            states_key(session_id),
        ]
        result = await self._change(keys=keys, args=args)
        await self._check(session_id, question.id, int(result[0]))
        return bytes(result[1])

    async def _current(self, session_id: str, qid: str, seen_v: int) -> Question:
        question = await self.questions.get(session_id, qid)
        if question is None:
            raise QAError("no such question", "not_found")
        if question.v != seen_v:
            raise _conflict(question)
        return question

    async def _check(self, session_id: str, qid: str, status: int) -> None:
        if status == -1:
            raise QAError("no such question", "not_found")
        if status == 0:
            now = await self.questions.get(session_id, qid)
            raise _conflict(now) if now else QAError("no such question", "not_found")

    async def _merge_into(
        self, session_id: str, source: Question, command: QAModerate, by: dict[str, str]
    ) -> bytes:
        target = await self._current(session_id, command.into, command.into_v)
        if source.state not in MERGE_SOURCES:
            raise QAError(f"cannot merge a question that is {source.state}", "bad_state")
        if target.state not in MERGE_TARGETS:
            raise QAError(f"cannot merge into a question that is {target.state}", "bad_state")
        askers = list(target.askers)
        known = {a.uid for a in askers}
        askers += [a for a in source.askers if a.uid not in known]
        new_source = replace(source, state="merged", into=target.id, v=source.v + 1, by=by["name"])
        new_target = replace(target, askers=tuple(askers), v=target.v + 1, by=by["name"])
        source_fields = {
            "state": "merged",
            "into": target.id,
            "v": str(new_source.v),
            "by": by["name"],
        }
        target_fields = {
            "askers": json.dumps([{"uid": a.uid, "name": a.name} for a in askers]),
            "v": str(new_target.v),
            "by": by["name"],
        }
        marks = Marks.fresh()
        public = {
            "type": "qa",
            "action": "merge",
            "q": new_target.public(marks.votes),
            "from": new_source.public(),
            "stage": marks.stage,
        }
        private = {
            **public,
            "q": new_target.moderator(marks.votes),
            "from": new_source.moderator(),
            "by": by,
        }
        keys = [
            question_key(session_id, source.id),
            question_key(session_id, target.id),
            voters_key(session_id, source.id),
            voters_key(session_id, target.id),
            score_key(session_id),
            stage_key(session_id),
            stream_key(session_id),
            settings_key(session_id),
            states_key(session_id),
        ]
        args: list[Any] = [
            source.v, target.v, STREAM_MAXLEN, source.id, target.id, encode(public),
            encode(private), "1" if target.state in VISIBLE else "0",
            json.dumps(source_fields), json.dumps(target_fields), marks.votes, marks.stage,
            rejected_delta(source.state, "merged"),
        ]  # fmt: skip
        result = await self._merge(keys=keys, args=args)
        status = int(result[0])
        if status != 1:
            for seen in (source, target):  # say which of the two changed meanwhile
                now = await self.questions.get(session_id, seen.id)
                if now is None:
                    raise QAError("no such question", "not_found")
                if now.v != seen.v:
                    raise _conflict(now)
            raise QAError("another moderator changed these questions just now", "conflict")
        return bytes(result[1])

    async def _session_action(
        self, session_id: str, command: QAModerate, by: dict[str, str]
    ) -> bytes:
        payload: dict[str, Any] = {"type": "qa", "action": command.action}
        if command.action == "unstage":
            payload["stage"] = None
        else:
            payload["on"] = command.on
        keys = [stage_key(session_id), settings_key(session_id), stream_key(session_id)]
        args: list[Any] = [
            command.action,
            STREAM_MAXLEN,
            encode(payload),
            "1" if command.on else "0",
        ]
        result = await self._session(keys=keys, args=args)
        if int(result[0]) == 0:
            raise QAError("no question is on stage", "not_found")
        return bytes(result[1])
