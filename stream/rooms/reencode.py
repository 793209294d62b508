"""Re-encoding fan-out: aiortc's default behaviour, kept only as the benchmark's baseline.

With ``relay_mode = "reencode"`` a room decodes each frame once and every viewer's sender
encodes it again, as a stock aiortc relay (``MediaRelay`` over a decoded track) does. The
benchmark runs it side by side with forwarding to show what forwarding saves; it is not meant
for production.
"""

from __future__ import annotations

import asyncio
from collections import deque

from aiortc.codecs.base import Decoder
from aiortc.codecs.h264 import H264Decoder
from aiortc.codecs.opus import OpusDecoder
from aiortc.codecs.vpx import Vp8Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.frame import Frame

RELAY_MODES = ("forward", "reencode")
MAX_QUEUED_DECODED_FRAMES = 30

_DECODERS: dict[str, type[Decoder]] = {"H264": H264Decoder, "VP8": Vp8Decoder, "opus": OpusDecoder}


class FrameDecoder:
    """One decoder per kind for the whole room."""

    def __init__(self) -> None:
        self._decoders: dict[str, tuple[str, Decoder]] = {}

    def decode(self, kind: str, codec: str, data: bytes, timestamp: int) -> list[Frame]:
        current = self._decoders.get(kind)
        if current is None or current[0] != codec:
            current = (codec, _DECODERS[codec]())
            self._decoders[kind] = current
        try:
            return current[1].decode(JitterFrame(data=data, timestamp=timestamp))
        except Exception:  # a broken frame: wait for the next one, as aiortc does
            return []


class DecodedTrack(MediaStreamTrack):
    """A viewer's track of decoded frames, which its sender encodes (drops oldest when full)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._frames: deque[Frame] = deque(maxlen=MAX_QUEUED_DECODED_FRAMES)
        self._wakeup = asyncio.Event()

    def offer_decoded(self, frame: Frame) -> None:
        self._frames.append(frame)
        self._wakeup.set()

    async def recv(self) -> Frame:
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._frames.popleft()

    def stop(self) -> None:
        super().stop()
        self._wakeup.set()
