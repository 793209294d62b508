"""One WebRTC peer behind a WHIP or WHEP resource: its lifetime, reaping and safe close.

A peer that has not connected within the handshake timeout is closed; a peer whose connection
fails or closes is closed; closing runs the owner's ``on_close`` exactly once and never raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiortc import RTCIceCandidate, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from stream.common.errors import BadOffer, StreamError
from stream.rtc.admission import PeerAdmission, Slot

logger = logging.getLogger(__name__)

RESOURCE_ID_BYTES = 18
PEER_CLOSE_TIMEOUT = 5.0
# A client's DELETE often races its own connection teardown; resources that ended this
# recently still answer DELETE with 200 instead of 404.
ENDED_RESOURCE_MEMORY = 60.0
MAX_ENDED_RESOURCES = 10_000

OnClose = Callable[["Peer"], Awaitable[None]]
Prepare = Callable[[], None]


NODE_TAG_SEPARATOR = "."  # not in the URL-safe base64 alphabet of the random part


def new_resource_id(tag: str = "") -> str:
    """An unguessable id ending with the tag of the node that makes it (``<random>.<tag>``, so
    that a prefix of an id stays random): any node of the deployment can tell which node holds
    a resource (``stream.rtc.resource_nodes``). No tag: only this node can answer for it."""
    token = secrets.token_urlsafe(RESOURCE_ID_BYTES)
    return f"{token}{NODE_TAG_SEPARATOR}{tag}" if tag else token


def split_resource_id(resource_id: str) -> tuple[str | None, str]:
    """``(node tag or None, random part)`` of a resource id."""
    token, separator, tag = resource_id.rpartition(NODE_TAG_SEPARATOR)
    return (tag, token) if separator else (None, resource_id)


class Peer:
    """An RTCPeerConnection owned by the server, addressed by an unguessable resource id."""

    def __init__(
        self,
        pc: RTCPeerConnection,
        *,
        role: str,
        session_id: str,
        handshake_timeout: float,
        node_tag: str = "",
    ) -> None:
        self.id = new_resource_id(node_tag)
        self.pc = pc
        self.role = role
        self.session_id = session_id
        self.created = time.monotonic()
        self.connected_at: float | None = None
        self.ice_ufrag: str | None = None
        self._on_close: list[OnClose] = []
        self._closed = asyncio.Event()
        self._closing = False
        self._connected = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self.log_prefix = f"[{session_id} {role} {self.id[:6]}]"
        pc.on("connectionstatechange", self._on_state_change)
        loop = asyncio.get_running_loop()
        self._reaper = loop.call_later(handshake_timeout, self._handshake_expired)
        self._deadline: asyncio.TimerHandle | None = None

    @property
    def closed(self) -> bool:
        return self._closing

    def on_close(self, callback: OnClose) -> None:
        self._on_close.append(callback)

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def _on_state_change(self) -> None:
        state = self.pc.connectionState
        logger.debug("%s connection %s", self.log_prefix, state)
        if state == "connected" and self.connected_at is None:
            self.connected_at = time.monotonic()
            self._reaper.cancel()
            self._connected.set()
            logger.info(
                "%s connected in %.0f ms", self.log_prefix, (self.connected_at - self.created) * 1e3
            )
        elif state in ("failed", "closed"):
            self.close_soon(f"connection {state}")

    def end_after(self, seconds: float, reason: str) -> None:
        """Close the peer ``seconds`` from now, connected or not (e.g. its key's window ends)."""
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = asyncio.get_running_loop().call_later(
            max(0.0, seconds), self.close_soon, reason
        )

    def _handshake_expired(self) -> None:
        if self.connected_at is None:
            self.close_soon("handshake timeout")

    def close_soon(self, reason: str) -> None:
        if self._closing:
            return
        task = asyncio.get_running_loop().create_task(self.close(reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, reason: str = "closed") -> None:
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        self._reaper.cancel()
        if self._deadline is not None:
            self._deadline.cancel()
        logger.info("%s closing: %s", self.log_prefix, reason)
        for callback in self._on_close:
            try:
                await callback(self)
            except Exception:
                logger.exception("%s close callback failed", self.log_prefix)
        try:
            # close() can itself raise after a failed negotiation, before it has stopped every
            # transport: stop what is left, or its sockets stay open.
            await asyncio.wait_for(self.pc.close(), PEER_CLOSE_TIMEOUT)
        except Exception as exc:
            logger.debug("%s pc.close raised %r", self.log_prefix, exc)
            await self._stop_transports()
        self._closed.set()

    async def _stop_transports(self) -> None:
        dtls_transports = {t.receiver.transport for t in self.pc.getTransceivers()}
        if self.pc.sctp is not None:
            dtls_transports.add(self.pc.sctp.transport)
        for dtls in dtls_transports:
            if dtls is None:
                continue
            for transport in (dtls, dtls.transport):
                try:
                    await asyncio.wait_for(transport.stop(), PEER_CLOSE_TIMEOUT)
                except Exception as exc:
                    logger.debug("%s stopping a transport raised %r", self.log_prefix, exc)

    async def answer(self, offer_sdp: str, prepare: Prepare | None = None) -> str:
        """Apply the client's offer and return our answer (with every candidate in it).

        ``prepare`` runs first: it adds the transceivers (with their tracks and codec
        preferences), which aiortc matches to the offer's media sections in order. aiortc
        raises many exception types on a bad offer; all of them become ``BadOffer``, and the
        peer is closed (which can itself raise: ``close`` swallows that).
        """
        try:
            if prepare is not None:
                prepare()
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            answer = await self.pc.createAnswer()
            await self.pc.setLocalDescription(answer)
        except StreamError:
            await self.close("rejected")
            raise
        except Exception as exc:
            await self.close("negotiation failed")
            logger.info("%s offer rejected: %s", self.log_prefix, type(exc).__name__)
            raise BadOffer(f"could not negotiate the offer ({type(exc).__name__})") from None
        for line in offer_sdp.splitlines():
            if line.startswith("a=ice-ufrag:"):
                self.ice_ufrag = line.split(":", 1)[1].strip()
                break
        description = self.pc.localDescription
        assert description is not None
        sdp: str = description.sdp
        return sdp

    async def add_remote_candidates(self, candidates: list[tuple[str | None, str]]) -> None:
        """Trickled candidates (``""`` is end-of-candidates) for the media section ``mid``."""
        transceivers = self.pc.getTransceivers()
        first_mid = transceivers[0].mid if transceivers else None
        for mid, line in candidates:
            if not line:
                continue
            candidate: RTCIceCandidate = candidate_from_sdp(line.split(":", 1)[1])
            candidate.sdpMid = mid or first_mid
            await self.pc.addIceCandidate(candidate)


class PeerRegistry:
    """Every live peer of this process, by resource id, and the counts that admit new ones."""

    def __init__(self, admission: PeerAdmission | None = None) -> None:
        self._peers: dict[str, Peer] = {}
        self._addresses: dict[str, str] = {}  # resource id -> the address its slot counts
        self._ended: OrderedDict[str, tuple[str, str, float]] = OrderedDict()
        self.admission = admission or PeerAdmission()

    def add(self, peer: Peer, slot: Slot | None = None) -> None:
        """Keep ``peer`` until it closes; its admission ``slot`` is given back then."""
        self._peers[peer.id] = peer
        if slot is not None:
            self._addresses[peer.id] = slot.address

        async def forget(closed: Peer) -> None:
            if slot is not None:
                slot.release()
            self._peers.pop(closed.id, None)
            self._addresses.pop(closed.id, None)
            self._ended[closed.id] = (closed.role, closed.session_id, time.monotonic())
            while len(self._ended) > MAX_ENDED_RESOURCES:
                self._ended.popitem(last=False)

        peer.on_close(forget)

    def get(self, resource_id: str) -> Peer | None:
        return self._peers.get(resource_id)

    def recently_ended(self, resource_id: str, role: str, session_id: str) -> bool:
        ended = self._ended.get(resource_id)
        return (
            ended is not None
            and ended[:2] == (role, session_id)
            and time.monotonic() - ended[2] < ENDED_RESOURCE_MEMORY
        )

    def __len__(self) -> int:
        return len(self._peers)

    def count(self, role: str) -> int:
        return sum(1 for peer in self._peers.values() if peer.role == role)

    def by_address(self, role: str) -> dict[str, int]:
        """How many peers of ``role`` each client address holds here."""
        held: dict[str, int] = {}
        for resource_id, address in self._addresses.items():
            peer = self._peers.get(resource_id)
            if peer is not None and peer.role == role:
                held[address] = held.get(address, 0) + 1
        return held

    async def close_all(self, reason: str = "server shutting down") -> None:
        peers = list(self._peers.values())
        if peers:
            with contextlib.suppress(Exception):
                await asyncio.gather(*(peer.close(reason) for peer in peers))
