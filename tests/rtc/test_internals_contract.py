"""The aiortc/aioice internals ``stream.rtc.internals`` relies on exist in the installed versions.

A real peer-connection pair over loopback (no ICE servers, host candidates 127.0.0.1 only)
sends H.264 from one side to a tapped receiver on the other; every private attribute the
accessors reach for is then looked up on those real objects. An aiortc upgrade that moves one
fails here by name, not later in production. Small fakes check that a missing attribute raises
:class:`AiortcInternalsChanged` and that ``None`` is only returned where it is a real state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aioice.ice
import pytest
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from stream.ingest.sources import EncodedLoopTrack
from stream.ingest.tap import ReceiverTap
from stream.rooms.media import send_codecs
from stream.rtc import internals
from stream.rtc.internals import AiortcInternalsChanged
from tests.media import encoded_loop

LOOPBACK = ("127.0.0.1",)
CONNECT_TIMEOUT = 10.0
FRAMES_TIMEOUT = 10.0
POLL = 0.02
FRAMES_WANTED = 3

CORPUS = Path(__file__).parent.parent / "corpus" / "sdp"


@dataclass
class Pair:
    offerer: RTCPeerConnection
    answerer: RTCPeerConnection
    sending: RTCRtpTransceiver
    receiving: RTCRtpTransceiver
    tap: ReceiverTap
    frames: list[tuple[str, bytes]]
    packets: list[RtpPacket]


async def wait_until(predicate: Any, timeout: float, what: str) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(POLL)
    assert predicate(), what


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    """Two connected peers; H.264 flows from the offerer into the answerer's tapped receiver."""
    with internals.offer_host_addresses(LOOPBACK):
        offerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        answerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        try:
            sending = offerer.addTransceiver(EncodedLoopTrack(encoded_loop()), direction="sendonly")
            sending.setCodecPreferences(send_codecs("video", "H264"))
            await offerer.setLocalDescription(await offerer.createOffer())
            assert offerer.localDescription is not None
            await answerer.setRemoteDescription(offerer.localDescription)
            receiving = answerer.getTransceivers()[0]
            frames: list[tuple[str, bytes]] = []
            tap = ReceiverTap(
                receiving.receiver,
                "video",
                lambda kind, codec, data, ts: frames.append((codec, data)),
            )
            packets: list[RtpPacket] = []
            buffer_add = tap._buffer.add

            def keep(packet: RtpPacket) -> Any:
                packets.append(packet)
                return buffer_add(packet)

            tap._buffer.add = keep  # type: ignore[method-assign]
            await answerer.setLocalDescription(await answerer.createAnswer())
            assert answerer.localDescription is not None
            await offerer.setRemoteDescription(answerer.localDescription)
            await wait_until(
                lambda: offerer.connectionState == answerer.connectionState == "connected",
                CONNECT_TIMEOUT,
                "peers connected",
            )
            await wait_until(lambda: len(frames) >= FRAMES_WANTED, FRAMES_TIMEOUT, "frames")
            yield Pair(offerer, answerer, sending, receiving, tap, frames, packets)
        finally:
            await offerer.close()
            await answerer.close()


def relied_on() -> set[str]:
    """Every attribute name internals.py declares it reaches for."""
    names: set[str] = set()
    for constant, value in vars(internals).items():
        if not constant.isupper():
            continue
        if isinstance(value, str) and (value.startswith("_") or constant.startswith("ICE_")):
            names.add(value)
        elif isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            names.update(v for v in value if v.startswith("_"))
    return names


async def test_every_private_attribute_exists_on_real_objects(pair: Pair) -> None:
    sender = pair.sending.sender
    receiver = pair.receiving.receiver
    ice_transport = sender.transport.transport
    connection = getattr(ice_transport, internals.ICE_CONNECTION)
    sink = internals.sender_socket(sender)
    assert sink is not None
    owners: dict[str, list[object]] = {
        internals.RECEIVER_JITTER_BUFFER: [receiver],
        internals.RECEIVER_DECODER_QUEUE: [receiver],
        internals.RECEIVER_SEND_PLI: [receiver],
        internals.PACKET_DEPAYLOADED: [pair.packets[-1]],
        internals.JITTER_ORIGIN: [JitterBuffer(capacity=16, is_video=True)],
        internals.JITTER_PACKETS: [JitterBuffer(capacity=16, is_video=True)],
        internals.SENDER_SSRC: [sender],
        internals.SENDER_RTX_SSRC: [sender],
        internals.SENDER_KEYFRAME: [RTCRtpSender("video", sender.transport)],
        internals.SENDER_RETRANSMIT: [RTCRtpSender("video", sender.transport)],
        **{name: [sender] for name in internals.SENDER_REPORT_FIELDS},
        internals.TRANSCEIVER_CODECS: [pair.sending],
        internals.TRANSCEIVER_HEADER_EXTENSIONS: [pair.sending],
        internals.DTLS_TX_SRTP: [sender.transport],
        internals.ICE_CONNECTION: [ice_transport, ice_transport.iceGatherer],
        internals.ICE_NOMINATED: [connection],
        internals.ICE_PROTOCOLS: [connection],
        internals.ICE_HOST_ADDRESSES: [aioice.ice],
        internals.ICE_QUERY_CONSENT: [connection],
        internals.ICE_CONSENT_TASK: [connection],
        internals.ICE_BUILD_REQUEST: [connection],
        internals.PC_CONNECT: [RTCPeerConnection],
        internals.H264_SPLIT_BITSTREAM: [H264Encoder],
        internals.ENCODER_PACKETIZE: [H264Encoder, Vp8Encoder],
        internals.SRTP_SESSION_CONTEXT: [getattr(sender.transport, internals.DTLS_TX_SRTP)],
        internals.TRANSPORT_SOCKET: [sink.transport],
    }
    assert set(owners) == relied_on(), "a name in internals.py has no contract check here"
    missing = [
        f"{type(owner).__name__}.{name}"
        for name, objects in owners.items()
        for owner in objects
        if not hasattr(owner, name)
    ]
    assert not missing, f"aiortc/aioice internals moved: {missing}"


async def test_accessors_work_on_real_objects(pair: Pair) -> None:
    sender = pair.sending.sender
    receiver = pair.receiving.receiver

    # the publisher side: the tap took whole H.264 frames out of the receiver
    internals.check_receiver(receiver)
    codec, data = pair.frames[0]
    assert codec == "H264"
    assert data.startswith((b"\x00\x00\x00\x01", b"\x00\x00\x01"))
    assert internals.depayloaded(pair.packets[-1])
    origin, slots = internals.jitter_buffer_slots(pair.tap._buffer)
    assert origin is not None
    assert len(slots) == pair.tap._buffer.capacity
    assert pair.tap.media_ssrc is not None
    await internals.send_pli(receiver, pair.tap.media_ssrc)

    # the viewer side: what the relay needs to write a sender's packets itself
    ssrc, rtx_ssrc = internals.sender_ssrcs(sender)
    offer = pair.offerer.localDescription
    assert offer is not None
    assert f"ssrc:{ssrc} " in offer.sdp
    assert rtx_ssrc != ssrc
    internals.check_sender(sender)
    internals.update_sender_report(sender, 1, 2, 3, 4)
    assert internals.negotiated_codecs(pair.sending)[0].mimeType == "video/H264"
    assert isinstance(internals.negotiated_header_extensions(pair.sending), list)
    srtp = internals.sender_srtp(sender)
    assert srtp is not None
    assert len(srtp.protect(bytes(12) + b"x")) > 13
    sink = internals.sender_socket(sender)
    assert sink is not None
    assert sink.address[0] == "127.0.0.1"
    assert sink.backlog() >= 0
    assert sink.sock is not None  # asyncio's selector transport: the relay writes past it
    in_place = internals.srtp_in_place(srtp)
    buffer, view, length = internals.srtp_scratch(64)
    view[:13] = bytes([0x80, 96]) + bytes(10) + b"x"
    length[0] = 13
    assert in_place.protect(in_place.context, buffer, length) == 0
    assert length[0] > 13

    hooked: list[str] = []
    spare = RTCRtpSender("video", sender.transport)
    internals.set_sender_keyframe_hook(spare, lambda: hooked.append("keyframe"))

    async def retransmit(sequence_number: int) -> None:
        hooked.append(f"nack {sequence_number}")

    internals.set_sender_retransmit_hook(spare, retransmit)
    spare._send_keyframe()
    await spare._retransmit(7)
    assert hooked == ["keyframe", "nack 7"]

    # the benchmark's light viewers: every ICE socket of a connection can be wrapped
    assert internals.wrap_ice_datagrams(pair.answerer, lambda original: original) >= 1

    # the packetizers, without their encoders
    payloads = internals.h264_payloads(data)
    assert payloads
    assert all(len(p) <= 1300 for p in payloads)
    assert internals.vp8_payloads(b"\x10" * 3000, 5)


async def test_consent_checks_are_replaced_and_can_go_unanswered() -> None:
    """A publisher's consent loop is the server's own; a peer can leave checks unanswered."""
    results: list[bool] = []

    async def run(check: internals.ConsentCheck) -> None:
        while True:
            results.append(await check())
            await asyncio.sleep(POLL)

    with internals.offer_host_addresses(LOOPBACK):
        offerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        answerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        try:
            offerer.addTransceiver(EncodedLoopTrack(encoded_loop()), direction="sendonly")
            await offerer.setLocalDescription(await offerer.createOffer())
            assert offerer.localDescription is not None
            await answerer.setRemoteDescription(offerer.localDescription)
            await answerer.setLocalDescription(await answerer.createAnswer())
            assert answerer.localDescription is not None
            assert internals.nominated_address(answerer) is None
            assert internals.replace_consent_checks(answerer, run) == 1
            await offerer.setRemoteDescription(answerer.localDescription)
            await wait_until(lambda: True in results, CONNECT_TIMEOUT, "an answered check")
            address = internals.nominated_address(answerer)
            assert address is not None
            assert address[0] == "127.0.0.1"
            assert internals.drop_consent_requests(offerer) >= 1
            answered = len(results)
            await wait_until(lambda: False in results[answered:], CONNECT_TIMEOUT, "unanswered")
            assert answerer.connectionState == "connected"
            with pytest.raises(RuntimeError, match="already started"):
                internals.replace_consent_checks(answerer, run)
        finally:
            await offerer.close()
            await answerer.close()


async def test_host_addresses_are_replaced_then_restored() -> None:
    original = aioice.ice.get_host_addresses
    with internals.offer_host_addresses(("127.0.0.1", "::1")):
        assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1", "::1"]
    assert aioice.ice.get_host_addresses is original
    with internals.offer_host_addresses(()):
        assert aioice.ice.get_host_addresses is original


async def test_a_failing_connect_task_is_contained_and_its_peer_closed() -> None:
    # A media kind aiortc skips, named in BUNDLE: a receiver is left without a transport.
    offer = (CORPUS / "whip-unknown-media-kind-in-bundle.sdp").read_text()
    failures: list[BaseException] = []
    original = getattr(RTCPeerConnection, internals.PC_CONNECT)
    with internals.contain_connect_failures(lambda _, exc: failures.append(exc)):
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        for kind in ("audio", "video"):
            pc.addTransceiver(kind, direction="recvonly")
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        for _ in range(50):
            if failures:
                break
            await asyncio.sleep(0.02)
        assert failures
        assert isinstance(failures[0], AttributeError)
        assert pc.signalingState == "closed"
    assert getattr(RTCPeerConnection, internals.PC_CONNECT) is original


# -- fakes: a missing attribute is an error naming it; None only where it is a state ------------


class Bare:
    """An object without any of aiortc's private attributes (as after an upgrade)."""


@dataclass
class FakeDtls:
    state: str


@dataclass
class FakeSender:
    transport: object


def test_missing_attribute_raises_a_clear_error() -> None:
    with pytest.raises(
        AiortcInternalsChanged, match=r"^Bare has no attribute '_ssrc': .*aiortc 1\.16"
    ):
        internals.sender_ssrcs(cast(RTCRtpSender, Bare()))
    with pytest.raises(AiortcInternalsChanged, match="'_headerExtensions'"):
        internals.negotiated_header_extensions(cast(RTCRtpTransceiver, Bare()))
    with pytest.raises(AiortcInternalsChanged, match="'_codecs'"):
        internals.negotiated_codecs(cast(RTCRtpTransceiver, Bare()))
    with pytest.raises(AiortcInternalsChanged, match="'_origin'"):
        internals.jitter_buffer_slots(cast(JitterBuffer, Bare()))
    with pytest.raises(AiortcInternalsChanged, match="'_data'"):
        internals.depayloaded(cast(RtpPacket, Bare()))
    with pytest.raises(AiortcInternalsChanged, match="'_send_keyframe'"):
        internals.set_sender_keyframe_hook(cast(RTCRtpSender, Bare()), lambda: None)
    with pytest.raises(AiortcInternalsChanged, match="_RTCRtpReceiver__jitter_buffer"):
        internals.check_receiver(cast(RTCRtpReceiver, Bare()))
    with pytest.raises(AiortcInternalsChanged, match="_RTCRtpSender__ntp_timestamp"):
        internals.check_sender(cast(RTCRtpSender, Bare()))
    with pytest.raises(AiortcInternalsChanged, match="'_connection'"):
        internals.sender_socket(cast(RTCRtpSender, FakeSender(FakeSender(Bare()))))
    assert issubclass(AiortcInternalsChanged, RuntimeError)


def test_srtp_session_none_before_dtls_but_missing_is_an_error() -> None:
    dtls = FakeDtls("connecting")
    dtls._tx_srtp = None  # type: ignore[attr-defined]
    assert internals.sender_srtp(cast(RTCRtpSender, FakeSender(dtls))) is None
    with pytest.raises(AiortcInternalsChanged, match="FakeDtls has no attribute '_tx_srtp'"):
        internals.sender_srtp(cast(RTCRtpSender, FakeSender(FakeDtls("connected"))))


def test_empty_jitter_buffer_has_no_origin() -> None:
    origin, slots = internals.jitter_buffer_slots(JitterBuffer(capacity=8))
    assert origin is None
    assert list(slots) == [None] * 8


async def test_viewer_receivers_made_without_a_bitrate_estimator() -> None:
    import aiortc.rtcrtpreceiver

    original = getattr(aiortc.rtcrtpreceiver, internals.RECEIVER_BITRATE_ESTIMATOR)
    estimator = "_RTCRtpReceiver__remote_bitrate_estimator"
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        with internals.receivers_without_bitrate_estimator():
            lean = pc.addTransceiver("video", direction="sendonly")
        usual = pc.addTransceiver("video", direction="sendonly")
        assert getattr(lean.receiver, estimator) is None
        assert getattr(usual.receiver, estimator) is not None  # publishers keep theirs
        assert getattr(aiortc.rtcrtpreceiver, internals.RECEIVER_BITRATE_ESTIMATOR) is original
    finally:
        await pc.close()
