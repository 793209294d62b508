"""The origin's end of a relay link: a room's frames on their way to one edge node.

An edge (``stream.rooms.edge``) that has viewers of a room live here opens a relay link
(``GET /relay/{session}``). The link joins the room as one subscriber (``relay=True``: not
counted as a viewer) with one :class:`LinkOutput` per kind, so it gets the room's frames the way
a viewer does: on the room's continuous timeline, video from a keyframe (the cached one or one
asked of the publisher), audio first. It is also a frame sink, for the publisher's comings and
goings. Frames are queued and written by one task; an edge more than ``MAX_LINK_BACKLOG``
behind skips video to the next keyframe, as a slow viewer does.

The edge reports its viewers (``Room.relayed_viewers``: the origin's presence shows the whole
audience) and forwards its viewers' keyframe requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable

from stream.rooms import link
from stream.rooms.forward import SendClock
from stream.rooms.media import MediaFrame
from stream.rooms.roles import Output
from stream.rooms.room import Room

logger = logging.getLogger(__name__)

# Bytes queued for one edge before its video skips to the next keyframe (~20 s of 1.5 Mbit/s:
# an edge that far behind is better restarted at a keyframe than served late).
MAX_LINK_BACKLOG = 4 * 1024 * 1024
# Relay links one room serves at once (an edge per node of the deployment).
MAX_LINKS_PER_ROOM = 64

Send = Callable[[bytes | str], Awaitable[None]]


class LinkOutput:
    """The room's output of one kind towards one edge."""

    def __init__(self, kind: str, uplink: Uplink) -> None:
        self.kind = kind
        self._uplink = uplink
        self.waiting_for_keyframe = kind == "video"
        self.keyframe_requested = False
        self.created = time.monotonic()
        self.first_keyframe_at: float | None = None
        self.closed = False
        self.frames_dropped = 0

    @property
    def connected(self) -> bool:
        return not self.closed

    def send(self, frame: MediaFrame, clock: SendClock) -> float | None:
        if self.closed:
            return None
        if self.waiting_for_keyframe:
            if not frame.keyframe:
                self.frames_dropped += 1
                return None
            self.waiting_for_keyframe = False
        if len(frame.data) > link.MAX_LINK_FRAME or self._uplink.backlog > MAX_LINK_BACKLOG:
            self.frames_dropped += 1
            if self.kind == "video":  # a gap breaks decoding: start again at a keyframe
                self.waiting_for_keyframe = True
                self.keyframe_requested = True
                self._uplink.room.keyframes.request()
            return None
        if frame.keyframe and self.first_keyframe_at is None and self.kind == "video":
            self.first_keyframe_at = clock.monotonic
        self._uplink.enqueue(
            link.encode_frame(frame.kind, frame.codec, frame.keyframe, frame.timestamp, frame.data)
        )
        return clock.monotonic - frame.arrival

    def restart(self) -> None:
        if self.kind == "video":
            self.waiting_for_keyframe = True
            self.keyframe_requested = False

    def close(self) -> None:
        self.closed = True


class Uplink:
    """One relay link: subscribed to the room, writing to the edge through ``send``."""

    def __init__(self, room: Room, send: Send, close: Callable[[str], Awaitable[None]]) -> None:
        self.room = room
        self.id = f"relay-{secrets.token_hex(6)}"
        self._send = send
        self._close = close
        self._queue: deque[bytes | str] = deque()
        self.backlog = 0
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self.closed = False

    def start(self) -> None:
        """Join the room (subscriber and sink) and start writing; the room must be live."""
        self._writer = asyncio.get_running_loop().create_task(self._write())
        # Both kinds, whatever has arrived yet: each frame names its codec.
        outputs: dict[str, Output] = {kind: LinkOutput(kind, self) for kind in link.KINDS}
        self.room.subscribe(self.id, self._disconnect, outputs, relay=True)
        self.room.add_sink(self)  # sends the publisher message: one is attached
        self.room.viewer_connected(self.id)

    async def stop(self) -> None:
        self.closed = True
        self.room.unsubscribe(self.id)
        self.room.remove_sink(self)
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def _disconnect(self, reason: str) -> None:
        await self._close(reason)

    # -- what the edge says --------------------------------------------------------------

    def control(self, message: str) -> None:
        """A text message from the edge (raises ``link.LinkError`` for a bad one)."""
        decoded = link.decode_control(message)
        kind = decoded["type"]
        if kind == "keyframe":
            self.room.keyframes.request()
        elif kind == "viewers":
            if self.id in self.room.subscribers:
                self.room.relayed_viewers[self.id] = link.viewer_count(decoded)
        else:
            raise link.LinkError(f"{kind} is not a message an edge sends")

    # -- the room's sink events -----------------------------------------------------------

    def publisher_attached(self) -> None:
        publisher = self.room.publisher
        if publisher is not None:
            self.enqueue(
                link.publisher_message(publisher.answers_keyframe_requests, self.room.codecs())
            )

    def frame(self, frame: MediaFrame) -> None:
        """Frames reach the link as a subscriber's (on the room's timeline), not here."""

    def publisher_left(self) -> None:
        self.enqueue(link.LEFT_MESSAGE)

    def room_closed(self) -> None:
        """The room disconnects its subscribers, this link among them."""

    # -- writing -------------------------------------------------------------------------

    def enqueue(self, message: bytes | str) -> None:
        if self.closed:
            return
        self._queue.append(message)
        self.backlog += len(message)
        self._wakeup.set()

    async def _write(self) -> None:
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            message = self._queue.popleft()
            try:
                await self._send(message)
            except (ConnectionError, RuntimeError) as exc:  # the edge went away
                logger.info("%s relay link %s ended: %s", self.room.log_prefix, self.id, exc)
                self.closed = True
                return
            finally:
                self.backlog -= len(message)
