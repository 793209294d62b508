"""Encoded media frames as the room carries them, and the codec facts the relay needs.

A frame arrives depacketized (H.264 as Annex-B, VP8 and Opus as their raw frames) with an RTP
timestamp. The room packetizes it once into RTP payloads and every subscriber's sender sends
those same payloads, so a viewer costs RTP headers, SRTP and a ``sendto`` — never an encode.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiortc import RTCRtpCodecCapability, RTCRtpSender

from stream.rtc.internals import h264_payloads, vp8_payloads
from stream.rtc.rtpwire import segment_runs

VIDEO_CODECS = ("H264", "VP8")
AUDIO_CODECS = ("opus",)
CLOCK_RATES = {"H264": 90_000, "VP8": 90_000, "opus": 48_000}

NAL_TYPE_MASK = 0x1F
NAL_IDR = 5


def send_codecs(kind: str, codec: str) -> list[RTCRtpCodecCapability]:
    """The capability for the publisher's codec (and RTX for video): viewers get exactly it."""
    capabilities = RTCRtpSender.getCapabilities(kind).codecs
    chosen = [c for c in capabilities if c.mimeType.lower() == f"{kind}/{codec}".lower()]
    chosen += [c for c in capabilities if c.mimeType.lower() == f"{kind}/rtx"]
    return chosen


def h264_is_keyframe(annexb: bytes) -> bool:
    """True if an Annex-B access unit holds an IDR slice."""
    pos = annexb.find(b"\x00\x00\x01")
    while pos != -1 and pos + 3 < len(annexb):
        if annexb[pos + 3] & NAL_TYPE_MASK == NAL_IDR:
            return True
        pos = annexb.find(b"\x00\x00\x01", pos + 3)
    return False


def vp8_is_keyframe(frame: bytes) -> bool:
    """RFC 6386 §9.1: bit 0 of the frame tag is 0 for a key frame."""
    return len(frame) > 0 and frame[0] & 0x01 == 0


def is_keyframe(codec: str, data: bytes) -> bool:
    if codec == "H264":
        return h264_is_keyframe(data)
    if codec == "VP8":
        return vp8_is_keyframe(data)
    return True  # every audio frame decodes on its own


@dataclass(slots=True)
class MediaFrame:
    """One encoded frame on its way through a room."""

    kind: str  # "audio" | "video"
    codec: str  # "H264" | "VP8" | "opus"
    data: bytes
    timestamp: int  # RTP clock units, continuous for the room's lifetime
    keyframe: bool
    arrival: float = field(default_factory=time.monotonic)
    payloads: list[bytes] = field(default_factory=list)
    # ``stream.rtc.rtpwire.segment_runs`` of the payloads: how a viewer's writer groups them
    runs: tuple[tuple[int, int], ...] = ()
    octets: int = 0  # payload bytes of those packets (what RTCP's octet count adds)


class Packetizer:
    """Turns a room's frames into RTP payloads, once per frame, for all subscribers."""

    def __init__(self, codec: str) -> None:
        if codec not in CLOCK_RATES:
            raise ValueError(f"unsupported codec {codec!r}")
        self.codec = codec
        self._picture_id = 0

    def packetize_frame(self, data: bytes) -> tuple[list[bytes], tuple[tuple[int, int], ...], int]:
        """The payloads, how a viewer's writer groups them (:func:`segment_runs`) and their
        total size."""
        payloads = self.packetize(data)
        sizes = [len(payload) for payload in payloads]
        return payloads, segment_runs(sizes), sum(sizes)

    def packetize(self, data: bytes) -> list[bytes]:
        if self.codec == "H264":
            return h264_payloads(data)
        if self.codec == "VP8":
            vp8 = vp8_payloads(data, self._picture_id)
            self._picture_id = (self._picture_id + 1) % (1 << 15)
            return vp8
        return [data]
