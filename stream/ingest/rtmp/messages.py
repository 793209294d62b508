"""Messages the server sends: protocol control, user control, and AMF0 commands."""

from __future__ import annotations

import struct

from stream.ingest.rtmp import amf
from stream.ingest.rtmp.amf import AmfValue
from stream.ingest.rtmp.chunks import (
    ACKNOWLEDGEMENT,
    COMMAND_AMF0,
    SET_CHUNK_SIZE,
    SET_PEER_BANDWIDTH,
    USER_CONTROL,
    WINDOW_ACK_SIZE,
    Message,
)

# Chunk stream ids, as FFmpeg and nginx-rtmp use them.
CONTROL_CHUNK_STREAM = 2
COMMAND_CHUNK_STREAM = 3
STATUS_CHUNK_STREAM = 5

STREAM_BEGIN = 0  # user control event
PEER_BANDWIDTH_DYNAMIC = 2

_U32 = struct.Struct(">I")


def set_chunk_size(size: int) -> Message:
    return Message(SET_CHUNK_SIZE, _U32.pack(size))


def window_ack_size(size: int) -> Message:
    return Message(WINDOW_ACK_SIZE, _U32.pack(size))


def set_peer_bandwidth(size: int, limit_type: int = PEER_BANDWIDTH_DYNAMIC) -> Message:
    return Message(SET_PEER_BANDWIDTH, _U32.pack(size) + bytes([limit_type]))


def acknowledgement(sequence: int) -> Message:
    return Message(ACKNOWLEDGEMENT, _U32.pack(sequence % (1 << 32)))


def stream_begin(stream_id: int) -> Message:
    return Message(USER_CONTROL, struct.pack(">HI", STREAM_BEGIN, stream_id))


def command(name: str, transaction: float, *args: AmfValue, stream_id: int = 0) -> Message:
    return Message(COMMAND_AMF0, amf.encode(name, transaction, *args), stream_id=stream_id)


def status(level: str, code: str, description: str) -> dict[str, AmfValue]:
    return {"level": level, "code": code, "description": description}


def on_status(stream_id: int, level: str, code: str, description: str) -> Message:
    return command("onStatus", 0, None, status(level, code, description), stream_id=stream_id)
