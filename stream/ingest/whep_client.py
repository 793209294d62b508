"""A WHEP client on aiortc: receives a session's media from any WHEP endpoint.

With ``encoded=True`` its receivers are tapped (see ``stream.ingest.tap``) and yield the encoded
frames as received, which is what tests and edge relays want; otherwise aiortc decodes them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription

from stream.ingest.tap import ReceiverTap
from stream.rtc.ice import rtc_configuration

logger = logging.getLogger(__name__)

WHEP_HTTP_TIMEOUT = 15.0

FrameCallback = Callable[[str, str, bytes, int], None]


class WhepError(Exception):
    def __init__(self, status: int, detail: str, retry_after: str | None = None) -> None:
        super().__init__(f"WHEP endpoint answered {status}: {detail}")
        self.status = status
        self.retry_after = retry_after


@dataclass
class WhepClient:
    endpoint: str
    kinds: tuple[str, ...] = ("video", "audio")
    ice_servers: tuple[str, ...] = ()
    on_frame: FrameCallback | None = None
    headers: dict[str, str] = field(default_factory=dict)  # extra headers on the POST
    pc: RTCPeerConnection = field(init=False)
    resource_url: str | None = field(init=False, default=None)
    taps: dict[str, ReceiverTap] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.pc = RTCPeerConnection(rtc_configuration(self.ice_servers))
        for kind in self.kinds:
            transceiver = self.pc.addTransceiver(kind, direction="recvonly")
            if self.on_frame is not None:
                self.taps[kind] = ReceiverTap(transceiver.receiver, kind, self.on_frame)

    async def connect(self) -> None:
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        timeout = aiohttp.ClientTimeout(total=WHEP_HTTP_TIMEOUT)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.post(
                self.endpoint,
                data=self.pc.localDescription.sdp,
                headers={**self.headers, "Content-Type": "application/sdp"},
            ) as response,
        ):
            body = await response.text()
            if response.status != 201:
                await self.close()
                raise WhepError(response.status, body[:200], response.headers.get("Retry-After"))
            self.resource_url = urljoin(self.endpoint, response.headers["Location"])
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))

    async def wait_connected(self) -> None:
        """Until ICE and DTLS are up (wrap in ``asyncio.timeout``); raises if the peer fails."""
        changed = asyncio.Event()
        self.pc.on("connectionstatechange", changed.set)
        while self.pc.connectionState != "connected":
            if self.pc.connectionState in ("failed", "closed"):
                raise ConnectionError(f"WHEP peer {self.pc.connectionState}")
            changed.clear()
            await changed.wait()

    async def close(self) -> None:
        if self.resource_url is not None:
            url, self.resource_url = self.resource_url, None
            try:
                timeout = aiohttp.ClientTimeout(total=5)
                async with aiohttp.ClientSession(timeout=timeout) as http, http.delete(url):
                    pass
            except (aiohttp.ClientError, TimeoutError) as exc:
                logger.debug("WHEP DELETE failed: %r", exc)
        try:
            await self.pc.close()
        except Exception as exc:
            logger.debug("pc.close raised %r", exc)
