"""A session's recording on disk: ``<data_dir>/recordings/<session>/``, one file per segment
(fragmented MP4 for H.264, WebM for VP8; a publisher that leaves and returns starts a new
segment) and ``index.json``, the one playlist of the session, rewritten atomically when a
segment starts and ends.

The session's timeline is its segments end to end (gaps between them left out). Chat entries
and questions carry wall-clock times; :func:`position` places them on that timeline.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

INDEX_FILE = "index.json"
SEGMENT_PATTERN = r"segment-\d{3,6}\.(?:mp4|webm)"


def recordings_dir(data_dir: Path) -> Path:
    return data_dir / "recordings"


def segment_name(number: int, suffix: str = ".mp4") -> str:
    """``segment-000.mp4`` (H.264) or ``segment-000.webm`` (VP8)."""
    return f"segment-{number:03d}{suffix}"


@dataclass
class Segment:
    file: str
    started: float  # wall clock (epoch seconds) of its first frame
    duration: float = 0.0  # seconds; grows while it is written
    complete: bool = False
    # Seconds from the room going live (the publisher's first frame, what the Q&A's stream
    # positions count from) to the segment's first keyframe, where the file starts.
    lead: float = 0.0


@dataclass
class RecordingIndex:
    session: str
    segments: list[Segment] = field(default_factory=list)

    def offsets(self) -> list[float]:
        """Where each segment starts on the session's timeline."""
        out, at = [], 0.0
        for segment in self.segments:
            out.append(at)
            at += segment.duration
        return out

    @property
    def duration(self) -> float:
        return sum(segment.duration for segment in self.segments)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> RecordingIndex:
        raw = json.loads(text)
        segments = [
            Segment(
                file=str(s["file"]),
                started=float(s["started"]),
                duration=float(s["duration"]),
                complete=bool(s.get("complete", False)),
                lead=float(s.get("lead", 0.0)),
            )
            for s in raw.get("segments", [])
        ]
        return cls(session=str(raw["session"]), segments=segments)


def read_index(directory: Path) -> RecordingIndex | None:
    """The index in ``directory`` (None: nothing recorded, or an index that cannot be read)."""
    try:
        return RecordingIndex.from_json((directory / INDEX_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def private_file(path: Path) -> None:
    """Create ``path`` empty, readable by the service user alone (FFmpeg then writes into it
    and keeps its mode). The data directory holds nothing others may read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)


def private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def write_index(directory: Path, index: RecordingIndex) -> None:
    tmp = directory / (INDEX_FILE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(index.to_json())
    os.replace(tmp, directory / INDEX_FILE)


def position(index: RecordingIndex, wall: float) -> float:
    """Seconds into the recording at wall-clock ``wall``: inside the segment that was being
    recorded then; between segments, the end of the earlier one; before the first, 0."""
    best = 0.0
    for offset, segment in zip(index.offsets(), index.segments, strict=True):
        if wall < segment.started:
            break
        best = offset + min(wall - segment.started, segment.duration)
    return round(best, 3)


def question_position(index: RecordingIndex, asked_ms: int, pos_ms: int | None) -> float:
    """A question's moment: its stream position (ms since the room went live, less the asker's
    delay, stamped when asked) in the segment that was live when it was asked, less the
    segment's lead; without a position, the moment it was asked.

    The result is on the session's timeline (segments end to end): a gap between segments
    moves nothing after it. A position can never lie after the moment of asking: one that does
    was measured from an earlier segment's live start (the live record lags a returning
    publisher by up to its refresh interval) and is cut back to the moment of asking."""
    asked = asked_ms / 1000
    if pos_ms is None:
        return position(index, asked)
    for offset, segment in reversed(list(zip(index.offsets(), index.segments, strict=True))):
        if segment.started <= asked:
            within = min(pos_ms / 1000 - segment.lead, asked - segment.started)
            return round(offset + min(max(within, 0.0), segment.duration), 3)
    return 0.0
