"""The relay benchmark's load: a timed pre-encoded publisher and light-weight WHEP viewers.

A light viewer is a real aiortc peer for ICE, DTLS and RTCP, but its RTP never reaches aiortc:
a hook on its ICE socket's ``datagram_received`` takes every SRTP datagram whose first byte
says RTP (RFC 7983: 128..191, and not an RTCP packet type), reads the clear-text RTP header
(payload type, marker, sequence number, timestamp) with ``struct`` and counts it. Nothing is
decrypted, reassembled or decoded, so a viewer costs the generator a few microseconds per
packet: far less than the server spends sending it. STUN (consent), DTLS and SRTCP still take
aiortc's normal path.

The publisher records when it handed each frame to its sender. Because the relay keeps RTP
timestamp differences and starts every viewer at a keyframe, a viewer's frames can be matched
to the publisher's without decrypting, which gives an end-to-end latency measured on the client.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

import aiohttp
import av
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from stream.ingest.sources import VIDEO_CLOCK_RATE, EncodedFrame, EncodedLoopTrack
from stream.rooms.media import h264_is_keyframe
from stream.rtc.internals import wrap_ice_datagrams

RTP_HEADER_BYTES = 12
RTP_VERSION_MIN, RTP_VERSION_MAX = 128, 191  # RFC 7983 demultiplexing: first byte of RTP/RTCP
RTCP_TYPE_MIN, RTCP_TYPE_MAX = 192, 208  # second byte of RTCP (as aiortc's is_rtcp)
MARKER_BIT = 0x80
PAYLOAD_TYPE_MASK = 0x7F
SEQUENCE_MODULO = 1 << 16
TIMESTAMP_MODULO = 1 << 32
HALF_SEQUENCE = 1 << 15
NOT_MEDIA_CODECS = frozenset({"rtx", "red", "ulpfec", "flexfec-03"})
MAX_ALIGNMENT_CANDIDATES = 12  # keyframes tried when matching a viewer's frames to the publisher
MAX_PUBLISHED_FRAMES = 30 * 60 * 60  # an hour of send times at 30 fps, then recording stops
WHEP_HTTP_TIMEOUT = 15.0
WHEP_DELETE_TIMEOUT = 5.0

_SEQ_TS = struct.Struct("!HI")


class WhepRefused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"WHEP endpoint answered {status}: {detail}")
        self.status = status


class TimedLoopTrack(EncodedLoopTrack):
    """:class:`EncodedLoopTrack` that records when each frame went to the sender.

    ``sent_at[i]`` is the monotonic time frame ``i`` (RTP timestamp ``i * ticks_per_frame``
    plus the sender's origin) was handed to the sender, which packetizes and sends it at once.
    With ``answer_keyframe_requests=False`` PLIs are counted but ignored (keyframes only come
    every GOP), to show what the relay's upstream PLI saves.
    """

    def __init__(
        self, frames: list[EncodedFrame], fps: int = 30, *, answer_keyframe_requests: bool = True
    ) -> None:
        super().__init__(frames, fps)
        self.ticks_per_frame = VIDEO_CLOCK_RATE // fps
        self.answer_keyframe_requests = answer_keyframe_requests
        self.sent_at: list[float] = []
        self.keyframes: list[int] = []  # indices into sent_at, ascending
        self.keyframe_requests = 0

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1
        if self.answer_keyframe_requests:
            super().request_keyframe()

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]
        packet = await super().recv()
        now = time.monotonic()
        index = int(packet.pts or 0) // self.ticks_per_frame
        if index == len(self.sent_at) and index < MAX_PUBLISHED_FRAMES:
            self.sent_at.append(now)
            if h264_is_keyframe(bytes(packet)):
                self.keyframes.append(index)
        return packet

    @property
    def frames_sent(self) -> int:
        return len(self.sent_at)

    def last_keyframe_before(self, moment: float) -> float | None:
        """When the last keyframe before ``moment`` was sent."""
        for index in reversed(self.keyframes):
            if self.sent_at[index] <= moment:
                return self.sent_at[index]
        return None


class StreamCount:
    """Packets of one kind: counts, bytes, and the extended highest sequence number."""

    __slots__ = ("base", "bytes", "highest", "packets")

    def __init__(self) -> None:
        self.packets = 0
        self.bytes = 0
        self.base: int | None = None  # extended sequence number of the first packet
        self.highest = 0  # extended highest sequence number seen

    def add(self, sequence: int, size: int) -> None:
        self.packets += 1
        self.bytes += size
        if self.base is None:
            self.base = self.highest = sequence
            return
        delta = (sequence - self.highest) % SEQUENCE_MODULO
        if 0 < delta < HALF_SEQUENCE:
            self.highest += delta

    @property
    def expected(self) -> int:
        return 0 if self.base is None else self.highest - self.base + 1


class RtpCounter:
    """What one light viewer received, updated for every RTP datagram (kept cheap)."""

    __slots__ = (
        "audio",
        "audio_types",
        "first_video_at",
        "first_video_timestamp",
        "frame_log",
        "frame_log_limit",
        "other_packets",
        "video",
        "video_frames",
        "video_types",
    )

    def __init__(self) -> None:
        self.video_types: frozenset[int] = frozenset()
        self.audio_types: frozenset[int] = frozenset()
        self.video = StreamCount()
        self.audio = StreamCount()
        self.video_frames = 0  # packets with the marker bit: the last packet of a frame
        self.other_packets = 0  # RTX, or anything before the answer named the payload types
        self.first_video_at: float | None = None
        self.first_video_timestamp = 0
        self.frame_log: list[tuple[int, float]] | None = None  # (RTP timestamp, arrival)
        self.frame_log_limit = 0

    def start_log(self, limit: int) -> None:
        self.frame_log = []
        self.frame_log_limit = limit

    def stop_log(self) -> list[tuple[int, float]]:
        log, self.frame_log = self.frame_log or [], None
        return log

    def rtp(self, data: bytes) -> None:
        second = data[1]
        payload_type = second & PAYLOAD_TYPE_MASK
        if payload_type in self.video_types:
            sequence, timestamp = _SEQ_TS.unpack_from(data, 2)
            self.video.add(sequence, len(data))
            if self.first_video_at is None:
                self.first_video_at = time.monotonic()
                self.first_video_timestamp = timestamp
            if second & MARKER_BIT:
                self.video_frames += 1
                log = self.frame_log
                if log is not None and len(log) < self.frame_log_limit:
                    log.append((timestamp, time.monotonic()))
        elif payload_type in self.audio_types:
            sequence = data[2] << 8 | data[3]
            self.audio.add(sequence, len(data))
        else:
            self.other_packets += 1


def media_payload_types(sdp: str) -> dict[str, frozenset[int]]:
    """Payload types of the media codecs (not RTX/RED/FEC) in each audio/video section."""
    found: dict[str, set[int]] = {"audio": set(), "video": set()}
    kind: str | None = None
    for line in sdp.splitlines():
        if line.startswith("m="):
            kind = line[2:].split(" ", 1)[0]
        elif line.startswith("a=rtpmap:") and kind in found:
            number, _, encoding = line[len("a=rtpmap:") :].partition(" ")
            if encoding.split("/", 1)[0].lower() not in NOT_MEDIA_CODECS:
                found[kind].add(int(number))
    return {kind: frozenset(types) for kind, types in found.items()}


def _install_rtp_hook(pc: RTCPeerConnection, on_rtp: Callable[[bytes], None]) -> int:
    """Divert RTP datagrams on every ICE socket of ``pc`` to ``on_rtp``; returns sockets hooked.

    Called after ``setLocalDescription`` (host candidates gathered, sockets open). Only RTP is
    diverted: STUN (first byte 0-3), DTLS (20-63) and RTCP keep aiortc's path.
    """
    return wrap_ice_datagrams(pc, lambda original: _rtp_filter(original, on_rtp))


def _rtp_filter(
    original: Callable[[bytes, tuple[Any, ...]], None], on_rtp: Callable[[bytes], None]
) -> Callable[[bytes, tuple[Any, ...]], None]:
    def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
        if (
            len(data) > RTP_HEADER_BYTES
            and RTP_VERSION_MIN <= data[0] <= RTP_VERSION_MAX
            and not RTCP_TYPE_MIN <= data[1] <= RTCP_TYPE_MAX
        ):
            on_rtp(data)
        else:
            original(data, addr)

    return datagram_received


class LightViewer:
    """A WHEP viewer (video + audio, receive only) that counts what it gets and nothing more."""

    def __init__(
        self, endpoint: str, http: aiohttp.ClientSession, address: str | None = None
    ) -> None:
        self.endpoint = endpoint
        self._http = http
        # Sent as X-Forwarded-For (the bench server trusts loopback as its proxy): an audience
        # comes from many addresses, and the per-address limits apply to each, not to the bench.
        self.address = address
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        for kind in ("video", "audio"):
            self.pc.addTransceiver(kind, direction="recvonly")
        self.counter = RtpCounter()
        self.resource_url: str | None = None
        self.posted_at: float | None = None
        self.answered_at: float | None = None
        self.connected_at: float | None = None
        self.failed = False
        self._state_changed = asyncio.Event()
        self.pc.on("connectionstatechange", self._on_state)

    def _on_state(self) -> None:
        state = self.pc.connectionState
        if state == "connected" and self.connected_at is None:
            self.connected_at = time.monotonic()
        elif state in ("failed", "closed"):
            self.failed = True
        self._state_changed.set()

    async def connect(self) -> None:
        """Offer (candidates gathered), hook the sockets, POST, apply the answer."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        if not _install_rtp_hook(self.pc, self.counter.rtp):
            raise RuntimeError("no ICE socket to hook (are ICE host addresses configured?)")
        self.posted_at = time.monotonic()
        timeout = aiohttp.ClientTimeout(total=WHEP_HTTP_TIMEOUT)
        async with self._http.post(
            self.endpoint,
            data=self.pc.localDescription.sdp,
            headers=self._headers({"Content-Type": "application/sdp"}),
            timeout=timeout,
        ) as response:
            body = await response.text()
            if response.status != 201:
                raise WhepRefused(response.status, body[:200])
            self.resource_url = urljoin(self.endpoint, response.headers["Location"])
        self.answered_at = time.monotonic()
        types = media_payload_types(body)
        self.counter.video_types = types["video"]
        self.counter.audio_types = types["audio"]
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))

    def _headers(self, headers: dict[str, str]) -> dict[str, str]:
        if self.address is not None:
            headers["X-Forwarded-For"] = self.address
        return headers

    async def wait_connected(self) -> None:
        """Until ICE + DTLS are up (wrap in a timeout); raises if the peer fails."""
        while self.connected_at is None:
            if self.failed:
                raise ConnectionError(f"viewer peer {self.pc.connectionState}")
            self._state_changed.clear()
            await self._state_changed.wait()

    @property
    def ttff_from_connected(self) -> float | None:
        first, connected = self.counter.first_video_at, self.connected_at
        return None if first is None or connected is None else first - connected

    @property
    def ttff_from_post(self) -> float | None:
        first, posted = self.counter.first_video_at, self.posted_at
        return None if first is None or posted is None else first - posted

    async def close(self, *, delete: bool = True) -> None:
        if delete and self.resource_url is not None:
            url, self.resource_url = self.resource_url, None
            timeout = aiohttp.ClientTimeout(total=WHEP_DELETE_TIMEOUT)
            try:
                async with self._http.delete(url, headers=self._headers({}), timeout=timeout):
                    pass
            except (aiohttp.ClientError, TimeoutError):
                pass  # the server reaps the peer when its connection closes anyway
        try:
            await self.pc.close()
        except Exception:  # noqa: S110 - aiortc can raise while closing a half-open peer
            pass


def frame_latencies(
    log: list[tuple[int, float]],
    first_at: float | None,
    first_timestamp: int,
    publisher: TimedLoopTrack,
) -> list[float] | None:
    """Publisher hand-off → viewer arrival of each logged frame (its marker packet), in s.

    The viewer's first video frame is a keyframe: the publisher's last keyframe sent before it
    arrived, unless the relay was slower than the gap between keyframes; so the candidates are
    tried from the latest back, and the first that puts every frame after its sending is taken.
    ``None`` when no candidate fits (or the viewer got no video).
    """
    if first_at is None:
        return None
    sent_at = publisher.sent_at
    ticks = publisher.ticks_per_frame
    candidates = [k for k in publisher.keyframes if sent_at[k] <= first_at]
    for keyframe in reversed(candidates[-MAX_ALIGNMENT_CANDIDATES:]):
        latencies: list[float] = []
        for timestamp, arrived in log:
            frames, remainder = divmod((timestamp - first_timestamp) % TIMESTAMP_MODULO, ticks)
            index = keyframe + frames
            if remainder or index >= len(sent_at):
                latencies = []
                break
            latency = arrived - sent_at[index]
            if latency < 0:
                latencies = []
                break
            latencies.append(latency)
        if latencies or not log:
            return latencies
    return None
