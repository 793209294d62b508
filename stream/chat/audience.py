"""The audience of a session, pushed on its sockets: whether it is live and how many watch.

The node hosting a live room records its viewer count in Redis every few seconds
(``stream.rooms.presence``). One watcher per session with sockets in this process reads that
record every ``PUSH_INTERVAL`` seconds and writes a ``presence`` frame to those sockets when it
changed: pages learn the count without polling, and a busy room sends at most one such frame
a second. A socket that joins gets the current value at once (nothing when it is not live:
that is what a page assumes).

The same watcher reads the session's moderation counts (how many questions wait, were merged
or declined, how many chat messages were removed) when it is given a reader for them, and
pushes a ``moderation`` frame when they changed: a burst of moderation reaches each socket as
at most one frame per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from stream.chat.fanout import Encode, Subscriber
from stream.chat.protocol import encode as encode_json
from stream.chat.protocol import presence_frame

logger = logging.getLogger(__name__)

PUSH_INTERVAL = 1.0  # seconds between reads, so at most one presence frame a second
CLOSE_TIMEOUT = 2.0  # seconds closing waits for the watchers


class LiveRecord(Protocol):
    """What the rooms record about a live session (``RoomPresence``)."""

    @property
    def viewers(self) -> int: ...


# The record of a live session, None when it is not live.
Lookup = Callable[[str], Awaitable[LiveRecord | None]]


class Tally(Protocol):
    """Counts to push (``ModerationCounts``): the frame's payload."""

    def frame(self) -> dict[str, Any]: ...


# The session's counts, given the last ones read; None when they cannot have changed.
TallyReader = Callable[[str, Any], Awaitable[Tally | None]]


@dataclass(frozen=True, slots=True)
class Audience:
    live: bool
    viewers: int

    def __post_init__(self) -> None:
        if self.viewers < 0:
            raise ValueError("viewers must not be negative")

    @classmethod
    def of(cls, record: LiveRecord | None) -> Audience:
        return NOT_LIVE if record is None else cls(True, max(0, record.viewers))


NOT_LIVE = Audience(False, 0)


class SessionAudience:
    """The one watcher of one session in this process."""

    def __init__(
        self,
        session_id: str,
        lookup: Lookup,
        encode: Encode,
        interval: float,
        tally: TallyReader | None = None,
    ) -> None:
        self.session_id = session_id
        self.lookup = lookup
        self.encode = encode
        self.interval = interval
        self.read_tally = tally
        self.subscribers: set[Subscriber] = set()
        self.current = NOT_LIVE
        self.frame: bytes | None = None  # the frame for ``current``; None while not live
        self.tally: Tally | None = None
        self.tally_frame: bytes | None = None  # the frame for ``tally``, once read
        # Checked every round: a cancellation swallowed inside a Redis call still ends it.
        self.stopped = False
        self.task = asyncio.create_task(self._run(), name=f"audience-{session_id}")

    def stop(self) -> None:
        self.stopped = True
        self.task.cancel()

    async def _run(self) -> None:
        while not self.stopped:
            try:
                record = await self.lookup(self.session_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away for a moment: keep the last value
                logger.warning("[%s] audience: %s", self.session_id, exc)
            else:
                self.update(Audience.of(record))
            if self.read_tally is not None:
                await self._read_tally(self.read_tally)
            await asyncio.sleep(self.interval)

    async def _read_tally(self, read: TallyReader) -> None:
        try:
            tally = await read(self.session_id, self.tally)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis away for a moment: keep the last counts
            logger.warning("[%s] moderation counts: %s", self.session_id, exc)
            return
        if tally is not None:
            self.update_tally(tally)

    def update_tally(self, tally: Tally) -> None:
        """Push ``tally`` to every socket if its counts differ from what they were told."""
        previous = self.tally
        self.tally = tally
        if previous is not None and previous.frame() == tally.frame():
            return
        frame = self.encode(encode_json(tally.frame()))
        self.tally_frame = frame
        for subscriber in list(self.subscribers):
            subscriber.deliver(frame)

    def update(self, audience: Audience) -> None:
        """Push ``audience`` to every socket if it differs from what they were told."""
        if audience == self.current:
            return
        self.current = audience
        frame = self.encode(presence_frame(live=audience.live, viewers=audience.viewers))
        self.frame = None if audience == NOT_LIVE else frame
        for subscriber in list(self.subscribers):
            subscriber.deliver(frame)


class AudienceWatch:
    """Watchers per session, started with the first socket and stopped after the last."""

    def __init__(
        self,
        lookup: Lookup,
        encode: Encode,
        interval: float = PUSH_INTERVAL,
        tally: TallyReader | None = None,
    ) -> None:
        self.lookup = lookup
        self.encode = encode
        self.interval = interval
        self.tally = tally
        self._sessions: dict[str, SessionAudience] = {}

    @contextlib.contextmanager
    def watch(self, session_id: str, subscriber: Subscriber) -> Iterator[None]:
        """``subscriber`` gets the session's presence (and moderation) frames while inside."""
        watcher = self._sessions.get(session_id)
        if watcher is None:
            watcher = self._sessions[session_id] = SessionAudience(
                session_id, self.lookup, self.encode, self.interval, self.tally
            )
        watcher.subscribers.add(subscriber)
        if watcher.frame is not None:
            subscriber.deliver(watcher.frame)
        if watcher.tally_frame is not None:
            subscriber.deliver(watcher.tally_frame)
        try:
            yield
        finally:
            watcher.subscribers.discard(subscriber)
            if not watcher.subscribers and self._sessions.get(session_id) is watcher:
                del self._sessions[session_id]
                watcher.stop()

    @property
    def sessions(self) -> int:
        return len(self._sessions)

    async def close(self) -> None:
        watchers, self._sessions = list(self._sessions.values()), {}
        for watcher in watchers:
            watcher.stop()
        if watchers:
            await asyncio.wait([watcher.task for watcher in watchers], timeout=CLOSE_TIMEOUT)
