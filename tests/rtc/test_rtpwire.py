"""The relay's RTP writer: what leaves the socket is the same RTP, datagram for datagram, with
UDP segmentation offload and without, and while asyncio's transport holds a queue."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from aiortc.rtp import RtpPacket
from pylibsrtp import Policy, Session

from stream.rtc import internals, rtpwire
from stream.rtc.rtpwire import MAX_SEGMENTS, RtpWriter, segment_runs

RECEIVE_TIMEOUT = 5.0


def test_runs_take_equal_sizes_and_one_shorter_last() -> None:
    assert segment_runs([]) == ()
    assert segment_runs([5]) == ((0, 1),)
    # aiortc's FU-A fragments: the larger ones first, each run may end with a shorter one
    assert segment_runs([30, 1300, 1300, 1299, 1299, 1299]) == ((0, 1), (1, 4), (4, 6))
    assert segment_runs([10, 20, 20]) == ((0, 1), (1, 3))
    assert segment_runs([20, 10, 10]) == ((0, 2), (2, 3))
    runs = segment_runs([1000] * (MAX_SEGMENTS * 2 + 1))
    assert [end - start for start, end in runs] == [MAX_SEGMENTS, MAX_SEGMENTS, 1]


@pytest.fixture(params=["gso", "one by one"])
def mode(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "gso":
        rtpwire.enable_gso()
    else:
        rtpwire.disable_gso()
    yield str(request.param)
    rtpwire.enable_gso()


@pytest.fixture
async def link() -> AsyncIterator[tuple[asyncio.DatagramTransport, socket.socket]]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(RECEIVE_TIMEOUT)
    try:
        yield transport, receiver
    finally:
        transport.close()
        receiver.close()


def sessions() -> tuple[Session, Session]:
    key = os.urandom(30)
    outbound = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND))
    inbound = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND))
    return outbound, inbound


@pytest.mark.parametrize("queued", [False, True])
async def test_frames_arrive_as_the_same_packets(
    mode: str, queued: bool, link: tuple[asyncio.DatagramTransport, socket.socket]
) -> None:
    transport, receiver = link
    outbound, inbound = sessions()
    address = receiver.getsockname()
    backlog = (lambda: 1) if queued else transport.get_write_buffer_size
    sink = internals.DatagramSink(
        transport, address, backlog, internals.transport_socket(transport)
    )
    assert sink.sock is not None
    writer = RtpWriter(outbound, sink)
    # a keyframe's worth: a short first packet, 45 equal ones (two runs), two shorter ones
    payloads = [os.urandom(40)] + [os.urandom(1200) for _ in range(45)] + [os.urandom(1199)] * 2
    extensions = b"\xbe\xde\x00\x01\x12\xaa\xbb\xcc"  # one element: 3 bytes, id 1
    runs = segment_runs([len(p) for p in payloads])
    writer.send(0x90, 102, 65530, 123456, 0x01020304, extensions, payloads, runs)
    await asyncio.sleep(0)  # a queued transport sends on the loop
    for index, payload in enumerate(payloads):
        datagram = await asyncio.to_thread(receiver.recv, 2048)
        packet = RtpPacket.parse(inbound.unprotect(datagram))
        assert packet.sequence_number == (65530 + index) & 0xFFFF, mode
        assert packet.timestamp == 123456
        assert packet.ssrc == 0x01020304
        assert packet.payload_type == 102
        assert packet.marker == (1 if index == len(payloads) - 1 else 0)
        assert packet.payload == payload


def _sink(transport: asyncio.DatagramTransport, address: tuple[str, int]) -> internals.DatagramSink:
    return internals.DatagramSink(
        transport, address, transport.get_write_buffer_size, internals.transport_socket(transport)
    )


async def _receive(receiver: socket.socket, inbound: Session, count: int) -> list[RtpPacket]:
    packets = []
    for _ in range(count):
        datagram = await asyncio.to_thread(receiver.recv, 4096)
        packets.append(RtpPacket.parse(inbound.unprotect(datagram)))
    return packets


async def test_a_packet_too_large_for_a_slot_goes_alone_and_spares_its_neighbours(
    mode: str, link: tuple[asyncio.DatagramTransport, socket.socket]
) -> None:
    transport, receiver = link
    outbound, inbound = sessions()
    writer = RtpWriter(outbound, _sink(transport, receiver.getsockname()))
    extensions = b"\xbe\xde\x00\x01\x12\xaa\xbb\xcc"
    fits = rtpwire.SLOT_PACKET - rtpwire.RTP_HEADER_SIZE - len(extensions)
    # the largest that fits, then too large by one, then further over, in one run
    payloads = [os.urandom(fits), os.urandom(fits + 1), os.urandom(fits + 60), os.urandom(fits)]
    payloads += [os.urandom(fits)] * 3
    runs = ((0, len(payloads)),)  # as if sizes were equal: the writer must not trust them
    writer.send(0x90, 102, 7, 1, 0x0A0B0C0D, extensions, payloads, runs)
    packets = await _receive(receiver, inbound, len(payloads))
    assert [p.payload for p in packets] == payloads, mode
    assert [p.sequence_number for p in packets] == list(range(7, 7 + len(payloads)))
    assert [p.marker for p in packets] == [0] * (len(payloads) - 1) + [1]


SO_NO_CHECK = 11  # asm-generic/socket.h: the kernel refuses UDP GSO on such a socket (EINVAL)
IP_RECVERR = 11  # linux/in.h


@pytest.mark.skipif(not rtpwire.gso_enabled(), reason="UDP GSO is Linux only")
async def test_gso_refused_on_one_socket_stops_only_that_writer(
    link: tuple[asyncio.DatagramTransport, socket.socket],
) -> None:
    transport, receiver = link
    loop = asyncio.get_running_loop()
    refusing, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    try:
        refusing_sink = _sink(refusing, receiver.getsockname())
        assert refusing_sink.sock is not None
        refusing_sink.sock.setsockopt(socket.SOL_SOCKET, SO_NO_CHECK, 1)
        payloads = [os.urandom(1000) for _ in range(10)]
        runs = segment_runs([len(p) for p in payloads])
        outbound, inbound = sessions()
        refused = RtpWriter(outbound, refusing_sink)
        refused.send(0x80, 102, 1, 1, 1, b"", payloads, runs)
        assert [p.payload for p in await _receive(receiver, inbound, 10)] == payloads
        assert not refused.gso
        assert rtpwire.gso_enabled()  # the others keep it
        outbound, inbound = sessions()
        other = RtpWriter(outbound, _sink(transport, receiver.getsockname()))
        other.send(0x80, 102, 1, 1, 1, b"", payloads, runs)
        assert [p.payload for p in await _receive(receiver, inbound, 10)] == payloads
        assert other.gso
    finally:
        refusing.close()


@pytest.mark.skipif(not rtpwire.gso_enabled(), reason="UDP GSO is Linux only")
async def test_an_earlier_error_costs_no_packet_of_the_next_run(
    link: tuple[asyncio.DatagramTransport, socket.socket],
) -> None:
    transport, receiver = link
    sink = _sink(transport, receiver.getsockname())
    assert sink.sock is not None
    # With IP_RECVERR the port unreachable for a datagram to a closed port is reported to the
    # next send on the socket (ECONNREFUSED), here a GSO run.
    sink.sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.bind(("127.0.0.1", 0))
    nowhere = closed.getsockname()
    closed.close()
    sink.sock.sendto(b"x", nowhere)
    time.sleep(0.05)  # not the loop's: its reader would take the error first
    payloads = [os.urandom(1000) for _ in range(10)]
    outbound, inbound = sessions()
    writer = RtpWriter(outbound, sink)
    writer.send(0x80, 102, 1, 1, 1, b"", payloads, segment_runs([len(p) for p in payloads]))
    assert [p.payload for p in await _receive(receiver, inbound, 10)] == payloads
    assert writer.gso  # not a GSO refusal
