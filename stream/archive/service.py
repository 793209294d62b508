"""The archive at run time: a writer per room (the recording and the live HLS, off the event
loop), the recording's state in Redis, and the retention sweep.

The composition root adds :meth:`Archive.observe` to the room registry's observers: each new
room gets an :class:`ArchiveSink`. Recording is on unless the session or its event says
``record`` off (:mod:`stream.program.record_switch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import time
from pathlib import Path

from stream.archive.index import private_dir, read_index, recordings_dir
from stream.archive.outputs import HlsOutput, RecordingOutput
from stream.archive.state import forget_state, save_state
from stream.archive.writer import Output, RoomWriter
from stream.program.record_switch import recording_allowed
from stream.rooms.media import MediaFrame
from stream.rooms.room import Room
from stream.store import Redis

logger = logging.getLogger(__name__)

HLS_KEYFRAME_INTERVAL = 2.0  # seconds: WebRTC publishers are asked for a keyframe this often
RETENTION_SWEEP_INTERVAL = 3600.0
WRITER_JOIN_TIMEOUT = 10.0
DELETING = "deleting"  # beside the recordings: where a deleted one goes before it is removed
DAY = 86_400.0


def hls_dir(data_dir: Path) -> Path:
    return data_dir / "hls"


class ArchiveSink:
    """A room's frames to its writer thread; never blocks, never raises into the room."""

    def __init__(self, archive: Archive, room: Room, writer: RoomWriter) -> None:
        self.archive = archive
        self.room = room
        self.writer = writer
        self.overflowed = False

    def publisher_attached(self) -> None:
        self._put("attached")
        self.room.keyframes.request()  # start the new segment soon

    def frame(self, frame: MediaFrame) -> None:
        if frame.kind == "video":
            self._pace_keyframes(frame)
        self._put(frame)

    def _pace_keyframes(self, frame: MediaFrame) -> None:
        publisher = self.room.publisher
        last = self.room.last_keyframe_at
        if (
            publisher is not None
            and publisher.answers_keyframe_requests
            and last is not None
            and frame.arrival - last >= HLS_KEYFRAME_INTERVAL
            and not self.room.keyframes.pending
        ):
            self.room.keyframes.request()

    def publisher_left(self) -> None:
        self._put("left")

    def room_closed(self) -> None:
        self.archive.writer_done(self)

    def _put(self, item: MediaFrame | str) -> None:
        if self.overflowed or self.writer.put(item):
            return
        self.overflowed = True
        logger.error("[%s] archive writer fell behind: recording stopped", self.room.session_id)
        for name in ("recording", "hls"):
            self.archive.report(self.room.session_id, name, "failed", "disk too slow")
        self.room.remove_sink(self)
        self.archive.writer_done(self)


class Archive:
    def __init__(
        self,
        redis: Redis,
        data_dir: Path,
        *,
        retention_days: float = 0.0,
        max_bytes: int = 0,
    ) -> None:
        self.redis = redis
        self.data_dir = data_dir
        self.recordings = recordings_dir(data_dir)
        self.hls = hls_dir(data_dir)
        for directory in (self.recordings, self.hls):
            try:
                private_dir(directory)
            except OSError as exc:  # each recording fails alone, with its state; the relay runs
                logger.error("archive directory %s cannot be created: %s", directory, exc)
        self.retention_days = retention_days
        self.max_bytes = max_bytes
        self.sinks: dict[str, ArchiveSink] = {}
        self._closing: set[RoomWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- rooms ------------------------------------------------------------------------------

    def observe(self, room: Room) -> None:
        """A new room: record it and write its HLS."""
        self._loop = asyncio.get_running_loop()
        session_id = room.session_id
        outputs: list[Output] = [
            RecordingOutput(self.recordings / session_id, session_id, max_bytes=self.max_bytes),
            HlsOutput(self.hls / session_id),
        ]
        writer = RoomWriter(
            session_id,
            outputs,
            lambda name, state, detail: self.report(session_id, name, state, detail),
        )
        sink = ArchiveSink(self, room, writer)
        self.sinks[session_id] = sink
        room.add_sink(sink)
        self._spawn(self._apply_switch(session_id, writer))

    async def _apply_switch(self, session_id: str, writer: RoomWriter) -> None:
        try:
            allowed = await recording_allowed(self.redis, session_id)
        except Exception as exc:  # Redis away: record (a recording can be deleted later)
            logger.warning("[%s] recording switch not read: %s", session_id, exc)
            return
        if not allowed:
            writer.put(("disable", "recording"))

    def writer_done(self, sink: ArchiveSink) -> None:
        if self.sinks.get(sink.room.session_id) is sink:
            del self.sinks[sink.room.session_id]
        sink.writer.close()
        self._closing.add(sink.writer)
        self._spawn(self._join(sink.writer))

    async def _join(self, writer: RoomWriter) -> None:
        await asyncio.to_thread(writer.join, WRITER_JOIN_TIMEOUT)
        self._closing.discard(writer)

    def report(self, session_id: str, output: str, state: str, detail: str) -> None:
        """From any thread: store an output's state."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def store() -> None:
            self._spawn(self._save(session_id, output, state, detail))

        if _in_loop(loop):
            store()
        else:
            loop.call_soon_threadsafe(store)

    async def _save(self, session_id: str, output: str, state: str, detail: str) -> None:
        try:
            await save_state(self.redis, session_id, output, state, detail)
        except Exception as exc:  # Redis away: the files are what counts
            logger.warning("[%s] recording state not stored: %s", session_id, exc)

    # -- deleting ---------------------------------------------------------------------------

    def recording(self, session_id: str) -> bool:
        """Is the session being recorded (live, or its writer still finishing)?"""
        return session_id in self.sinks or any(w.session_id == session_id for w in self._closing)

    async def delete_recording(self, session_id: str) -> str:
        """Delete a session's recording: ``deleted``; ``live`` while it is being recorded;
        ``gone`` if there is none; ``failed`` if the disk refused (nothing was removed).

        The check and a rename out of the recordings happen together on the loop, where a
        publisher's sink is opened: a broadcast that starts afterwards records into a new
        directory, never into one half removed. The renamed one is then removed in a thread.
        """
        if self.recording(session_id):
            return "live"
        directory = self.recordings / session_id
        trash = self.data_dir / DELETING
        doomed = trash / f"{session_id}-{secrets.token_hex(4)}"
        try:
            trash.mkdir(mode=0o700, exist_ok=True)
            directory.rename(doomed)
        except FileNotFoundError:
            return "gone"
        except OSError as exc:
            logger.error("[%s] recording not deleted: %s", session_id, exc)
            return "failed"
        try:
            await asyncio.to_thread(shutil.rmtree, doomed)
        except OSError as exc:  # out of the recordings already: only the disk space is left
            logger.error("[%s] deleted recording not fully removed: %s", session_id, exc)
        await forget_state(self.redis, session_id)
        return "deleted"

    # -- lifetime ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Wait for the writers (rooms close first, which finishes their outputs)."""
        for sink in list(self.sinks.values()):
            self.writer_done(sink)
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def run_retention(self) -> None:
        left = await asyncio.to_thread(empty_trash, self.data_dir / DELETING)
        if left:
            logger.info("removed %d deleted recordings left from before the start", left)
        while True:
            try:
                removed = await self.sweep()
                if removed:
                    logger.info("retention: %d recordings removed", len(removed))
            except Exception as exc:
                logger.warning("retention sweep failed: %s", exc)
            await asyncio.sleep(RETENTION_SWEEP_INTERVAL)

    async def sweep(self, now: float | None = None) -> list[str]:
        """Remove recordings whose last frame is older than the retention (0: keep all)."""
        if self.retention_days <= 0:
            return []
        live = set(self.sinks)
        removed = await asyncio.to_thread(
            expired_recordings, self.recordings, self.retention_days, now or time.time(), live
        )
        for session_id in removed:
            await forget_state(self.redis, session_id)
        return removed

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def empty_trash(trash: Path) -> int:
    """Remove what a delete renamed away but did not finish removing (the process ended, or the
    disk refused); the number of entries removed."""
    if not trash.is_dir():
        return 0
    entries = list(trash.iterdir())
    for path in entries:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return len(entries)


def expired_recordings(
    directory: Path, retention_days: float, now: float, keep: set[str]
) -> list[str]:
    """Delete the recordings in ``directory`` that ended more than ``retention_days`` ago."""
    removed: list[str] = []
    if not directory.is_dir():
        return removed
    for path in sorted(directory.iterdir()):
        if not path.is_dir() or path.name in keep:
            continue
        index = read_index(path)
        if index is not None and index.segments:
            ended = max(s.started + s.duration for s in index.segments)
        else:
            ended = path.stat().st_mtime
        if now - ended > retention_days * DAY:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    with contextlib.suppress(RuntimeError):
        return asyncio.get_running_loop() is loop
    return False
