"""Writing one viewer's RTP: SRTP in place, a frame's packets in as few ``sendmsg`` calls as UDP
segmentation offload allows.

Per packet the header is packed into a slot of one process-wide scratch buffer, the shared
payload copied after it and libsrtp protects it there (no intermediate ``bytes``). A run of
packets of equal size (the last may be shorter) goes to the viewer's address in one
``sendmsg`` with ``UDP_SEGMENT`` (Linux GSO): the kernel cuts it into the same datagrams it
would have sent one by one, for a fraction of the cost per packet. Where GSO is refused, that
writer sends its runs packet by packet from then on (other viewers keep GSO); a run that fails
for another reason is sent again packet by packet, so an error loses one packet, not a run. A
packet too large for a slot is protected in a buffer of its own and sent alone.

Everything here runs on the event loop's thread, which is what makes one scratch buffer safe.
While asyncio's transport holds queued datagrams (the kernel's buffer was full), packets go
through the transport so that order is kept; the transport sends its queue when it can.
"""

from __future__ import annotations

import errno
import socket
import struct
import sys
from collections.abc import Sequence

from stream.rtc import internals

RTP_HEADER = struct.Struct("!BBHII")
RTP_HEADER_SIZE = RTP_HEADER.size
SLOT = 1536  # scratch bytes per packet: a whole datagram, a multiple of 4 (libsrtp aligns)
# What libsrtp may append to a packet: its tag and MKI (pylibsrtp's SRTP_MAX_TRAILER_LEN).
SRTP_HEADROOM = 144
# The largest RTP packet (header and payload) a slot takes with the headroom to spare.
SLOT_PACKET = SLOT - SRTP_HEADROOM
# Datagrams per sendmsg: the kernel takes at most 64 segments and 64 KiB (40 x 1 536 fits).
MAX_SEGMENTS = 40
UDP_SEGMENT = getattr(socket, "UDP_SEGMENT", 103)  # linux/udp.h
SOL_UDP = getattr(socket, "SOL_UDP", 17)
_SEGMENT_SIZE = struct.Struct("=H")
# A kernel or device without UDP GSO answers these; then runs go packet by packet.
GSO_UNSUPPORTED = frozenset({errno.EIO, errno.EINVAL, errno.ENOPROTOOPT, errno.EOPNOTSUPP})


class SrtpError(RuntimeError):
    """libsrtp refused to protect a packet (its status code in the message)."""


def segment_runs(sizes: Sequence[int], limit: int = MAX_SEGMENTS) -> tuple[tuple[int, int], ...]:
    """Split packet indices into ``(start, end)`` runs GSO can send at once: every packet of a
    run has the run's first size except the last, which may be shorter; at most ``limit``.

    Depends on the payload sizes only (every viewer adds the same header), so a frame's runs are
    found once for all its viewers.
    """
    runs: list[tuple[int, int]] = []
    start = 0
    count = len(sizes)
    while start < count:
        size = sizes[start]
        end = start + 1
        while end < count and end - start < limit and sizes[end] == size:
            end += 1
        if end < count and end - start < limit and sizes[end] < size:
            end += 1  # a shorter packet may close the run
        runs.append((start, end))
        start = end
    return tuple(runs)


class _Scratch:
    """The process's packet slots (one C buffer, ``MAX_SEGMENTS`` aligned slots)."""

    def __init__(self) -> None:
        self.buffer, self.view, self.length = internals.srtp_scratch(MAX_SEGMENTS * SLOT)
        self.pointers = [self.buffer + index * SLOT for index in range(MAX_SEGMENTS)]
        self.gso = sys.platform == "linux"


_scratch: _Scratch | None = None


def _get_scratch() -> _Scratch:
    global _scratch
    if _scratch is None:
        _scratch = _Scratch()
    return _scratch


class RtpWriter:
    """One viewer stream's way out: its SRTP context, its socket and address."""

    __slots__ = ("_address", "_context", "_fallback", "_protect", "_udp", "gso", "sink")

    def __init__(self, srtp: internals.SrtpSession, sink: internals.DatagramSink) -> None:
        in_place = internals.srtp_in_place(srtp)
        self._context = in_place.context
        self._protect = in_place.protect
        self.sink = sink
        self._udp = sink.sock
        self._fallback = sink.transport
        self._address = sink.address
        self.gso = True  # False once the kernel refused GSO for this writer's socket

    def send(
        self,
        first_byte: int,
        payload_type: int,
        sequence: int,
        timestamp: int,
        ssrc: int,
        extensions: bytes,
        payloads: Sequence[bytes],
        runs: Sequence[tuple[int, int]],
    ) -> None:
        """Send ``payloads`` as consecutive packets from ``sequence``; the marker bit on the last.

        ``runs`` is :func:`segment_runs` of the payload sizes (``MAX_SEGMENTS`` at most each).
        """
        scratch = _scratch or _get_scratch()
        view = scratch.view
        length = scratch.length
        pointers = scratch.pointers
        protect = self._protect
        context = self._context
        pack_into = RTP_HEADER.pack_into
        head = RTP_HEADER_SIZE + len(extensions)
        last = len(payloads) - 1
        for start, end in runs:
            parts: list[memoryview] = []
            for index in range(start, end):
                payload = payloads[index]
                marker = 0x80 if index == last else 0
                if head + len(payload) > SLOT_PACKET:
                    if parts:
                        self._write(parts, scratch)
                        parts = []
                    self._send_large(
                        first_byte,
                        marker | payload_type,
                        sequence,
                        timestamp,
                        ssrc,
                        extensions,
                        payload,
                    )
                    sequence = (sequence + 1) & 0xFFFF
                    continue
                slot = (index - start) * SLOT
                pack_into(view, slot, first_byte, marker | payload_type, sequence, timestamp, ssrc)
                view[slot + RTP_HEADER_SIZE : slot + head] = extensions
                size = head + len(payload)
                view[slot + head : slot + size] = payload
                length[0] = size
                status = protect(context, pointers[index - start], length)
                if status:
                    raise SrtpError(f"srtp_protect failed with status {status}")
                parts.append(view[slot : slot + length[0]])
                sequence = (sequence + 1) & 0xFFFF
            if parts:
                self._write(parts, scratch)

    def _send_large(
        self,
        first_byte: int,
        second_byte: int,
        sequence: int,
        timestamp: int,
        ssrc: int,
        extensions: bytes,
        payload: bytes,
    ) -> None:
        """One packet too large for a slot: protected in a buffer of its own, sent alone."""
        head = RTP_HEADER_SIZE + len(extensions)
        size = head + len(payload)
        buffer, view, length = internals.srtp_scratch(size + SRTP_HEADROOM)
        RTP_HEADER.pack_into(view, 0, first_byte, second_byte, sequence, timestamp, ssrc)
        view[RTP_HEADER_SIZE:head] = extensions
        view[head:size] = payload
        length[0] = size
        status = self._protect(self._context, buffer, length)
        if status:
            raise SrtpError(f"srtp_protect failed with status {status}")
        self._write([view[: length[0]]], _scratch or _get_scratch())

    def _write(self, parts: list[memoryview], scratch: _Scratch) -> None:
        sock = self._udp
        if sock is None or self.sink.backlog():
            self._queue(parts)
            return
        if len(parts) > 1 and self.gso and scratch.gso:
            try:
                segment = _SEGMENT_SIZE.pack(len(parts[0]))
                sock.sendmsg(parts, [(SOL_UDP, UDP_SEGMENT, segment)], 0, self._address)
                return
            except BlockingIOError:
                self._queue(parts)  # the kernel's buffer is full: asyncio queues and retries
                return
            except OSError as exc:
                if exc.errno in GSO_UNSUPPORTED:
                    self.gso = False  # this socket or its route: one by one from now on
                # Otherwise (an ICMP error for an earlier datagram, say) the kernel reported
                # it and cleared it: the run goes again packet by packet.
        for index, part in enumerate(parts):
            try:
                sock.sendto(part, self._address)
            except BlockingIOError:
                self._queue(parts[index:])
                return
            except OSError:
                # Lost, as asyncio's transport would lose it (an ICMP error for an earlier
                # datagram, an unreachable network): UDP, and the viewer NACKs.
                continue

    def _queue(self, parts: list[memoryview]) -> None:
        for part in parts:
            self._fallback.sendto(bytes(part), self._address)


def gso_enabled() -> bool:
    """Whether writers may send a run as one ``sendmsg`` (each writer also stops by itself
    once the kernel refused it)."""
    return _get_scratch().gso


def disable_gso() -> None:
    """Send packet by packet everywhere (tests compare both paths)."""
    _get_scratch().gso = False


def enable_gso() -> None:
    _get_scratch().gso = sys.platform == "linux"
