"""The relay link's messages: how an origin node hands a room's encoded frames to an edge node.

One WebSocket per edge and session (``GET /relay/{session}``, node secret). The origin sends
each frame of the room as one binary message, already on the room's continuous timeline:

    byte 0   kind        0 audio, 1 video
    byte 1   codec       index into ``CODECS``
    byte 2   flags       bit 0: keyframe
    byte 3   reserved    0
    4..7     timestamp   RTP clock units, big-endian
    8..      the frame   depacketized (H.264 Annex-B, VP8, Opus), as the room carries it

and text messages (JSON) for the rest, either way:

    origin → edge  {"type": "publisher", "keyframes": bool, "codecs": {"video": "H264", …}}
                   a publisher is attached (sent at the start and whenever one attaches);
                   ``keyframes``: it answers keyframe requests (else the edge keeps the frames
                   since the last keyframe for its new viewers, as the origin does for RTMP)
    origin → edge  {"type": "left"}        the publisher left (the room waits for it)
    edge → origin  {"type": "keyframe"}    a viewer of the edge needs a keyframe
    edge → origin  {"type": "viewers", "count": n}   the edge's viewers of the room

Nothing here touches a socket: both ends encode and decode with these functions.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

KINDS = ("audio", "video")
CODECS = ("opus", "H264", "VP8")
FRAME_HEADER = struct.Struct("!BBBBI")
KEYFRAME_FLAG = 0x01
# The largest frame the link carries (a 4K keyframe is well under); larger ones are dropped.
MAX_LINK_FRAME = 4 * 1024 * 1024
# The largest text message either end accepts.
MAX_CONTROL_MESSAGE = 1024
MAX_REPORTED_VIEWERS = 1_000_000


class LinkError(ValueError):
    """A message the other end should not have sent."""


@dataclass(frozen=True, slots=True)
class LinkFrame:
    kind: str
    codec: str
    keyframe: bool
    timestamp: int
    data: bytes


@dataclass(frozen=True, slots=True)
class PublisherState:
    keyframes: bool
    codecs: dict[str, str]


def encode_frame(kind: str, codec: str, keyframe: bool, timestamp: int, data: bytes) -> bytes:
    header = FRAME_HEADER.pack(
        KINDS.index(kind), CODECS.index(codec), KEYFRAME_FLAG if keyframe else 0, 0, timestamp
    )
    return header + data


def decode_frame(message: bytes) -> LinkFrame:
    if len(message) < FRAME_HEADER.size:
        raise LinkError("frame message shorter than its header")
    if len(message) - FRAME_HEADER.size > MAX_LINK_FRAME:
        raise LinkError("frame larger than the link carries")
    kind, codec, flags, _, timestamp = FRAME_HEADER.unpack_from(message)
    if kind >= len(KINDS) or codec >= len(CODECS):
        raise LinkError("unknown kind or codec")
    kind_name, codec_name = KINDS[kind], CODECS[codec]
    if (codec_name == "opus") != (kind_name == "audio"):
        raise LinkError(f"{codec_name} is not {kind_name}")
    return LinkFrame(
        kind_name,
        codec_name,
        bool(flags & KEYFRAME_FLAG),
        timestamp,
        message[FRAME_HEADER.size :],
    )


def publisher_message(keyframes: bool, codecs: dict[str, str]) -> str:
    return json.dumps({"type": "publisher", "keyframes": keyframes, "codecs": codecs})


LEFT_MESSAGE = json.dumps({"type": "left"})
KEYFRAME_MESSAGE = json.dumps({"type": "keyframe"})


def viewers_message(count: int) -> str:
    return json.dumps({"type": "viewers", "count": count})


def decode_control(message: str) -> dict[str, object]:
    """A text message as a dict with a known ``type`` (its fields checked by :func:`publisher`
    and :func:`viewer_count`)."""
    if len(message) > MAX_CONTROL_MESSAGE:
        raise LinkError("control message too long")
    try:
        value = json.loads(message)
    except ValueError:
        raise LinkError("control message is not JSON") from None
    if not isinstance(value, dict) or value.get("type") not in (
        "publisher",
        "left",
        "keyframe",
        "viewers",
    ):
        raise LinkError("unknown control message")
    return value


def publisher(message: dict[str, object]) -> PublisherState:
    keyframes = message.get("keyframes")
    codecs = message.get("codecs")
    if not isinstance(keyframes, bool) or not isinstance(codecs, dict):
        raise LinkError("publisher message needs keyframes and codecs")
    checked: dict[str, str] = {}
    for kind, codec in codecs.items():
        if kind not in KINDS or codec not in CODECS:
            raise LinkError("publisher message names an unknown kind or codec")
        checked[kind] = codec
    return PublisherState(keyframes, checked)


def viewer_count(message: dict[str, object]) -> int:
    count = message.get("count")
    if not isinstance(count, int) or isinstance(count, bool):
        raise LinkError("viewers message needs a count")
    if not 0 <= count <= MAX_REPORTED_VIEWERS:
        raise LinkError("viewer count out of range")
    return count
