"""A WHEP viewer: a peer whose streams the room writes itself (``stream.rooms.forward``)."""

from __future__ import annotations

import logging

from aiortc import RTCPeerConnection, RTCRtpCodecCapability, RTCRtpSender

from stream.common.errors import BadOffer, Conflict
from stream.rooms.forward import IdleTrack, RtpOutput
from stream.rooms.reencode import DecodedTrack
from stream.rooms.room import Output, Room
from stream.rtc.ice import rtc_configuration
from stream.rtc.peer import Peer

logger = logging.getLogger(__name__)

NOT_LIVE_RETRY_AFTER = 2  # seconds


def send_codecs(kind: str, codec: str) -> list[RTCRtpCodecCapability]:
    """The capability for the publisher's codec (and RTX for video): viewers get exactly it."""
    capabilities = RTCRtpSender.getCapabilities(kind).codecs
    chosen = [c for c in capabilities if c.mimeType.lower() == f"{kind}/{codec}".lower()]
    chosen += [c for c in capabilities if c.mimeType.lower() == f"{kind}/rtx"]
    return chosen


async def accept_viewer(
    room: Room,
    offer_sdp: str,
    kinds: list[str],
    *,
    ice_servers: tuple[str, ...],
    handshake_timeout: float,
) -> tuple[Peer, str]:
    """Subscribe a new viewer to the room and answer its offer (409 while not live)."""
    if not room.live:
        raise Conflict("session is not live", headers={"Retry-After": str(NOT_LIVE_RETRY_AFTER)})
    pc = RTCPeerConnection(rtc_configuration(ice_servers))
    peer = Peer(pc, role="whep", session_id=room.session_id, handshake_timeout=handshake_timeout)

    async def disconnect(reason: str) -> None:
        await peer.close(reason)

    async def unsubscribe(_: Peer) -> None:
        room.unsubscribe(peer.id)

    peer.on_close(unsubscribe)
    codecs = room.codecs()

    def attach_tracks() -> None:
        wanted = [kind for kind in kinds if kind in codecs]
        if not wanted:
            raise BadOffer(f"offer receives none of the session's media ({', '.join(codecs)})")
        if room.reencode:
            _attach_decoded(pc, room, wanted)
            return
        outputs: dict[str, Output] = {}
        for kind in wanted:
            transceiver = pc.addTransceiver(IdleTrack(kind), direction="sendonly")
            transceiver.setCodecPreferences(send_codecs(kind, codecs[kind]))
            outputs[kind] = RtpOutput(kind, transceiver, room.keyframes.request)
        room.subscribe(peer.id, disconnect, outputs)

    answer = await peer.answer(offer_sdp, attach_tracks)
    return peer, answer


def _attach_decoded(pc: RTCPeerConnection, room: Room, kinds: list[str]) -> None:
    """Benchmark baseline: decoded tracks that each viewer's sender encodes again."""
    tracks = []
    for kind in kinds:
        track = DecodedTrack(kind)
        room.decoded_tracks[kind].append(track)
        tracks.append(track)
        pc.addTransceiver(track, direction="sendonly").setCodecPreferences(
            send_codecs(kind, room.codecs()[kind])
        )

    @pc.on("connectionstatechange")
    def forget() -> None:
        if pc.connectionState in ("closed", "failed"):
            for track in tracks:
                if track in room.decoded_tracks[track.kind]:
                    room.decoded_tracks[track.kind].remove(track)

    if "video" in kinds:
        room.keyframes.request()
