"""A WHIP client (RFC 9725) on aiortc: publishes local tracks to a WHIP endpoint.

Used by the demo's test-pattern publisher, the benchmarks and the tests; it speaks plain HTTP,
so it works against any WHIP server.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urljoin

import aiohttp
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from stream.rtc.ice import rtc_configuration
from stream.rtc.internals import set_sender_keyframe_hook

logger = logging.getLogger(__name__)

WHIP_HTTP_TIMEOUT = 15.0


class WhipError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"WHIP endpoint answered {status}: {detail}")
        self.status = status


@dataclass
class WhipClient:
    endpoint: str
    key: str | None
    tracks: list[MediaStreamTrack]
    ice_servers: tuple[str, ...] = ()
    video_codec: str = "H264"
    pc: RTCPeerConnection = field(init=False)
    resource_url: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.pc = RTCPeerConnection(rtc_configuration(self.ice_servers))
        for track in self.tracks:
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            if track.kind == "video":
                capabilities = RTCRtpSender.getCapabilities("video").codecs
                wanted = f"video/{self.video_codec}".lower()
                transceiver.setCodecPreferences(
                    [c for c in capabilities if c.mimeType.lower() in (wanted, "video/rtx")]
                )
            # A pre-encoded source answers keyframe requests itself (aiortc's sender only
            # flags its own encoder, which pre-encoded media does not use).
            request_keyframe = getattr(track, "request_keyframe", None)
            if request_keyframe is not None:
                set_sender_keyframe_hook(transceiver.sender, request_keyframe)

    def _headers(self, content_type: str | None = None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    async def publish(self) -> None:
        """Offer (with all candidates gathered), POST it, apply the answer."""
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        description = self.pc.localDescription
        timeout = aiohttp.ClientTimeout(total=WHIP_HTTP_TIMEOUT)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.post(
                self.endpoint, data=description.sdp, headers=self._headers("application/sdp")
            ) as response,
        ):
            body = await response.text()
            if response.status != 201:
                await self.pc.close()
                raise WhipError(response.status, body[:200])
            location = response.headers.get("Location")
            if location is None:
                await self.pc.close()
                raise WhipError(response.status, "no Location header")
            self.resource_url = urljoin(self.endpoint, location)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))

    async def close(self, *, delete: bool = True) -> None:
        """DELETE the resource (best effort, unless told not to) and close the peer."""
        if self.resource_url is not None and delete:
            url, self.resource_url = self.resource_url, None
            try:
                timeout = aiohttp.ClientTimeout(total=5)
                async with (
                    aiohttp.ClientSession(timeout=timeout) as http,
                    http.delete(url, headers=self._headers()),
                ):
                    pass
            except (aiohttp.ClientError, TimeoutError) as exc:
                logger.debug("WHIP DELETE failed: %r", exc)
        try:
            await self.pc.close()
        except Exception as exc:
            logger.debug("pc.close raised %r", exc)
