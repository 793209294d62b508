"""AAC → Opus: real AAC from FFmpeg's encoder becomes 20 ms Opus frames on a 48 kHz timeline."""

from __future__ import annotations

import itertools

import av
import pytest

from stream.ingest.rtmp.audio import MAX_BAD_FRAMES, OPUS_FRAME_SAMPLES, AacToOpus
from stream.ingest.rtmp.errors import RtmpError
from stream.ingest.rtmp.flv import AAC_SEQUENCE_HEADER, parse_aac_config, parse_audio_tag
from tests.ingest.rtmp.flvfile import encode_flv, flv_tags


def aac_stream(seconds: float = 2.0) -> tuple[bytes, list[tuple[bytes, int]]]:
    """(AudioSpecificConfig, [(raw AAC frame, timestamp ms)]) from a real FLV."""
    config = b""
    frames: list[tuple[bytes, int]] = []
    for tag in flv_tags(encode_flv(seconds=seconds)):
        if tag.type_id != 8:
            continue
        audio = parse_audio_tag(tag.body)
        if audio.packet_type == AAC_SEQUENCE_HEADER:
            config = audio.body
        else:
            frames.append((audio.body, tag.timestamp))
    return config, frames


def test_aac_becomes_decodable_opus_with_a_continuous_timeline() -> None:
    config, frames = aac_stream(2.0)
    transcoder = AacToOpus(parse_aac_config(config))
    out = [packet for data, ts in frames for packet in transcoder.transcode(data, ts + 1000)]
    assert 95 <= len(out) <= 110  # 2 s (and the encoder's padding) of 20 ms frames
    stamps = [ts for _, ts in out]
    assert stamps[0] == 1000 * 48
    assert all(b - a == OPUS_FRAME_SAMPLES for a, b in itertools.pairwise(stamps))
    decoder = av.CodecContext.create("opus", "r")
    decoded = [f for data, _ in out for f in decoder.decode(av.Packet(data))]
    assert decoded
    assert {f.sample_rate for f in decoded} == {48000}
    assert {f.samples for f in decoded} == {OPUS_FRAME_SAMPLES}


def test_a_jump_in_rtmp_time_restarts_the_count_there() -> None:
    config, frames = aac_stream(1.0)
    transcoder = AacToOpus(parse_aac_config(config))
    half = len(frames) // 2
    out = [p for data, ts in frames[:half] for p in transcoder.transcode(data, ts)]
    later = [p for data, ts in frames[half:] for p in transcoder.transcode(data, ts + 10_000)]
    assert out
    assert later
    assert later[0][1] > 10_000 * 48 - 2 * OPUS_FRAME_SAMPLES
    stamps = [ts for _, ts in out + later]
    assert stamps == sorted(set(stamps))


def test_undecodable_frames_are_dropped_until_there_are_too_many() -> None:
    config, frames = aac_stream(0.5)
    transcoder = AacToOpus(parse_aac_config(config))
    for index in range(MAX_BAD_FRAMES):
        assert transcoder.transcode(b"\xff" * 40, index * 23) == []
    assert [p for data, ts in frames for p in transcoder.transcode(data, ts)]  # recovers
    for index in range(MAX_BAD_FRAMES):
        transcoder.transcode(b"\xff" * 40, index * 23)
    with pytest.raises(RtmpError, match="undecodable AAC frames in a row"):
        transcoder.transcode(b"\xff" * 40, 5000)
