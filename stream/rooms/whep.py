"""A WHEP viewer: a peer that gets one output per kind from its room (forwarding by default)."""

from __future__ import annotations

import logging

from aiortc import RTCPeerConnection

from stream.common.errors import BadOffer, Conflict
from stream.rooms.roles import Output
from stream.rooms.room import Room
from stream.rtc.ice import rtc_configuration
from stream.rtc.peer import Peer

logger = logging.getLogger(__name__)

NOT_LIVE_RETRY_AFTER = 2  # seconds
# Viewers one address may hold open at once (a classroom or a hotel shares one address). The
# rate of new offers is limited too: ``stream.common.rates.WHEP_OFFERS_PER_ADDRESS``.
MAX_VIEWERS_PER_ADDRESS = 20


async def accept_viewer(
    room: Room,
    offer_sdp: str,
    kinds: list[str],
    *,
    ice_servers: tuple[str, ...],
    handshake_timeout: float,
    node_tag: str = "",
) -> tuple[Peer, str]:
    """Subscribe a new viewer to the room and answer its offer (409 while not live); the
    viewer's resource id carries ``node_tag``."""
    if not room.live:
        raise Conflict("session is not live", headers={"Retry-After": str(NOT_LIVE_RETRY_AFTER)})
    pc = RTCPeerConnection(rtc_configuration(ice_servers))
    peer = Peer(
        pc,
        role="whep",
        session_id=room.session_id,
        handshake_timeout=handshake_timeout,
        node_tag=node_tag,
    )

    async def disconnect(reason: str) -> None:
        await peer.close(reason)

    async def unsubscribe(_: Peer) -> None:
        room.unsubscribe(peer.id)

    peer.on_close(unsubscribe)

    def state_changed() -> None:
        if pc.connectionState == "connected":
            room.viewer_connected(peer.id)

    pc.on("connectionstatechange", state_changed)
    codecs = room.codecs()

    def attach_tracks() -> None:
        wanted = [kind for kind in kinds if kind in codecs]
        if not wanted:
            raise BadOffer(f"offer receives none of the session's media ({', '.join(codecs)})")
        outputs: dict[str, Output] = {
            kind: room.outputs.add(pc, kind, codecs[kind], room.keyframes.request)
            for kind in wanted
        }
        room.subscribe(peer.id, disconnect, outputs)

    answer = await peer.answer(offer_sdp, attach_tracks)
    return peer, answer
