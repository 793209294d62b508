"""Re-encoding viewer outputs: aiortc's default behaviour, kept only as the benchmark's baseline.

The relay benchmark starts a second server with these outputs injected into its rooms
(``stream.bench.reencode_server``): each room decodes every frame once and every viewer's
sender encodes it again, as a stock aiortc relay (``MediaRelay`` over a decoded track) does. It
runs side by side with forwarding to show what forwarding saves; it is not meant for
production, and nothing outside the benchmark uses it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from aiortc import RTCPeerConnection
from aiortc.codecs.base import Decoder
from aiortc.codecs.h264 import H264Decoder
from aiortc.codecs.opus import OpusDecoder
from aiortc.codecs.vpx import Vp8Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.frame import Frame

from stream.rooms.forward import SendClock
from stream.rooms.media import MediaFrame, send_codecs

MAX_QUEUED_DECODED_FRAMES = 30

_DECODERS: dict[str, type[Decoder]] = {"H264": H264Decoder, "VP8": Vp8Decoder, "opus": OpusDecoder}


class FrameDecoder:
    """One decoder per kind for the whole room; each frame is decoded once for all viewers."""

    def __init__(self) -> None:
        self._decoders: dict[str, tuple[str, Decoder]] = {}
        self._last: dict[str, tuple[MediaFrame, list[Frame]]] = {}

    def decode(self, frame: MediaFrame) -> list[Frame]:
        last = self._last.get(frame.kind)
        if last is not None and last[0] is frame:
            return last[1]
        current = self._decoders.get(frame.kind)
        if current is None or current[0] != frame.codec:
            current = (frame.codec, _DECODERS[frame.codec]())
            self._decoders[frame.kind] = current
        try:
            decoded = current[1].decode(JitterFrame(data=frame.data, timestamp=frame.timestamp))
        except Exception:  # a broken frame: wait for the next one, as aiortc does
            decoded = []
        self._last[frame.kind] = (frame, decoded)
        return decoded


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


class DecodedOutput:
    """One viewer's stream of one kind: the room's decoded frames, for its sender to encode.

    The viewer's encoder makes its own keyframes, so the output never waits for one.
    """

    def __init__(self, kind: str, track: DecodedTrack, decoder: FrameDecoder) -> None:
        self.kind = kind
        self.track = track
        self._decoder = decoder
        self.waiting_for_keyframe = False
        self.keyframe_requested = False
        self.created = time.monotonic()
        self.first_keyframe_at: float | None = None

    @property
    def connected(self) -> bool:
        return True

    def send(self, frame: MediaFrame, clock: SendClock) -> float | None:
        if self.track.readyState != "live":
            return None
        for decoded in self._decoder.decode(frame):
            self.track.offer_decoded(decoded)
        return None  # the frame's time in the relay ends in the viewer's encoder

    def restart(self) -> None:
        """A new publisher: the shared decoder resynchronises at its first keyframe."""

    def close(self) -> None:
        self.track.stop()


class Reencoding:
    """Viewer outputs of one room that re-encode per viewer (a ``ViewerOutputs``)."""

    def __init__(self) -> None:
        self._decoder = FrameDecoder()

    def add(
        self,
        pc: RTCPeerConnection,
        kind: str,
        codec: str,
        request_keyframe: Callable[[], None],
    ) -> DecodedOutput:
        track = DecodedTrack(kind)
        pc.addTransceiver(track, direction="sendonly").setCodecPreferences(send_codecs(kind, codec))
        if kind == "video":
            request_keyframe()  # so the shared decoder has a picture to start from
        return DecodedOutput(kind, track, self._decoder)
