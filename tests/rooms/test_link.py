"""The relay link's messages (pure: no sockets)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream.rooms import link


@given(
    kind_codec=st.sampled_from([("audio", "opus"), ("video", "H264"), ("video", "VP8")]),
    keyframe=st.booleans(),
    timestamp=st.integers(0, 2**32 - 1),
    data=st.binary(max_size=2000),
)
def test_frames_survive_the_link(
    kind_codec: tuple[str, str], keyframe: bool, timestamp: int, data: bytes
) -> None:
    kind, codec = kind_codec
    frame = link.decode_frame(link.encode_frame(kind, codec, keyframe, timestamp, data))
    assert frame == link.LinkFrame(kind, codec, keyframe, timestamp, data)


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b"\x01\x01\x00",  # shorter than the header
        bytes([2, 1, 0, 0, 0, 0, 0, 0]),  # unknown kind
        bytes([1, 9, 0, 0, 0, 0, 0, 0]),  # unknown codec
        bytes([1, 0, 0, 0, 0, 0, 0, 0]),  # opus as video
        bytes([0, 1, 0, 0, 0, 0, 0, 0]),  # H.264 as audio
        bytes([1, 1, 1, 0, 0, 0, 0, 0]) + b"x" * (link.MAX_LINK_FRAME + 1),
    ],
)
def test_bad_frames_are_refused(message: bytes) -> None:
    with pytest.raises(link.LinkError):
        link.decode_frame(message)


def test_control_messages_round_trip() -> None:
    state = link.publisher(
        link.decode_control(link.publisher_message(False, {"video": "H264", "audio": "opus"}))
    )
    assert state == link.PublisherState(False, {"video": "H264", "audio": "opus"})
    assert link.viewer_count(link.decode_control(link.viewers_message(7))) == 7
    assert link.decode_control(link.KEYFRAME_MESSAGE)["type"] == "keyframe"
    assert link.decode_control(link.LEFT_MESSAGE)["type"] == "left"


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        "[]",
        '{"type": "nonsense"}',
        json.dumps({"type": "keyframe", "pad": "x" * link.MAX_CONTROL_MESSAGE}),
    ],
)
def test_bad_control_messages_are_refused(message: str) -> None:
    with pytest.raises(link.LinkError):
        link.decode_control(message)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"keyframes": "yes", "codecs": {}},
        {"keyframes": True, "codecs": ["H264"]},
        {"keyframes": True, "codecs": {"video": "AV1"}},
        {"keyframes": True, "codecs": {"subtitles": "opus"}},
    ],
)
def test_bad_publisher_messages_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(link.LinkError):
        link.publisher({"type": "publisher", **fields})


@pytest.mark.parametrize("count", [-1, True, 1.5, "3", None, link.MAX_REPORTED_VIEWERS + 1])
def test_bad_viewer_counts_are_refused(count: object) -> None:
    with pytest.raises(link.LinkError):
        link.viewer_count({"type": "viewers", "count": count})
