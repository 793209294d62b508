"""The chunk stream: every header format, chunk size changes, extended timestamps, limits."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.ingest.rtmp.chunks import (
    ABORT,
    AUDIO,
    COMMAND_AMF0,
    MAX_CHUNK_STREAMS,
    MAX_COMMAND_SIZE,
    MAX_MESSAGE_SIZE,
    SET_CHUNK_SIZE,
    VIDEO,
    ChunkReader,
    ChunkWriter,
    Message,
)
from stream.ingest.rtmp.errors import RtmpError


def basic(fmt: int, csid: int) -> bytes:
    if csid < 64:
        return bytes([(fmt << 6) | csid])
    if csid < 320:
        return bytes([fmt << 6, csid - 64])
    return bytes([(fmt << 6) | 1, (csid - 64) & 0xFF, (csid - 64) >> 8])


def u24(value: int) -> bytes:
    return value.to_bytes(3, "big")


def fmt0(csid: int, ts: int, length: int, type_id: int, stream_id: int) -> bytes:
    return basic(0, csid) + u24(ts) + u24(length) + bytes([type_id]) + struct.pack("<I", stream_id)


def fmt1(csid: int, delta: int, length: int, type_id: int) -> bytes:
    return basic(1, csid) + u24(delta) + u24(length) + bytes([type_id])


def fmt2(csid: int, delta: int) -> bytes:
    return basic(2, csid) + u24(delta)


def test_every_header_format() -> None:
    data = (
        fmt0(4, 1000, 3, VIDEO, 1) + b"abc"
        + fmt1(4, 33, 4, VIDEO) + b"defg"
        + fmt2(4, 40) + b"hijk"
        + basic(3, 4) + b"lmno"  # a new message: same length, type and delta
    )  # fmt: skip
    assert ChunkReader().feed(data) == [
        Message(VIDEO, b"abc", 1000, 1),
        Message(VIDEO, b"defg", 1033, 1),
        Message(VIDEO, b"hijk", 1073, 1),
        Message(VIDEO, b"lmno", 1113, 1),
    ]


def test_type_3_after_type_0_repeats_its_timestamp_as_delta() -> None:
    data = fmt0(4, 20, 1, AUDIO, 1) + b"a" + basic(3, 4) + b"b"
    assert [m.timestamp for m in ChunkReader().feed(data)] == [20, 40]


def test_a_message_across_chunks_and_chunk_size_changes() -> None:
    payload = bytes(range(256)) + bytes(44)
    data = fmt0(6, 0, 300, VIDEO, 1) + payload[:128]
    data += basic(3, 6) + payload[128:256] + basic(3, 6) + payload[256:]
    reader = ChunkReader()
    assert reader.feed(data) == [Message(VIDEO, payload, 0, 1)]
    big = bytes(5000)
    data = fmt0(2, 0, 4, SET_CHUNK_SIZE, 0) + struct.pack(">I", 4096)
    data += fmt0(6, 10, 5000, VIDEO, 1) + big[:4096] + basic(3, 6) + big[4096:]
    data += fmt0(2, 0, 4, SET_CHUNK_SIZE, 0) + struct.pack(">I", 64)
    data += fmt1(6, 5, 100, VIDEO) + big[:64] + basic(3, 6) + big[64:100]
    messages = reader.feed(data)
    assert reader.chunk_size == 64
    assert [(m.type_id, len(m.payload), m.timestamp) for m in messages] == [
        (SET_CHUNK_SIZE, 4, 0),
        (VIDEO, 5000, 10),
        (SET_CHUNK_SIZE, 4, 0),
        (VIDEO, 100, 15),
    ]


def test_extended_timestamps_in_headers_and_continuations() -> None:
    ext = struct.pack(">I", 0x01000000)
    payload = bytes(200)
    data = basic(0, 4) + u24(0xFFFFFF) + u24(200) + bytes([AUDIO]) + struct.pack("<I", 1)
    data += ext + payload[:128] + basic(3, 4) + ext + payload[128:]
    # A type 1 with an extended delta, then a type 3 new message repeating that delta.
    delta = struct.pack(">I", 0x01000001)
    data += fmt1(4, 0xFFFFFF, 2, AUDIO) + delta + b"xy"
    data += basic(3, 4) + delta + b"zw"
    messages = ChunkReader().feed(data)
    assert [(m.timestamp, m.payload) for m in messages] == [
        (0x01000000, payload),
        ((0x01000000 + 0x01000001) % (1 << 32), b"xy"),
        ((0x01000000 + 2 * 0x01000001) % (1 << 32), b"zw"),
    ]


def test_interleaved_chunk_streams_and_long_ids() -> None:
    video = bytes(range(200))
    data = fmt0(100, 0, 200, VIDEO, 1) + video[:128]
    data += fmt0(400, 5, 2, AUDIO, 1) + b"au"
    data += basic(3, 100) + video[128:]
    assert ChunkReader().feed(data) == [
        Message(AUDIO, b"au", 5, 1),
        Message(VIDEO, video, 0, 1),
    ]


def test_byte_at_a_time_gives_the_same_messages() -> None:
    data = fmt0(4, 1000, 300, VIDEO, 1) + bytes(128) + basic(3, 4) + bytes(128)
    data += basic(3, 4) + bytes(44) + fmt2(4, 33) + bytes(128) + basic(3, 4) + bytes(128)
    data += basic(3, 4) + bytes(44)
    whole = ChunkReader().feed(data)
    reader = ChunkReader()
    pieces = [m for i in range(len(data)) for m in reader.feed(data[i : i + 1])]
    assert pieces == whole
    assert len(whole) == 2
    assert reader.bytes_received == len(data)
    assert reader.buffered == 0


def test_abort_drops_the_partial_message() -> None:
    data = fmt0(6, 0, 300, VIDEO, 1) + bytes(128)
    data += fmt0(2, 0, 4, ABORT, 0) + struct.pack(">I", 6)
    data += fmt0(6, 40, 2, VIDEO, 1) + b"ok"
    reader = ChunkReader()
    messages = reader.feed(data)
    assert messages[-1] == Message(VIDEO, b"ok", 40, 1)
    assert reader.buffered == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (fmt2(5, 0), "chunk stream 5 starts with a type 2 header"),
        (basic(3, 5), "chunk stream 5 starts with a type 3 header"),
        (
            fmt0(6, 0, MAX_MESSAGE_SIZE + 1, VIDEO, 1),
            f"message of type 9 is {MAX_MESSAGE_SIZE + 1} bytes \\(limit {MAX_MESSAGE_SIZE}\\)",
        ),
        (
            fmt0(3, 0, MAX_COMMAND_SIZE + 1, COMMAND_AMF0, 0),
            f"message of type 20 is {MAX_COMMAND_SIZE + 1} bytes",
        ),
        (fmt0(2, 0, 65, SET_CHUNK_SIZE, 0), "message of type 1 is 65 bytes"),
        (fmt0(2, 0, 4, SET_CHUNK_SIZE, 0) + bytes(4), "chunk size 0 is outside"),
        (fmt0(2, 0, 2, SET_CHUNK_SIZE, 0) + bytes(2), "Set Chunk Size message shorter"),
        (
            fmt0(6, 0, 300, VIDEO, 1) + bytes(128) + fmt0(6, 0, 1, VIDEO, 1),
            "chunk stream 6: new header before the message ended",
        ),
        (
            b"".join(fmt0(csid, 0, 0, VIDEO, 1) for csid in range(2, 3 + MAX_CHUNK_STREAMS)),
            f"more than {MAX_CHUNK_STREAMS} chunk streams",
        ),
    ],
)
def test_bad_input_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(RtmpError, match=message):
        ChunkReader().feed(data)


def test_unfinished_messages_are_bounded() -> None:
    reader = ChunkReader()
    reader.feed(fmt0(2, 0, 4, SET_CHUNK_SIZE, 0) + struct.pack(">I", 1 << 20))
    partial = b"".join(
        fmt0(csid, 0, MAX_MESSAGE_SIZE, VIDEO, 1) + bytes(1 << 20) for csid in range(4, 40)
    )
    with pytest.raises(RtmpError, match="bytes of unfinished messages"):
        reader.feed(partial)


def test_writer_compresses_headers_like_ffmpeg() -> None:
    writer = ChunkWriter()
    first = writer.write(4, Message(AUDIO, b"ab", 0, 1))
    same_delta = [writer.write(4, Message(AUDIO, b"cd", ts, 1)) for ts in (21, 42)]
    other_size = writer.write(4, Message(AUDIO, b"efg", 63, 1))
    assert first[0] >> 6 == 0
    assert [chunk[0] >> 6 for chunk in same_delta] == [2, 3]  # a new delta, then the same
    assert other_size[0] >> 6 == 1
    assert writer.write(4, Message(AUDIO, b"x", 10, 1))[0] >> 6 == 0  # timestamps went back


messages = st.lists(
    st.tuples(
        st.sampled_from([3, 4, 6, 63, 64, 319, 320, 1000]),
        st.sampled_from([AUDIO, VIDEO, COMMAND_AMF0]),
        st.integers(0, 3),
        st.integers(0, 0x1FFFFFF),
        st.binary(max_size=700),
    ),
    max_size=12,
)


@given(messages, st.integers(1, 600), st.lists(st.integers(1, 400), max_size=20))
@settings(max_examples=300)
def test_writer_reader_round_trip(
    items: list[tuple[int, int, int, int, bytes]], chunk_size: int, splits: list[int]
) -> None:
    writer = ChunkWriter()
    data = writer.write(2, Message(SET_CHUNK_SIZE, struct.pack(">I", chunk_size)))
    writer.chunk_size = chunk_size
    sent: list[Message] = []
    clock: dict[int, int] = {}
    for csid, type_id, stream_id, step, payload in items:
        clock[csid] = clock.get(csid, 0) + step
        message = Message(type_id, payload, clock[csid] % (1 << 32), stream_id)
        sent.append(message)
        data += writer.write(csid, message)
    reader = ChunkReader()
    received: list[Message] = []
    pos = 0
    for size in [*splits, len(data)]:
        received += reader.feed(data[pos : pos + size])
        pos += size
    assert received[1:] == sent
    assert reader.buffered == 0


@given(st.binary(max_size=2048))
@settings(max_examples=500)
def test_arbitrary_bytes_raise_only_rtmp_error(data: bytes) -> None:
    try:
        ChunkReader().feed(data)
    except RtmpError:
        pass


@given(messages, st.data())
@settings(max_examples=300)
def test_mutated_chunk_streams_raise_only_rtmp_error(
    items: list[tuple[int, int, int, int, bytes]], data: st.DataObject
) -> None:
    writer = ChunkWriter()
    stream = bytearray()
    for csid, type_id, stream_id, step, payload in items:
        stream += writer.write(csid, Message(type_id, payload, step, stream_id))
    if not stream:
        return
    for _ in range(data.draw(st.integers(1, 6))):
        stream[data.draw(st.integers(0, len(stream) - 1))] = data.draw(st.integers(0, 255))
    try:
        ChunkReader().feed(bytes(stream))
    except RtmpError:
        pass
