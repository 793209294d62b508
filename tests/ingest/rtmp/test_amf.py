"""AMF0: exact bytes for what RTMP clients send, round trips, and arbitrary input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.ingest.rtmp import amf
from stream.ingest.rtmp.amf import AmfDate, AmfValue, EcmaArray
from stream.ingest.rtmp.errors import RtmpError

CONNECT = (
    b"\x02\x00\x07connect"
    + b"\x00"
    + struct.pack(">d", 1.0)
    + b"\x03\x00\x03app\x02\x00\x04live\x00\x04type\x02\x00\x0anonprivate\x00\x00\x09"
)


def test_encodes_a_connect_command_byte_for_byte() -> None:
    assert amf.encode("connect", 1, {"app": "live", "type": "nonprivate"}) == CONNECT
    assert amf.decode_all(CONNECT) == ["connect", 1.0, {"app": "live", "type": "nonprivate"}]


def test_every_type_marker_decodes() -> None:
    data = (
        b"\x00" + struct.pack(">d", -2.5)  # number
        + b"\x01\x01"  # true
        + b"\x05"  # null
        + b"\x06"  # undefined
        + b"\x08\x00\x00\x00\x63" + b"\x00\x01a\x00" + struct.pack(">d", 3) + b"\x00\x00\x09"
        + b"\x0a\x00\x00\x00\x02\x01\x00\x02\x00\x01x"  # strict array [false, "x"]
        + b"\x0b" + struct.pack(">dh", 1e12, 0)  # date
        + b"\x0c\x00\x00\x00\x02hi"  # long string
        + b"\x0d"  # unsupported
        + b"\x0f\x00\x00\x00\x03<a>"  # XML document
        + b"\x10\x00\x03Cls\x00\x01k\x05\x00\x00\x09"  # typed object
    )  # fmt: skip
    values = amf.decode_all(data)
    assert values == [
        -2.5,
        True,
        None,
        None,
        {"a": 3.0},
        [False, "x"],
        AmfDate(1e12, 0),
        "hi",
        None,
        "<a>",
        {"k": None},
    ]
    assert isinstance(values[4], EcmaArray)


def test_ecma_array_ignores_a_wrong_count_and_round_trips() -> None:
    meta = EcmaArray(width=1280.0, height=720.0, encoder="obs-output module")
    data = amf.encode("onMetaData", meta)
    assert amf.decode_all(data) == ["onMetaData", meta]
    wrong_count = data.replace(b"\x08\x00\x00\x00\x03", b"\x08\x00\x00\x00\x00", 1)
    assert amf.decode_all(wrong_count) == ["onMetaData", meta]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x02\x00\x05ab", "AMF0 value truncated at byte 3"),
        (b"\x07\x00\x01", "unsupported AMF0 type marker 0x07"),
        (b"\x11\x00", "unsupported AMF0 type marker 0x11"),
        (b"\x0a\xff\xff\xff\xff\x05", "AMF0 strict array of 4294967295 values in 1 bytes"),
        (b"\x0a\x00\x00\x00\x01" * 20 + b"\x05", "AMF0 values nested deeper than 16"),
        (b"\x05" * 65, "more than 64 AMF0 values in one message"),
        (b"\x03\x00\x01a\x05", "AMF0 value truncated at byte 5"),
    ],
)
def test_malformed_input_is_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(RtmpError, match=f"^{message}$"):
        amf.decode_all(data)


def test_decode_wants_exactly_one_value() -> None:
    assert amf.decode(b"\x05") is None
    with pytest.raises(RtmpError, match="1 bytes after the AMF0 value"):
        amf.decode(b"\x05\x05")


def test_long_strings_encode_as_long_string() -> None:
    text = "x" * 70_000
    assert amf.encode(text)[0] == amf.LONG_STRING
    assert amf.decode(amf.encode(text)) == text


def test_encoding_refuses_what_amf0_cannot_carry() -> None:
    with pytest.raises(TypeError):
        amf.encode(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="property names"):
        amf.encode({"": 1.0})


TEXT = st.characters(exclude_categories=["Cs"])  # surrogates cannot be UTF-8
names = st.text(TEXT, min_size=1, max_size=8)
scalars = (
    st.floats(allow_nan=False)
    | st.booleans()
    | st.text(TEXT, max_size=20)
    | st.none()
    | st.builds(AmfDate, st.floats(allow_nan=False), st.integers(-720, 720))
)
values: st.SearchStrategy[AmfValue] = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(names, children, max_size=4)
        | st.dictionaries(names, children, max_size=4).map(EcmaArray)
    ),
    max_leaves=20,
)


@given(st.lists(values, max_size=5))
@settings(max_examples=300)
def test_round_trip(items: list[AmfValue]) -> None:
    assert amf.decode_all(amf.encode(*items)) == items


@given(st.binary(max_size=512))
@settings(max_examples=500)
def test_arbitrary_bytes_raise_only_rtmp_error(data: bytes) -> None:
    try:
        amf.decode_all(data)
    except RtmpError:
        pass


@given(st.lists(values, min_size=1, max_size=3), st.data())
@settings(max_examples=300)
def test_mutated_commands_raise_only_rtmp_error(items: list[AmfValue], data: st.DataObject) -> None:
    encoded = bytearray(amf.encode(*items))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(encoded) - 1))
        encoded[index] = data.draw(st.integers(0, 255))
    try:
        amf.decode_all(bytes(encoded))
    except RtmpError:
        pass
