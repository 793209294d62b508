"""A synthetic source: a moving test picture with a wall clock, and a tone that beeps each second.

The picture comes from FFmpeg's ``testsrc2`` (through PyAV's lavfi), with the time of day painted
on it in seven-segment digits; the audio is a 440 Hz beep on every second. Both are paced in real
time like a camera and microphone, so they can be published over WHIP like any studio.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import struct
import time
from datetime import datetime

import av
from aiortc.mediastreams import MediaStreamTrack

VIDEO_CLOCK_RATE = 90_000
FRAME_RATE = 30
AUDIO_RATE = 48_000
AUDIO_PTIME = 0.020
AUDIO_SAMPLES = int(AUDIO_RATE * AUDIO_PTIME)
BEEP_SECONDS = 0.12
BEEP_HZ = 440
BEEP_AMPLITUDE = 8000

# Seven segments: a, b, c, d, e, f, g (top, top-right, bottom-right, bottom, bottom-left,
# top-left, middle) for each digit.
SEGMENTS = {
    "0": "abcdef", "1": "bc", "2": "abdeg", "3": "abcdg", "4": "bcfg",
    "5": "acdfg", "6": "acdefg", "7": "abc", "8": "abcdefg", "9": "abcdfg",
}  # fmt: skip


class _Paced:
    """Real-time pacing of frames with a fixed period."""

    def __init__(self, period: float) -> None:
        self._period = period
        self._start: float | None = None
        self._index = 0

    async def next(self) -> int:
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._index += 1
            wait = self._start + self._index * self._period - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        return self._index


def paint_clock(plane: bytearray, stride: int, width: int, height: int, text: str) -> None:
    """Paint ``text`` (digits and ':') in white seven-segment glyphs on a luma plane."""
    digit_w = max(8, width // 24)
    digit_h = digit_w * 2
    thick = max(2, digit_w // 5)
    gap = digit_w // 2
    total = sum(digit_w + gap if ch != ":" else thick + gap for ch in text)
    x = (width - total) // 2
    y = height - digit_h - max(8, height // 20)
    white = 235

    def box(x0: int, y0: int, w: int, h: int) -> None:
        row = bytes([white]) * w
        for yy in range(y0, y0 + h):
            start = yy * stride + x0
            plane[start : start + w] = row

    # a dark band behind the clock keeps it readable on the busy pattern
    band_top = y - thick * 2
    dark = bytes([16]) * width
    for yy in range(band_top, min(height, y + digit_h + thick * 2)):
        plane[yy * stride : yy * stride + width] = dark
    for ch in text:
        if ch == ":":
            box(x, y + digit_h // 3, thick, thick)
            box(x, y + 2 * digit_h // 3, thick, thick)
            x += thick + gap
            continue
        half = digit_h // 2
        segments = {
            "a": (x, y, digit_w, thick),
            "b": (x + digit_w - thick, y, thick, half),
            "c": (x + digit_w - thick, y + half, thick, half),
            "d": (x, y + digit_h - thick, digit_w, thick),
            "e": (x, y + half, thick, half),
            "f": (x, y, thick, half),
            "g": (x, y + half - thick // 2, digit_w, thick),
        }
        for name in SEGMENTS.get(ch, ""):
            box(*segments[name])
        x += digit_w + gap


class TestPatternVideoTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self, width: int = 640, height: int = 360) -> None:
        super().__init__()
        self.width = width
        self.height = height
        self._source = av.open(f"testsrc2=size={width}x{height}:rate={FRAME_RATE}", format="lavfi")
        self._frames = self._source.decode(video=0)
        self._pace = _Paced(1 / FRAME_RATE)
        self._time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)

    async def recv(self) -> av.VideoFrame:
        index = await self._pace.next()
        frame: av.VideoFrame = next(self._frames)
        luma = frame.planes[0]
        data = bytearray(bytes(luma))
        paint_clock(
            data, luma.line_size, self.width, self.height, datetime.now().strftime("%H:%M:%S")
        )
        luma.update(bytes(data))
        frame.pts = index * (VIDEO_CLOCK_RATE // FRAME_RATE)
        frame.time_base = self._time_base
        return frame

    def stop(self) -> None:
        super().stop()
        self._source.close()


def _beep_second() -> bytes:
    samples = []
    beep = int(AUDIO_RATE * BEEP_SECONDS)
    for n in range(AUDIO_RATE):
        value = 0
        if n < beep:
            fade = min(1.0, n / 240, (beep - n) / 240)
            value = int(BEEP_AMPLITUDE * fade * math.sin(2 * math.pi * BEEP_HZ * n / AUDIO_RATE))
        samples.append(value)
    return struct.pack(f"<{len(samples)}h", *samples)


class TestPatternAudioTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._second = _beep_second()
        self._pace = _Paced(AUDIO_PTIME)
        self._time_base = fractions.Fraction(1, AUDIO_RATE)

    async def recv(self) -> av.AudioFrame:
        index = await self._pace.next()
        offset = (index * AUDIO_SAMPLES) % AUDIO_RATE
        chunk = self._second[offset * 2 : (offset + AUDIO_SAMPLES) * 2]
        frame = av.AudioFrame(format="s16", layout="mono", samples=AUDIO_SAMPLES)
        frame.planes[0].update(chunk)
        frame.sample_rate = AUDIO_RATE
        frame.pts = index * AUDIO_SAMPLES
        frame.time_base = self._time_base
        return frame
