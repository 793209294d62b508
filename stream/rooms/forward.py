"""Forwarding: the room writes every viewer's RTP packets itself, sharing the payloads.

Per viewer and packet the work is a 12-byte header and a prebuilt header-extension block packed
into a scratch slot beside the shared payload, and SRTP in place there; a frame's packets then
leave for the viewer's nominated ICE socket in one ``sendmsg`` per run of equal sizes (UDP GSO,
``stream.rtc.rtpwire``). aiortc's own sender for the track stays in
place for everything else: it answers RTCP (its sender reports use the counters this updates),
and its NACK and PLI handling are routed here (retransmission from this history, keyframe
requests to the publisher).

A viewer whose socket buffer backs up is skipped until the next keyframe (video) or loses
frames (audio); it never holds up the room or grows memory without bound.
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiortc import RTCPeerConnection, RTCRtpSender, RTCRtpTransceiver
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from stream.rooms.media import MediaFrame, send_codecs
from stream.rtc import internals
from stream.rtc.rtpwire import RtpWriter, segment_runs

logger = logging.getLogger(__name__)

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
RTP_HISTORY_SIZE = 512  # packets kept per stream for NACK retransmission (power of two)
# Bytes queued for a viewer before it is skipped (room for a joining viewer's cached-GOP burst).
MAX_WRITE_BUFFER = 1024 * 1024
NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900 to 1970
# How often the counters of aiortc's RTCP sender reports are brought up to date (it sends one
# every 0.5-1.5 s; the four values always come from the same frame).
SENDER_REPORT_UPDATE = 0.2

RTP_HEADER = struct.Struct("!BBHII")
RTX_SEQUENCE = struct.Struct("!H")


def abs_send_time(now: float) -> bytes:
    """The abs-send-time value (6.18 fixed point seconds, 24 bits) for wall-clock ``now``.

    NTP and Unix seconds differ by a multiple of 64, so the Unix time gives the same bits.
    """
    return (int(now * (1 << 18)) & 0xFFFFFF).to_bytes(3, "big")


def ntp_time(now: float) -> int:
    """64-bit NTP timestamp for wall-clock ``now`` (for RTCP sender reports)."""
    return int((now + NTP_EPOCH_OFFSET) * (1 << 32)) & 0xFFFF_FFFF_FFFF_FFFF


@dataclass(frozen=True, slots=True)
class SendClock:
    """Per-frame timing shared by every viewer: computed once per frame, not per packet."""

    monotonic: float
    abs_send_time: bytes
    ntp: int

    @classmethod
    def now(cls) -> SendClock:
        wall = time.time()
        return cls(time.monotonic(), abs_send_time(wall), ntp_time(wall))


@dataclass(frozen=True, slots=True)
class StreamParams:
    """What a negotiated sender needs on the wire."""

    payload_type: int
    rtx_payload_type: int | None
    ssrc: int
    rtx_ssrc: int
    mid: str | None
    mid_id: int | None
    abs_send_time_id: int | None

    @classmethod
    def of(cls, transceiver: RTCRtpTransceiver) -> StreamParams:
        codecs = internals.negotiated_codecs(transceiver)
        primary = codecs[0]
        if primary.payloadType is None:
            raise RuntimeError("negotiated codec has no payload type")
        rtx = next(
            (
                c.payloadType
                for c in codecs
                if c.mimeType.lower().endswith("/rtx")
                and c.parameters.get("apt") == primary.payloadType
            ),
            None,
        )
        extensions = {x.uri: x.id for x in internals.negotiated_header_extensions(transceiver)}
        ssrc, rtx_ssrc = internals.sender_ssrcs(transceiver.sender)
        return cls(
            payload_type=primary.payloadType,
            rtx_payload_type=rtx,
            ssrc=ssrc,
            rtx_ssrc=rtx_ssrc,
            mid=transceiver.mid,
            mid_id=extensions.get(MID_URI),
            abs_send_time_id=extensions.get(ABS_SEND_TIME_URI),
        )


def extension_block(params: StreamParams) -> tuple[bytes, bytes]:
    """The RFC 8285 one-byte header-extension block, split around the abs-send-time value.

    The block is ``head + <3 bytes of abs-send-time> + tail`` (or ``head + tail`` without it).
    """
    elements_head = b""
    elements_tail = b""
    if params.abs_send_time_id is not None:
        elements_head = bytes([(params.abs_send_time_id << 4) | 2])
    if params.mid_id is not None and params.mid:
        mid = params.mid.encode()[:16]
        elements_tail = bytes([(params.mid_id << 4) | (len(mid) - 1)]) + mid
    length = len(elements_head) + (3 if elements_head else 0) + len(elements_tail)
    if length == 0:
        return b"", b""
    padding = -length % 4
    words = (length + padding) // 4
    head = b"\xbe\xde" + words.to_bytes(2, "big") + elements_head
    return head, elements_tail + b"\x00" * padding


class IdleTrack(MediaStreamTrack):
    """Given to aiortc's sender so it keeps running its RTCP; it yields no media itself."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._stopped = asyncio.Event()

    async def recv(self) -> MediaFrame:  # type: ignore[override]
        await self._stopped.wait()
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._stopped.set()


class RtpOutput:
    """One viewer's RTP stream of one kind."""

    def __init__(
        self,
        kind: str,
        transceiver: RTCRtpTransceiver,
        request_keyframe: Callable[[], None],
    ) -> None:
        self.kind = kind
        self.sender: RTCRtpSender = transceiver.sender
        self._transceiver = transceiver
        self._request_keyframe = request_keyframe
        self._params: StreamParams | None = None
        self._ext_head = b""
        self._ext_tail = b""
        self._first_byte = 0x80
        self._seq = random.randrange(1 << 15)  # lower half: no early wrap (as aiortc does)  # noqa: S311
        self._rtx_seq = random.randrange(1 << 15)  # noqa: S311
        self._ts_origin = random.randrange(1 << 32)  # noqa: S311
        self._history: list[tuple[int, int, int, bytes] | None] = [None] * RTP_HISTORY_SIZE
        self._srtp: internals.SrtpSession | None = None
        self._socket: internals.DatagramSink | None = None
        self._writer: RtpWriter | None = None
        self._report_due = 0.0
        self.waiting_for_keyframe = kind == "video"
        self.keyframe_requested = False
        self.created = time.monotonic()
        self.first_keyframe_at: float | None = None
        self.packets = 0
        self.octets = 0
        self.frames_sent = 0
        self.frames_dropped = 0
        self.skips = 0
        self.closed = False
        internals.check_sender(self.sender)
        internals.set_sender_keyframe_hook(self.sender, request_keyframe)
        internals.set_sender_retransmit_hook(self.sender, self.retransmit)

    def _connect(self) -> bool:
        """Resolve the negotiated parameters, SRTP session and socket once DTLS is up."""
        if self._params is None:
            self._params = StreamParams.of(self._transceiver)
            self._ext_head, self._ext_tail = extension_block(self._params)
            self._first_byte = 0x90 if self._ext_head else 0x80
        srtp = internals.sender_srtp(self.sender)
        socket = internals.sender_socket(self.sender) if srtp is not None else None
        if srtp is None or socket is None:
            return False
        self._srtp, self._socket = srtp, socket
        self._writer = RtpWriter(srtp, socket)
        return True

    @property
    def connected(self) -> bool:
        return self._socket is not None or self._connect()

    def restart(self) -> None:
        """A new publisher took over (or the room shed load): start again at a keyframe."""
        if self.kind == "video":
            self.waiting_for_keyframe = True
            self.keyframe_requested = False

    def send(self, frame: MediaFrame, clock: SendClock) -> float | None:
        """Send one frame; return its time in the relay, or None if it was not sent."""
        if self.closed:
            return None
        if self._socket is None and not self._connect():
            return None  # not connected yet: it will start at a keyframe when it is
        if self.waiting_for_keyframe:
            if not frame.keyframe:
                self.frames_dropped += 1
                return None
            self.waiting_for_keyframe = False
        socket = self._socket
        writer = self._writer
        params = self._params
        if socket is None or writer is None or params is None:
            return None
        if socket.backlog() > MAX_WRITE_BUFFER:
            self.frames_dropped += 1
            if self.kind == "video":  # skip to the next keyframe; dropping one breaks decoding
                self.skips += 1
                self.waiting_for_keyframe = True
                self.keyframe_requested = True
                self._request_keyframe()
            return None
        if frame.keyframe and self.first_keyframe_at is None and self.kind == "video":
            self.first_keyframe_at = clock.monotonic
        timestamp = (self._ts_origin + frame.timestamp) & 0xFFFFFFFF
        extensions = self._ext_head
        if extensions:
            if params.abs_send_time_id is not None:
                extensions += clock.abs_send_time
            extensions += self._ext_tail
        payloads = frame.payloads
        count = len(payloads)
        seq = self._seq
        history = self._history
        mask = RTP_HISTORY_SIZE - 1
        last = count - 1
        for index, payload in enumerate(payloads):
            history[(seq + index) & mask] = (
                (seq + index) & 0xFFFF, 0x80 if index == last else 0, timestamp, payload
            )  # fmt: skip
        runs, octets = frame.runs, frame.octets
        if not runs and payloads:  # a frame the room did not make (tests)
            sizes = [len(payload) for payload in payloads]
            runs, octets = segment_runs(sizes), sum(sizes)
        writer.send(
            self._first_byte, params.payload_type, seq, timestamp, params.ssrc, extensions,
            payloads, runs,
        )  # fmt: skip
        self._seq = (seq + count) & 0xFFFF
        self.packets += count
        self.octets += octets
        self.frames_sent += 1
        if clock.monotonic >= self._report_due:
            self._report_due = clock.monotonic + SENDER_REPORT_UPDATE
            internals.update_sender_report(
                self.sender,
                clock.ntp,
                timestamp,
                self.packets & 0xFFFFFFFF,
                self.octets & 0xFFFFFFFF,
            )
        return clock.monotonic - frame.arrival

    async def retransmit(self, sequence_number: int) -> None:
        """Resend a packet the viewer reported lost (as RTX when negotiated)."""
        entry = self._history[sequence_number & (RTP_HISTORY_SIZE - 1)]
        if entry is None or entry[0] != sequence_number or self._params is None:
            return
        if self._socket is None or self._srtp is None:
            return
        seq, marker, timestamp, payload = entry
        params = self._params
        extensions = self._ext_head
        if extensions:
            if params.abs_send_time_id is not None:
                extensions += abs_send_time(time.time())
            extensions += self._ext_tail
        if params.rtx_payload_type is not None:
            header = RTP_HEADER.pack(
                self._first_byte,
                marker | params.rtx_payload_type,
                self._rtx_seq,
                timestamp,
                params.rtx_ssrc,
            )
            payload = RTX_SEQUENCE.pack(seq) + payload
            self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
        else:
            header = RTP_HEADER.pack(
                self._first_byte, marker | params.payload_type, seq, timestamp, params.ssrc
            )
        self._socket.transport.sendto(
            self._srtp.protect(header + extensions + payload), self._socket.address
        )

    def close(self) -> None:
        self.closed = True


class Forwarding:
    """The platform's viewer outputs: the room's encoded frames, forwarded as they came."""

    def add(
        self,
        pc: RTCPeerConnection,
        kind: str,
        codec: str,
        request_keyframe: Callable[[], None],
    ) -> RtpOutput:
        with internals.receivers_without_bitrate_estimator():  # it never receives
            transceiver = pc.addTransceiver(IdleTrack(kind), direction="sendonly")
        transceiver.setCodecPreferences(send_codecs(kind, codec))
        return RtpOutput(kind, transceiver, request_keyframe)
