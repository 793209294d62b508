"""The RTMP chunk stream: messages cut into chunks, interleaved by chunk stream id.

:class:`ChunkReader` is sans-IO: feed it bytes as they arrive and it returns whole messages. It
applies the peer's Set Chunk Size and Abort itself (the chunks after them depend on them) and
counts bytes for acknowledgements. :class:`ChunkWriter` compresses headers (fmt 0-3) the way
FFmpeg and librtmp do. Both follow the RTMP 1.0 specification (Adobe, 2012), section 5.3.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from stream.ingest.rtmp.errors import RtmpError

# Message type ids (RTMP spec 5.4, 7.1).
SET_CHUNK_SIZE = 1
ABORT = 2
ACKNOWLEDGEMENT = 3
USER_CONTROL = 4
WINDOW_ACK_SIZE = 5
SET_PEER_BANDWIDTH = 6
AUDIO = 8
VIDEO = 9
DATA_AMF3 = 15
SHARED_OBJECT_AMF3 = 16
COMMAND_AMF3 = 17
DATA_AMF0 = 18
SHARED_OBJECT_AMF0 = 19
COMMAND_AMF0 = 20
AGGREGATE = 22

CONTROL_TYPES = (SET_CHUNK_SIZE, ABORT, ACKNOWLEDGEMENT, USER_CONTROL, WINDOW_ACK_SIZE)
MEDIA_TYPES = (AUDIO, VIDEO, AGGREGATE)

DEFAULT_CHUNK_SIZE = 128
# The largest chunk size a peer may set. Chunks are never allocated at this size (a chunk
# carries at most what is left of its message), so this only refuses nonsense.
MAX_CHUNK_SIZE = 0xFFFFFF
MAX_MESSAGE_SIZE = 8 * 1024 * 1024  # one audio/video message (a 4K keyframe fits)
MAX_COMMAND_SIZE = 64 * 1024  # commands, metadata, anything that is not media
MAX_CONTROL_SIZE = 64  # protocol control messages are 4-6 bytes
MAX_CHUNK_STREAMS = 64  # distinct chunk stream ids one peer may use (encoders use 3-6)
MAX_PENDING_BYTES = 2 * MAX_MESSAGE_SIZE  # partial messages held across all chunk streams

EXTENDED_TIMESTAMP = 0xFFFFFF
TIMESTAMP_MODULO = 1 << 32

_HEADER_SIZES = (11, 7, 3, 0)
_U32 = struct.Struct(">I")
_U32_LE = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class Message:
    type_id: int
    payload: bytes
    timestamp: int = 0  # milliseconds, 32 bits (wraps)
    stream_id: int = 0  # message stream id; 0 is the connection's control stream


def max_size(type_id: int) -> int:
    if type_id in MEDIA_TYPES:
        return MAX_MESSAGE_SIZE
    if type_id in CONTROL_TYPES or type_id == SET_PEER_BANDWIDTH:
        return MAX_CONTROL_SIZE
    return MAX_COMMAND_SIZE


@dataclass(slots=True)
class _StreamState:
    """The last header seen on one chunk stream, and the message being reassembled."""

    timestamp: int = 0
    delta: int = 0
    length: int = 0
    type_id: int = 0
    stream_id: int = 0
    extended: bool = False
    payload: bytearray | None = None


class ChunkReader:
    def __init__(self) -> None:
        self.chunk_size = DEFAULT_CHUNK_SIZE
        self.bytes_received = 0
        self._buffer = bytearray()
        self._streams: dict[int, _StreamState] = {}
        self._pending = 0

    def feed(self, data: bytes) -> list[Message]:
        """The messages completed by ``data``; raises :class:`RtmpError` on bad input."""
        self.bytes_received += len(data)
        self._buffer += data
        messages: list[Message] = []
        pos = 0
        try:
            while True:
                result = self._chunk(pos)
                if result is None:
                    break
                pos, message = result
                if message is not None:
                    self._apply(message)
                    messages.append(message)
        finally:
            del self._buffer[:pos]
        return messages

    @property
    def buffered(self) -> int:
        """Bytes received and not yet part of a message (input buffer + partial messages)."""
        return len(self._buffer) + self._pending

    def _chunk(self, pos: int) -> tuple[int, Message | None] | None:
        """Parse one chunk at ``pos``: (the position after it, a completed message or None),
        or None when the chunk has not fully arrived."""
        buf = self._buffer
        end = len(buf)
        if pos >= end:
            return None
        first = buf[pos]
        fmt = first >> 6
        csid = first & 0x3F
        pos += 1
        if csid == 0:
            if pos + 1 > end:
                return None
            csid = 64 + buf[pos]
            pos += 1
        elif csid == 1:
            if pos + 2 > end:
                return None
            csid = 64 + buf[pos] + (buf[pos + 1] << 8)
            pos += 2
        header_size = _HEADER_SIZES[fmt]
        if pos + header_size > end:
            return None
        state = self._streams.get(csid)
        if state is None:
            if fmt >= 2:
                raise RtmpError(f"chunk stream {csid} starts with a type {fmt} header")
            if len(self._streams) >= MAX_CHUNK_STREAMS:
                raise RtmpError(f"more than {MAX_CHUNK_STREAMS} chunk streams")
            state = _StreamState()  # fmt 1 first is tolerated (stream id 0), as nginx does
        if fmt < 3:
            if state.payload is not None:
                raise RtmpError(f"chunk stream {csid}: new header before the message ended")
            field = (buf[pos] << 16) | (buf[pos + 1] << 8) | buf[pos + 2]
            length, type_id, stream_id = state.length, state.type_id, state.stream_id
            if fmt < 2:
                length = (buf[pos + 3] << 16) | (buf[pos + 4] << 8) | buf[pos + 5]
                type_id = buf[pos + 6]
                if length > max_size(type_id):
                    raise RtmpError(
                        f"message of type {type_id} is {length} bytes (limit {max_size(type_id)})"
                    )
            if fmt == 0:
                stream_id = _U32_LE.unpack_from(buf, pos + 7)[0]
            pos += header_size
            extended = field == EXTENDED_TIMESTAMP
            if extended:
                if pos + 4 > end:
                    return None
                field = _U32.unpack_from(buf, pos)[0]
                pos += 4
            start_timestamp = field if fmt == 0 else (state.timestamp + field) % TIMESTAMP_MODULO
            delta = field
        else:
            length, type_id, stream_id = state.length, state.type_id, state.stream_id
            extended = state.extended
            delta = state.delta
            if extended:
                if pos + 4 > end:
                    return None
                if state.payload is None:  # a new message: the field repeats its delta
                    delta = _U32.unpack_from(buf, pos)[0]
                pos += 4
            start_timestamp = (
                state.timestamp
                if state.payload is not None
                else (state.timestamp + delta) % TIMESTAMP_MODULO
            )
        have = 0 if state.payload is None else len(state.payload)
        size = min(self.chunk_size, length - have)
        if pos + size > end:
            return None
        # The whole chunk is here: commit the header.
        if csid not in self._streams:
            self._streams[csid] = state
        state.timestamp = start_timestamp
        state.delta = delta
        state.length = length
        state.type_id = type_id
        state.stream_id = stream_id
        state.extended = extended
        chunk = buf[pos : pos + size]
        pos += size
        if have + size == length:
            if state.payload is None:
                payload = bytes(chunk)
            else:
                self._pending -= have
                state.payload += chunk
                payload = bytes(state.payload)
                state.payload = None
            return pos, Message(type_id, payload, start_timestamp, stream_id)
        if state.payload is None:
            state.payload = bytearray(chunk)
        else:
            state.payload += chunk
        self._pending += size
        if self._pending > MAX_PENDING_BYTES:
            raise RtmpError(f"more than {MAX_PENDING_BYTES} bytes of unfinished messages")
        return pos, None

    def _apply(self, message: Message) -> None:
        if message.type_id == SET_CHUNK_SIZE:
            self.chunk_size = parse_chunk_size(message.payload)
        elif message.type_id == ABORT:
            if len(message.payload) < 4:
                raise RtmpError("Abort message shorter than 4 bytes")
            state = self._streams.get(_U32.unpack_from(message.payload)[0])
            if state is not None and state.payload is not None:
                self._pending -= len(state.payload)
                state.payload = None


def parse_chunk_size(payload: bytes) -> int:
    if len(payload) < 4:
        raise RtmpError("Set Chunk Size message shorter than 4 bytes")
    size: int = _U32.unpack_from(payload)[0] & 0x7FFFFFFF
    if not 1 <= size <= MAX_CHUNK_SIZE:
        raise RtmpError(f"chunk size {size} is outside 1..{MAX_CHUNK_SIZE}")
    return size


def parse_u32(payload: bytes, what: str) -> int:
    if len(payload) < 4:
        raise RtmpError(f"{what} message shorter than 4 bytes")
    value: int = _U32.unpack_from(payload)[0]
    return value


# -- writing ------------------------------------------------------------------------------


@dataclass(slots=True)
class _SentHeader:
    timestamp: int
    delta: int
    length: int
    type_id: int
    stream_id: int


class ChunkWriter:
    """Cuts messages into chunks, compressing each header against the last on its stream."""

    def __init__(self) -> None:
        self.chunk_size = DEFAULT_CHUNK_SIZE
        self._last: dict[int, _SentHeader] = {}

    def write(self, csid: int, message: Message) -> bytes:
        if not 2 <= csid <= 65599:
            raise ValueError(f"chunk stream id {csid} is outside 2..65599")
        length = len(message.payload)
        if length > 0xFFFFFF:
            raise ValueError("an RTMP message is at most 16 MiB")
        timestamp = message.timestamp % TIMESTAMP_MODULO
        prev = self._last.get(csid)
        if prev is None or prev.stream_id != message.stream_id or timestamp < prev.timestamp:
            fmt, field = 0, timestamp
        else:
            delta = timestamp - prev.timestamp
            if prev.length != length or prev.type_id != message.type_id:
                fmt, field = 1, delta
            elif prev.delta != delta:
                fmt, field = 2, delta
            else:
                fmt, field = 3, delta
        self._last[csid] = _SentHeader(timestamp, field, length, message.type_id, message.stream_id)
        extended = field >= EXTENDED_TIMESTAMP
        out = bytearray(_basic_header(fmt, csid))
        if fmt < 3:
            out += min(field, EXTENDED_TIMESTAMP).to_bytes(3, "big")
            if fmt < 2:
                out += length.to_bytes(3, "big") + bytes([message.type_id])
            if fmt == 0:
                out += _U32_LE.pack(message.stream_id)
        if extended:
            out += _U32.pack(field)
        payload = message.payload
        out += payload[: self.chunk_size]
        continuation = _basic_header(3, csid) + (_U32.pack(field) if extended else b"")
        for start in range(self.chunk_size, length, self.chunk_size):
            out += continuation
            out += payload[start : start + self.chunk_size]
        return bytes(out)


def _basic_header(fmt: int, csid: int) -> bytes:
    if csid < 64:
        return bytes([(fmt << 6) | csid])
    if csid < 320:
        return bytes([fmt << 6, csid - 64])
    rest = csid - 64
    return bytes([(fmt << 6) | 1, rest & 0xFF, rest >> 8])
