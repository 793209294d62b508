"""The wire format the relay writes itself, checked against aiortc's own parser."""

from __future__ import annotations

from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from stream.rooms.forward import (
    ABS_SEND_TIME_URI,
    MID_URI,
    RTP_HEADER,
    StreamParams,
    abs_send_time,
    extension_block,
    ntp_time,
)


def params(mid_id: int | None = 1, ast_id: int | None = 3, mid: str = "0") -> StreamParams:
    return StreamParams(
        payload_type=102,
        rtx_payload_type=103,
        ssrc=0x01020304,
        rtx_ssrc=5,
        mid=mid,
        mid_id=mid_id,
        abs_send_time_id=ast_id,
    )


def parse(packet: bytes) -> RtpPacket:
    extensions = HeaderExtensionsMap()
    extensions.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=1, uri=MID_URI),
                RTCRtpHeaderExtensionParameters(id=3, uri=ABS_SEND_TIME_URI),
            ]
        )
    )
    return RtpPacket.parse(packet, extensions)


def test_packet_with_both_extensions_parses() -> None:
    head, tail = extension_block(params(mid="video1"))
    ast = abs_send_time(1234.5)
    header = RTP_HEADER.pack(0x90, 0x80 | 102, 65535, 0xFFFFFFFF, 0x01020304)
    packet = parse(header + head + ast + tail + b"payload")
    assert packet.payload_type == 102
    assert packet.marker == 1
    assert packet.sequence_number == 65535
    assert packet.timestamp == 0xFFFFFFFF
    assert packet.ssrc == 0x01020304
    assert packet.extensions.mid == "video1"
    assert packet.extensions.abs_send_time == int(1234.5 * (1 << 18)) & 0xFFFFFF
    assert packet.payload == b"payload"
    assert len(head + ast + tail) % 4 == 0


def test_mid_only_and_no_extensions() -> None:
    head, tail = extension_block(params(ast_id=None))
    packet = parse(RTP_HEADER.pack(0x90, 102, 1, 2, 3) + head + tail + b"x")
    assert packet.extensions.mid == "0"
    assert extension_block(params(mid_id=None, ast_id=None)) == (b"", b"")


def test_abs_send_time_matches_ntp_definition() -> None:
    now = 1_790_000_000.25
    ntp_seconds = now + 2_208_988_800
    assert abs_send_time(now) == (int(ntp_seconds * (1 << 18)) & 0xFFFFFF).to_bytes(3, "big")
    assert ntp_time(now) >> 32 == int(ntp_seconds)
