"""Vote counts published per tick: one stream append per session per tick, whatever the votes.

The vote script (:mod:`stream.qa.votes`) still decides every vote atomically and moves the
count and the ranking; what is coalesced is only telling everyone. A node that took votes on
questions of a session notes the questions; at the end of the tick one script reads their
counts and appends one ``votes`` entry per changed question to the session's stream, in one
round trip. Every node's fan-out then writes them (grouped into one frame) to its sockets.

Adaptive like the chat's fan-out: a vote in a quiet session (no publication for a tick, none
waiting) appends its own count in the vote script, as the per-vote path does, at no extra round
trip (:meth:`Tally.inline`); votes within a tick of the last publication wait for the end of
it. The counts are read when they are published, inside the script, so the stream's order is
the order of the reads: a later entry never holds a smaller count than an earlier one,
whichever node wrote it, and the last entry of a question holds its exact count (a vote that
did not publish its own count is always followed by a publication read after it).

If Redis is away, the questions stay noted and go out with the next tick (bounded by
``MAX_PENDING_QUESTIONS`` per session: the snapshot a client syncs from is exact anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from stream.chat.keys import stream_key
from stream.chat.log import STREAM_MAXLEN
from stream.config import ConfigError
from stream.qa.keys import question_key
from stream.store import Redis

logger = logging.getLogger(__name__)

# Under load a session's new counts go out together once per tick (quiet: at once).
VOTE_TICK_MS = 10.0
MAX_VOTE_TICK_MS = 1000.0
# 0 publishes every vote's count from the vote script itself (the per-vote path: the
# benchmark's baseline).
VOTE_TICK_ENV = "STREAM_QA_VOTE_TICK_MS"
MAX_PENDING_QUESTIONS = 2000
RETRY_DELAY = 0.5
CLOSE_TIMEOUT = 2.0

_PUBLISH = """
-- KEYS: stream, then each question's hash.  ARGV: maxlen, then each question's id.
local published = 0
for i = 2, #KEYS do
  local row = redis.call('HMGET', KEYS[i], 'votes', 'state')
  local votes, state = row[1], row[2]
  if votes and (state == 'approved' or state == 'answered') then
    local payload = '{"type":"qa","action":"votes","q":"' .. ARGV[i] .. '","votes":' .. votes .. '}'
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'd', payload)
    published = published + 1
  end
end
return published
"""


def vote_tick_from_env(env: Mapping[str, str]) -> float:
    """``STREAM_QA_VOTE_TICK_MS``, or the default."""
    raw = env.get(VOTE_TICK_ENV)
    if raw is None:
        return VOTE_TICK_MS
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{VOTE_TICK_ENV}: {raw!r} is not a number") from None
    if not 0 <= value <= MAX_VOTE_TICK_MS:
        raise ConfigError(f"{VOTE_TICK_ENV} must be 0-{MAX_VOTE_TICK_MS:g}")
    return value


class SessionTally:
    """One session's questions whose count changed here and is not published yet."""

    def __init__(self) -> None:
        self.changed: set[str] = set()
        self.task: asyncio.Task[None] | None = None
        self.last_publish = float("-inf")


# Publishes the current values of a session's changed items (question ids; poll ids).
Publisher = Callable[[str, list[str]], Awaitable[None]]


class Tally:
    """This process's vote publisher (see the module docstring); given ``publish``, the same
    per tick coalescing for other items (:meth:`stream.qa.polls.Polls.publish_results`: poll
    results), ``what`` naming them in the log."""

    def __init__(
        self,
        redis: Redis,
        tick_ms: float = VOTE_TICK_MS,
        publish: Publisher | None = None,
        what: str = "vote counts",
    ) -> None:
        if not 0 < tick_ms <= MAX_VOTE_TICK_MS:
            raise ValueError(f"vote tick must be above 0 and at most {MAX_VOTE_TICK_MS:g} ms")
        self.redis = redis
        self.tick = tick_ms / 1000
        self.publications = 0
        self.what = what
        self._publish = redis.register_script(_PUBLISH)
        self._publisher: Publisher = publish or self._publish_votes
        self._sessions: dict[str, SessionTally] = {}
        self._closed = False

    def inline(self, session_id: str) -> bool:
        """Whether the next vote of the session publishes its own count (the session is
        quiet); if so, that counts as the session's publication for this tick."""
        tally = self._sessions.get(session_id)
        now = asyncio.get_running_loop().time()
        if tally is None:
            tally = self._sessions[session_id] = SessionTally()
            tally.last_publish = now
            self._forget_later(session_id, tally)
            return True
        if tally.task is not None or now - tally.last_publish < self.tick:
            return False
        tally.last_publish = now
        return True

    def _forget_later(self, session_id: str, tally: SessionTally) -> None:
        """A session whose votes all went out inline is forgotten after a tick."""
        asyncio.get_running_loop().call_later(self.tick, self._forget, session_id, tally)

    def _forget(self, session_id: str, tally: SessionTally) -> None:
        if tally.task is not None or tally.changed:
            return  # its task forgets it when done
        if asyncio.get_running_loop().time() - tally.last_publish < self.tick:
            self._forget_later(session_id, tally)
        elif self._sessions.get(session_id) is tally:
            del self._sessions[session_id]

    def changed(self, session_id: str, qid: str) -> None:
        """``qid``'s count changed (the vote script counted a vote): publish it soon."""
        if self._closed:
            return
        tally = self._sessions.get(session_id)
        if tally is None:
            tally = self._sessions[session_id] = SessionTally()
        if len(tally.changed) < MAX_PENDING_QUESTIONS:
            tally.changed.add(qid)
        if tally.task is None:
            tally.task = asyncio.create_task(self._run(session_id, tally), name="qa-tally")

    async def _run(self, session_id: str, tally: SessionTally) -> None:
        """Publish at the end of the tick (at once when the last publication is a tick old),
        until nothing is left; then the session's tally is forgotten."""
        loop = asyncio.get_running_loop()
        try:
            while tally.changed and not self._closed:
                wait = tally.last_publish + self.tick - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                qids, tally.changed = sorted(tally.changed), set()
                tally.last_publish = loop.time()
                try:
                    await self._publish_counts(session_id, qids)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # Redis away: keep them for the next round
                    logger.warning("[%s] %s: %s", session_id, self.what, type(exc).__name__)
                    tally.changed.update(qids[:MAX_PENDING_QUESTIONS])
                    await asyncio.sleep(RETRY_DELAY)
        finally:
            tally.task = None
            if not tally.changed and self._sessions.get(session_id) is tally:
                del self._sessions[session_id]

    async def _publish_counts(self, session_id: str, ids: list[str]) -> None:
        await self._publisher(session_id, ids)
        self.publications += 1

    async def _publish_votes(self, session_id: str, qids: list[str]) -> None:
        keys = [stream_key(session_id), *(question_key(session_id, qid) for qid in qids)]
        await self._publish(keys=keys, args=[STREAM_MAXLEN, *qids])

    async def close(self) -> None:
        """Publish what is pending (bounded), then stop."""
        tasks = [t.task for t in self._sessions.values() if t.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT)
        self._closed = True
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)
