"""Who watches, counted in this process, and the one task that samples it into Redis.

**Concurrent viewers** of a live session, at a sample, are two numbers summed over the nodes:

- *watching*: players receiving the video: the WebRTC (WHEP) viewers of the session's room
  (on the node that hosts it) plus the HLS players, each distinct address that fetched the live
  playlist on a node during the last ``HLS_WINDOW`` seconds (players refetch it every segment,
  ~2 s, so a playing one is never missed);
- *on the page*: the session's page sockets (``/ws/{id}``: watch pages, phones in the room,
  stage screens, moderators), open on each node.

**Unique viewers**: distinct addresses (as keyed hashes) that played the video or opened a page
socket while the session was live; people behind one address (a venue's network) count once
there, while the concurrent counts above count each of them.

The counts are kept in memory by the composition root's handler wrappers (:func:`count_whep`,
:func:`count_hls`, :func:`count_sockets`) and the rooms; :class:`ViewerSampler` is one task per
process that, once per bucket, writes the count of every session live anywhere that has a
viewer or socket here (one Redis round trip to ask which are live, one to write them all):
nothing per viewer, nothing per room.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from aiohttp import web

from stream.analytics.curve import SAMPLE_INTERVAL, CurveWriter, NodeSample
from stream.common.errors import BadRequest
from stream.common.ids import validate_session_id
from stream.http.client import client_address
from stream.http.keys import AUTH_SECRET, EDGES, REDIS, ROOMS, VIEWERS
from stream.http.render import Handler
from stream.rooms.presence import presence_key
from stream.rooms.room import Room
from stream.store import Redis

logger = logging.getLogger(__name__)

HLS_WINDOW = float(SAMPLE_INTERVAL)  # seconds an HLS playlist fetch counts as a player
MAX_PENDING_TAGS = 50_000  # per session between two samples: past it, new ones are dropped
HLS_PLAYLIST = "index.m3u8"
TAG_BYTES = 12


@dataclass(slots=True)
class _SessionTally:
    sockets: Counter[str] = field(default_factory=Counter)  # open sockets by address tag
    hls: dict[str, float] = field(default_factory=dict)  # address tag → last playlist fetch
    joined: set[str] = field(default_factory=set)  # tags seen since the last sample

    @property
    def idle(self) -> bool:
        return not self.sockets and not self.hls and not self.joined


class ViewerTally:
    """This process's viewers and page sockets, per session (in memory only)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._sessions: dict[str, _SessionTally] = {}

    def tag(self, address: str) -> str:
        """The address as a keyed hash: countable, never stored as itself."""
        digest = hmac.new(self._secret, b"viewer:" + address.encode(), hashlib.sha256)
        return digest.hexdigest()[: TAG_BYTES * 2]

    def _of(self, session_id: str) -> _SessionTally:
        tally = self._sessions.get(session_id)
        if tally is None:
            tally = self._sessions[session_id] = _SessionTally()
        return tally

    def joined(self, session_id: str, tag: str) -> None:
        """A WebRTC viewer joined (counted by the room while it stays)."""
        pending = self._of(session_id).joined
        if len(pending) < MAX_PENDING_TAGS:
            pending.add(tag)

    def hls_fetch(self, session_id: str, tag: str, now: float) -> None:
        tally = self._of(session_id)
        if tag in tally.hls or len(tally.hls) < MAX_PENDING_TAGS:
            tally.hls[tag] = now

    def socket_opened(self, session_id: str, tag: str) -> None:
        self._of(session_id).sockets[tag] += 1

    def socket_closed(self, session_id: str, tag: str) -> None:
        tally = self._sessions.get(session_id)
        if tally is None:
            return
        tally.sockets[tag] -= 1
        if tally.sockets[tag] <= 0:
            del tally.sockets[tag]
        if tally.idle:
            del self._sessions[session_id]

    def sessions(self) -> set[str]:
        return set(self._sessions)

    def pages(self, session_id: str) -> int:
        tally = self._sessions.get(session_id)
        return sum(tally.sockets.values()) if tally else 0

    def take(self, session_id: str, now: float, live: bool) -> tuple[int, frozenset[str]]:
        """The HLS players of the last window and the tags to count as unique (emptied: a
        session not live counts none of them)."""
        tally = self._sessions.get(session_id)
        if tally is None:
            return 0, frozenset()
        tally.hls = {t: at for t, at in tally.hls.items() if now - at <= HLS_WINDOW}
        tags = frozenset(tally.joined | tally.hls.keys() | tally.sockets.keys()) if live else None
        tally.joined = set()
        players = len(tally.hls)
        if tally.idle:
            del self._sessions[session_id]
        return players, tags or frozenset()


class ViewerSampler:
    """One task per process: every bucket, this node's counts of the live sessions."""

    def __init__(
        self,
        redis: Redis,
        rooms: Callable[[], list[Room]],
        tally: ViewerTally,
        node: str,
        interval: int = SAMPLE_INTERVAL,
    ) -> None:
        self.redis = redis
        self.rooms = rooms
        self.tally = tally
        self.writer = CurveWriter(redis, node, interval)
        self.interval = interval
        self.samples_written = 0
        self.task: asyncio.Task[None] | None = None

    async def _live_elsewhere(self, session_ids: list[str]) -> set[str]:
        if not session_ids:
            return set()
        async with self.redis.pipeline(transaction=False) as pipe:
            for session_id in session_ids:
                pipe.exists(presence_key(session_id))
            found = await pipe.execute()
        return {s for s, n in zip(session_ids, found, strict=True) if n}

    async def sample(self, now: float | None = None) -> list[NodeSample]:
        """Count and write this node's sample of every live session (returns what it wrote)."""
        now = time.time() if now is None else now
        here = {room.session_id: room for room in self.rooms() if room.live}
        others = sorted(self.tally.sessions() - here.keys())
        live = set(here) | await self._live_elsewhere(others)
        samples = []
        for session_id in sorted(here.keys() | self.tally.sessions()):
            players, tags = self.tally.take(session_id, now, session_id in live)
            if session_id not in live:
                continue
            room = here.get(session_id)
            webrtc = room.viewer_count if room is not None else 0
            samples.append(
                NodeSample(session_id, webrtc + players, self.tally.pages(session_id), tags)
            )
        await self.writer.write(samples, now)
        self.samples_written += len(samples)
        return samples

    def delay(self, now: float) -> float:
        """Seconds to the middle of the next bucket (clocks a few seconds apart still agree on
        the bucket, and a late tick does not land in the bucket after)."""
        half = self.interval / 2
        return self.interval - ((now - half) % self.interval)

    def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name="viewer-sampler")

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.delay(time.time()))
            try:
                await self.sample()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away for a moment: this bucket is missed
                logger.warning("viewer sample failed: %s", exc)


def node_id() -> str:
    """This server's field in the curve's per-node hash: host, process and a random suffix,
    made once at start. Not the node's URL: nodes configured alike (no public URL, the same
    port) would share it and overwrite each other's counts."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


async def viewers_context(app: web.Application) -> AsyncIterator[None]:
    """The tally the handlers feed and the sampler task (after the rooms and the login secret)."""
    tally = ViewerTally(app[AUTH_SECRET])

    def rooms() -> list[Room]:  # ours, and those mirrored here from other nodes
        return app[ROOMS].all() + app[EDGES].rooms()

    sampler = ViewerSampler(app[REDIS], rooms, tally, node_id())
    app[VIEWERS] = sampler
    sampler.start()
    try:
        yield
    finally:
        await sampler.stop()


def _session_and_tag(request: web.Request) -> tuple[ViewerTally, str, str] | None:
    if VIEWERS not in request.app:
        return None
    try:
        session_id = validate_session_id(request.match_info["session"])
    except BadRequest:
        return None
    tally = request.app[VIEWERS].tally
    return tally, session_id, tally.tag(client_address(request))


def count_whep(handler: Handler) -> Handler:
    """A WHEP viewer that got its answer (201) counts among the session's unique viewers."""

    async def counted(request: web.Request) -> web.StreamResponse:
        response = await handler(request)
        found = _session_and_tag(request)
        if found is not None and response.status == 201:
            tally, session_id, tag = found
            tally.joined(session_id, tag)
        return response

    return counted


def count_hls(handler: Handler) -> Handler:
    """A served live playlist marks its address as an HLS player for ``HLS_WINDOW``."""

    async def counted(request: web.Request) -> web.StreamResponse:
        response = await handler(request)
        found = _session_and_tag(request)
        if found is not None and request.match_info.get("file", HLS_PLAYLIST) == HLS_PLAYLIST:
            tally, session_id, tag = found
            tally.hls_fetch(session_id, tag, time.time())
        return response

    return counted


def count_sockets(handler: Handler) -> Handler:
    """The session's page socket counts while its handler runs."""

    async def counted(request: web.Request) -> web.StreamResponse:
        found = _session_and_tag(request)
        if found is None:
            return await handler(request)
        tally, session_id, tag = found
        tally.socket_opened(session_id, tag)
        try:
            return await handler(request)
        finally:
            tally.socket_closed(session_id, tag)

    return counted
