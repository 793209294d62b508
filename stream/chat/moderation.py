"""Moderation: the session's modes and people's standing in Redis, and the actions that change
them. Each action changes state and appends its log entry (with who did it) in one MULTI.

Everyone sees the effect (``d``: a deleted message disappears, slow mode is announced); only
moderators see who did it and the actions about people (``m``: timeouts, bans, word lists).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from redis.asyncio.client import Pipeline

from stream.chat.identity import Identity
from stream.chat.keys import (
    address_bans_key,
    bans_key,
    deleted_key,
    review_key,
    state_key,
    timeout_key,
)
from stream.chat.log import ChatLog, Draft, Entry
from stream.chat.policy import ChatState, Standing
from stream.chat.protocol import Moderate, ProtocolError, encode
from stream.store import Redis

# A held message can be decided on for this long (then its decision guard expires).
REVIEW_TTL_SECONDS = 7 * 24 * 3600
SWITCH_FIELDS = {"hold": "hold", "registered_only": "registered_only", "enabled": "enabled"}
# Fields of a stored message that only moderators see.
PRIVATE_FIELDS = ("uid", "ah", "held")


# A state change, queued on the MULTI that also appends the action's log entry.
Change = Callable[[Pipeline], object]
# (what everyone sees or None, what moderators see, the state changes)
Plan = tuple[dict[str, Any] | None, dict[str, Any], list[Change]]


class ModerationError(ProtocolError):
    """A moderation action that cannot be done (unknown target, already decided, ...)."""


def _json(payload: bytes) -> dict[str, Any]:
    value = json.loads(payload)
    return value if isinstance(value, dict) else {}


def public_message(private: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in private.items() if k not in PRIVATE_FIELDS}


class Moderation:
    def __init__(self, redis: Redis, log: ChatLog) -> None:
        self.redis = redis
        self.log = log

    async def state(self, session_id: str) -> ChatState:
        raw: Any = await self.redis.hgetall(state_key(session_id))
        return ChatState.from_hash(raw)

    async def state_and_standing(
        self, session_id: str, person: Identity
    ) -> tuple[ChatState, Standing]:
        """The modes and ``person``'s standing in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(state_key(session_id))
            pipe.hexists(bans_key(session_id), person.uid)
            pipe.sismember(address_bans_key(session_id), person.address_tag or "-")
            pipe.pttl(timeout_key(session_id, person.uid))
            raw, banned, address_banned, ttl_ms = await pipe.execute()
        standing = Standing(
            banned=bool(banned) or bool(address_banned),
            timeout_left=max(int(ttl_ms), 0) / 1000,
        )
        return ChatState.from_hash(raw), standing

    async def apply(
        self, session_id: str, actor: Identity, label: str, action: Moderate
    ) -> tuple[bytes, ...]:
        """Do ``action``; the ids of the log entries it wrote."""
        by = {"uid": actor.uid, "name": actor.name, "label": label}
        if action.action in ("approve", "reject"):
            return await self._decide(session_id, action, by)
        public, private, changes = await self._plan(session_id, action)
        private = {**private, "by": by}
        draft = Draft(
            encode({"type": "mod", **public}) if public is not None else None,
            encode({"type": "mod", **private}),
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            for change in changes:
                change(pipe)
            self.log.queue_append(pipe, session_id, draft)
            results = await pipe.execute()
        entry_id = bytes(results[-1])
        if action.action == "clear":  # where the transcript starts now
            await self.redis.hset(state_key(session_id), "cleared", entry_id)
        return (entry_id,)

    async def deleted(self, session_id: str, entry_ids: list[bytes]) -> set[bytes]:
        """Which of ``entry_ids`` a moderator deleted."""
        if not entry_ids:
            return set()
        flags: Any = await self.redis.smismember(deleted_key(session_id), entry_ids)
        return {entry_id for entry_id, flag in zip(entry_ids, flags, strict=True) if flag}

    async def cleared_at(self, session_id: str) -> bytes | None:
        """The id of the last "clear", if any."""
        value: Any = await self.redis.hget(state_key(session_id), "cleared")
        return bytes(value) if value else None

    async def _message(self, session_id: str, target: str | None) -> tuple[Entry, dict[str, Any]]:
        entry = await self.log.get(session_id, target) if target else None
        private = _json(entry.moderator) if entry else {}
        if entry is None or private.get("type") != "msg":
            raise ModerationError("no such message", "not_found")
        return entry, private

    async def _person(self, session_id: str, action: Moderate) -> dict[str, Any]:
        if action.target is not None:
            _, private = await self._message(session_id, action.target)
            return {
                "user": private.get("uid", ""),
                "name": private.get("name", ""),
                "address": private.get("ah", ""),
            }
        return {"user": action.user, "name": "", "address": ""}

    async def _plan(self, session_id: str, action: Moderate) -> Plan:
        """(public payload or None, moderator payload, state changes as pipeline calls)."""
        state = state_key(session_id)
        name = action.action
        base: dict[str, Any] = {"action": name}
        if name == "delete":
            await self._message(session_id, action.target)
            base["target"] = action.target
            deleted, target = deleted_key(session_id), action.target
            changes: list[Change] = [lambda p: p.sadd(deleted, target or "")]
            current = await self.state(session_id)
            if current.pinned and _json(current.pinned).get("id") == action.target:
                changes.append(lambda p: p.hdel(state, "pinned"))
            return base, base, changes
        if name == "pin":
            entry, _ = await self._message(session_id, action.target)
            pinned = entry.event(moderator=False)
            if pinned is None:
                raise ModerationError("a held message cannot be pinned", "not_found")
            base.update(target=action.target, msg=_json(pinned))
            return base, base, [lambda p: p.hset(state, "pinned", pinned)]
        if name in ("unpin", "clear"):
            return base, base, [lambda p: p.hdel(state, "pinned")]
        if name == "slow":
            base["seconds"] = action.seconds
            return base, base, [lambda p: p.hset(state, "slow", action.seconds or 0)]
        if name in SWITCH_FIELDS:
            base["on"] = action.on
            field, value = SWITCH_FIELDS[name], int(bool(action.on))
            return base, base, [lambda p: p.hset(state, field, value)]
        if name == "words":
            words = json.dumps(list(action.words), ensure_ascii=False)
            return (
                None,
                {**base, "words": list(action.words)},
                [lambda p: p.hset(state, "words", words)],
            )
        return await self._plan_person(session_id, action, base)

    async def _plan_person(self, session_id: str, action: Moderate, base: dict[str, Any]) -> Plan:
        person = await self._person(session_id, action)
        uid, tag = person["user"], person["address"] if action.address else ""
        if not uid:
            raise ModerationError("no such person", "not_found")
        private = {**base, "user": uid, "name": person["name"]}
        if action.action == "timeout":
            private["seconds"] = action.seconds
            key, seconds = timeout_key(session_id, uid), action.seconds
            return None, private, [lambda p: p.set(key, 1, ex=seconds)]
        if action.action == "ban":
            bans, address_bans = bans_key(session_id), address_bans_key(session_id)
            changes: list[Change] = [lambda p: p.hset(bans, uid, tag)]
            if tag:
                private["address"] = True
                changes.append(lambda p: p.sadd(address_bans, tag))
            return None, private, changes
        # unban: the person's address ban goes with them.
        bans, address_bans = bans_key(session_id), address_bans_key(session_id)
        timeout = timeout_key(session_id, uid)
        banned_tag = await self.redis.hget(bans, uid)
        changes = [lambda p: p.hdel(bans, uid), lambda p: p.delete(timeout)]
        if banned_tag:
            changes.append(lambda p: p.srem(address_bans, banned_tag))
        return None, private, changes

    async def _decide(
        self, session_id: str, action: Moderate, by: dict[str, str]
    ) -> tuple[bytes, ...]:
        """Approve (publish) or reject a held message; a second decision is refused."""
        entry, private = await self._message(session_id, action.target)
        if not private.get("held"):
            raise ModerationError("that message is not waiting for review", "not_found")
        record = encode({"type": "mod", "action": action.action, "target": action.target, "by": by})
        drafts = [Draft(None, record)]
        if action.action == "approve":
            approved = {k: v for k, v in private.items() if k != "held"}
            approved["approved"] = entry.id.decode()
            drafts.insert(0, Draft(encode(public_message(approved)), encode(approved)))
        result = await self.log.append(
            session_id,
            drafts,
            guard=review_key(session_id, entry.id.decode()),
            guard_ttl=REVIEW_TTL_SECONDS,
        )
        if result.duplicate:
            raise ModerationError("another moderator already decided on it", "conflict")
        return result.ids
