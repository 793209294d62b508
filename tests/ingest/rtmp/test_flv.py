"""FLV tag bodies: AVC configuration, AVCC → Annex-B, AAC configuration, aggregates."""

from __future__ import annotations

from collections.abc import Callable

import av
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.ingest.rtmp.errors import RtmpError
from stream.ingest.rtmp.flv import (
    AVC_NALU,
    AVC_SEQUENCE_HEADER,
    AnnexBConverter,
    parse_aac_config,
    parse_audio_tag,
    parse_avc_config,
    parse_video_tag,
    split_aggregate,
    split_avcc,
)
from stream.rooms.media import h264_is_keyframe
from tests.ingest.rtmp.flvfile import encode_flv, flv_tags
from tests.ingest.rtmp.samples import FILLER, IDR, P_SLICE, PPS, SEI, SPS, avc_record, avcc
from tests.media import nal_units


def test_avc_configuration_record() -> None:
    config = parse_avc_config(avc_record())
    assert (config.profile, config.level, config.nal_length_size) == (0x42, 0x1F, 4)
    assert config.sps == (SPS,)
    assert config.pps == (PPS,)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (b"\x01\x42", "shorter than 7 bytes"),
        (b"\x02" + avc_record()[1:], "version 2 is not 1"),
        (avc_record(length_size=3), "NAL length size 3 is not allowed"),
        (avc_record()[:-2], "truncated"),
        (avc_record(sps=(PPS,)), "NAL type 8 in its sets"),
        (avc_record(sps=()), "without SPS or PPS"),
        (avc_record()[:5] + b"\xe1\x00\x00" + avc_record()[11:], "truncated"),
    ],
)
def test_bad_avc_configuration_records(record: bytes, message: str) -> None:
    with pytest.raises(RtmpError, match=message):
        parse_avc_config(record)


def test_annexb_puts_parameter_sets_before_every_idr_and_drops_filler() -> None:
    converter = AnnexBConverter()
    assert converter.convert(avcc(IDR)) == b""  # nothing before the configuration
    converter.configure(avc_record())
    keyframe = converter.convert(avcc(SEI, IDR, FILLER))
    assert nal_units(keyframe) == [SPS, PPS, SEI, IDR]
    assert keyframe.startswith(b"\x00\x00\x00\x01")
    assert h264_is_keyframe(keyframe)
    assert nal_units(converter.convert(avcc(P_SLICE))) == [P_SLICE]
    with_sets = converter.convert(avcc(SPS, PPS, IDR))
    assert nal_units(with_sets) == [SPS, PPS, IDR]  # not repeated
    assert converter.convert(avcc(FILLER)) == b""


def test_two_byte_nal_lengths() -> None:
    converter = AnnexBConverter()
    converter.configure(avc_record(length_size=2))
    assert nal_units(converter.convert(avcc(IDR, size=2))) == [SPS, PPS, IDR]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x00\x00", "AVCC NAL length truncated"),
        (b"\x00\x00\x00\x09\x65", "AVCC NAL unit of 9 bytes with 1 left"),
    ],
)
def test_bad_avcc(data: bytes, message: str) -> None:
    with pytest.raises(RtmpError, match=message):
        split_avcc(data, 4)


def test_video_tags() -> None:
    tag = parse_video_tag(b"\x17\x00\x00\x00\x00" + avc_record())
    assert (tag.keyframe, tag.packet_type) == (True, AVC_SEQUENCE_HEADER)
    tag = parse_video_tag(b"\x27\x01\xff\xff\xfe" + avcc(P_SLICE))
    assert (tag.keyframe, tag.packet_type, tag.composition_time) == (False, AVC_NALU, -2)
    assert tag.body == avcc(P_SLICE)
    assert parse_video_tag(b"\x57\x00").packet_type == -1  # command frame


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "empty video message"),
        (b"\x12\x00", "video codec id 2 is not supported; send H.264"),
        (b"\x90hvc1", "Enhanced RTMP video"),
        (b"\x17\x01\x00", "shorter than 5 bytes"),
        (b"\x17\x03\x00\x00\x00", "unknown AVC packet type 3"),
    ],
)
def test_bad_video_tags(payload: bytes, message: str) -> None:
    with pytest.raises(RtmpError, match=message):
        parse_video_tag(payload)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (b"\x12\x10", (2, 44100, 2)),  # AAC-LC 44.1 kHz stereo
        (b"\x11\x90", (2, 48000, 2)),
        (b"\x13\x88", (2, 22050, 1)),
        (b"\x2b\x92\x08\x00", (5, 22050, 2)),  # HE-AAC, explicit SBR signalling follows
        (
            b"\xf8\x1e\x00\xbb\x80\x00",
            (32, 24000, 0),
        ),  # escaped object type, index 15 explicit rate
    ],
)
def test_aac_configs(config: bytes, expected: tuple[int, int, int]) -> None:
    parsed = parse_aac_config(config)
    assert (parsed.object_type, parsed.sample_rate, parsed.channels) == expected
    assert parsed.raw == config


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (b"\x12", "truncated"),
        (b"\x00\x10", "object type 0"),
        (b"\x16\x90", "sampling frequency index 13 is reserved"),
        (b"\x12\x40", "channel configuration 8 is reserved"),
        (b"\x17\x80\x00\x00\x10", "sample rate 0 is not supported"),
    ],
)
def test_bad_aac_configs(config: bytes, message: str) -> None:
    with pytest.raises(RtmpError, match=message):
        parse_aac_config(config)


def test_audio_tags() -> None:
    tag = parse_audio_tag(b"\xaf\x00\x12\x10")
    assert (tag.sound_format, tag.packet_type, tag.body) == (10, 0, b"\x12\x10")
    assert parse_audio_tag(b"\x2f\xff").packet_type == -1  # MP3: not AAC
    with pytest.raises(RtmpError, match="unknown AAC packet type 2"):
        parse_audio_tag(b"\xaf\x02")


def test_aggregate_parts_are_timed_relative_to_the_message() -> None:
    def tag(type_id: int, ts: int, body: bytes) -> bytes:
        header = bytes([type_id]) + len(body).to_bytes(3, "big") + ts.to_bytes(3, "big")
        return header + b"\x00" + b"\x00\x00\x00" + body + (11 + len(body)).to_bytes(4, "big")

    payload = tag(9, 5000, b"v1") + tag(8, 5020, b"a1") + tag(9, 5033, b"v2")
    parts = split_aggregate(payload, 100)
    assert [(p.type_id, p.timestamp, p.body) for p in parts] == [
        (9, 100, b"v1"),
        (8, 120, b"a1"),
        (9, 133, b"v2"),
    ]
    with pytest.raises(RtmpError, match="tag body truncated"):
        split_aggregate(payload[:-3], 0)


def test_real_ffmpeg_flv_becomes_decodable_annexb() -> None:
    """PyAV's flv muxer output → our converter → FFmpeg's H.264 decoder decodes every frame."""
    converter = AnnexBConverter()
    decoder = av.CodecContext.create("h264", "r")
    access_units: list[bytes] = []
    for flv_tag in flv_tags(encode_flv(seconds=2.0, gop=30)):
        if flv_tag.type_id != 9:
            continue
        video = parse_video_tag(flv_tag.body)
        if video.packet_type == AVC_SEQUENCE_HEADER:
            converter.configure(video.body)
        elif video.packet_type == AVC_NALU:
            access_units.append(converter.convert(video.body))
    assert len(access_units) == 60
    assert h264_is_keyframe(access_units[0])
    assert [i for i, unit in enumerate(access_units) if h264_is_keyframe(unit)] == [0, 30]
    assert nal_units(access_units[30])[0][0] & 0x1F == 7  # SPS first
    frames = [f for unit in access_units for f in decoder.decode(av.Packet(unit))]
    frames += decoder.decode(None)
    assert len(frames) == 60
    assert (frames[0].width, frames[0].height) == (320, 180)


PARSERS: list[Callable[[bytes], object]] = [
    parse_video_tag,
    parse_audio_tag,
    parse_avc_config,
    parse_aac_config,
    lambda data: split_avcc(data, 4),
    lambda data: split_avcc(data, 1),
    lambda data: split_aggregate(data, 0),
]


@given(st.sampled_from(PARSERS), st.binary(max_size=300))
@settings(max_examples=1000)
def test_arbitrary_bytes_raise_only_rtmp_error(
    parser: Callable[[bytes], object], data: bytes
) -> None:
    try:
        parser(data)
    except RtmpError:
        pass


@given(st.binary(max_size=200), st.binary(max_size=300))
@settings(max_examples=500)
def test_converter_never_raises_anything_else(record: bytes, access_unit: bytes) -> None:
    converter = AnnexBConverter()
    try:
        converter.configure(avc_record())
        converter.configure(record)
    except RtmpError:
        pass
    try:
        converter.convert(access_unit)
    except RtmpError:
        pass
