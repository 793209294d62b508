"""The chat service: identities in, history out, messages through the rules into the log.

Everything a socket asks for goes through here (``ws`` only speaks WebSocket); every answer is
a ready-to-send frame. Nothing here knows about aiohttp.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace

from stream.chat.archive import ChatArchive
from stream.chat.fanout import Encode, Fanout
from stream.chat.identity import (
    MAX_NAME_LENGTH,
    Identity,
    TokenSigner,
    clean_name,
    new_user_id,
)
from stream.chat.keys import dedup_key, slow_key
from stream.chat.limits import ChatLimits
from stream.chat.log import EMPTY_ID, ChatLog, Draft, Entry, parse_id, visible_events
from stream.chat.moderation import Moderation, ModerationError, public_message
from stream.chat.policy import judge
from stream.chat.protocol import (
    Hello,
    Moderate,
    Send,
    encode,
    error_frame,
)
from stream.chat.ratelimit import RateLimiter
from stream.chat.roles import Grant, RoleHook
from stream.store import Redis

logger = logging.getLogger(__name__)

# Entries a new viewer gets; a reconnect replays at most MAX_REPLAY missed entries, beyond
# that it starts over from the recent history.
HISTORY_COUNT = 50
MAX_REPLAY = 1000
CATCH_UP_COUNT = 500
# Message types a fresh viewer's history keeps (modes come with the welcome's state).
HISTORY_TYPES = frozenset({"msg"})
# Entries read for a fresh socket's history when other packages' entries (Q&A votes, say) may
# crowd the log: more is read than kept, so the chat's last HISTORY_COUNT still show.
HISTORY_SCAN = 1000


@dataclass(slots=True)
class Participant:
    """One socket's person: who, as what, from where."""

    identity: Identity
    # Who holds the moderator credential, as the granter named them (shown in the log).
    label: str = ""

    @property
    def moderator(self) -> bool:
        return self.identity.moderator


@dataclass(frozen=True, slots=True)
class Backlog:
    """What a joining socket is sent first, and the id it covers up to."""

    events: list[bytes]
    up_to: bytes
    reset: bool


def compact_history(entries: list[Entry]) -> list[bytes]:
    """A viewer's view of recent entries: messages after the last clear, minus deleted ones."""
    shown: list[Entry] = []
    deleted: set[str] = set()
    for entry in entries:
        payload = json.loads(entry.public) if entry.public is not None else {}
        if payload.get("type") == "mod":
            if payload.get("action") == "clear":
                shown.clear()
            elif payload.get("action") == "delete":
                deleted.add(str(payload.get("target")))
        elif payload.get("type") in HISTORY_TYPES:
            shown.append(entry)
    return visible_events([e for e in shown if e.id.decode() not in deleted], moderator=False)


def _you(me: Identity) -> dict[str, str]:
    return {"uid": me.uid, "name": me.name, "role": me.role}


def _label_name(label: str) -> str:
    """A moderator who has not picked a name is shown by their credential's label."""
    try:
        return clean_name(label[:MAX_NAME_LENGTH])
    except ValueError:
        return "moderator"


class ChatService:
    def __init__(
        self,
        redis: Redis,
        signer: TokenSigner,
        roles: RoleHook,
        limits: ChatLimits,
        encode_frame: Encode,
    ) -> None:
        self.signer = signer
        self.roles = roles
        self.log = ChatLog(redis)
        self.moderation = Moderation(redis, self.log)
        self.archive = ChatArchive(redis)
        self.fanout = Fanout(self.log, encode_frame, self.archive)
        self.limits = limits
        # Payload prefixes (``{"type":"qa"``) of entries left out of a fresh socket's history.
        self._not_history: tuple[bytes, ...] = ()

    def exclude_from_history(self, event_type: str) -> None:
        """Leave entries of ``event_type`` out of a fresh socket's history: the package that
        writes them sends its own state (replays after a last id still carry them)."""
        self._not_history += (b'{"type":"' + event_type.encode() + b'"',)

    def _in_history(self, entry: Entry) -> bool:
        return not entry.moderator.startswith(self._not_history)

    @property
    def limits(self) -> ChatLimits:
        return self._limits

    @limits.setter
    def limits(self, limits: ChatLimits) -> None:
        self._limits = limits
        self.person_rate = RateLimiter(limits.rate_per_second, limits.rate_burst)
        self.address_rate = RateLimiter(limits.address_rate_per_second, limits.address_rate_burst)

    async def join(
        self, session_id: str, hello: Hello, address: str, *, account: Grant | None = None
    ) -> Participant:
        """``account``: the grant of a logged-in account; a moderator token may still raise a
        registered participant to moderator."""
        known = self.signer.verify(hello.token) if hello.token else None
        uid, name = known if known else (new_user_id(), "")
        if account is not None:  # an account chats under its own id and name
            uid, name = account.uid or uid, _label_name(account.label)
        grant = account if account and account.role == "moderator" else None
        if grant is None:
            token_grant = await self.roles.grant(session_id, hello.moderator_token)
            grant = token_grant if token_grant.role == "moderator" else (account or token_grant)
        if grant.role != "viewer" and not name:
            name = _label_name(grant.label)
        identity = Identity(uid, name, grant.role, self.signer.address_tag(address))
        return Participant(identity, grant.label)

    async def welcome(self, session_id: str, participant: Participant) -> bytes:
        state = await self.moderation.state(session_id)
        me = participant.identity
        frame: dict[str, object] = {
            "type": "welcome",
            "session": session_id,
            "you": _you(me),
            "state": state.describe(moderator=me.moderator),
        }
        if me.role == "viewer":  # kept by the page, so a reload is the same person
            frame["token"] = self.signer.issue(me.uid, me.name)
        return encode(frame)

    async def backlog(self, session_id: str, moderator: bool, last_id: str | None) -> Backlog:
        """Recent history for a new socket, or what a reconnecting one missed after last_id."""
        if last_id is not None:
            missed = await self.log.after(session_id, last_id, MAX_REPLAY + 1)
            if len(missed) <= MAX_REPLAY:
                if missed:
                    return Backlog(visible_events(missed, moderator), missed[-1].id, reset=False)
                top = await self.log.last_id(session_id)
                if parse_id(last_id) <= parse_id(top):
                    return Backlog([], last_id.encode(), reset=False)
        recent = await self.log.latest(
            session_id, HISTORY_SCAN if self._not_history else HISTORY_COUNT
        )
        up_to = recent[-1].id if recent else EMPTY_ID
        if self._not_history:
            recent = [entry for entry in recent if self._in_history(entry)][-HISTORY_COUNT:]
        events = visible_events(recent, moderator) if moderator else compact_history(recent)
        return Backlog(events, up_to, reset=True)

    async def transcript(self, session_id: str) -> list[bytes]:
        """The whole public conversation (after clears, without deleted messages)."""
        return compact_history(await self.archive.entries(session_id))

    async def catch_up(self, session_id: str, moderator: bool, after: bytes) -> Backlog:
        entries = await self.log.after(session_id, after.decode(), CATCH_UP_COUNT)
        up_to = entries[-1].id if entries else after
        return Backlog(visible_events(entries, moderator), up_to, reset=False)

    def rename(self, participant: Participant, raw_name: str, cid: str | None = None) -> bytes:
        """The new identity (``cid``: the request's, echoed so the asking part of the page
        knows the answer is its own), or an error."""
        wait = self._rate_wait(participant.identity)
        if wait:
            return error_frame("rate_limited", "too many changes", cid=cid, retry_after=wait)
        try:
            name = clean_name(raw_name)
        except ValueError as exc:
            return error_frame("bad_name", str(exc), cid=cid)
        participant.identity = me = replace(participant.identity, name=name)
        token = self.signer.issue(me.uid, me.name)
        frame: dict[str, object] = {"type": "identity", "you": _you(me), "token": token}
        if cid is not None:
            frame["cid"] = cid
        return encode(frame)

    def _rate_wait(self, me: Identity) -> float:
        if me.moderator:
            return 0.0
        return max(self.person_rate.allow(me.uid), self.address_rate.allow(me.address_tag))

    async def send(self, session_id: str, participant: Participant, command: Send) -> bytes:
        me, cid = participant.identity, command.cid
        if not me.name:
            return error_frame("no_name", "choose a display name first", cid=cid)
        wait = self._rate_wait(me)
        if wait:
            return error_frame(
                "rate_limited", "you are sending too fast", cid=cid, retry_after=wait
            )
        state, standing = await self.moderation.state_and_standing(session_id, me)
        verdict = judge(state, standing, me, command.text)
        if verdict.outcome == "refuse":
            return error_frame(
                verdict.code, verdict.detail, cid=cid, retry_after=verdict.retry_after
            )
        held = verdict.outcome == "hold"
        private: dict[str, object] = {
            "type": "msg",
            "uid": me.uid,
            "name": me.name,
            "role": me.role,
            "text": command.text,
            "ts": int(time.time() * 1000),
            "ah": me.address_tag,
        }
        if held:
            private["held"] = True
        result = await self.log.append(
            session_id,
            [Draft(None if held else encode(public_message(private)), encode(private))],
            guard=dedup_key(session_id, me.uid, cid),
            slow_key=slow_key(session_id, me.uid) if verdict.slow else None,
            slow_seconds=verdict.slow,
        )
        if result.wait:
            return error_frame("slow", "slow mode is on", cid=cid, retry_after=result.wait)
        entry_id = result.ids[0].decode()
        if result.duplicate:
            stored = await self.log.get(session_id, entry_id)
            held = stored is not None and stored.public is None
        return encode(
            {
                "type": "held" if held else "ack",
                "cid": cid,
                "id": entry_id,
                "duplicate": result.duplicate,
            }
        )

    async def moderate(self, session_id: str, participant: Participant, command: Moderate) -> bytes:
        if not participant.moderator:
            return error_frame("forbidden", "only moderators may do that", cid=command.cid)
        try:
            ids = await self.moderation.apply(
                session_id, participant.identity, participant.label, command
            )
        except ModerationError as exc:
            return error_frame(exc.code, str(exc), cid=command.cid)
        logger.info(
            "[%s] moderation %s by %s (%s)",
            session_id,
            command.action,
            participant.identity.uid,
            participant.label,
        )
        frame: dict[str, object] = {"type": "ack", "id": ids[-1].decode(), "action": command.action}
        if command.cid is not None:
            frame["cid"] = command.cid
        return encode(frame)

    async def close(self) -> None:
        await self.fanout.close()
