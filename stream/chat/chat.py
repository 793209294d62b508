"""The chat service: identities in, history out, messages through the rules into the log.

Everything a socket asks for goes through here (``ws`` only speaks WebSocket); every answer is
a ready-to-send frame. Nothing here knows about aiohttp.
"""

from __future__ import annotations

import json
import logging
import time
import unicodedata
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace

from stream.chat.archive import MAX_ARCHIVE_ENTRIES, ChatArchive
from stream.chat.fanout import Encode, Fanout
from stream.chat.identity import (
    MAX_NAME_LENGTH,
    Identity,
    TokenSigner,
    clean_name,
    new_user_id,
)
from stream.chat.keys import dedup_key, names_key, slow_key
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
from stream.chat.roles import Grant, RoleHook
from stream.common import times
from stream.common.errors import NotFound
from stream.common.limits import Limiter
from stream.program.schedule import audience_closed
from stream.program.sessions import Session, SessionStore
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
# Transcript entries read per request (one page; the answer says where the next starts).
TRANSCRIPT_PAGE = 200
# How long a guest's display name stays theirs in a session after they last took it.
NAME_CLAIM_SECONDS = 7 * 24 * 3600

# Whether a folded display name belongs to staff (the composition root passes the check in).
ReservedNames = Callable[[str], Awaitable[bool]]


async def _nothing_reserved(_folded: str) -> bool:
    return False


def fold_name(name: str) -> str:
    """A display name as compared for sameness: compatibility-normalised, case and spaces
    ignored ("Anna  Berg", "anna berg" and its full-width form are one name)."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


@dataclass(slots=True)
class Participant:
    """One socket's person: who, as what, from where."""

    identity: Identity
    # Who holds the moderator credential, as the granter named them (shown in the log).
    label: str = ""
    # The client's address (``stream.http.client.client_address``), as the limits count it.
    address: str = ""

    @property
    def moderator(self) -> bool:
        return self.identity.moderator


@dataclass(frozen=True, slots=True)
class TranscriptPage:
    """Public messages of one transcript page; ``next``: the cursor of the next page, if any."""

    events: list[bytes]
    next: bytes | None


@dataclass(frozen=True, slots=True)
class Backlog:
    """What a joining socket is sent first, and the id it covers up to."""

    events: list[bytes]
    up_to: bytes
    reset: bool


def compact_history(entries: list[Entry], deleted: AbstractSet[bytes] = frozenset()) -> list[bytes]:
    """A viewer's view of recent entries: messages after the last clear, minus deleted ones
    (those deleted in ``entries`` and the ids in ``deleted``)."""
    shown: list[Entry] = []
    deleted_ids: set[str] = {entry_id.decode() for entry_id in deleted}
    for entry in entries:
        payload = json.loads(entry.public) if entry.public is not None else {}
        if payload.get("type") == "mod":
            if payload.get("action") == "clear":
                shown.clear()
            elif payload.get("action") == "delete":
                deleted_ids.add(str(payload.get("target")))
        elif payload.get("type") in HISTORY_TYPES:
            shown.append(entry)
    return visible_events([e for e in shown if e.id.decode() not in deleted_ids], moderator=False)


def _message_ids(entries: list[Entry]) -> list[bytes]:
    """Ids of the entries that are public chat messages (what a delete can hide)."""
    return [e.id for e in entries if e.public is not None and e.public.startswith(b'{"type":"msg"')]


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
        limiter: Limiter,
        reserved_names: ReservedNames = _nothing_reserved,
    ) -> None:
        self.signer = signer
        self.limiter = limiter
        self.reserved_names = reserved_names
        self.redis = redis
        self.sessions = SessionStore(redis)
        self.roles = roles
        self.log = ChatLog(redis)
        self.moderation = Moderation(redis, self.log)
        self.archive = ChatArchive(redis)
        self.fanout = Fanout(self.log, encode_frame, self.archive, tick_ms=limits.fanout_tick_ms)
        self.limits = limits
        # Payload prefixes (``{"type":"qa"``) of entries left out of a fresh socket's history.
        self._not_history: tuple[bytes, ...] = ()

    def exclude_from_history(self, event_type: str) -> None:
        """Leave entries of ``event_type`` out of a fresh socket's history: the package that
        writes them sends its own state (replays after a last id still carry them)."""
        self._not_history += (b'{"type":"' + event_type.encode() + b'"',)

    def _in_history(self, entry: Entry) -> bool:
        return not entry.moderator.startswith(self._not_history)

    async def _session(self, session_id: str) -> Session | None:
        try:
            return await self.sessions.get(session_id)
        except NotFound:
            return None

    async def chat_open(self, session_id: str) -> bool:
        """Whether the programme has the session's chat on (a deleted session: off)."""
        session = await self._session(session_id)
        return session is not None and session.chat

    async def join(
        self, session_id: str, hello: Hello, address: str, *, account: Grant | None = None
    ) -> Participant:
        """``account``: the grant of a logged-in account; a moderator token may still raise a
        registered participant to moderator."""
        known = self.signer.verify(hello.token) if hello.token else None
        uid, name = known if known else (new_user_id(), "")
        if known and name and not (account or hello.moderator_token):
            # A guest's token names them; the name must still be free here and theirs.
            if await self.reserved_names(fold_name(name)) or not await self._claim(
                session_id, name, uid
            ):
                name = ""
        if account is not None:  # an account chats under its own id and name
            uid, name = account.uid or uid, _label_name(account.label)
        grant = account if account and account.role == "moderator" else None
        if grant is None:
            token_grant = await self.roles.grant(session_id, hello.moderator_token)
            grant = token_grant if token_grant.role == "moderator" else (account or token_grant)
        if grant.role != "viewer" and not name:
            name = _label_name(grant.label)
        identity = Identity(uid, name, grant.role, self.signer.address_tag(address))
        return Participant(identity, grant.label, address)

    async def welcome(self, session_id: str, participant: Participant) -> bytes:
        state = await self.moderation.state(session_id)
        me = participant.identity
        described = state.describe(moderator=me.moderator)
        if not await self.chat_open(session_id):
            described["enabled"] = False
        frame: dict[str, object] = {
            "type": "welcome",
            "session": session_id,
            "you": _you(me),
            "state": described,
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
                    shown = await self._for(session_id, missed, moderator)
                    return Backlog(visible_events(shown, moderator), missed[-1].id, reset=False)
                top = await self.log.last_id(session_id)
                if parse_id(last_id) <= parse_id(top):
                    return Backlog([], last_id.encode(), reset=False)
        recent = await self.log.latest(
            session_id, HISTORY_SCAN if self._not_history else HISTORY_COUNT
        )
        up_to = recent[-1].id if recent else EMPTY_ID
        if self._not_history:
            recent = [entry for entry in recent if self._in_history(entry)][-HISTORY_COUNT:]
        if moderator:
            events = visible_events(recent, moderator)
        else:
            deleted = await self.moderation.deleted(session_id, _message_ids(recent))
            events = compact_history(recent, deleted)
        return Backlog(events, up_to, reset=True)

    async def _for(self, session_id: str, entries: list[Entry], moderator: bool) -> list[Entry]:
        """``entries`` as a viewer may get them again: without messages deleted since."""
        if moderator:
            return entries
        deleted = await self.moderation.deleted(session_id, _message_ids(entries))
        return [entry for entry in entries if entry.id not in deleted] if deleted else entries

    async def transcript(self, session_id: str, after: bytes | None = None) -> TranscriptPage:
        """One page of the public conversation after ``after`` (from the last clear, without
        deleted messages); ``next`` is where the following page starts."""
        cleared = await self.moderation.cleared_at(session_id)
        if cleared is not None and (after is None or parse_id(after) < parse_id(cleared)):
            after = cleared
        entries = await self.archive.page(session_id, after, TRANSCRIPT_PAGE)
        messages = [
            e for e in entries if e.public is not None and e.public.startswith(b'{"type":"msg"')
        ]
        deleted = await self.moderation.deleted(session_id, [e.id for e in messages])
        events = visible_events([e for e in messages if e.id not in deleted], moderator=False)
        more = len(entries) == TRANSCRIPT_PAGE
        return TranscriptPage(events, entries[-1].id if more else None)

    async def whole_transcript(self, session_id: str) -> list[bytes]:
        """Every page of the public conversation (the archive is capped, so this is too): for
        downloads and the replay, never with deleted messages."""
        events: list[bytes] = []
        after: bytes | None = None
        for _ in range(MAX_ARCHIVE_ENTRIES // TRANSCRIPT_PAGE + 1):
            page = await self.transcript(session_id, after)
            events += page.events
            if page.next is None:
                break
            after = page.next
        return events

    async def catch_up(self, session_id: str, moderator: bool, after: bytes) -> Backlog:
        entries = await self.log.after(session_id, after.decode(), CATCH_UP_COUNT)
        up_to = entries[-1].id if entries else after
        shown = await self._for(session_id, entries, moderator)
        return Backlog(visible_events(shown, moderator), up_to, reset=False)

    async def _claim(self, session_id: str, name: str, uid: str) -> bool:
        """Take ``name`` for ``uid`` in the session; False if someone else holds it."""
        key, folded = names_key(session_id), fold_name(name)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, folded, uid)
            pipe.hget(key, folded)
            pipe.expire(key, NAME_CLAIM_SECONDS)
            _, holder, _ = await pipe.execute()
        return holder is not None and bytes(holder).decode() == uid

    async def rename(
        self, session_id: str, participant: Participant, raw_name: str, cid: str | None = None
    ) -> bytes:
        """The new identity (``cid``: the request's, echoed so the asking part of the page
        knows the answer is its own), or an error. A guest cannot take a staff member's name
        nor one another guest holds in the session; a guest's first name is a new identity,
        and an address gets only so many of those."""
        try:
            name = clean_name(raw_name)
        except ValueError as exc:
            return error_frame("bad_name", str(exc), cid=cid)
        me = participant.identity
        guest = me.role == "viewer"
        if guest and await self.reserved_names(fold_name(name)):
            return error_frame("bad_name", "that name is reserved for staff", cid=cid)
        if guest and not me.name and not me.moderator:
            wait = await self.limiter.hit(
                self.limits.new_identity_rate, ("addr", participant.address)
            )
            if wait:
                return error_frame(
                    "rate_limited", "too many new names from your address", cid=cid,
                    retry_after=wait,
                )  # fmt: skip
        wait = await self._rate_wait(participant)
        if wait:
            return error_frame("rate_limited", "too many changes", cid=cid, retry_after=wait)
        if guest and not await self._claim(session_id, name, me.uid):
            return error_frame("bad_name", "someone here already has that name", cid=cid)
        participant.identity = me = replace(me, name=name)
        token = self.signer.issue(me.uid, me.name)
        frame: dict[str, object] = {"type": "identity", "you": _you(me), "token": token}
        if cid is not None:
            frame["cid"] = cid
        return encode(frame)

    async def _rate_wait(self, participant: Participant) -> float:
        """0.0 when ``participant`` may send now (counted), else the seconds to wait: per
        identity and per address (looser), counted together in the shared limiter."""
        me = participant.identity
        if me.moderator:
            return 0.0
        return await self.limiter.hit_each(
            (self.limits.send_rate, ("id", me.uid)),
            (self.limits.address_rate, ("addr", participant.address or me.address_tag)),
        )

    async def send(self, session_id: str, participant: Participant, command: Send) -> bytes:
        me, cid = participant.identity, command.cid
        if not me.name:
            return error_frame("no_name", "choose a display name first", cid=cid)
        session = await self._session(session_id)  # one read for both checks
        if session is None or not session.chat:
            return error_frame("chat_off", "chat is off for this session", cid=cid)
        if not me.moderator and audience_closed(session, times.now()):
            return error_frame("ended", "the session has ended: the chat is read-only", cid=cid)
        wait = await self._rate_wait(participant)
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
