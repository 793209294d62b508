"""FLV video and audio tag bodies, as RTMP carries them (FLV spec v10.1, annex E.4.2-3).

Video: H.264 in AVCC form: an AVCDecoderConfigurationRecord (SPS, PPS, NAL length size) first,
then access units of length-prefixed NAL units. :class:`AnnexBConverter` turns those into the
Annex-B access units the room carries, SPS and PPS before every IDR. Audio: AAC with its
AudioSpecificConfig first, then raw AAC frames.
"""

from __future__ import annotations

from dataclasses import dataclass

from stream.ingest.rtmp.errors import RtmpError

# Video tag, first byte: frame type (high nibble), codec id (low nibble).
FRAME_KEY = 1
FRAME_COMMAND = 5  # "video info/command frame": no picture
CODEC_AVC = 7
EX_HEADER = 0x80  # Enhanced RTMP (HEVC, AV1, VP9 by FourCC)
AVC_SEQUENCE_HEADER = 0
AVC_NALU = 1
AVC_END_OF_SEQUENCE = 2

# Audio tag, first byte: sound format (high nibble), rate, size, channels.
SOUND_AAC = 10
AAC_SEQUENCE_HEADER = 0
AAC_RAW = 1

NAL_TYPE_MASK = 0x1F
NAL_IDR = 5
NAL_SPS = 7
NAL_PPS = 8
NAL_FILLER = 12
START_CODE = b"\x00\x00\x00\x01"
MAX_PARAMETER_SETS = 32  # SPS ids are 0-31, PPS ids up to 255; 32 of each is plenty

AAC_SAMPLE_RATES = (
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class VideoTag:
    frame_type: int
    codec_id: int
    packet_type: int  # AVC_SEQUENCE_HEADER | AVC_NALU | AVC_END_OF_SEQUENCE; -1: command frame
    composition_time: int  # milliseconds, presentation minus decoding time (signed)
    body: bytes

    @property
    def keyframe(self) -> bool:
        return self.frame_type == FRAME_KEY


def parse_video_tag(payload: bytes) -> VideoTag:
    if not payload:
        raise RtmpError("empty video message")
    first = payload[0]
    if first & EX_HEADER:
        raise RtmpError("Enhanced RTMP video (HEVC/AV1/VP9) is not supported; send H.264")
    frame_type, codec_id = first >> 4, first & 0x0F
    if frame_type == FRAME_COMMAND:
        return VideoTag(frame_type, codec_id, -1, 0, payload[1:])
    if codec_id != CODEC_AVC:
        raise RtmpError(f"video codec id {codec_id} is not supported; send H.264")
    if len(payload) < 5:
        raise RtmpError("AVC video message shorter than 5 bytes")
    packet_type = payload[1]
    if packet_type > AVC_END_OF_SEQUENCE:
        raise RtmpError(f"unknown AVC packet type {packet_type}")
    composition_time = int.from_bytes(payload[2:5], "big", signed=True)
    return VideoTag(frame_type, codec_id, packet_type, composition_time, payload[5:])


@dataclass(frozen=True, slots=True)
class AvcConfig:
    profile: int
    level: int
    nal_length_size: int
    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]


def parse_avc_config(record: bytes) -> AvcConfig:
    """An AVCDecoderConfigurationRecord (ISO/IEC 14496-15, 5.2.4.1)."""
    if len(record) < 7:
        raise RtmpError("AVC configuration record shorter than 7 bytes")
    if record[0] != 1:
        raise RtmpError(f"AVC configuration record version {record[0]} is not 1")
    nal_length_size = (record[4] & 0x03) + 1
    if nal_length_size == 3:
        raise RtmpError("AVC NAL length size 3 is not allowed")
    pos = 5
    sps, pos = _parameter_sets(record, pos, record[5] & 0x1F, NAL_SPS)
    if pos >= len(record):
        raise RtmpError("AVC configuration record ends before its PPS count")
    pps, pos = _parameter_sets(record, pos, record[pos], NAL_PPS)
    if not sps or not pps:
        raise RtmpError("AVC configuration record without SPS or PPS")
    return AvcConfig(record[1], record[3], nal_length_size, sps, pps)


def _parameter_sets(
    record: bytes, pos: int, count: int, nal_type: int
) -> tuple[tuple[bytes, ...], int]:
    if count > MAX_PARAMETER_SETS:
        raise RtmpError(f"{count} parameter sets in the AVC configuration record")
    pos += 1
    found: list[bytes] = []
    for _ in range(count):
        if pos + 2 > len(record):
            raise RtmpError("AVC configuration record truncated")
        size = int.from_bytes(record[pos : pos + 2], "big")
        pos += 2
        unit = record[pos : pos + size]
        if size == 0 or len(unit) != size:
            raise RtmpError("AVC configuration record truncated")
        if unit[0] & NAL_TYPE_MASK != nal_type:
            raise RtmpError(f"AVC configuration record: NAL type {unit[0] & 0x1F} in its sets")
        found.append(unit)
        pos += size
    return tuple(found), pos


def split_avcc(data: bytes, nal_length_size: int) -> list[bytes]:
    """The NAL units of a length-prefixed (AVCC) access unit."""
    units: list[bytes] = []
    pos = 0
    end = len(data)
    while pos < end:
        if pos + nal_length_size > end:
            raise RtmpError("AVCC NAL length truncated")
        size = int.from_bytes(data[pos : pos + nal_length_size], "big")
        pos += nal_length_size
        if size > end - pos:
            raise RtmpError(f"AVCC NAL unit of {size} bytes with {end - pos} left")
        if size:
            units.append(data[pos : pos + size])
        pos += size
    return units


class AnnexBConverter:
    """AVCC access units → Annex-B, with the current SPS/PPS in front of every IDR."""

    def __init__(self) -> None:
        self.config: AvcConfig | None = None

    def configure(self, record: bytes) -> AvcConfig:
        self.config = parse_avc_config(record)
        return self.config

    def convert(self, data: bytes) -> bytes:
        """Annex-B for one access unit; empty when there is nothing to show (or no config)."""
        config = self.config
        if config is None:
            return b""
        units = [
            unit
            for unit in split_avcc(data, config.nal_length_size)
            if unit[0] & NAL_TYPE_MASK != NAL_FILLER
        ]
        types = {unit[0] & NAL_TYPE_MASK for unit in units}
        if NAL_IDR in types and NAL_SPS not in types:
            units = [*config.sps, *config.pps, *units]
        if not units:
            return b""
        return START_CODE + START_CODE.join(units)


@dataclass(frozen=True, slots=True)
class AudioTag:
    sound_format: int
    packet_type: int  # AAC_SEQUENCE_HEADER | AAC_RAW; -1 for other formats
    body: bytes


def parse_audio_tag(payload: bytes) -> AudioTag:
    if not payload:
        raise RtmpError("empty audio message")
    sound_format = payload[0] >> 4
    if sound_format != SOUND_AAC:
        return AudioTag(sound_format, -1, payload[1:])
    if len(payload) < 2:
        raise RtmpError("AAC audio message shorter than 2 bytes")
    packet_type = payload[1]
    if packet_type > AAC_RAW:
        raise RtmpError(f"unknown AAC packet type {packet_type}")
    return AudioTag(sound_format, packet_type, payload[2:])


@dataclass(frozen=True, slots=True)
class AacConfig:
    object_type: int  # 2 = AAC-LC, 5 = HE-AAC (SBR), 29 = HE-AACv2
    sample_rate: int
    channels: int  # channel configuration; 0 = defined in the stream
    raw: bytes  # the AudioSpecificConfig itself (the decoder's extradata)


def parse_aac_config(data: bytes) -> AacConfig:
    """The start of an AudioSpecificConfig (ISO/IEC 14496-3, 1.6.2.1)."""
    bits = _Bits(data)
    object_type = bits.read(5)
    if object_type == 31:
        object_type = 32 + bits.read(6)
    if object_type == 0:
        raise RtmpError("AAC audio object type 0 is not valid")
    index = bits.read(4)
    if index == 15:
        sample_rate = bits.read(24)
    elif index < len(AAC_SAMPLE_RATES):
        sample_rate = AAC_SAMPLE_RATES[index]
    else:
        raise RtmpError(f"AAC sampling frequency index {index} is reserved")
    if not 0 < sample_rate <= 96000:
        raise RtmpError(f"AAC sample rate {sample_rate} is not supported")
    channels = bits.read(4)
    if channels > 7:
        raise RtmpError(f"AAC channel configuration {channels} is reserved")
    return AacConfig(object_type, sample_rate, channels, bytes(data))


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def read(self, count: int) -> int:
        if self.pos + count > len(self.data) * 8:
            raise RtmpError("AAC AudioSpecificConfig truncated")
        value = 0
        for _ in range(count):
            byte = self.data[self.pos >> 3]
            value = (value << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value


@dataclass(frozen=True, slots=True)
class AggregatePart:
    type_id: int
    timestamp: int  # milliseconds, on the aggregate message's clock
    body: bytes


AGGREGATE_TAG_HEADER = 11
AGGREGATE_BACK_POINTER = 4
MAX_AGGREGATE_PARTS = 1024


def split_aggregate(payload: bytes, timestamp: int) -> list[AggregatePart]:
    """The FLV tags of an Aggregate message (spec 7.1.6), timed relative to the message."""
    parts: list[AggregatePart] = []
    pos = 0
    first: int | None = None
    while pos < len(payload):
        if len(parts) >= MAX_AGGREGATE_PARTS:
            raise RtmpError(f"more than {MAX_AGGREGATE_PARTS} parts in an aggregate message")
        if pos + AGGREGATE_TAG_HEADER > len(payload):
            raise RtmpError("aggregate message: tag header truncated")
        type_id = payload[pos]
        size = int.from_bytes(payload[pos + 1 : pos + 4], "big")
        tag_time = int.from_bytes(payload[pos + 4 : pos + 7], "big") | (payload[pos + 7] << 24)
        pos += AGGREGATE_TAG_HEADER
        if pos + size + AGGREGATE_BACK_POINTER > len(payload):
            raise RtmpError("aggregate message: tag body truncated")
        if first is None:
            first = tag_time
        parts.append(
            AggregatePart(type_id, timestamp + tag_time - first, payload[pos : pos + size])
        )
        pos += size + AGGREGATE_BACK_POINTER
    return parts
