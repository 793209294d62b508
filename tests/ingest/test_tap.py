"""The tap's frame assembly: a video frame completes at its marker bit, audio passes through."""

from __future__ import annotations

from aiortc.rtp import RtpPacket

from stream.ingest.tap import MarkerJitterBuffer, PassThroughAudioBuffer


def packet(seq: int, ts: int, data: bytes, marker: bool = False) -> RtpPacket:
    p = RtpPacket(payload_type=96, sequence_number=seq, timestamp=ts, ssrc=1234)
    p.marker = int(marker)
    p._data = data  # type: ignore[attr-defined]  # what aiortc's depayloader leaves
    return p


def test_frame_completes_at_marker_without_waiting_for_next_frame() -> None:
    buffer = MarkerJitterBuffer()
    assert buffer.add(packet(10, 3000, b"a"))[1] is None
    assert buffer.add(packet(11, 3000, b"b"))[1] is None
    _, frame = buffer.add(packet(12, 3000, b"c", marker=True))
    assert frame is not None
    assert frame.data == b"abc"
    assert frame.timestamp == 3000
    assert buffer.media_ssrc == 1234
    _, frame = buffer.add(packet(13, 6000, b"d", marker=True))
    assert frame is not None
    assert frame.data == b"d"


def test_reordered_packets_wait_for_the_gap() -> None:
    buffer = MarkerJitterBuffer()
    buffer.add(packet(20, 3000, b"a"))
    assert buffer.add(packet(22, 3000, b"c", marker=True))[1] is None  # 21 is missing
    _, frame = buffer.add(packet(21, 3000, b"b"))
    assert frame is None or frame.data == b"abc"
    if frame is None:  # completed by aiortc's own rule when the next frame starts
        _, frame = buffer.add(packet(23, 6000, b"d", marker=True))
        assert frame is not None
        assert frame.data == b"abc"


def test_audio_passes_through_in_order() -> None:
    buffer = PassThroughAudioBuffer()
    assert buffer.add(packet(1, 0, b"x"))[1] is not None
    assert buffer.add(packet(3, 1920, b"z"))[1] is not None
    assert buffer.add(packet(2, 960, b"late"))[1] is None  # older than the last one: dropped
    assert buffer.add(packet(3, 1920, b"dup"))[1] is None
    frame = buffer.add(packet(4, 2880, b"w"))[1]
    assert frame is not None
    assert frame.data == b"w"
