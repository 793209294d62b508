"""Real SDP offers from aiortc peers, for tests that post offers without keeping a peer."""

from __future__ import annotations

from aiortc import RTCPeerConnection

from stream.rtc.ice import rtc_configuration


async def real_offer(
    kinds: tuple[str, ...] = ("audio", "video"), direction: str = "sendonly"
) -> str:
    """An offer as aiortc makes it (candidates included); its own peer is closed at once."""
    pc = RTCPeerConnection(rtc_configuration(()))
    try:
        for kind in kinds:
            pc.addTransceiver(kind, direction=direction)
        await pc.setLocalDescription(await pc.createOffer())
        sdp: str = pc.localDescription.sdp
    finally:
        await pc.close()
    return sdp


def without_lines(sdp: str, prefix: str) -> str:
    return "".join(line for line in sdp.splitlines(keepends=True) if not line.startswith(prefix))
