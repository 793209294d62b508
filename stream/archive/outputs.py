"""What the archive writes from a room: the recording (fMP4 segments and their index) and the
live HLS (fMP4 segments and a rolling playlist). Both run on the room's writer thread."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from stream.archive.index import (
    RecordingIndex,
    Segment,
    private_dir,
    private_file,
    read_index,
    segment_name,
    write_index,
)
from stream.archive.mux import CONTAINERS, Timeline, add_streams, packet
from stream.rooms.media import MediaFrame

logger = logging.getLogger(__name__)

INDEX_REWRITE_INTERVAL = 5.0  # seconds between index rewrites while a segment grows
HLS_SEGMENT_SECONDS = 2  # target; segments are cut at the first keyframe past it
HLS_PLAYLIST_SEGMENTS = 6  # the rolling live playlist
HLS_PLAYLIST = "index.m3u8"
HLS_SEGMENT_PATTERN = r"(?:seg-\d+-\d+\.m4s|init-\d+\.mp4)"


class OutputFailed(Exception):
    """An output cannot go on (disk full, size cap, muxer error); the message says why."""


class OutputUnavailable(Exception):
    """An output cannot carry this segment (HLS and VP8); it waits for the next segment."""


HLS_VIDEO_CODECS = ("H264",)  # fMP4 HLS as players take it: VP8 has no place in it


@dataclass(frozen=True, slots=True)
class SegmentStart:
    kinds: dict[str, str]  # kind -> codec
    size: tuple[int, int] | None  # video picture size
    origin: float  # arrival (monotonic) of the first keyframe
    wall: float  # the same moment on the wall clock
    lead: float = 0.0  # seconds from the room's live start (its first frame) to that keyframe


class _Container:
    """One open PyAV output container with a timeline."""

    def __init__(self, target: str, fmt: str, options: dict[str, str], start: SegmentStart):
        self.container: Any = av.open(target, "w", format=fmt, options=options)
        try:
            self.streams = add_streams(self.container, start.kinds, start.size)
        except Exception:
            self.container.close()
            raise
        self.timeline = Timeline(start.origin)
        self._last: dict[str, int] = {}

    def write(self, frame: MediaFrame) -> int:
        """Mux ``frame``; returns its size (0: left out)."""
        stream = self.streams.get(frame.kind)
        if stream is None:
            return 0
        pts = self.timeline.pts(frame)
        if pts is None:
            return 0
        out = packet(stream, frame, pts)
        last = self._last.get(frame.kind)
        if last is not None:
            out.duration = pts - last  # an estimate: the previous frame's interval
        self._last[frame.kind] = pts
        self.container.mux(out)
        return len(frame.data)

    def close(self) -> None:
        self.container.close()


class RecordingOutput:
    """The session's recording: a new fMP4 segment per publisher, one index for the session."""

    name = "recording"

    def __init__(self, directory: Path, session_id: str, *, max_bytes: int = 0) -> None:
        self.directory = directory
        self.session_id = session_id
        self.max_bytes = max_bytes  # 0: no cap
        self.bytes = 0
        self._open: _Container | None = None
        self._index: RecordingIndex | None = None
        self._index_written = 0.0

    @property
    def active(self) -> bool:
        return self._open is not None

    @property
    def duration(self) -> float:
        return self._index.duration if self._index is not None else 0.0

    def begin(self, start: SegmentStart) -> None:
        private_dir(self.directory)
        index = read_index(self.directory) or RecordingIndex(self.session_id)
        container = CONTAINERS[start.kinds["video"]]
        number = len(index.segments)
        while any(
            (self.directory / segment_name(number, c.suffix)).exists() for c in CONTAINERS.values()
        ):
            number += 1
        name = segment_name(number, container.suffix)
        index.segments.append(
            Segment(file=name, started=round(start.wall, 3), lead=round(start.lead, 3))
        )
        self._index = index
        private_file(self.directory / name)
        self._open = _Container(
            str(self.directory / name), container.format, container.options, start
        )
        write_index(self.directory, index)
        self._index_written = time.monotonic()

    def write(self, frame: MediaFrame) -> None:
        if self._open is None or self._index is None:
            return
        self.bytes += self._open.write(frame)
        if self.max_bytes and self.bytes > self.max_bytes:
            raise OutputFailed(f"size cap of {self.max_bytes} bytes reached")
        if frame.keyframe and time.monotonic() - self._index_written >= INDEX_REWRITE_INTERVAL:
            self._index.segments[-1].duration = round(self._open.timeline.seconds(), 3)
            write_index(self.directory, self._index)
            self._index_written = time.monotonic()

    def end(self) -> None:
        """Close the segment and record its length."""
        current, self._open = self._open, None
        if current is None or self._index is None:
            return
        try:
            current.close()
        finally:
            segment = self._index.segments[-1]
            segment.duration = round(current.timeline.seconds(), 3)
            segment.complete = True
            write_index(self.directory, self._index)

    def abandon(self) -> None:
        """After a failure: close what can be closed; the segment stays as far as written."""
        current, self._open = self._open, None
        if current is not None:
            try:
                current.close()
            except Exception as exc:
                logger.debug("[%s] closing a failed recording: %s", self.session_id, exc)
            if self._index is not None:
                self._index.segments[-1].duration = round(current.timeline.seconds(), 3)
                try:
                    write_index(self.directory, self._index)
                except OSError:
                    pass

    def finish(self) -> None:
        self.end()


class HlsOutput:
    """Live HLS: fMP4 segments cut at keyframes, a rolling playlist; removed when the room
    closes. A returning publisher starts a new init segment after a discontinuity."""

    name = "hls"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._open: _Container | None = None
        self._generation = 0
        self._next_number = 0

    @property
    def active(self) -> bool:
        return self._open is not None

    def begin(self, start: SegmentStart) -> None:
        if start.kinds["video"] not in HLS_VIDEO_CODECS:
            raise OutputUnavailable(
                f"HLS carries H.264 only; this publisher sends {start.kinds['video']}"
            )
        if self._generation == 0 and self.directory.exists():
            shutil.rmtree(self.directory)  # left by an earlier room of the session
        # Private like the whole data directory; the segments in it are FFmpeg's own files.
        private_dir(self.directory)
        generation = self._generation = self._generation + 1
        options = {
            "hls_time": str(HLS_SEGMENT_SECONDS),
            "hls_list_size": str(HLS_PLAYLIST_SEGMENTS),
            "hls_segment_type": "fmp4",
            "hls_fmp4_init_filename": f"init-{generation}.mp4",
            "hls_segment_filename": str(self.directory / f"seg-{generation}-%05d.m4s"),
            "hls_flags": "delete_segments+independent_segments+temp_file"
            + ("+discont_start" if generation > 1 else ""),
            "start_number": str(self._next_number),
        }
        self._open = _Container(str(self.directory / HLS_PLAYLIST), "hls", options, start)

    def write(self, frame: MediaFrame) -> None:
        if self._open is not None:
            self._open.write(frame)
            if frame.kind == "video" and frame.keyframe:
                self._next_number += 1  # an upper bound of the segments written

    def end(self) -> None:
        current, self._open = self._open, None
        if current is not None:
            current.close()

    def abandon(self) -> None:
        current, self._open = self._open, None
        if current is not None:
            try:
                current.close()
            except Exception as exc:
                logger.debug("closing a failed HLS output: %s", exc)

    def finish(self) -> None:
        self.end()
        shutil.rmtree(self.directory, ignore_errors=True)
