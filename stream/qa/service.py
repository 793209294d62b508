"""The Q&A service: answers the socket's ``qa.*`` and ``poll.*`` frames with ready frames.

Registered on the chat's sockets (``ChatSockets.register``); every refusal is a ``qa.error``
frame carrying the request's ``cid``, never an exception out of the socket loop.

Asking, voting and answering polls are limited per identity *and* per address (the rates in
:mod:`stream.common.rates`, counted in Redis by the one limiter, so every node shares them), and
an identity new to the session's Q&A counts against its address first: reconnecting without
the identity token to vote again runs into that. Moderators are not limited.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from stream.chat.chat import Participant
from stream.chat.identity import Identity
from stream.chat.log import ChatLog
from stream.chat.protocol import Extension, encode
from stream.common import times
from stream.common.errors import NotFound
from stream.common.limits import Limiter, Rate
from stream.common.rates import (
    QA_ASK_PER_ADDRESS,
    QA_ASK_PER_IDENTITY,
    QA_NEW_IDENTITY_PER_ADDRESS,
    QA_POLL_ANSWER_PER_ADDRESS,
    QA_POLL_ANSWER_PER_IDENTITY,
    QA_VOTE_PER_ADDRESS,
    QA_VOTE_PER_IDENTITY,
)
from stream.program.schedule import audience_closed
from stream.program.sessions import Session, SessionStore
from stream.qa.keys import people_key
from stream.qa.moderation import QAModeration
from stream.qa.polls import Polls
from stream.qa.protocol import (
    QAError,
    parse_ask,
    parse_moderate,
    parse_poll_answer,
    parse_poll_create,
    parse_poll_moderate,
    parse_vote,
)
from stream.qa.questions import Asked, Questions
from stream.qa.snapshot import snapshot
from stream.qa.tally import VOTE_TICK_MS, Tally
from stream.qa.votes import Votes
from stream.rooms.presence import presence_key
from stream.store import Redis

logger = logging.getLogger(__name__)

Handler = Callable[[str, Participant, Extension], Awaitable[dict[str, Any]]]


def check_open(session: Session, now: datetime) -> None:
    """Refuse audience writes once the session is over (its end plus the grace)."""
    if audience_closed(session, now):
        raise QAError("the session has ended: questions and votes are closed", "ended")


def error_frame(exc: QAError, cid: str | None) -> bytes:
    frame: dict[str, Any] = {"type": "qa.error", "code": exc.code, "detail": str(exc)}
    if exc.retry_after is not None:
        frame["retry_after"] = exc.retry_after
    if cid is not None:
        frame["cid"] = cid
    return encode(frame)


def _too_fast(what: str, wait: float, *, address: bool) -> QAError:
    seconds = max(1, math.ceil(wait))
    who = "from your address " if address else ""
    return QAError(
        f"too many {what} {who}just now: try again in {seconds} s",
        "rate_limited",
        retry_after=round(wait, 3),
    )


def _by(participant: Participant) -> dict[str, str]:
    return {"name": participant.identity.name or participant.label, "label": participant.label}


# A session read for a vote is reused this long by this process (an edit of its times reaches
# votes within it; its scheduled end is checked against the clock on every vote).
SESSION_CACHE_SECONDS = 1.0
MAX_CACHED_SESSIONS = 1000
# Identities known to be admitted to a session's Q&A (once in, never out), kept in this process.
MAX_ADMITTED = 100_000


def _always(session_id: str) -> bool:
    """The per-vote path: every vote publishes its own count."""
    return True


def _published_by_the_vote(session_id: str, qid: str) -> None:
    """The per-vote path: the vote script appended the new count itself."""


class QAService:
    """``vote_tick_ms``: new vote counts are published once per tick per session (0: each
    vote publishes its own, the per-vote path)."""

    def __init__(self, redis: Redis, limiter: Limiter, vote_tick_ms: float = VOTE_TICK_MS) -> None:
        self.redis = redis
        self.limiter = limiter
        self.log = ChatLog(redis)
        self.questions = Questions(redis)
        self.tally = Tally(redis, vote_tick_ms) if vote_tick_ms else None
        self.votes = Votes(redis, publish=self.tally is None)
        # Whether a vote publishes its own count, and where a counted vote's new count goes
        # otherwise: chosen once.
        self._inline: Callable[[str], bool] = (
            self.tally.inline if self.tally is not None else _always
        )
        self._counted: Callable[[str, str], None] = (
            self.tally.changed if self.tally is not None else _published_by_the_vote
        )
        self.moderation = QAModeration(redis, self.questions)
        self.polls = Polls(redis)
        # Poll results coalesced the same way: an answer in a busy session leaves its poll's
        # results to the end of the tick (one entry a poll, however many answers).
        self.poll_tally = (
            Tally(redis, vote_tick_ms, self.polls.publish_results, "poll results")
            if vote_tick_ms
            else None
        )
        self._poll_inline: Callable[[str], bool] = (
            self.poll_tally.inline if self.poll_tally is not None else _always
        )
        self._poll_answered: Callable[[str, str], None] = (
            self.poll_tally.changed if self.poll_tally is not None else _published_by_the_vote
        )
        self._sessions: dict[str, tuple[float, Session]] = {}
        self._admitted: set[tuple[str, str]] = set()
        self.handlers: dict[str, Handler] = {
            "qa.sync": self._sync,
            "qa.ask": self._ask,
            "qa.vote": self._vote,
            "qa.mod": self._moderate,
            "poll.create": self._poll_create,
            "poll.answer": self._poll_answer,
            "poll.mod": self._poll_moderate,
        }

    async def handle(self, session_id: str, participant: Participant, frame: Extension) -> bytes:
        try:
            reply = await self.handlers[frame.kind](session_id, participant, frame)
        except QAError as exc:
            return error_frame(exc, frame.cid)
        if frame.cid is not None:
            reply["cid"] = frame.cid
        return encode(reply)

    async def _limit(
        self, session_id: str, me: Identity, what: str, per_identity: Rate, per_address: Rate
    ) -> None:
        """Count one action of ``me`` against both rates (raises when either refuses)."""
        if me.moderator:
            return
        await self._admit(session_id, me)
        wait = await self.limiter.hit_each(
            (per_identity, ("id", me.uid)), (per_address, ("addr", me.address_tag))
        )
        if wait:
            raise _too_fast(what, wait, address=False)

    async def _admit(self, session_id: str, me: Identity) -> None:
        """An identity's first Q&A action in the session counts against its address."""
        key = people_key(session_id)
        if me.registered or (session_id, me.uid) in self._admitted:
            return
        if not await self.redis.sismember(key, me.uid):
            wait = await self.limiter.hit(QA_NEW_IDENTITY_PER_ADDRESS, ("addr", me.address_tag))
            if wait:
                raise _too_fast("new visitors", wait, address=True)
            await self.redis.sadd(key, me.uid)
        if len(self._admitted) >= MAX_ADMITTED:
            self._admitted.clear()
        self._admitted.add((session_id, me.uid))

    async def _session_for_vote(self, session_id: str) -> Session:
        """The session, read at most once per ``SESSION_CACHE_SECONDS`` by this process."""
        now = time.monotonic()
        cached = self._sessions.get(session_id)
        if cached is not None and now - cached[0] < SESSION_CACHE_SECONDS:
            return cached[1]
        try:
            session = await SessionStore(self.redis).get(session_id)
        except NotFound:
            raise QAError("no such session", "not_found") from None
        if len(self._sessions) >= MAX_CACHED_SESSIONS:
            self._sessions.clear()
        self._sessions[session_id] = (now, session)
        return session

    async def _sync(self, session_id: str, who: Participant, frame: Extension) -> dict[str, Any]:
        return await snapshot(
            self.redis, self.log, self.votes, self.polls, session_id, who.identity
        )

    async def stream_position(self, session_id: str, delay_ms: int) -> int | None:
        """Milliseconds into the live stream the asker was seeing (None: not live)."""
        since = await self.redis.hget(presence_key(session_id), "since")
        if not since:
            return None
        return max(0, int(time.time() * 1000 - float(since) * 1000) - delay_ms)

    async def _ask(self, session_id: str, who: Participant, frame: Extension) -> dict[str, Any]:
        if frame.cid is None:
            raise QAError("cid is required")
        ask = parse_ask(frame.data)
        me = who.identity
        if not ask.anon and not me.name:
            raise QAError("choose a display name first, or ask anonymously", "no_name")
        session = await SessionStore(self.redis).get(session_id)
        if not session.qa:
            raise QAError("questions are off for this session", "qa_off")
        if not me.moderator:
            check_open(session, times.now())
        try:
            await self._limit(session_id, me, "questions", QA_ASK_PER_IDENTITY, QA_ASK_PER_ADDRESS)
        except QAError:
            previous = await self.questions.asked_before(session_id, me.uid, frame.cid)
            if previous is None:
                raise
            asked = Asked(previous, duplicate=True)  # a retry of an ask that was stored
        else:
            pos = await self.stream_position(session_id, ask.delay_ms)
            asked = await self.questions.ask(session_id, me, ask, frame.cid, pos)
        return {
            "type": "qa.ack",
            "q": asked.qid,
            "state": asked.state,
            "duplicate": asked.duplicate,
        }

    async def _vote(self, session_id: str, who: Participant, frame: Extension) -> dict[str, Any]:
        vote = parse_vote(frame.data)
        me = who.identity
        if not me.moderator:
            check_open(await self._session_for_vote(session_id), times.now())
        await self._limit(session_id, me, "votes", QA_VOTE_PER_IDENTITY, QA_VOTE_PER_ADDRESS)
        address = "" if me.moderator else me.address_tag
        inline = self._inline(session_id)
        voted = await self.votes.vote(
            session_id, vote.qid, me.uid, up=vote.up, address=address, publish=inline
        )
        if voted.changed and not inline:
            self._counted(session_id, vote.qid)
        return {
            "type": "qa.ack",
            "q": vote.qid,
            "voted": vote.up,
            "votes": voted.votes,
            "changed": voted.changed,
        }

    def _moderator(self, who: Participant) -> None:
        if not who.moderator:
            raise QAError("only moderators may do that", "forbidden")

    async def _moderate(
        self, session_id: str, who: Participant, frame: Extension
    ) -> dict[str, Any]:
        self._moderator(who)
        command = parse_moderate(frame.data)
        entry = await self.moderation.apply(session_id, command, _by(who))
        logger.info(
            "[%s] q&a %s %s by %s (%s)",
            session_id,
            command.action,
            command.qid,
            who.identity.uid,
            who.label,
        )
        return {"type": "qa.ack", "action": command.action, "q": command.qid, "id": entry.decode()}

    async def _poll_create(
        self, session_id: str, who: Participant, frame: Extension
    ) -> dict[str, Any]:
        self._moderator(who)
        pid, entry = await self.polls.create(session_id, parse_poll_create(frame.data))
        return {"type": "qa.ack", "action": "create", "poll": pid, "id": entry.decode()}

    async def _poll_moderate(
        self, session_id: str, who: Participant, frame: Extension
    ) -> dict[str, Any]:
        self._moderator(who)
        command = parse_poll_moderate(frame.data)
        entry = await self.polls.moderate(session_id, command)
        return {
            "type": "qa.ack",
            "action": command.action,
            "poll": command.pid,
            "id": entry.decode(),
        }

    async def _poll_answer(
        self, session_id: str, who: Participant, frame: Extension
    ) -> dict[str, Any]:
        command = parse_poll_answer(frame.data)
        me = who.identity
        await self.polls.check(session_id, command)  # a mistake costs no allowance
        await self._limit(
            session_id, me, "poll answers", QA_POLL_ANSWER_PER_IDENTITY, QA_POLL_ANSWER_PER_ADDRESS
        )
        address = "" if me.moderator else me.address_tag
        inline = self._poll_inline(session_id)
        ack: dict[str, Any] = {"type": "qa.ack", "poll": command.pid}
        if command.words:
            entry, words = await self.polls.answer_words(
                session_id, me.uid, command, address=address, publish=inline
            )
            ack["words"] = words
        else:
            entry = await self.polls.answer(
                session_id, me.uid, command, address=address, publish=inline
            )
            ack["choices"] = list(command.choices)
        if not inline:
            self._poll_answered(session_id, command.pid)
        ack["id"] = entry.decode() or None
        return ack
