"""Pre-encoded sources: a loop of H.264 packets sent as-is (no encoder at publish time).

Encoding happens once, up front, with PyAV's libx264; publishing then costs only packetization.
The benchmarks use it so the load generator stays cheap, and the tests use it so they can compare
what viewers receive with exactly what was sent.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from dataclasses import dataclass

import av
from aiortc.mediastreams import MediaStreamTrack

VIDEO_CLOCK_RATE = 90_000


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    data: bytes  # Annex-B access unit
    keyframe: bool


def encode_test_pattern(
    *,
    width: int = 640,
    height: int = 360,
    fps: int = 30,
    frames: int = 60,
    gop: int = 30,
    bitrate: int = 1_000_000,
) -> list[EncodedFrame]:
    """``frames`` frames of FFmpeg's testsrc2 as constrained-baseline H.264, IDR every ``gop``."""
    source = av.open(f"testsrc2=size={width}x{height}:rate={fps}", format="lavfi")
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width = width
    encoder.height = height
    encoder.pix_fmt = "yuv420p"
    encoder.framerate = fractions.Fraction(fps, 1)
    encoder.time_base = fractions.Fraction(1, fps)
    encoder.bit_rate = bitrate
    encoder.options = {
        "profile": "baseline",
        "level": "31",
        "tune": "zerolatency",
        "preset": "veryfast",
        "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:repeat-headers=1",
    }
    out: list[EncodedFrame] = []
    try:
        for index, frame in enumerate(source.decode(video=0)):
            if index >= frames:
                break
            frame.pts = index
            frame.pict_type = av.video.frame.PictureType.NONE  # let x264 choose
            for packet in encoder.encode(frame):
                out.append(EncodedFrame(bytes(packet), bool(packet.is_keyframe)))
        for packet in encoder.encode(None):
            out.append(EncodedFrame(bytes(packet), bool(packet.is_keyframe)))
    finally:
        source.close()
    return out


class EncodedLoopTrack(MediaStreamTrack):
    """Sends ``frames`` in a loop at ``fps``; a keyframe request jumps to the next keyframe."""

    kind = "video"

    def __init__(self, frames: list[EncodedFrame], fps: int = 30) -> None:
        super().__init__()
        if not frames or not frames[0].keyframe:
            raise ValueError("an encoded loop must start with a keyframe")
        self.frames = frames
        self.fps = fps
        self.sent: list[bytes] = []  # what went out, in order (for tests)
        self.record = False
        self._position = 0
        self._index = 0
        self._start: float | None = None
        self._jump = False
        self._time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)

    def request_keyframe(self) -> None:
        self._jump = True

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._index / self.fps - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        if self._jump:
            self._jump = False
            while not self.frames[self._position].keyframe:
                self._position = (self._position + 1) % len(self.frames)
        frame = self.frames[self._position]
        self._position = (self._position + 1) % len(self.frames)
        packet = av.Packet(frame.data)
        packet.pts = self._index * (VIDEO_CLOCK_RATE // self.fps)
        packet.time_base = self._time_base
        self._index += 1
        if self.record:
            self.sent.append(frame.data)
        return packet
