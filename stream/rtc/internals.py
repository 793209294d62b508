"""Every private part of aiortc (1.16) the relay relies on, in one place to check on upgrade.

aiortc has no encoded-frame API. The relay reaches into single objects (never process-wide):

- a publisher's receiver: its jitter buffer and decoder queue, to take encoded frames out;
- a viewer's sender: its keyframe and retransmit hooks (PLI to the publisher, NACK answered
  from the room's history), the negotiated codecs and header extensions of its transceiver,
  the SRTP session and ICE socket it sends on, and the counters its RTCP sender reports use.

Each accessor fails loudly (``RuntimeError``) if aiortc no longer has what it reaches for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiortc import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters
from aiortc.rtp import RtpPacket

_RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_RECEIVER_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_SENDER_REPORT_FIELDS = (
    "_RTCRtpSender__ntp_timestamp",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__packet_count",
    "_RTCRtpSender__octet_count",
)


class SrtpSession(Protocol):
    def protect(self, packet: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class DatagramSink:
    """Where a peer's packets go: the nominated ICE pair's socket and remote address."""

    transport: asyncio.DatagramTransport
    address: tuple[str, int]


def check_receiver(receiver: RTCRtpReceiver) -> None:
    for name in (_RECEIVER_JITTER_BUFFER, _RECEIVER_DECODER_QUEUE):
        if not hasattr(receiver, name):
            raise RuntimeError(f"unsupported aiortc version: RTCRtpReceiver has no {name}")


def set_receiver_jitter_buffer(receiver: RTCRtpReceiver, buffer: object) -> None:
    check_receiver(receiver)
    setattr(receiver, _RECEIVER_JITTER_BUFFER, buffer)


def set_receiver_decoder_queue(receiver: RTCRtpReceiver, queue: object) -> None:
    check_receiver(receiver)
    setattr(receiver, _RECEIVER_DECODER_QUEUE, queue)


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    await receiver._send_rtcp_pli(media_ssrc)


def set_sender_keyframe_hook(sender: RTCRtpSender, hook: Callable[[], None]) -> None:
    """Route the PLIs/FIRs a sender receives to ``hook`` (aiortc only flags its encoder)."""
    if not callable(getattr(sender, "_send_keyframe", None)):
        raise RuntimeError("unsupported aiortc version: RTCRtpSender has no _send_keyframe")
    setattr(sender, "_send_keyframe", hook)  # noqa: B010 - an instance override, on purpose


def depayloaded(packet: RtpPacket) -> bytes:
    """The codec payload aiortc's receiver depacketized (stored on the packet)."""
    data: Any = getattr(packet, "_data", b"")
    return bytes(data)


def set_sender_retransmit_hook(
    sender: RTCRtpSender, hook: Callable[[int], Awaitable[None]]
) -> None:
    """Answer the NACKs a sender receives with ``hook(sequence_number)``."""
    if not callable(getattr(sender, "_retransmit", None)):
        raise RuntimeError("unsupported aiortc version: RTCRtpSender has no _retransmit")
    setattr(sender, "_retransmit", hook)  # noqa: B010 - an instance override, on purpose


def negotiated_codecs(transceiver: RTCRtpTransceiver) -> list[RTCRtpCodecParameters]:
    codecs: list[RTCRtpCodecParameters] = list(getattr(transceiver, "_codecs", []))
    if not codecs:
        raise RuntimeError("transceiver has no negotiated codecs")
    return codecs


def negotiated_header_extensions(
    transceiver: RTCRtpTransceiver,
) -> list[RTCRtpHeaderExtensionParameters]:
    return list(getattr(transceiver, "_headerExtensions", []))


def sender_srtp(sender: RTCRtpSender) -> SrtpSession | None:
    """The sender's outbound SRTP session, once DTLS has completed."""
    dtls = sender.transport
    if dtls.state != "connected":
        return None
    session: SrtpSession | None = getattr(dtls, "_tx_srtp", None)
    return session


def sender_socket(sender: RTCRtpSender) -> DatagramSink | None:
    """The socket and address of the sender's nominated ICE pair, once there is one."""
    connection = getattr(sender.transport.transport, "_connection", None)
    nominated = getattr(connection, "_nominated", None)
    if nominated is None:
        raise RuntimeError("unsupported aioice version: no nominated candidate pairs")
    pair = nominated.get(1)
    if pair is None:
        return None
    transport = getattr(pair.protocol, "transport", None)
    if transport is None:
        return None
    return DatagramSink(transport, pair.remote_addr)


def write_backlog(sink: DatagramSink) -> int:
    """Bytes the socket's transport holds because the kernel would not take them yet."""
    size: int = getattr(sink.transport, "get_write_buffer_size", lambda: 0)()
    return size


def update_sender_report(
    sender: RTCRtpSender, ntp: int, rtp_timestamp: int, packets: int, octets: int
) -> None:
    """What the sender's next RTCP sender report says (the relay sends its packets)."""
    for name, value in zip(
        _SENDER_REPORT_FIELDS, (ntp, rtp_timestamp, packets, octets), strict=True
    ):
        setattr(sender, name, value)


def check_sender(sender: RTCRtpSender) -> None:
    for name in _SENDER_REPORT_FIELDS:
        if not hasattr(sender, name):
            raise RuntimeError(f"unsupported aiortc version: RTCRtpSender has no {name}")
