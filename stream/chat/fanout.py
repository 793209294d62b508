"""Fan-out in one process: one reader for every active session, writing to this process's sockets.

The process's reader loops ``XREAD BLOCK`` over the streams of every session that has a socket
here, each from its own cursor (so a Redis restart loses nothing: it resumes from the last id it
saw), on a connection of its own: a blocked read never takes a connection from the shared pool,
however many sessions are active. What it reads for a session becomes at most two wire frames,
one for viewers and one for moderators, built once and written to every socket as the same
bytes. Sockets are :class:`Subscriber` objects whose ``deliver`` never blocks (a slow one drops
itself).

A session is in the reader's set while a socket holds its :class:`Channel` and leaves it when the
last one lets go: that is a dictionary change, never a cancelled Redis call, so no timing of
sockets coming and going can leave a read behind. A session added while the read blocks wakes it
through the process's own wake stream (``chat:wake:<node>``, short-lived).

Delivery is adaptive: an entry read while the session is quiet (nothing written to its sockets
for a tick) is written at once; entries read within a tick of the last write wait for the end
of that tick and go out together, so under load each socket gets at most one frame per session
per tick: ``FANOUT_TICK_MS``, or ``ROUND_SPACING`` times as long as the last write to all of
its sockets took when that is longer (writing takes at most about a third of the loop however
many sockets there are), at most ``MAX_ADAPTIVE_TICK_MS``. A tick of 0 writes every read at
once (the previous path, kept for the benchmark's baseline). The reader's Redis cursor runs
ahead of what was written; joining compares with what was written.

Joining without gaps or repeats: a socket holds the session's :class:`Channel` open, sends its
history or replay up to id H, then :meth:`Channel.attach` with H. If the reader is already past
H the caller reads the difference first; if the reader is behind H, the entries up to H are
skipped for that socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import redis.asyncio as aioredis

from stream.chat.archive import ChatArchive
from stream.chat.keys import stream_key
from stream.chat.limits import FANOUT_TICK_MS
from stream.chat.log import EMPTY_ID, ChatLog, Entry, parse_id, visible_events
from stream.chat.protocol import batch_frame
from stream.chat.stats import FanoutStats
from stream.store import Redis

logger = logging.getLogger(__name__)

READ_BLOCK_MS = 1000
READ_COUNT = 500
MAX_UNARCHIVED = 10_000  # entries kept for the archive while Redis is away
READ_RETRY_DELAY = 0.2
READ_RETRY_MAX_DELAY = 2.0
# Connections of the reader's own pool (the blocking read, and the cursors of new sessions).
READER_CONNECTIONS = 2
# The wake stream: a few entries, gone soon after the process is.
WAKE_MAXLEN = 16
WAKE_TTL_SECONDS = 60
# How long closing waits for the reader to finish its last read.
CLOSE_TIMEOUT = 2.0
MAX_FANOUT_TICK_MS = 1000.0
# Under load the tick stretches to this many times the last round of writes (bounded).
ROUND_SPACING = 2.0
MAX_ADAPTIVE_TICK_MS = 50.0

EntryId = tuple[int, int]


class ChannelClosed(Exception):
    """The fan-out stopped (shutdown) before this socket's session was ready."""


class Subscriber(Protocol):
    moderator: bool

    def deliver(self, frame: bytes) -> None:
        """Queue ``frame`` (a complete wire frame) for sending; must not block."""


# Turns an event payload into the bytes written to a socket (the WebSocket frame).
Encode = Callable[[bytes], bytes]


def reader_client(redis: Redis, connections: int = READER_CONNECTIONS) -> Redis:
    """A client on its own small pool, to the same server and with the same options as
    ``redis``: what the blocking read holds is never missing from the shared pool."""
    shared = redis.connection_pool
    pool = aioredis.BlockingConnectionPool(
        connection_class=shared.connection_class,
        max_connections=connections,
        timeout=None,
        **shared.connection_kwargs,
    )
    return aioredis.Redis(connection_pool=pool)


class SessionReader:
    """One session in this process's reader: its cursor, its sockets, its unarchived entries."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.key = stream_key(session_id).encode()
        self.subscribers: dict[Subscriber, EntryId | None] = {}
        self.holders = 0
        # What was written to the sockets (joining compares with it) ...
        self.cursor: EntryId = (0, 0)
        # ... and where the next read starts (ahead of it while entries wait for the tick).
        self.cursor_bytes = EMPTY_ID
        self.read_cursor: EntryId = (0, 0)
        self.unarchived: list[Entry] = []
        # Entries read but not yet written (they wait for the end of the tick).
        self.pending: list[Entry] = []
        self.flush_at: asyncio.TimerHandle | None = None
        self.last_write = 0.0
        # The wait between writes under load (the tick, stretched by slow rounds).
        self.spacing = 0.0
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def start_at(self, last_id: bytes) -> None:
        self.cursor_bytes = last_id
        self.cursor = self.read_cursor = parse_id(last_id)
        if not self.ready.done():
            self.ready.set_result(None)

    def take_read(self, entries: list[Entry]) -> list[Entry]:
        """The entries past the read cursor (moved past them)."""
        entries = [entry for entry in entries if parse_id(entry.id) > self.read_cursor]
        if entries:
            self.cursor_bytes = entries[-1].id
            self.read_cursor = parse_id(entries[-1].id)
        return entries

    def cancel_flush(self) -> None:
        if self.flush_at is not None:
            self.flush_at.cancel()
            self.flush_at = None

    def deliver(self, entries: list[Entry], encode: Encode, stats: FanoutStats) -> None:
        """Write ``entries`` (past the written cursor) to every socket: one frame for viewers,
        one for moderators, the same bytes to each."""
        if not entries:
            return
        viewer_events = visible_events(entries, moderator=False)
        public = encode(batch_frame(viewer_events)) if viewer_events else None
        private: bytes | None = None
        viewers = moderators = 0
        last = parse_id(entries[-1].id)
        # Values change during the loop (a joining socket catches up), never the keys.
        for subscriber, skip_until in self.subscribers.items():
            if skip_until is not None:
                frame = self._frame_after(entries, skip_until, subscriber.moderator, encode)
                if frame is not None:
                    subscriber.deliver(frame)
                if last >= skip_until:
                    self.subscribers[subscriber] = None
            elif subscriber.moderator:
                if private is None:
                    private = encode(batch_frame(visible_events(entries, moderator=True)))
                subscriber.deliver(private)
                moderators += 1
            elif public is not None:
                subscriber.deliver(public)
                viewers += 1
        self.cursor = last
        stats.entries += len(entries)
        stats.writes += viewers + moderators
        stats.deliveries += viewers * len(viewer_events) + moderators * len(entries)
        if viewers or moderators:
            now_ms = time.time() * 1000
            for entry in entries:
                stats.record_latency(now_ms - parse_id(entry.id)[0], viewers + moderators)

    @staticmethod
    def _frame_after(
        entries: list[Entry], after: EntryId, moderator: bool, encode: Encode
    ) -> bytes | None:
        newer = [entry for entry in entries if parse_id(entry.id) > after]
        events = visible_events(newer, moderator)
        return encode(batch_frame(events)) if events else None


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
    """This process's one reader, over every session with a socket here.

    ``log`` is the shared log (its client wakes the reader); the reader reads on its own client,
    ``reader_client(log.redis)`` unless one is given.
    """

    def __init__(
        self,
        log: ChatLog,
        encode: Encode,
        archive: ChatArchive | None = None,
        *,
        reader_redis: Redis | None = None,
        tick_ms: float = FANOUT_TICK_MS,
    ) -> None:
        if not 0 <= tick_ms <= MAX_FANOUT_TICK_MS:
            raise ValueError(f"fan-out tick must be 0-{MAX_FANOUT_TICK_MS:g} ms")
        self.log = log
        self.encode = encode
        self.archive = archive
        self.stats = FanoutStats()
        self._reader_redis = reader_redis or reader_client(log.redis)
        self._reader_log = ChatLog(self._reader_redis)
        self._readers: dict[str, SessionReader] = {}
        self._wake_key = f"chat:wake:{secrets.token_hex(8)}".encode()
        self._wake_cursor = EMPTY_ID
        self._wanted = asyncio.Event()
        self._waking: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._tick = tick_ms / 1000
        self._max_spacing = max(self._tick, MAX_ADAPTIVE_TICK_MS / 1000)
        # The delivery strategy, chosen once: at once (tick 0), or adaptive per tick.
        self._take: Callable[[SessionReader, list[Entry]], None] = (
            self._write_now if tick_ms == 0 else self._write_adaptive
        )

    @contextlib.asynccontextmanager
    async def channel(self, session_id: str) -> AsyncIterator[Channel]:
        """Hold the session's place in the reader (added on first use, removed after the last)."""
        if self._closed:
            raise ChannelClosed("the chat is shutting down")
        reader = self._readers.get(session_id)
        if reader is None:
            reader = self._readers[session_id] = SessionReader(session_id)
            self._wake()
            logger.debug("[%s] chat reader started", session_id)
        reader.holders += 1
        try:
            yield Channel(reader)
        finally:
            reader.holders -= 1
            if reader.holders == 0 and self._readers.get(session_id) is reader:
                del self._readers[session_id]
                reader.cancel_flush()
                if not reader.ready.done():
                    reader.ready.cancel()
                logger.debug("[%s] chat reader stopped", session_id)

    @property
    def sessions(self) -> int:
        """Sessions this process reads (those with a socket here)."""
        return len(self._readers)

    @property
    def running_readers(self) -> int:
        """Reader tasks alive in this process: at most one, whatever the number of sessions."""
        return int(self._task is not None and not self._task.done())

    @property
    def subscribers(self) -> int:
        return sum(len(reader.subscribers) for reader in self._readers.values())

    def _wake(self) -> None:
        """A session was added: start the reader, or cut its current blocking read short."""
        self._wanted.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="chat-reader")
        elif self._waking is None or self._waking.done():
            self._waking = asyncio.create_task(self._send_wake(), name="chat-reader-wake")

    async def _send_wake(self) -> None:
        try:
            async with self.log.redis.pipeline(transaction=False) as pipe:
                pipe.xadd(self._wake_key, {b"w": b"1"}, maxlen=WAKE_MAXLEN, approximate=True)
                pipe.expire(self._wake_key, WAKE_TTL_SECONDS)
                await pipe.execute()
        except Exception as exc:  # the reader looks again within READ_BLOCK_MS anyway
            logger.debug("chat reader wake: %s", type(exc).__name__)

    async def _run(self) -> None:
        delay = READ_RETRY_DELAY
        while not self._closed:
            if not self._readers:
                self._wanted.clear()
                await self._wanted.wait()
                continue
            try:
                await self._start_new()
                reply = await self._read()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._closed:
                    return
                logger.warning("chat reader: %s; retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, READ_RETRY_MAX_DELAY)
                continue
            delay = READ_RETRY_DELAY
            await self._dispatch(reply)

    async def _start_new(self) -> None:
        """Set the starting cursor of sessions added since the last read."""
        for reader in list(self._readers.values()):
            if not reader.ready.done():
                reader.start_at(await self._reader_log.last_id(reader.session_id))

    async def _read(self) -> list[tuple[bytes, list[Entry]]]:
        streams: dict[Any, Any] = {
            reader.key: reader.cursor_bytes
            for reader in self._readers.values()
            if reader.ready.done() and not reader.ready.cancelled()
        }
        streams[self._wake_key] = self._wake_cursor
        return await self._reader_log.read_streams(
            streams, block_ms=READ_BLOCK_MS, count=READ_COUNT
        )

    async def _dispatch(self, reply: list[tuple[bytes, list[Entry]]]) -> None:
        by_key = {reader.key: reader for reader in self._readers.values()}
        for key, entries in reply:
            if key == self._wake_key:
                self._wake_cursor = entries[-1].id
                continue
            reader = by_key.get(key)
            if reader is None:  # its last socket left during the read
                continue
            new = reader.take_read(entries)
            if new:
                self._take(reader, new)
                await self._archive(reader, new)

    def _write_now(self, reader: SessionReader, entries: list[Entry]) -> None:
        reader.deliver(entries, self.encode, self.stats)

    def _write_adaptive(self, reader: SessionReader, entries: list[Entry]) -> None:
        """Quiet (nothing written for a tick, nothing waiting): write at once; else wait for
        the end of the tick and write everything read by then together."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if reader.flush_at is None and now - reader.last_write >= reader.spacing:
            reader.last_write = now
            self._write_round(reader, entries)
            return
        reader.pending += entries
        if reader.flush_at is None:
            reader.flush_at = loop.call_at(
                max(reader.last_write + reader.spacing, now), self._flush, reader
            )

    def _flush(self, reader: SessionReader) -> None:
        reader.flush_at = None
        entries, reader.pending = reader.pending, []
        reader.last_write = asyncio.get_running_loop().time()
        if entries and not self._closed:
            self._write_round(reader, entries)

    def _write_round(self, reader: SessionReader, entries: list[Entry]) -> None:
        """Write to every socket; the next spacing from how long that took."""
        started = time.perf_counter()
        reader.deliver(entries, self.encode, self.stats)
        took = time.perf_counter() - started
        reader.spacing = min(max(self._tick, ROUND_SPACING * took), self._max_spacing)

    async def _archive(self, reader: SessionReader, entries: list[Entry]) -> None:
        """Keep what was read in the session archive (after delivery: it never delays it)."""
        if self.archive is None:
            return
        pending = reader.unarchived + entries
        try:
            await self.archive.add(reader.session_id, pending)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis away: keep them for the next round (bounded)
            logger.warning("[%s] chat archive: %s", reader.session_id, type(exc).__name__)
            reader.unarchived = pending[-MAX_UNARCHIVED:]
        else:
            reader.unarchived = []

    async def close(self) -> None:
        """Stop the reader: no new sessions, the read cut off, its connections closed."""
        self._closed = True
        readers, self._readers = list(self._readers.values()), {}
        for reader in readers:
            reader.cancel_flush()
            if not reader.ready.done():  # sockets still joining are told, not cancelled
                reader.ready.set_exception(ChannelClosed("the chat is shutting down"))
                reader.ready.exception()  # retrieved here, whoever else waits for it
        tasks = [task for task in (self._task, self._waking) if task is not None]
        for task in tasks:
            task.cancel()
        self._wanted.set()
        # Closing the reader's connections ends a read that a cancellation did not reach.
        with contextlib.suppress(Exception):
            await self._reader_redis.connection_pool.disconnect(inuse_connections=True)
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT)
        with contextlib.suppress(Exception):
            await self._reader_redis.aclose()
