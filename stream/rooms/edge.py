"""The edge's end of a relay link: a room live on another node, mirrored here for our viewers.

A viewer may reach any node (another machine, or another worker process on this one). When its
session is live on another node (the origin, found in the room's presence record), this node
opens one relay link to the origin's node link (``stream.http.nodes``) and keeps a *mirror*: a
:class:`~stream.rooms.room.Room` of its own, fed with the origin's frames, that serves every
viewer of the session on this node. The origin sends one copy of each frame per edge, whatever
the number of viewers there; each edge packetizes it once and forwards it to its viewers as any
room does. Viewers of an edge therefore cost the origin nothing, which spreads a room's
audience over processes and machines.

The mirror's publisher is the link (:class:`LinkPublisher`): attached while the origin has a
publisher, detached when it leaves, so the mirror waits for a returning publisher exactly as
the origin does (``ROOM_IDLE_GRACE``). A lost link is opened again, at the node the presence
record names then (the publisher may have come back elsewhere). A mirror without viewers for
``MIRROR_IDLE`` seconds closes its link. Mirrors are not in the node's room registry: they do
not record, write HLS, publish presence or fire webhooks; the origin does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import aiohttp

from stream.common.errors import Conflict, Unavailable
from stream.http.nodes import link_session, node_headers
from stream.rooms import link
from stream.rooms.room import Room

logger = logging.getLogger(__name__)

MIRROR_START_TIMEOUT = 5.0  # seconds a first viewer waits for the origin's first frames
MIRROR_IDLE = 30.0  # seconds without viewers before a mirror closes its link
LINK_CONNECT_TIMEOUT = 5.0
LINK_HEARTBEAT = 5.0  # WebSocket pings both ways: a dead node is noticed within ~10 s
LINK_RETRY = 1.0  # seconds between attempts to open a lost link again
REPORT_INTERVAL = 2.0  # how often the viewer count goes to the origin (when it changed)
MAX_MIRRORS = 1000  # sessions one node mirrors at once

# Where a session's origin node is reached (its node link), or None when it is live nowhere
# else; what the presence record says.
OriginLookup = Callable[[str], Awaitable[str | None]]


class LinkPublisher:
    """The mirror's publisher: the link, standing in for the origin's publisher."""

    def __init__(self, mirror: Mirror) -> None:
        self.id = f"link-{mirror.session_id}"
        self.answers_keyframe_requests = True
        self._mirror = mirror

    def request_keyframe(self) -> None:
        self._mirror.send_control(link.KEYFRAME_MESSAGE)

    async def stop(self, reason: str) -> None:
        await self._mirror.close(reason)


class Mirror:
    """One session's room on this edge and the link that feeds it."""

    def __init__(
        self,
        session_id: str,
        lookup: OriginLookup,
        secret: str,
        on_closed: Callable[[Mirror], None],
    ) -> None:
        self.session_id = session_id
        self.room = Room(session_id, on_idle=self._room_closed)
        self.room.log_prefix = f"[{session_id} edge]"
        self._lookup = lookup
        self._secret = secret
        self._on_closed = on_closed
        self.publisher = LinkPublisher(self)
        self._announced: dict[str, str] = {}
        self._ready = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_viewers_at = time.monotonic()
        self._reported: int | None = None
        self.links_opened = 0
        self.frames_in = 0
        self.closed = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def ready(self) -> Room:
        """The room once it carries every kind the origin announced (409 if not in time)."""
        if self._ready.is_set() and self.room.live:
            return self.room
        try:
            await asyncio.wait_for(self._ready.wait(), MIRROR_START_TIMEOUT)
        except TimeoutError:
            raise Conflict(
                "session is live on another node that does not answer yet",
                headers={"Retry-After": "2"},
            ) from None
        if self.closed or not self.room.live:
            raise Conflict("session is not live", headers={"Retry-After": "2"})
        return self.room

    # -- the link ------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            while not self.closed:
                origin = await self._lookup(self.session_id)
                if origin is None:
                    if self.room.publisher is None and not self.room.subscribers:
                        break  # live nowhere, nobody waiting: done
                else:
                    await self._follow(origin)
                if self._idle_too_long():
                    break
                await asyncio.sleep(LINK_RETRY)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s relay link failed", self.room.log_prefix)
        if not self.closed:
            await self.close("relay link ended")

    async def _follow(self, origin: str) -> None:
        """Open the link to ``origin`` and feed the room until it ends."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=LINK_CONNECT_TIMEOUT)
        session, base = link_session(origin, timeout)
        try:
            async with session:
                ws = await session.ws_connect(
                    f"{base}/relay/{self.session_id}",
                    headers=node_headers(self._secret),
                    heartbeat=LINK_HEARTBEAT,
                    max_msg_size=link.MAX_LINK_FRAME + link.FRAME_HEADER.size,
                    compress=0,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=LINK_CONNECT_TIMEOUT),
                )
                self._ws = ws
                self.links_opened += 1
                self._reported = None
                logger.info("%s relay link to %s open", self.room.log_prefix, origin)
                reporter = asyncio.get_running_loop().create_task(self._report())
                try:
                    await self._read(ws)
                finally:
                    reporter.cancel()
                    self._ws = None
                    await ws.close()
        except (aiohttp.ClientError, OSError, TimeoutError, link.LinkError) as exc:
            logger.info("%s relay link to %s failed: %s", self.room.log_prefix, origin, exc)
        finally:
            self.room.detach(self.publisher)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                frame = link.decode_frame(message.data)
                if self.room.publisher is self.publisher:
                    self.frames_in += 1
                    self.room.push(frame.kind, frame.codec, frame.data, frame.timestamp)
                    if not self._ready.is_set() and self._announced.keys() <= set(
                        self.room.codecs()
                    ):
                        self._ready.set()
            elif message.type == aiohttp.WSMsgType.TEXT:
                self._control(message.data)
            else:
                break  # closed or an error

    def _control(self, message: str) -> None:
        decoded = link.decode_control(message)
        if decoded["type"] == "publisher":
            state = link.publisher(decoded)
            self._announced = state.codecs
            self.publisher.answers_keyframe_requests = state.keyframes
            if self.room.publisher is None:
                self.room.attach(self.publisher)
        elif decoded["type"] == "left":
            self.room.detach(self.publisher)
        else:
            raise link.LinkError(f"{decoded['type']} is not a message an origin sends")

    def send_control(self, message: str) -> None:
        ws = self._ws
        if ws is not None and not ws.closed:
            task = asyncio.get_running_loop().create_task(ws.send_str(message))
            task.add_done_callback(_ignore_result)

    async def _report(self) -> None:
        """Tell the origin our viewer count when it changed; note how long we have had none."""
        while True:
            count = self.room.viewer_count
            if count:
                self._last_viewers_at = time.monotonic()
            if count != self._reported and self._ws is not None and not self._ws.closed:
                self._reported = count
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await self._ws.send_str(link.viewers_message(count))
            if self._idle_too_long():
                await self.close("no viewers here")
                return
            await asyncio.sleep(REPORT_INTERVAL)

    def _idle_too_long(self) -> bool:
        if self.room.viewer_count:
            self._last_viewers_at = time.monotonic()
            return False
        return time.monotonic() - self._last_viewers_at > MIRROR_IDLE

    # -- lifetime ------------------------------------------------------------------------

    def _room_closed(self, room: Room) -> None:
        """The mirror's room closed itself (the publisher did not come back)."""
        if not self.closed:
            asyncio.get_running_loop().create_task(self.close("publisher did not return"))

    async def close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self._ready.set()  # a viewer waiting in ready() gets its answer now
        self._on_closed(self)
        task = self._task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        await self.room.close(reason)

    def stats(self) -> dict[str, object]:
        return {**self.room.stats(), "links_opened": self.links_opened}


def _ignore_result(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a link that went away is handled by the reader


class Edges:
    """The sessions this node mirrors from other nodes."""

    def __init__(self, lookup: OriginLookup, secret: str) -> None:
        self._lookup = lookup
        self._secret = secret
        self._mirrors: dict[str, Mirror] = {}

    def get(self, session_id: str) -> Room | None:
        mirror = self._mirrors.get(session_id)
        return mirror.room if mirror is not None else None

    async def room(self, session_id: str) -> Room:
        """The session's mirror, opened if need be, once it carries the origin's media."""
        mirror = self._mirrors.get(session_id)
        if mirror is None or mirror.closed:
            if len(self._mirrors) >= MAX_MIRRORS:
                raise Unavailable("this node mirrors too many sessions; retry")
            mirror = Mirror(session_id, self._lookup, self._secret, self._forget)
            self._mirrors[session_id] = mirror
            mirror.start()
        return await mirror.ready()

    def _forget(self, mirror: Mirror) -> None:
        if self._mirrors.get(mirror.session_id) is mirror:
            del self._mirrors[mirror.session_id]

    def rooms(self) -> list[Room]:
        return [mirror.room for mirror in self._mirrors.values()]

    def mirrors(self) -> list[Mirror]:
        return list(self._mirrors.values())

    async def close_all(self, reason: str) -> None:
        await asyncio.gather(
            *(mirror.close(reason) for mirror in self.mirrors()), return_exceptions=True
        )
