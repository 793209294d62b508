"""The relay's RTP writer: what leaves the socket is the same RTP, datagram for datagram, with
UDP segmentation offload and without, and while asyncio's transport holds a queue."""

from __future__ import annotations

import asyncio
import os
import socket
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
