"""AMF0, the encoding of RTMP commands and stream metadata.

Decoded values map to Python: number → ``float``, boolean → ``bool``, string, long string and
XML document → ``str``, null and undefined → ``None``, object and typed object → ``dict``, ECMA
array → :class:`EcmaArray` (a ``dict``), strict array → ``list``, date → :class:`AmfDate`.
References and AVM+ (AMF3) values are refused: no RTMP publisher sends them in AMF0 commands.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, TypeAlias

from stream.ingest.rtmp.errors import RtmpError

MAX_DEPTH = 16  # nesting of objects and arrays; metadata needs 2
MAX_VALUES = 64  # top-level values in one command or data message

NUMBER = 0x00
BOOLEAN = 0x01
STRING = 0x02
OBJECT = 0x03
NULL = 0x05
UNDEFINED = 0x06
REFERENCE = 0x07
ECMA_ARRAY = 0x08
OBJECT_END = 0x09
STRICT_ARRAY = 0x0A
DATE = 0x0B
LONG_STRING = 0x0C
UNSUPPORTED = 0x0D
XML_DOCUMENT = 0x0F
TYPED_OBJECT = 0x10

_DOUBLE = struct.Struct(">d")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_DATE = struct.Struct(">dh")


@dataclass(frozen=True, slots=True)
class AmfDate:
    milliseconds: float  # since the Unix epoch, UTC
    timezone: int = 0  # minutes; "reserved, should be 0"


class EcmaArray(dict[str, Any]):
    """An associative array (``onMetaData`` is one); encodes as ECMA array, not object."""


AmfValue: TypeAlias = float | bool | str | AmfDate | dict[str, "AmfValue"] | list["AmfValue"] | None


# -- decoding -----------------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise RtmpError(f"AMF0 value truncated at byte {self.pos}")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        value: int = _U16.unpack(self.take(2))[0]
        return value

    def u32(self) -> int:
        value: int = _U32.unpack(self.take(4))[0]
        return value

    def text(self, size: int) -> str:
        return self.take(size).decode("utf-8", errors="replace")


def decode_all(data: bytes) -> list[AmfValue]:
    """Every AMF0 value in ``data`` (a command: name, transaction id, arguments...)."""
    reader = _Reader(data)
    values: list[AmfValue] = []
    while reader.remaining():
        if len(values) >= MAX_VALUES:
            raise RtmpError(f"more than {MAX_VALUES} AMF0 values in one message")
        values.append(_value(reader, 0))
    return values


def decode(data: bytes) -> AmfValue:
    """Exactly one AMF0 value."""
    reader = _Reader(data)
    value = _value(reader, 0)
    if reader.remaining():
        raise RtmpError(f"{reader.remaining()} bytes after the AMF0 value")
    return value


def _value(reader: _Reader, depth: int) -> AmfValue:
    if depth > MAX_DEPTH:
        raise RtmpError(f"AMF0 values nested deeper than {MAX_DEPTH}")
    marker = reader.u8()
    if marker == NUMBER:
        number: float = _DOUBLE.unpack(reader.take(8))[0]
        return number
    if marker == BOOLEAN:
        return reader.u8() != 0
    if marker == STRING:
        return reader.text(reader.u16())
    if marker in (LONG_STRING, XML_DOCUMENT):
        return reader.text(reader.u32())
    if marker in (NULL, UNDEFINED, UNSUPPORTED):
        return None
    if marker == OBJECT:
        return _properties(reader, depth, {})
    if marker == TYPED_OBJECT:
        reader.text(reader.u16())  # the class name: not needed
        return _properties(reader, depth, {})
    if marker == ECMA_ARRAY:
        reader.u32()  # a count hint, often wrong; the end marker is authoritative
        return _properties(reader, depth, EcmaArray())
    if marker == STRICT_ARRAY:
        count = reader.u32()
        if count > reader.remaining():  # every value takes at least one byte
            raise RtmpError(f"AMF0 strict array of {count} values in {reader.remaining()} bytes")
        return [_value(reader, depth + 1) for _ in range(count)]
    if marker == DATE:
        milliseconds, timezone = _DATE.unpack(reader.take(_DATE.size))
        return AmfDate(milliseconds, timezone)
    raise RtmpError(f"unsupported AMF0 type marker 0x{marker:02x}")


def _properties(reader: _Reader, depth: int, into: dict[str, AmfValue]) -> dict[str, AmfValue]:
    while True:
        name = reader.text(reader.u16())
        if not name and reader.data[reader.pos : reader.pos + 1] == bytes([OBJECT_END]):
            reader.pos += 1
            return into
        into[name] = _value(reader, depth + 1)


# -- encoding -----------------------------------------------------------------------------


def encode(*values: AmfValue) -> bytes:
    out = bytearray()
    for value in values:
        _encode(out, value, 0)
    return bytes(out)


def _encode(out: bytearray, value: AmfValue, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"AMF0 values nested deeper than {MAX_DEPTH}")
    if value is None:
        out.append(NULL)
    elif isinstance(value, bool):
        out += bytes((BOOLEAN, 1 if value else 0))
    elif isinstance(value, int | float):
        out.append(NUMBER)
        out += _DOUBLE.pack(float(value))
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        if len(raw) <= 0xFFFF:
            out.append(STRING)
            out += _U16.pack(len(raw))
        else:
            out.append(LONG_STRING)
            out += _U32.pack(len(raw))
        out += raw
    elif isinstance(value, AmfDate):
        out.append(DATE)
        out += _DATE.pack(value.milliseconds, value.timezone)
    elif isinstance(value, EcmaArray):
        out.append(ECMA_ARRAY)
        out += _U32.pack(len(value))
        _encode_properties(out, value, depth)
    elif isinstance(value, dict):
        out.append(OBJECT)
        _encode_properties(out, value, depth)
    elif isinstance(value, list):
        out.append(STRICT_ARRAY)
        out += _U32.pack(len(value))
        for item in value:
            _encode(out, item, depth + 1)
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as AMF0")


def _encode_properties(out: bytearray, properties: dict[str, AmfValue], depth: int) -> None:
    for name, item in properties.items():
        raw = name.encode("utf-8")
        if not raw or len(raw) > 0xFFFF:
            raise ValueError("AMF0 property names are 1-65535 bytes")
        out += _U16.pack(len(raw))
        out += raw
        _encode(out, item, depth + 1)
    out += b"\x00\x00" + bytes([OBJECT_END])
