"""Fan-out in one process: one reader per active session, writing to this process's sockets.

Each reader loops ``XREAD BLOCK`` from its cursor (so a Redis restart loses nothing: it resumes
from the last id it saw) and turns what it read into at most two wire frames, one for viewers
and one for moderators, built once and written to every socket as the same bytes. Sockets are
:class:`Subscriber` objects whose ``deliver`` never blocks (a slow one drops itself).

Joining without gaps or repeats: a socket holds the session's :class:`Channel` open, sends its
history or replay up to id H, then :meth:`Channel.attach` with H. If the reader is already past
H the caller reads the difference first; if the reader is behind H, the entries up to H are
skipped for that socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from stream.chat.archive import ChatArchive
from stream.chat.log import EMPTY_ID, ChatLog, Entry, parse_id, visible_events
from stream.chat.protocol import batch_frame
from stream.chat.stats import FanoutStats

logger = logging.getLogger(__name__)

READ_BLOCK_MS = 1000
READ_COUNT = 500
MAX_UNARCHIVED = 10_000  # entries kept for the archive while Redis is away
READ_RETRY_DELAY = 0.2
READ_RETRY_MAX_DELAY = 2.0

EntryId = tuple[int, int]


class Subscriber(Protocol):
    moderator: bool

    def deliver(self, frame: bytes) -> None:
        """Queue ``frame`` (a complete wire frame) for sending; must not block."""


# Turns an event payload into the bytes written to a socket (the WebSocket frame).
Encode = Callable[[bytes], bytes]


class SessionReader:
    """The one reader of one session in this process."""

    def __init__(
        self,
        session_id: str,
        log: ChatLog,
        encode: Encode,
        stats: FanoutStats,
        archive: ChatArchive | None = None,
    ) -> None:
        self.session_id = session_id
        self.log = log
        self.archive = archive
        self._unarchived: list[Entry] = []
        self.encode = encode
        self.stats = stats
        self.subscribers: dict[Subscriber, EntryId | None] = {}
        self.holders = 0
        self.cursor: EntryId = (0, 0)
        self._cursor_bytes = EMPTY_ID
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self._run(), name=f"chat-reader-{session_id}")

    async def _run(self) -> None:
        delay = READ_RETRY_DELAY
        while True:
            try:
                if not self.ready.done():
                    self._cursor_bytes = await self.log.last_id(self.session_id)
                    self.cursor = parse_id(self._cursor_bytes)
                    self.ready.set_result(None)
                entries = await self.log.read(
                    self.session_id, self._cursor_bytes, block_ms=READ_BLOCK_MS, count=READ_COUNT
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("[%s] chat reader: %s; retrying", self.session_id, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, READ_RETRY_MAX_DELAY)
                continue
            delay = READ_RETRY_DELAY
            if entries:
                self._deliver(entries)
                await self._archive(entries)

    async def _archive(self, entries: list[Entry]) -> None:
        """Keep what was read in the session archive (after delivery: it never delays it)."""
        if self.archive is None:
            return
        pending = self._unarchived + entries
        try:
            await self.archive.add(self.session_id, pending)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis away: keep them for the next round (bounded)
            logger.warning("[%s] chat archive: %s", self.session_id, exc)
            self._unarchived = pending[-MAX_UNARCHIVED:]
        else:
            self._unarchived = []

    def _deliver(self, entries: list[Entry]) -> None:
        """Write ``entries`` to every socket: one frame for viewers, one for moderators."""
        viewer_events = visible_events(entries, moderator=False)
        public = self.encode(batch_frame(viewer_events)) if viewer_events else None
        private: bytes | None = None
        viewers = moderators = 0
        last = parse_id(entries[-1].id)
        # Values change during the loop (a joining socket catches up), never the keys.
        for subscriber, skip_until in self.subscribers.items():
            if skip_until is not None:
                frame = self._frame_after(entries, skip_until, subscriber.moderator)
                if frame is not None:
                    subscriber.deliver(frame)
                if last >= skip_until:
                    self.subscribers[subscriber] = None
            elif subscriber.moderator:
                if private is None:
                    private = self.encode(batch_frame(visible_events(entries, moderator=True)))
                subscriber.deliver(private)
                moderators += 1
            elif public is not None:
                subscriber.deliver(public)
                viewers += 1
        self._cursor_bytes = entries[-1].id
        self.cursor = last
        self.stats.entries += len(entries)
        self.stats.deliveries += viewers * len(viewer_events) + moderators * len(entries)
        if viewers or moderators:
            now_ms = time.time() * 1000
            for entry in entries:
                self.stats.record_latency(now_ms - parse_id(entry.id)[0], viewers + moderators)

    def _frame_after(self, entries: list[Entry], after: EntryId, moderator: bool) -> bytes | None:
        newer = [entry for entry in entries if parse_id(entry.id) > after]
        events = visible_events(newer, moderator)
        return self.encode(batch_frame(events)) if events else None


class Channel:
    """A socket's hold on its session's reader (see the module docstring for joining)."""

    def __init__(self, reader: SessionReader) -> None:
        self._reader = reader

    async def ready(self) -> None:
        """Wait until the reader knows where the stream ends (its starting cursor)."""
        await asyncio.shield(self._reader.ready)

    def attach(self, subscriber: Subscriber, sent_up_to: bytes) -> bool:
        """Start live delivery after ``sent_up_to``; False if the reader is already past it
        (send the entries in between first, then attach again)."""
        sent = parse_id(sent_up_to)
        if self._reader.cursor > sent:
            return False
        self._reader.subscribers[subscriber] = sent if sent > self._reader.cursor else None
        return True

    def detach(self, subscriber: Subscriber) -> None:
        self._reader.subscribers.pop(subscriber, None)


class Fanout:
    def __init__(self, log: ChatLog, encode: Encode, archive: ChatArchive | None = None) -> None:
        self.log = log
        self.encode = encode
        self.archive = archive
        self.stats = FanoutStats()
        self._readers: dict[str, SessionReader] = {}

    @contextlib.asynccontextmanager
    async def channel(self, session_id: str) -> AsyncIterator[Channel]:
        """Hold the session's reader (started on first use, stopped after the last)."""
        reader = self._readers.get(session_id)
        if reader is None:
            reader = self._readers[session_id] = SessionReader(
                session_id, self.log, self.encode, self.stats, self.archive
            )
            logger.info("[%s] chat reader started", session_id)
        reader.holders += 1
        try:
            yield Channel(reader)
        finally:
            reader.holders -= 1
            if reader.holders == 0:
                del self._readers[session_id]
                reader.task.cancel()
                logger.info("[%s] chat reader stopped", session_id)

    @property
    def sessions(self) -> int:
        return len(self._readers)

    @property
    def subscribers(self) -> int:
        return sum(len(reader.subscribers) for reader in self._readers.values())

    async def close(self) -> None:
        readers, self._readers = list(self._readers.values()), {}
        for reader in readers:
            reader.task.cancel()
            if not reader.ready.done():
                reader.ready.cancel()
        for reader in readers:
            with contextlib.suppress(asyncio.CancelledError):
                await reader.task
