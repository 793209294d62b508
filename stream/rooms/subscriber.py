"""A subscriber: the tracks one viewer's senders read from, fed by the room.

Each track holds a bounded queue. Video starts at a keyframe and, when a viewer falls too far
behind, its queue is emptied and it skips to the next keyframe (dropping single encoded frames
would break decoding until then); audio drops its oldest frames. Either way a slow viewer never
slows the room or grows memory without bound.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from stream.rooms.media import MediaFrame

MAX_QUEUED_VIDEO_FRAMES = 90  # ~3 s at 30 fps
MAX_QUEUED_AUDIO_FRAMES = 150  # ~3 s of 20 ms Opus frames


class SubscriberTrack(MediaStreamTrack):
    def __init__(self, kind: str, request_keyframe: Callable[[], None]) -> None:
        super().__init__()
        self.kind = kind
        self._request_keyframe = request_keyframe
        self._frames: deque[MediaFrame] = deque()
        self._limit = MAX_QUEUED_VIDEO_FRAMES if kind == "video" else MAX_QUEUED_AUDIO_FRAMES
        self._wakeup = asyncio.Event()
        self.waiting_for_keyframe = kind == "video"
        self.created = time.monotonic()
        self.first_keyframe_at: float | None = None
        self.frames_sent = 0
        self.frames_dropped = 0
        self.skips = 0

    def offer(self, frame: MediaFrame) -> None:
        """Called by the room for every frame; never blocks."""
        if self.waiting_for_keyframe:
            if not frame.keyframe:
                self.frames_dropped += 1
                return
            self.waiting_for_keyframe = False
        frames = self._frames
        if len(frames) >= self._limit:
            if self.kind == "video":
                self.frames_dropped += len(frames)
                frames.clear()
                self.skips += 1
                if not frame.keyframe:
                    self.waiting_for_keyframe = True
                    self.frames_dropped += 1
                    self._request_keyframe()
                    return
            else:
                frames.popleft()
                self.frames_dropped += 1
        frames.append(frame)
        self._wakeup.set()

    def restart(self) -> None:
        """A new publisher took over: start again from its first keyframe."""
        self._frames.clear()
        if self.kind == "video":
            self.waiting_for_keyframe = True

    @property
    def queued(self) -> int:
        return len(self._frames)

    async def recv(self) -> MediaFrame:  # type: ignore[override]
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._wakeup.clear()
            await self._wakeup.wait()
        frame = self._frames.popleft()
        if self.first_keyframe_at is None and frame.keyframe:
            self.first_keyframe_at = time.monotonic()
        self.frames_sent += 1
        return frame

    def stop(self) -> None:
        super().stop()
        self._wakeup.set()


class PrepackedEncoder:
    """Stands in for aiortc's encoder on a subscriber's sender: the frames come packetized.

    ``RTCRtpSender`` calls ``pack()`` for anything its track yields that is not a decoded
    frame; this returns the room's shared payloads and the frame's RTP timestamp, and records
    how long the frame spent in the relay.
    """

    def __init__(self, observe_latency: Callable[[float], None]) -> None:
        self._observe = observe_latency

    def pack(self, frame: MediaFrame) -> tuple[list[bytes], int]:
        self._observe(time.monotonic() - frame.arrival)
        return frame.payloads, frame.timestamp

    def encode(self, frame: object, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        raise TypeError("a relayed track carries encoded frames only")
