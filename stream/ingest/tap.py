"""Tap a publisher's RTCRtpReceiver so it yields encoded frames instead of decoding them.

aiortc's receiver depacketizes and reassembles frames in its jitter buffer, then hands each
``(codec, JitterFrame)`` to a decoder thread through a queue; there is no public encoded-frame
API. The tap replaces two private parts of one receiver (never process-wide):

- the jitter buffer, with one that completes a video frame at its RTP marker bit (aiortc's
  waits for the next frame's first packet: one frame interval of delay) and passes audio
  packets straight through;
- the decoder queue, with a sink that calls ``on_frame`` right on the event loop. The decoder
  thread still starts, waits on an empty queue, and stops when the receiver stops.

Loss handling stays aiortc's: NACKs, RTX unwrapping, and PLI on a broken frame.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_gt

from stream.rtc.internals import (
    depayloaded,
    jitter_buffer_slots,
    send_pli,
    set_receiver_decoder_queue,
    set_receiver_jitter_buffer,
)

VIDEO_JITTER_CAPACITY = 512
AUDIO_JITTER_CAPACITY = 16

FrameSink = Callable[[str, str, bytes, int], None]  # kind, codec name, data, timestamp


class MarkerJitterBuffer(JitterBuffer):
    """aiortc's video jitter buffer, plus: a frame is complete at its marker-bit packet."""

    def __init__(self) -> None:
        super().__init__(capacity=VIDEO_JITTER_CAPACITY, is_video=True)
        self.media_ssrc: int | None = None

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        self.media_ssrc = packet.ssrc
        pli_flag, frame = super().add(packet)
        if frame is None and packet.marker:
            frame = self._remove_marked_frame()
        return pli_flag, frame

    def _remove_marked_frame(self) -> JitterFrame | None:
        origin, slots = jitter_buffer_slots(self)
        if origin is None:
            return None
        packets: list[RtpPacket] = []
        timestamp = None
        for count in range(self.capacity):
            packet = slots[(origin + count) % self.capacity]
            if packet is None:
                return None
            if timestamp is None:
                timestamp = packet.timestamp
            elif packet.timestamp != timestamp:
                return None
            packets.append(packet)
            if packet.marker:
                self.remove(count + 1)
                return JitterFrame(
                    data=b"".join(depayloaded(p) for p in packets), timestamp=timestamp
                )
        return None


class PassThroughAudioBuffer(JitterBuffer):
    """Every audio packet is a frame: pass it on unless it is older than the last one."""

    def __init__(self) -> None:
        super().__init__(capacity=AUDIO_JITTER_CAPACITY)
        self._last_sequence: int | None = None

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        if self._last_sequence is not None and not uint16_gt(
            packet.sequence_number, self._last_sequence
        ):
            return False, None
        self._last_sequence = packet.sequence_number
        return False, JitterFrame(data=depayloaded(packet), timestamp=packet.timestamp)


class FrameSinkQueue:
    """Stands in for the receiver's decoder queue: frames go to ``on_frame`` synchronously."""

    def __init__(self, kind: str, on_frame: FrameSink) -> None:
        self._kind = kind
        self._on_frame = on_frame
        self._control: queue.Queue[Any] = queue.Queue()

    def put(self, item: tuple[RTCRtpCodecParameters, JitterFrame] | None) -> None:
        if item is None:  # the receiver is stopping its decoder thread
            self._control.put(None)
            return
        codec, frame = item
        self._on_frame(self._kind, codec.name, frame.data, frame.timestamp)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        return self._control.get(block, timeout)


class ReceiverTap:
    """An installed tap: knows the media SSRC, so it can ask the publisher for a keyframe."""

    def __init__(self, receiver: RTCRtpReceiver, kind: str, on_frame: FrameSink) -> None:
        self.receiver = receiver
        self.kind = kind
        if kind == "video":
            self._buffer: JitterBuffer = MarkerJitterBuffer()
        else:
            self._buffer = PassThroughAudioBuffer()
        set_receiver_jitter_buffer(receiver, self._buffer)
        set_receiver_decoder_queue(receiver, FrameSinkQueue(kind, on_frame))

    @property
    def media_ssrc(self) -> int | None:
        if isinstance(self._buffer, MarkerJitterBuffer):
            return self._buffer.media_ssrc
        return None

    async def send_pli(self) -> None:
        ssrc = self.media_ssrc
        if ssrc is not None:
            await send_pli(self.receiver, ssrc)
