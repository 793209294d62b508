"""Every private part of aiortc 1.16 / aioice 0.13 the platform relies on, in one place.

aiortc has no encoded-frame API. The relay reaches into single objects:

- a publisher's receiver: its jitter buffer and decoder queue, to take encoded frames out, the
  depacketized payload it stores on each RTP packet, and its PLI sender;
- a jitter buffer's slots, to complete a video frame at its marker bit;
- a viewer's sender: its SSRCs, its keyframe and retransmit hooks (PLI to the publisher, NACK
  answered from the room's history), the negotiated codecs and header extensions, the SRTP
  session (its libsrtp context, to protect in place) and the ICE socket (asyncio's UDP socket,
  for one ``sendmsg`` per run of packets: ``stream.rtc.rtpwire``), and its RTCP counters;
- the H.264 and VP8 packetizers of aiortc's encoders, used without their encoders;
- the ICE sockets of a peer connection (the relay benchmark's light viewers read RTP there);
- a publisher's ICE consent checks (RFC 7675): FFmpeg's WHIP output never answers them, so they
  are replaced by the server's own loop (``stream.rtc.freshness``).

Process-wide: the host addresses aioice gathers (:func:`offer_host_addresses`) and containing
failures of aiortc's background connect task (:func:`contain_connect_failures`), installed once
when the application starts and removed when it stops (neither takes a per-connection
setting); and, only during one synchronous call, the bitrate estimator aiortc gives a new
receiver (:func:`receivers_without_bitrate_estimator`).

Every accessor fails loudly with :class:`AiortcInternalsChanged`, naming the attribute it
reached for, when aiortc or aioice no longer has it; ``None`` is returned only where it is a
legitimate runtime state (no SRTP session before DTLS completes, an empty jitter buffer, no
nominated pair yet). ``tests/rtc/test_internals_contract.py`` checks every name below against
the installed versions.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import aioice.ice
import aioice.stun
import aiortc.rtcrtpreceiver
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters
from aiortc.rtp import RtpPacket
from pylibsrtp import _binding as srtp_binding

VERSIONS = "aiortc 1.16 / aioice 0.13 / pylibsrtp 1.0"

RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
RECEIVER_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
RECEIVER_SEND_PLI = "_send_rtcp_pli"
PACKET_DEPAYLOADED = "_data"
JITTER_ORIGIN = "_origin"
JITTER_PACKETS = "_packets"
SENDER_SSRC = "_ssrc"
SENDER_RTX_SSRC = "_rtx_ssrc"
SENDER_KEYFRAME = "_send_keyframe"
SENDER_RETRANSMIT = "_retransmit"
SENDER_REPORT_FIELDS = (
    "_RTCRtpSender__ntp_timestamp",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__packet_count",
    "_RTCRtpSender__octet_count",
)
TRANSCEIVER_CODECS = "_codecs"
TRANSCEIVER_HEADER_EXTENSIONS = "_headerExtensions"
DTLS_TX_SRTP = "_tx_srtp"
ICE_CONNECTION = "_connection"
ICE_NOMINATED = "_nominated"
ICE_PROTOCOLS = "_protocols"
ICE_HOST_ADDRESSES = "get_host_addresses"
ICE_QUERY_CONSENT = "query_consent"
ICE_CONSENT_TASK = "_query_consent_task"
ICE_BUILD_REQUEST = "build_request"
PC_CONNECT = "_RTCPeerConnection__connect"
H264_SPLIT_BITSTREAM = "_split_bitstream"
ENCODER_PACKETIZE = "_packetize"
SRTP_SESSION_CONTEXT = "_srtp"  # pylibsrtp.Session: its srtp_t, behind a pointer
SRTP_PROTECT = "srtp_protect"  # libsrtp 2: srtp_protect(srtp_t, void *rtp, int *len)
TRANSPORT_SOCKET = "_sock"  # asyncio's selector datagram transport: its socket
RECEIVER_BITRATE_ESTIMATOR = "RemoteBitrateEstimator"  # in aiortc.rtcrtpreceiver
RTP_COMPONENT = 1  # ICE component of RTP (aiortc multiplexes RTCP on it)

_MISSING = object()

HostAddresses = Callable[[bool, bool], list[str]]
DatagramHandler = Callable[[bytes, tuple[Any, ...]], None]


class AiortcInternalsChanged(RuntimeError):
    """aiortc or aioice no longer has a private attribute the platform relies on."""

    def __init__(self, owner: object, name: str) -> None:
        kind = owner if isinstance(owner, str) else type(owner).__name__
        super().__init__(
            f"{kind} has no attribute {name!r}: stream relies on {VERSIONS} internals "
            "(see stream/rtc/internals.py); pin that version or update the accessor"
        )
        self.owner = kind
        self.name = name


def private(obj: object, name: str, owner: str | None = None) -> Any:
    """``obj.name``, or :class:`AiortcInternalsChanged` if there is no such attribute
    (``None`` is returned as is: the caller decides whether that is a valid state)."""
    value = getattr(obj, name, _MISSING)
    if value is _MISSING:
        raise AiortcInternalsChanged(owner or obj, name)
    return value


def _private_callable(obj: object, name: str, owner: str | None = None) -> Callable[..., Any]:
    value = private(obj, name, owner)
    if not callable(value):
        raise AiortcInternalsChanged(owner or obj, name)
    return value  # type: ignore[no-any-return]


class SrtpSession(Protocol):
    def protect(self, packet: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class DatagramSink:
    """Where a peer's packets go: the nominated ICE pair's socket and remote address."""

    transport: asyncio.DatagramTransport
    address: tuple[str, int]
    backlog: Callable[[], int]  # bytes the transport holds that the kernel did not take yet
    # The transport's own UDP socket, for writing past asyncio while its buffer is empty
    # (``None``: another kind of transport; then everything goes through ``transport``).
    sock: socket.socket | None = None


@dataclass(frozen=True, slots=True)
class SrtpInPlace:
    """``protect(context, pointer, length_pointer)`` encrypts the RTP packet at ``pointer`` in
    place and appends its tag (0: done); 32-bit aligned with room for the tag (libsrtp's rule)."""

    context: Any
    protect: Callable[[Any, Any, Any], int]


def srtp_in_place(session: SrtpSession) -> SrtpInPlace:
    """The libsrtp context of a pylibsrtp session (the relay's viewers' outbound SRTP)."""
    holder = private(session, SRTP_SESSION_CONTEXT)
    protect = _private_callable(srtp_binding.lib, SRTP_PROTECT, "pylibsrtp._binding.lib")
    return SrtpInPlace(holder[0], protect)


def srtp_scratch(size: int) -> tuple[Any, memoryview, Any]:
    """A C buffer of ``size`` bytes (cffi, aligned), a writable view of it, and an ``int *``."""
    ffi = srtp_binding.ffi
    buffer = ffi.new("char[]", size)
    return buffer, memoryview(ffi.buffer(buffer)), ffi.new("int *")


def transport_socket(transport: asyncio.BaseTransport) -> socket.socket | None:
    """The UDP socket of an asyncio selector datagram transport (``None`` for other kinds)."""
    sock = getattr(transport, TRANSPORT_SOCKET, None)
    if isinstance(sock, socket.socket) and sock.type == socket.SOCK_DGRAM:
        return sock
    return None


# -- a publisher's receiver -------------------------------------------------------------------


def check_receiver(receiver: RTCRtpReceiver) -> None:
    for name in (RECEIVER_JITTER_BUFFER, RECEIVER_DECODER_QUEUE):
        private(receiver, name)
    _private_callable(receiver, RECEIVER_SEND_PLI)


def set_receiver_jitter_buffer(receiver: RTCRtpReceiver, buffer: object) -> None:
    private(receiver, RECEIVER_JITTER_BUFFER)
    setattr(receiver, RECEIVER_JITTER_BUFFER, buffer)


def set_receiver_decoder_queue(receiver: RTCRtpReceiver, queue: object) -> None:
    private(receiver, RECEIVER_DECODER_QUEUE)
    setattr(receiver, RECEIVER_DECODER_QUEUE, queue)


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Ask the publisher for a keyframe (use the media SSRC, never the RTX one)."""
    send: Callable[[int], Awaitable[None]] = _private_callable(receiver, RECEIVER_SEND_PLI)
    await send(media_ssrc)


def depayloaded(packet: RtpPacket) -> bytes:
    """The codec payload aiortc's receiver depacketized (stored on the packet)."""
    return bytes(private(packet, PACKET_DEPAYLOADED))


def jitter_buffer_slots(buffer: JitterBuffer) -> tuple[int | None, Sequence[RtpPacket | None]]:
    """The sequence number of a jitter buffer's first slot (``None``: empty) and its slots.

    Slot ``(origin + n) % capacity`` holds sequence number ``origin + n`` once it arrived.
    """
    origin: int | None = private(buffer, JITTER_ORIGIN)
    packets: list[RtpPacket | None] = private(buffer, JITTER_PACKETS)
    return origin, packets


# -- a viewer's sender ------------------------------------------------------------------------


def sender_ssrcs(sender: RTCRtpSender) -> tuple[int, int]:
    """The sender's media and RTX SSRCs (what its RTCP and the answer's SDP announce)."""
    return int(private(sender, SENDER_SSRC)), int(private(sender, SENDER_RTX_SSRC))


def set_sender_keyframe_hook(sender: RTCRtpSender, hook: Callable[[], None]) -> None:
    """Route the PLIs/FIRs a sender receives to ``hook`` (aiortc only flags its encoder)."""
    _private_callable(sender, SENDER_KEYFRAME)
    setattr(sender, SENDER_KEYFRAME, hook)


def set_sender_retransmit_hook(
    sender: RTCRtpSender, hook: Callable[[int], Awaitable[None]]
) -> None:
    """Answer the NACKs a sender receives with ``hook(sequence_number)``."""
    _private_callable(sender, SENDER_RETRANSMIT)
    setattr(sender, SENDER_RETRANSMIT, hook)


def check_sender(sender: RTCRtpSender) -> None:
    """Everything :func:`update_sender_report` writes exists (it does not check, per frame)."""
    for name in SENDER_REPORT_FIELDS:
        private(sender, name)


def update_sender_report(
    sender: RTCRtpSender, ntp: int, rtp_timestamp: int, packets: int, octets: int
) -> None:
    """What the sender's next RTCP sender report says (the relay sends its packets)."""
    for name, value in zip(
        SENDER_REPORT_FIELDS, (ntp, rtp_timestamp, packets, octets), strict=True
    ):
        setattr(sender, name, value)


def negotiated_codecs(transceiver: RTCRtpTransceiver) -> list[RTCRtpCodecParameters]:
    codecs: list[RTCRtpCodecParameters] = list(private(transceiver, TRANSCEIVER_CODECS))
    if not codecs:
        raise RuntimeError("transceiver has no negotiated codecs")
    return codecs


def negotiated_header_extensions(
    transceiver: RTCRtpTransceiver,
) -> list[RTCRtpHeaderExtensionParameters]:
    return list(private(transceiver, TRANSCEIVER_HEADER_EXTENSIONS))


def sender_srtp(sender: RTCRtpSender) -> SrtpSession | None:
    """The sender's outbound SRTP session; ``None`` until DTLS has completed."""
    dtls = sender.transport
    session: SrtpSession | None = private(dtls, DTLS_TX_SRTP)
    if dtls.state != "connected":
        return None
    return session


def sender_socket(sender: RTCRtpSender) -> DatagramSink | None:
    """The socket and address of the sender's nominated ICE pair; ``None`` until there is one."""
    connection = private(sender.transport.transport, ICE_CONNECTION)
    nominated: dict[int, Any] = private(connection, ICE_NOMINATED)
    pair = nominated.get(RTP_COMPONENT)
    if pair is None:
        return None
    transport = getattr(pair.protocol, "transport", None)  # public; set once the socket is open
    if transport is None:
        return None
    backlog = getattr(transport, "get_write_buffer_size", None)
    if not callable(backlog):
        raise AiortcInternalsChanged(transport, "get_write_buffer_size")
    return DatagramSink(transport, pair.remote_addr, backlog, transport_socket(transport))


# -- packetizers ------------------------------------------------------------------------------


def h264_payloads(annexb: bytes) -> list[bytes]:
    """RTP payloads (single NAL units, STAP-A, FU-A) of one Annex-B access unit."""
    split = _private_callable(H264Encoder, H264_SPLIT_BITSTREAM, "H264Encoder")
    packetize = _private_callable(H264Encoder, ENCODER_PACKETIZE, "H264Encoder")
    payloads: list[bytes] = packetize(split(annexb))
    return payloads


def vp8_payloads(frame: bytes, picture_id: int) -> list[bytes]:
    """RTP payloads (with the VP8 payload descriptor) of one VP8 frame."""
    packetize = _private_callable(Vp8Encoder, ENCODER_PACKETIZE, "Vp8Encoder")
    payloads: list[bytes] = packetize(frame, picture_id)
    return payloads


# -- ICE --------------------------------------------------------------------------------------


def _ice_connections(pc: RTCPeerConnection) -> list[Any]:
    """The aioice connection of every ICE transport of ``pc`` (one when bundled)."""
    found: list[Any] = []
    seen: set[int] = set()
    for transceiver in pc.getTransceivers():
        connection = private(transceiver.receiver.transport.transport, ICE_CONNECTION)
        if id(connection) in seen:
            continue
        seen.add(id(connection))
        found.append(connection)
    return found


def _ice_protocols(pc: RTCPeerConnection) -> list[asyncio.DatagramProtocol]:
    """The aioice protocols of every ICE socket of ``pc`` (after ``setLocalDescription``)."""
    found: list[asyncio.DatagramProtocol] = []
    for connection in _ice_connections(pc):
        found += private(connection, ICE_PROTOCOLS)
    return found


def nominated_address(pc: RTCPeerConnection) -> tuple[str, int] | None:
    """The remote address of the nominated RTP pair of ``pc``'s first ICE transport."""
    connections = _ice_connections(pc)
    if not connections:
        return None
    nominated: dict[int, Any] = private(connections[0], ICE_NOMINATED)
    pair = nominated.get(RTP_COMPONENT)
    if pair is None:
        return None
    address: tuple[str, int] = tuple(pair.remote_addr)
    return address


ConsentCheck = Callable[[], Awaitable[bool]]
ConsentLoop = Callable[[ConsentCheck], Awaitable[None]]


def replace_consent_checks(pc: RTCPeerConnection, run: ConsentLoop) -> int:
    """Replace aioice's RFC 7675 consent loop (``query_consent``, which closes after six
    unanswered checks) of each ICE connection of ``pc`` with ``run(check)``; returns how many.

    ``check`` sends one consent request per nominated pair (no retransmission) and says whether
    all were answered; ``run`` decides what a miss means. Call it after ``setLocalDescription``
    and before ICE completes; only this peer connection changes."""
    connections = _ice_connections(pc)
    for connection in connections:
        _private_callable(connection, ICE_QUERY_CONSENT)
        build_request = _private_callable(connection, ICE_BUILD_REQUEST)
        nominated: dict[int, Any] = private(connection, ICE_NOMINATED)
        if private(connection, ICE_CONSENT_TASK) is not None:
            raise RuntimeError("consent checks already started: replace them before ICE ends")

        async def check(
            connection: Any = connection,
            build_request: Callable[..., Any] = build_request,
            nominated: dict[int, Any] = nominated,
        ) -> bool:
            answered = True
            password = connection.remote_password
            for pair in list(nominated.values()):
                request = build_request(pair, nominate=False)
                try:
                    await pair.protocol.request(
                        request,
                        pair.remote_addr,
                        integrity_key=password.encode("utf8"),
                        retransmissions=0,
                    )
                except aioice.stun.TransactionError:
                    answered = False
            return answered

        async def query_consent(check: ConsentCheck = check) -> None:
            await run(check)

        setattr(connection, ICE_QUERY_CONSENT, query_consent)
    return len(connections)


def drop_consent_requests(pc: RTCPeerConnection) -> int:
    """Leave every STUN binding request that reaches ``pc``'s ICE sockets unanswered once its
    ICE has completed, as FFmpeg's WHIP output does (tests build such a publisher with it)."""
    connections = _ice_connections(pc)

    def wrap(original: DatagramHandler) -> DatagramHandler:
        def handler(data: bytes, addr: tuple[Any, ...]) -> None:
            # A STUN binding request: type 0x0001, magic cookie 0x2112A442 at offset 4.
            is_request = data[:2] == b"\x00\x01" and data[4:8] == b"\x21\x12\xa4\x42"
            if is_request and any(private(c, ICE_NOMINATED) for c in connections):
                return
            original(data, addr)

        return handler

    return wrap_ice_datagrams(pc, wrap)


def wrap_ice_datagrams(
    pc: RTCPeerConnection, wrap: Callable[[DatagramHandler], DatagramHandler]
) -> int:
    """Replace each ICE socket's ``datagram_received`` of ``pc`` with ``wrap(original)``.

    Called after ``setLocalDescription`` (host candidates gathered, sockets open); returns how
    many sockets were wrapped. Only this one peer connection's sockets change.
    """
    protocols = _ice_protocols(pc)
    for protocol in protocols:
        setattr(protocol, "datagram_received", wrap(protocol.datagram_received))  # noqa: B010 - one instance, on purpose
    return len(protocols)


@contextmanager
def offer_host_addresses(addresses: tuple[str, ...]) -> Iterator[None]:
    """While open, aioice offers exactly ``addresses`` as host candidates (process-wide).

    aioice's ``get_host_addresses`` skips loopback and takes no per-connection list: the
    application replaces it when it starts (``stream.rtc.ice.host_addresses``) and restores it
    when it stops. With no addresses aioice's own gathering stays."""
    if not addresses:
        yield
        return
    parsed = [ipaddress.ip_address(address) for address in addresses]
    original: HostAddresses = _private_callable(aioice.ice, ICE_HOST_ADDRESSES, "aioice.ice")

    def configured(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [
            str(ip)
            for ip in parsed
            if (ip.version == 4 and use_ipv4) or (ip.version == 6 and use_ipv6)
        ]

    setattr(aioice.ice, ICE_HOST_ADDRESSES, configured)
    try:
        yield
    finally:
        setattr(aioice.ice, ICE_HOST_ADDRESSES, original)


@contextmanager
def receivers_without_bitrate_estimator() -> Iterator[None]:
    """Receivers aiortc creates while open get no REMB estimator (as its audio receivers).

    For a viewer's sendonly transceiver, whose receiver never gets media: the estimator is 1 000
    bucket objects (~100 kB, ~1 ms) per join. Open it around synchronous calls only."""
    module = aiortc.rtcrtpreceiver
    original = _private_callable(module, RECEIVER_BITRATE_ESTIMATOR, "aiortc.rtcrtpreceiver")
    setattr(module, RECEIVER_BITRATE_ESTIMATOR, lambda: None)
    try:
        yield
    finally:
        setattr(module, RECEIVER_BITRATE_ESTIMATOR, original)


ConnectFailure = Callable[[RTCPeerConnection, BaseException], None]
_connect_failure_handlers: list[ConnectFailure] = []
_original_connect: list[Callable[[RTCPeerConnection], Awaitable[None]]] = []


async def _contained_connect(pc: RTCPeerConnection) -> None:
    try:
        await _original_connect[0](pc)
    except Exception as exc:
        report = _connect_failure_handlers[-1] if _connect_failure_handlers else None
        if report is not None:
            report(pc, exc)
        try:
            await pc.close()
        except Exception as close_exc:
            if report is not None:
                report(pc, close_exc)


@contextmanager
def contain_connect_failures(on_failure: ConnectFailure) -> Iterator[None]:
    """While open, a failure of a peer connection's background connect task (process-wide)
    goes to ``on_failure`` (the most recently opened) and the connection is closed.

    aiortc starts ``RTCPeerConnection.__connect`` as a task nobody awaits; some offers leave it
    to raise (a transceiver without a transport), logged as "Task exception was never
    retrieved" while the peer waits for its handshake timeout. Opened and closed in any order
    (tests), the original is back when the last one closes."""
    if not _connect_failure_handlers:
        original = _private_callable(RTCPeerConnection, PC_CONNECT, "RTCPeerConnection")
        _original_connect[:] = [original]
        setattr(RTCPeerConnection, PC_CONNECT, _contained_connect)
    _connect_failure_handlers.append(on_failure)
    try:
        yield
    finally:
        _connect_failure_handlers.remove(on_failure)
        if not _connect_failure_handlers:
            setattr(RTCPeerConnection, PC_CONNECT, _original_connect.pop())
