"""A room's writer thread: the room's frames in through a bounded queue, muxed into each
output (the recording, HLS) off the event loop.

A segment starts at the publisher's first video keyframe; the audio that arrives within
``AUDIO_WAIT`` decides whether it has an audio track. An output that fails (disk full, size
cap, muxer error) stops alone and is reported once; the others and the relay go on.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from stream.archive.mux import AUDIO_CODECS, VIDEO_CODECS, vp8_picture_size
from stream.archive.outputs import OutputUnavailable, SegmentStart
from stream.archive.sps import picture_size, sps_of
from stream.rooms.media import MediaFrame

logger = logging.getLogger(__name__)

MAX_QUEUED = 600  # ~10 s of audio and video: past this the disk cannot keep up
AUDIO_WAIT = 1.0  # seconds after the first keyframe to learn whether there is audio
MAX_PENDING = 200  # frames held while waiting for audio

# Reports go back to the event loop: (output name, state, detail).
Report = Callable[[str, str, str], None]


class Output(Protocol):
    name: str

    @property
    def active(self) -> bool: ...

    def begin(self, start: SegmentStart) -> None: ...

    def write(self, frame: MediaFrame) -> None: ...

    def end(self) -> None: ...

    def abandon(self) -> None: ...

    def finish(self) -> None: ...


_ATTACHED = "attached"
_LEFT = "left"
_CLOSE = "close"
_DISABLE = "disable"
Item = MediaFrame | str | tuple[str, str]


class RoomWriter:
    def __init__(self, session_id: str, outputs: list[Output], report: Report) -> None:
        self.session_id = session_id
        self.outputs = list(outputs)
        self.failed: dict[str, str] = {}
        self.unavailable: set[str] = set()  # outputs the current codec cannot use (state "off")
        self._report = report
        self._queue: queue.Queue[Item] = queue.Queue(maxsize=MAX_QUEUED)
        self._pending: list[MediaFrame] = []
        self._start: SegmentStart | None = None
        self._live_at: float | None = None  # the publisher's first frame (the room's live start)
        self._running = False
        self._thread = threading.Thread(target=self._run, name=f"archive-{session_id}", daemon=True)
        self._thread.start()

    # -- event loop side --------------------------------------------------------------------

    def put(self, item: Item) -> bool:
        """Queue ``item``; False when the queue is full (the writer fell behind)."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            return False
        return True

    def close(self) -> None:
        """Finish every output and end the thread (blocks until the queue is drained only
        if it has room; the thread ends on its own otherwise)."""
        try:
            self._queue.put(_CLOSE, timeout=1.0)
        except queue.Full:
            logger.warning("[%s] archive writer fell behind; closing it", self.session_id)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    # -- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item == _CLOSE:
                self._end_segment()
                self._each("finish")
                return
            if item in (_ATTACHED, _LEFT):
                self._end_segment()
            elif isinstance(item, tuple):
                self._disable(item[1])
            elif isinstance(item, MediaFrame):
                self._frame(item)

    def _frame(self, frame: MediaFrame) -> None:
        if self._running:
            self._each("write", frame)
            return
        if self._live_at is None:
            self._live_at = frame.arrival
        if self._start is None:
            if frame.kind != "video" or not frame.keyframe or frame.codec not in VIDEO_CODECS:
                return
            size = _picture_size(frame)
            wall = time.time() - (time.monotonic() - frame.arrival)
            lead = max(frame.arrival - self._live_at, 0.0)
            self._start = SegmentStart({"video": frame.codec}, size, frame.arrival, wall, lead)
        self._pending.append(frame)
        start = self._start
        if frame.kind == "audio" and frame.codec in AUDIO_CODECS:
            start.kinds["audio"] = frame.codec
        if (
            "audio" in start.kinds
            or frame.arrival - start.origin >= AUDIO_WAIT
            or len(self._pending) >= MAX_PENDING
        ):
            self._begin()

    def _begin(self) -> None:
        start = self._start
        assert start is not None
        self._running = True
        self._each("begin", start)
        pending, self._pending = self._pending, []
        for frame in pending:
            self._each("write", frame)

    def _end_segment(self) -> None:
        if self._running:
            self._each("end")
        self._running = False
        self._start = None
        self._live_at = None
        self._pending = []

    def _disable(self, name: str) -> None:
        for output in list(self.outputs):
            if output.name == name:
                self._call(output, "end")
                if output in self.outputs:
                    self.outputs.remove(output)
                self._report(name, "off", "")

    def _each(self, method: str, *args: object) -> None:
        for output in list(self.outputs):
            self._call(output, method, *args)

    def _call(self, output: Output, method: str, *args: object) -> None:
        try:
            getattr(output, method)(*args)
        except OutputUnavailable as exc:  # not for this segment's codec; maybe for the next
            self.unavailable.add(output.name)
            self._report(output.name, "off", str(exc))
            return
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            self.outputs.remove(output)
            self.failed[output.name] = reason
            try:
                output.abandon()
            except Exception as inner:
                logger.debug("[%s] abandon failed: %s", self.session_id, inner)
            logger.error("[%s] %s stopped: %s", self.session_id, output.name, reason)
            self._report(output.name, "failed", reason)
            return
        if method == "begin":
            self.unavailable.discard(output.name)
            self._report(output.name, "recording", "")
        elif method == "finish" and output.name not in self.unavailable:
            self._report(output.name, "done", "")


def _picture_size(frame: MediaFrame) -> tuple[int, int] | None:
    if frame.codec == "VP8":
        return vp8_picture_size(frame.data)
    sps = sps_of(frame.data)
    if sps is None:
        return None
    try:
        return picture_size(sps)
    except ValueError:
        return None
