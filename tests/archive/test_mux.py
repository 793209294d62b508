"""The muxing facts the archive reads from frames: a VP8 keyframe's picture size (never an
exception, whatever the bytes), the container per codec, and WebM written from VP8 packets
on the RTP clock."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
from hypothesis import given
from hypothesis import strategies as st

from stream.archive.mux import CONTAINERS, Timeline, add_streams, packet, vp8_picture_size
from stream.rooms.media import MediaFrame


def _vp8_frames(count: int) -> list[bytes]:
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 320, 180, "yuv420p"
    encoder.time_base = Fraction(1, 30)
    frames: list[bytes] = []
    for number in range(count):
        picture = av.VideoFrame(320, 180, "yuv420p")
        picture.pts = number
        frames += [bytes(p) for p in encoder.encode(picture)]
    frames += [bytes(p) for p in encoder.encode(None)]
    return frames


def test_vp8_keyframe_size() -> None:
    keyframe, *rest = _vp8_frames(3)
    assert vp8_picture_size(keyframe) == (320, 180)
    assert vp8_picture_size(rest[0]) is None  # an inter frame has no size
    assert vp8_picture_size(b"") is None


@given(st.binary(max_size=64))
def test_vp8_size_never_raises(data: bytes) -> None:
    size = vp8_picture_size(data)
    assert size is None or (size[0] > 0 and size[1] > 0)


def test_containers_per_codec() -> None:
    assert (CONTAINERS["H264"].suffix, CONTAINERS["VP8"].suffix) == (".mp4", ".webm")
    assert CONTAINERS["VP8"].mime == "video/webm"


def test_vp8_packets_make_a_webm_of_the_right_length(tmp_path: Path) -> None:
    """WebM's muxer sets its stream time base to 1/1000 on writing the header: packets keep
    the RTP clock's (1/90000) and are rescaled, so 3 s of frames stay 3 s."""
    frames = _vp8_frames(90)
    path = tmp_path / "vp8.webm"
    timeline = Timeline(origin=100.0)
    with av.open(str(path), "w", format="webm") as container:
        streams = add_streams(container, {"video": "VP8"}, (320, 180))
        for number, data in enumerate(frames):
            frame = MediaFrame(
                "video", "VP8", data, 3000 * number, number == 0, arrival=100.0 + number / 30
            )
            pts = timeline.pts(frame)
            assert pts is not None
            container.mux(packet(streams["video"], frame, pts))
    with av.open(str(path)) as written:
        assert written.streams.video[0].codec_context.name == "vp8"
        assert abs((written.duration or 0) / 1e6 - 3.0) < 0.1
