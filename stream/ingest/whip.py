"""A WHIP publisher: a peer whose received media is tapped and pushed into the session's room."""

from __future__ import annotations

import asyncio
import logging

from aiortc import RTCPeerConnection, RTCRtpCodecCapability, RTCRtpSender

from stream.config import CONSENT_INTERVAL
from stream.ingest.tap import ReceiverTap
from stream.rooms.media import AUDIO_CODECS, VIDEO_CODECS
from stream.rooms.room import Room
from stream.rtc.freshness import PUBLISHER_MEDIA_TIMEOUT, MediaFreshness
from stream.rtc.ice import rtc_configuration
from stream.rtc.peer import Peer

logger = logging.getLogger(__name__)

# What a publisher may send: passed through to viewers untouched, so every browser must play it.
PUBLISH_CODEC_PREFERENCE = {"video": ("H264", "VP8"), "audio": ("opus",)}


def receive_codecs(kind: str) -> list[RTCRtpCodecCapability]:
    """aiortc codec capabilities for ``kind`` in our order of preference, with RTX for video."""
    capabilities = RTCRtpSender.getCapabilities(kind).codecs
    preferred: list[RTCRtpCodecCapability] = []
    for name in PUBLISH_CODEC_PREFERENCE[kind]:
        preferred += [c for c in capabilities if c.mimeType.lower() == f"{kind}/{name}".lower()]
    preferred += [c for c in capabilities if c.mimeType.lower() == f"{kind}/rtx"]
    return preferred


class WhipPublisher:
    """Publishes one WebRTC peer's media into a room."""

    answers_keyframe_requests = True

    def __init__(self, peer: Peer, room: Room) -> None:
        self.peer = peer
        self.id = peer.id
        self.room = room
        self.taps: dict[str, ReceiverTap] = {}
        self._pli_tasks: set[asyncio.Task[None]] = set()
        self.freshness: MediaFreshness | None = None

    def add_receivers(self, kinds: list[str]) -> None:
        """One tapped, receive-only transceiver per offered kind, before the offer is applied."""
        for kind in kinds:
            transceiver = self.peer.pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(receive_codecs(kind))
            self.taps[kind] = ReceiverTap(transceiver.receiver, kind, self._push)

    def _push(self, kind: str, codec: str, data: bytes, timestamp: int) -> None:
        if codec in VIDEO_CODECS or codec in AUDIO_CODECS:
            self.room.push(kind, codec, data, timestamp)

    async def stop(self, reason: str) -> None:
        await self.peer.close(reason)

    def request_keyframe(self) -> None:
        tap = self.taps.get("video")
        if tap is None or self.peer.closed:
            return
        task = asyncio.get_running_loop().create_task(tap.send_pli())
        self._pli_tasks.add(task)
        task.add_done_callback(self._pli_tasks.discard)


async def accept_publisher(
    room: Room,
    offer_sdp: str,
    kinds: list[str],
    *,
    ice_servers: tuple[str, ...],
    handshake_timeout: float,
    media_timeout: float = PUBLISHER_MEDIA_TIMEOUT,
    consent_interval: float = CONSENT_INTERVAL,
    node_tag: str = "",
) -> tuple[Peer, str]:
    """Create the publisher's peer, attach it to the room (409 if taken) and answer its offer.

    The publisher is kept while its packets arrive, answered consent checks or not (FFmpeg's
    WHIP output answers none), and closed after ``media_timeout`` seconds of silence.
    """
    pc = RTCPeerConnection(rtc_configuration(ice_servers))
    peer = Peer(
        pc,
        role="whip",
        session_id=room.session_id,
        handshake_timeout=handshake_timeout,
        node_tag=node_tag,
    )
    publisher = WhipPublisher(peer, room)
    try:
        room.attach(publisher)
    except Exception:
        await peer.close("session already has a publisher")
        raise

    async def detach(_: Peer) -> None:
        room.detach(publisher)

    peer.on_close(detach)
    answer = await peer.answer(offer_sdp, lambda: publisher.add_receivers(kinds))
    # Before the answer leaves: ICE cannot complete until the publisher has it.
    publisher.freshness = MediaFreshness(peer, timeout=media_timeout, interval=consent_interval)
    publisher.freshness.install()
    return peer, answer
