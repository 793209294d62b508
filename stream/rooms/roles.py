"""What a room deals with: its publisher, its viewers' outputs, and the sinks beside viewers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from aiortc import RTCPeerConnection

from stream.rooms.forward import SendClock
from stream.rooms.media import MediaFrame


class Publisher(Protocol):
    """What a room needs of whoever publishes into it."""

    id: str
    # WebRTC publishers send a keyframe when asked (PLI). Others (RTMP) cannot: for them the
    # room keeps the frames since the last keyframe and starts new viewers from there.
    answers_keyframe_requests: bool

    def request_keyframe(self) -> None: ...

    async def stop(self, reason: str) -> None:
        """End this publisher now (its key was rotated, its window closed), whatever its
        ingest; the room sees it detach."""
        ...


class Output(Protocol):
    """One viewer's stream of one kind (``stream.rooms.forward.RtpOutput``).

    The room hands it every frame of its kind in order; an output still ``waiting_for_keyframe``
    gets only keyframes until the room has started it (a keyframe asked of the publisher, or the
    cached frames since the last one, once ``connected``).
    """

    kind: str
    waiting_for_keyframe: bool
    keyframe_requested: bool
    created: float
    first_keyframe_at: float | None

    @property
    def connected(self) -> bool: ...

    def send(self, frame: MediaFrame, clock: SendClock) -> float | None: ...

    def restart(self) -> None: ...

    def close(self) -> None: ...


class ViewerOutputs(Protocol):
    """How a room's frames reach its viewers: adds one viewer's output of one kind to its peer.

    One instance per room. The platform forwards encoded frames
    (:class:`stream.rooms.forward.Forwarding`, the default); the relay benchmark injects its
    re-encoding baseline (``stream.bench.reencode``) through :class:`RoomRegistry`.
    """

    def add(
        self,
        pc: RTCPeerConnection,
        kind: str,
        codec: str,
        request_keyframe: Callable[[], None],
    ) -> Output: ...


ViewerOutputsFactory = Callable[[], ViewerOutputs]


class FrameSink(Protocol):
    """Something besides viewers that takes every frame of a room (the recorder, HLS).

    Called on the event loop, so each call must return at once (hand the frame to a thread).
    A sink that raises is removed; the relay goes on.
    """

    def publisher_attached(self) -> None: ...

    def frame(self, frame: MediaFrame) -> None: ...

    def publisher_left(self) -> None: ...

    def room_closed(self) -> None: ...
