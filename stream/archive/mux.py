"""Muxing a room's encoded frames with PyAV: packets in, containers out, nothing decoded.

H.264 goes into fragmented MP4, VP8 into WebM (:data:`CONTAINERS`); both with Opus audio.
Video streams are added without any codec context (``add_mux_stream``; PyAV takes H.264's
SPS/PPS from the first keyframe, and VP8 needs only the picture size, read from its
keyframe). Opus in MP4 and WebM needs its ``OpusHead`` as extradata, which a stream without a
codec context cannot carry: the audio stream is copied from a template stream read from a few
bytes of Ogg built here (the context PyAV allocates for it is never opened).

Timestamps: WebRTC's audio and video RTP clocks start at unrelated values, so each kind is
placed on the segment's timeline by its first frame's arrival (``Timeline``).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av

from stream.rooms.media import CLOCK_RATES, MediaFrame

TIMESTAMP_MODULO = 1 << 32
VIDEO_CODECS = {"H264": "h264", "VP8": "vp8"}
AUDIO_CODECS = {"opus": "opus"}
OPUS_PRE_SKIP = 312
FMP4_FLAGS = "frag_keyframe+empty_moov+default_base_moof"
VP8_START_CODE = b"\x9d\x01\x2a"


@dataclass(frozen=True, slots=True)
class Container:
    """The file a recording segment of one video codec is written as."""

    format: str  # FFmpeg's muxer
    suffix: str
    options: dict[str, str]
    mime: str


CONTAINERS = {
    "H264": Container("mp4", ".mp4", {"movflags": FMP4_FLAGS}, "video/mp4"),
    "VP8": Container("webm", ".webm", {}, "video/webm"),
}


def vp8_picture_size(frame: bytes) -> tuple[int, int] | None:
    """A VP8 keyframe's picture size (RFC 6386 §9.1), None for anything else."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != VP8_START_CODE:
        return None
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    return (width, height) if width and height else None


def _ogg_crc_table() -> list[int]:
    table = []
    for byte in range(256):
        value = byte << 24
        for _ in range(8):
            value = ((value << 1) ^ 0x04C11DB7) if value & 0x80000000 else value << 1
        table.append(value & 0xFFFFFFFF)
    return table


_CRC_TABLE = _ogg_crc_table()


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[((crc >> 24) & 0xFF) ^ byte]
    return crc


def _ogg_page(payload: bytes, sequence: int, flags: int, granule: int = 0) -> bytes:
    lacing = [255] * (len(payload) // 255) + [len(payload) % 255]
    header = (
        b"OggS"
        + bytes([0, flags])
        + struct.pack("<qIII", granule, 1, sequence, 0)
        + bytes([len(lacing), *lacing])
    )
    crc = _ogg_crc(header + payload)
    return header[:22] + struct.pack("<I", crc) + header[26:] + payload


def opus_template_ogg() -> bytes:
    """An Ogg Opus stream of one empty packet: its headers are what MP4 needs (RFC 7845)."""
    head = b"OpusHead" + bytes([1, 2]) + struct.pack("<HIhB", OPUS_PRE_SKIP, 48_000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 6) + b"stream" + struct.pack("<I", 0)
    silent = b"\xfc"  # TOC: CELT fullband 20 ms stereo, one empty frame
    return (
        _ogg_page(head, 0, 0x02)
        + _ogg_page(tags, 1, 0x00)
        + _ogg_page(silent, 2, 0x04, granule=OPUS_PRE_SKIP + 960)
    )


_OPUS_OGG = opus_template_ogg()


def add_streams(
    container: Any, kinds: dict[str, str], size: tuple[int, int] | None
) -> dict[str, Any]:
    """Streams for ``kinds`` (kind → codec name) in ``container``, by kind (``size``: the
    video's picture size)."""
    streams: dict[str, Any] = {}
    video = kinds.get("video")
    if video is not None:
        width, height = size or (0, 0)
        stream = container.add_mux_stream(VIDEO_CODECS[video], width=width, height=height)
        stream.time_base = Fraction(1, CLOCK_RATES[video])
        streams["video"] = stream
    audio = kinds.get("audio")
    if audio is not None:
        with av.open(io.BytesIO(_OPUS_OGG), format="ogg") as template:
            stream = container.add_stream_from_template(template.streams.audio[0])
        stream.time_base = Fraction(1, CLOCK_RATES[audio])
        streams["audio"] = stream
    return streams


@dataclass
class _Clock:
    rate: int
    first_timestamp: int
    start: int  # the first frame's position on the segment's timeline, in clock units
    last_pts: int = -1


@dataclass
class Timeline:
    """Presentation timestamps for one segment: zero at its first video keyframe."""

    origin: float  # arrival (monotonic) of the segment's first keyframe
    _clocks: dict[str, _Clock] = field(default_factory=dict)

    def pts(self, frame: MediaFrame) -> int | None:
        """The frame's pts, or None for a frame to leave out (before the start, or not after
        the previous frame of its kind)."""
        rate = CLOCK_RATES[frame.codec]
        clock = self._clocks.get(frame.kind)
        if clock is None:
            start = round((frame.arrival - self.origin) * rate)
            if start < 0:
                return None
            clock = self._clocks[frame.kind] = _Clock(rate, frame.timestamp, start)
        pts = clock.start + (frame.timestamp - clock.first_timestamp) % TIMESTAMP_MODULO
        if pts <= clock.last_pts:
            return None
        clock.last_pts = pts
        return pts

    def seconds(self) -> float:
        """The segment's length so far (the latest frame of any kind)."""
        ends = [c.last_pts / c.rate for c in self._clocks.values() if c.last_pts >= 0]
        return max(ends, default=0.0)


def packet(stream: Any, frame: MediaFrame, pts: int) -> Any:
    out = av.Packet(frame.data)
    out.pts = out.dts = pts
    # The timeline's clock, not the stream's: a muxer may change the stream's time base when
    # it writes its header (WebM's is 1/1000); PyAV rescales from the packet's.
    out.time_base = Fraction(1, CLOCK_RATES[frame.codec])
    out.stream = stream
    if frame.kind == "video" and frame.keyframe:
        out.is_keyframe = True
    return out
