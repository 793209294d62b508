"""Codec facts the relay relies on: keyframe detection and one-time packetization."""

from __future__ import annotations

from aiortc.codecs import depayload
from aiortc.codecs.h264 import H264PayloadDescriptor

from stream.rooms.media import Packetizer, h264_is_keyframe, vp8_is_keyframe
from tests.media import encoded_loop


def test_h264_keyframes_found_in_annexb() -> None:
    frames = encoded_loop()
    assert [h264_is_keyframe(f.data) for f in frames] == [f.keyframe for f in frames]
    assert h264_is_keyframe(b"\x00\x00\x00\x01\x67xx\x00\x00\x01\x65yy")
    assert not h264_is_keyframe(b"\x00\x00\x00\x01\x41xx")
    assert not h264_is_keyframe(b"")
    assert not h264_is_keyframe(b"\x00\x00\x01")


def test_vp8_keyframe_bit() -> None:
    assert vp8_is_keyframe(b"\x10\x02\x00\x9d\x01\x2a")
    assert not vp8_is_keyframe(b"\x31\x00")
    assert not vp8_is_keyframe(b"")


def test_h264_packetization_round_trips() -> None:
    packetizer = Packetizer("H264")
    for frame in encoded_loop()[:5]:
        payloads = packetizer.packetize(frame.data)
        assert all(len(p) <= 1300 for p in payloads)
        rebuilt = b""
        for payload in payloads:
            _, data = H264PayloadDescriptor.parse(payload)
            rebuilt += data
        strip = lambda b: [u for u in b.split(b"\x00\x00\x01") if u.strip(b"\x00")]  # noqa: E731
        assert [u.rstrip(b"\x00") for u in strip(rebuilt)] == [
            u.rstrip(b"\x00") for u in strip(frame.data)
        ]


def test_opus_is_one_payload_per_frame() -> None:
    assert Packetizer("opus").packetize(b"abc") == [b"abc"]
    assert depayload is not None
