"""Small H.264 and FLV payloads for tests (not decodable pictures: shapes only)."""

from __future__ import annotations

SPS = b"\x67\x42\xc0\x1f\xaa"
PPS = b"\x68\xce\x3c\x80"
IDR = b"\x65\x88\x84\x21"
P_SLICE = b"\x41\x9a\x02"
FILLER = b"\x0c\xff\xff"
SEI = b"\x06\x05\x01"


def avc_record(length_size: int = 4, sps: tuple[bytes, ...] = (SPS,)) -> bytes:
    """An AVCDecoderConfigurationRecord."""
    record = bytes([1, 0x42, 0xC0, 0x1F, 0xFC | (length_size - 1), 0xE0 | len(sps)])
    for unit in sps:
        record += len(unit).to_bytes(2, "big") + unit
    return record + b"\x01" + len(PPS).to_bytes(2, "big") + PPS


def avcc(*units: bytes, size: int = 4) -> bytes:
    """NAL units, length-prefixed."""
    return b"".join(len(unit).to_bytes(size, "big") + unit for unit in units)


def video_sequence_header() -> bytes:
    return b"\x17\x00\x00\x00\x00" + avc_record()


def video_frame(keyframe: bool) -> bytes:
    if keyframe:
        return b"\x17\x01\x00\x00\x00" + avcc(IDR)
    return b"\x27\x01\x00\x00\x00" + avcc(P_SLICE)
