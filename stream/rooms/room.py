"""A room per live session: one publisher, any number of subscribers, encoded frames between.

The publisher's tap pushes each depacketized frame into :meth:`Room.push`; the room packetizes
it once, keeps its timestamps continuous across publisher restarts, and its fan-out task hands
the frame to every subscriber's outputs, yielding to the event loop every few viewers so ingest
keeps being read. The room's :class:`ViewerOutputs` makes those outputs: forwarding
(``stream.rooms.forward``) unless another strategy is injected (the relay benchmark's
re-encoding baseline).

A viewer starts at a keyframe the moment it is connected (:meth:`Room.viewer_connected`, between
two frames of the fan-out): asked of the publisher (merged, throttled PLIs), or taken from the
frames since the last keyframe, which the room keeps: always for publishers that cannot answer
keyframe requests (RTMP), for the others when that keyframe is recent (``RECENT_KEYFRAME``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from stream.common.errors import Conflict
from stream.rooms.forward import Forwarding, SendClock
from stream.rooms.keyframes import KeyframeRequester
from stream.rooms.media import CLOCK_RATES, MediaFrame, Packetizer, is_keyframe
from stream.rooms.roles import FrameSink, Output, Publisher, ViewerOutputs, ViewerOutputsFactory
from stream.rooms.stats import SampleWindow

logger = logging.getLogger(__name__)

ROOM_IDLE_GRACE = 30.0  # seconds viewers stay attached while the publisher is gone
TIMESTAMP_MODULO = 1 << 32
MIN_FRAME_GAP = {"audio": 960, "video": 3000}  # one frame at 48 kHz / 90 kHz
MAX_GOP_CACHE_FRAMES = 300  # ~10 s at 30 fps; a longer GOP is not cached
# A viewer that connects this soon after a keyframe starts from the cached keyframe (a short
# burst) instead of asking the publisher for a new one.
RECENT_KEYFRAME = 0.5
FANOUT_BATCH = 16  # viewers served between two yields to the event loop
MAX_OUTBOX_FRAMES = 90  # ~1 s of audio+video: past this the server is overloaded


RoomObserver = Callable[["Room"], None]


@dataclass(eq=False)
class Subscriber:
    """One viewer: its outputs by kind, and how to disconnect it."""

    id: str
    outputs: dict[str, Output]
    disconnect: Callable[[str], Awaitable[None]]
    created: float = field(default_factory=time.monotonic)
    # A relay link to an edge node (``stream.rooms.uplink``), not a viewer: not counted.
    relay: bool = False


@dataclass
class _KindState:
    codec: str
    packetizer: Packetizer
    offset: int = 0
    rebase: bool = True
    last_out: int | None = None
    last_out_time: float = 0.0
    frames: int = 0
    bytes: int = 0


class Room:
    def __init__(
        self,
        session_id: str,
        *,
        on_idle: Callable[[Room], None] | None = None,
        outputs: ViewerOutputs | None = None,
    ) -> None:
        self.session_id = session_id
        self.outputs: ViewerOutputs = outputs if outputs is not None else Forwarding()
        self.publisher: Publisher | None = None
        self.subscribers: dict[str, Subscriber] = {}
        self._kinds: dict[str, _KindState] = {}
        self._on_idle = on_idle
        self._idle_timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.keyframes = KeyframeRequester(self._send_keyframe_request)
        self._gop: list[MediaFrame] = []
        self._outbox: deque[MediaFrame] = deque()
        # Audio has its own queue: it goes out first, also between two batches of a video
        # frame's viewers, so it never waits behind a keyframe's burst.
        self._audio: deque[MediaFrame] = deque()
        self._wakeup = asyncio.Event()
        self._connected: set[str] = set()  # viewers to start before the next frame
        self._fanout_task: asyncio.Task[None] | None = None
        self.frames_shed = 0
        self.relay_latency = SampleWindow()
        self.live_since: float | None = None
        self.closed = False
        self.log_prefix = f"[{session_id}]"
        self.sinks: list[FrameSink] = []
        self.last_keyframe_at: float | None = None
        self.relays = 0  # subscribers that are relay links
        # Viewers each relay link's edge reported (by subscriber id).
        self.relayed_viewers: dict[str, int] = {}

    # -- publisher side -------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """A publisher is attached and media has arrived."""
        return self.publisher is not None and self.live_since is not None

    def codecs(self) -> dict[str, str]:
        return {kind: state.codec for kind, state in self._kinds.items()}

    def attach(self, publisher: Publisher) -> None:
        if self.publisher is not None:
            raise Conflict("session already has a publisher")
        if self.closed:
            raise Conflict("session room is closing; retry")
        self.publisher = publisher
        self.live_since = None
        self._gop = []
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        for state in self._kinds.values():
            state.rebase = True
        for subscriber in self.subscribers.values():
            for output in subscriber.outputs.values():
                output.restart()
        self._tell_sinks("publisher_attached")
        logger.info("%s publisher %s attached", self.log_prefix, publisher.id[:6])

    def detach(self, publisher: Publisher) -> None:
        if self.publisher is not publisher:
            return
        self.publisher = None
        self.live_since = None
        self.keyframes.close()
        self._tell_sinks("publisher_left")
        logger.info("%s publisher %s left", self.log_prefix, publisher.id[:6])
        self._idle_timer = asyncio.get_running_loop().call_later(ROOM_IDLE_GRACE, self._idle)

    def push(self, kind: str, codec: str, data: bytes, timestamp: int) -> None:
        """One depacketized frame from the publisher (called on the event loop)."""
        if self.publisher is None:
            return
        state = self._kinds.get(kind)
        if state is None or state.codec != codec:
            if state is not None:
                self._codec_changed(kind, state.codec, codec)
            state = self._kinds[kind] = _KindState(codec=codec, packetizer=Packetizer(codec))
        now = time.monotonic()
        if state.rebase:
            state.offset = self._rebase_offset(kind, state, timestamp, now)
            state.rebase = False
        out_ts = (timestamp + state.offset) % TIMESTAMP_MODULO
        state.last_out = out_ts
        state.last_out_time = now
        state.frames += 1
        state.bytes += len(data)
        keyframe = is_keyframe(codec, data)
        if keyframe and kind == "video":
            self.keyframes.keyframe_arrived()
            self.last_keyframe_at = now
        if self.live_since is None:
            self.live_since = now
            logger.info("%s live (%s %s)", self.log_prefix, kind, codec)
        if self.sinks:
            self._feed_sinks(
                MediaFrame(
                    kind=kind, codec=codec, data=data, timestamp=timestamp,
                    keyframe=keyframe, arrival=now,
                )
            )  # fmt: skip
        if not self.subscribers and self.publisher.answers_keyframe_requests and kind == "audio":
            return  # nobody to send to, and nothing to cache
        payloads, runs, octets = state.packetizer.packetize_frame(data)
        frame = MediaFrame(
            kind=kind,
            codec=codec,
            data=data,
            timestamp=out_ts,
            keyframe=keyframe,
            arrival=now,
            payloads=payloads,
            runs=runs,
            octets=octets,
        )
        if len(self._outbox) + len(self._audio) >= MAX_OUTBOX_FRAMES:
            self._shed()
        (self._audio if kind == "audio" else self._outbox).append(frame)
        self._wakeup.set()
        if self._fanout_task is None:
            self._fanout_task = asyncio.get_running_loop().create_task(self._fanout())

    # -- sinks (recorder, HLS) -----------------------------------------------------------

    def add_sink(self, sink: FrameSink) -> None:
        self.sinks.append(sink)
        if self.publisher is not None:
            sink.publisher_attached()

    def remove_sink(self, sink: FrameSink) -> None:
        if sink in self.sinks:
            self.sinks.remove(sink)

    def _feed_sinks(self, frame: MediaFrame) -> None:
        """Each sink gets the publisher's frame with its own timestamp (not the room's)."""
        for sink in list(self.sinks):
            try:
                sink.frame(frame)
            except Exception:  # a sink never stops the relay
                logger.exception("%s frame sink failed; removed", self.log_prefix)
                self.remove_sink(sink)

    def _tell_sinks(self, event: str) -> None:
        for sink in list(self.sinks):
            try:
                getattr(sink, event)()
            except Exception:
                logger.exception("%s frame sink failed on %s; removed", self.log_prefix, event)
                self.remove_sink(sink)

    def _shed(self) -> None:
        """Fan-out fell a second behind: drop the backlog, restart video at a keyframe."""
        self.frames_shed += len(self._outbox) + len(self._audio)
        self._outbox.clear()
        self._audio.clear()
        for subscriber in self.subscribers.values():
            output = subscriber.outputs.get("video")
            if output is not None:
                output.restart()
        logger.warning("%s fan-out overloaded: backlog dropped", self.log_prefix)

    async def _fanout(self) -> None:
        while True:
            if self._connected:
                self._start_connected()
            if self._audio:
                self._send_audio()
                await asyncio.sleep(0)
                continue
            if not self._outbox:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            frame = self._outbox.popleft()
            if frame.kind == "video":
                self._cache_gop(frame)
            clock = SendClock.now()
            for index, subscriber in enumerate(list(self.subscribers.values())):
                self._deliver(frame, subscriber, clock)
                if index % FANOUT_BATCH == FANOUT_BATCH - 1:
                    await asyncio.sleep(0)
                    if self._audio:
                        self._send_audio()
                    clock = SendClock.now()

    def _send_audio(self) -> None:
        """Every queued audio frame to every viewer (small: one packet each)."""
        while self._audio:
            frame = self._audio.popleft()
            clock = SendClock.now()
            for subscriber in list(self.subscribers.values()):
                self._deliver(frame, subscriber, clock)

    def _deliver(self, frame: MediaFrame, subscriber: Subscriber, clock: SendClock) -> None:
        output = subscriber.outputs.get(frame.kind)
        if output is None or self.subscribers.get(subscriber.id) is not subscriber:
            return  # no such stream, or dropped meanwhile
        try:
            if output.waiting_for_keyframe and not frame.keyframe:
                self._start(output, clock)
                return
            latency = output.send(frame, clock)
        except Exception:  # one broken viewer never stops the room
            logger.exception("%s viewer %s failed", self.log_prefix, subscriber.id[:6])
            self.unsubscribe(subscriber.id)
            self._spawn(subscriber.disconnect("send failed"))
            return
        if latency is not None:
            self.relay_latency.add(latency)

    def viewer_connected(self, subscriber_id: str) -> None:
        """A viewer's connection is up: start it now rather than at the next frame of its kind.

        Done by the fan-out task between two frames, so the cached frames it gets never overlap
        the frame being fanned out."""
        if subscriber_id in self.subscribers and self._fanout_task is not None:
            self._connected.add(subscriber_id)
            self._wakeup.set()

    def _start_connected(self) -> None:
        clock = SendClock.now()
        connected, self._connected = self._connected, set()
        for subscriber_id in connected:
            subscriber = self.subscribers.get(subscriber_id)
            try:
                for output in subscriber.outputs.values() if subscriber else ():
                    if output.waiting_for_keyframe:
                        self._start(output, clock)
            except Exception:  # one broken viewer never stops the room
                logger.exception("%s viewer %s failed", self.log_prefix, subscriber_id[:6])
                self.unsubscribe(subscriber_id)
                if subscriber is not None:
                    self._spawn(subscriber.disconnect("send failed"))

    def _start(self, output: Output, clock: SendClock) -> None:
        """A viewer waits for a keyframe: once it is connected, get it one."""
        if output.keyframe_requested or not output.connected:
            return
        output.keyframe_requested = True
        gop = self._gop
        publisher = self.publisher
        cached = bool(gop) and (
            (publisher is not None and not publisher.answers_keyframe_requests)
            or clock.monotonic - gop[0].arrival <= RECENT_KEYFRAME
        )
        if cached:
            for frame in gop:  # ends with the frame being fanned out
                output.send(frame, clock)
        else:
            self.keyframes.request()

    def _cache_gop(self, frame: MediaFrame) -> None:
        if frame.keyframe:
            self._gop = [frame]
        elif self._gop and len(self._gop) < MAX_GOP_CACHE_FRAMES:
            self._gop.append(frame)
        else:
            self._gop = []

    @staticmethod
    def _rebase_offset(kind: str, state: _KindState, timestamp: int, now: float) -> int:
        """Continue the room's timeline after a publisher change instead of jumping back."""
        if state.last_out is None:
            return 0
        elapsed = int((now - state.last_out_time) * CLOCK_RATES[state.codec])
        target = state.last_out + max(MIN_FRAME_GAP[kind], elapsed)
        return target - timestamp

    def _codec_changed(self, kind: str, old: str, new: str) -> None:
        logger.info("%s %s codec changed %s -> %s", self.log_prefix, kind, old, new)
        for subscriber in list(self.subscribers.values()):
            if kind in subscriber.outputs:
                self._spawn(subscriber.disconnect("codec changed"))

    def _send_keyframe_request(self) -> None:
        if self.publisher is not None:
            self.publisher.request_keyframe()

    # -- subscriber side ------------------------------------------------------------------

    def subscribe(
        self,
        subscriber_id: str,
        disconnect: Callable[[str], Awaitable[None]],
        outputs: dict[str, Output],
        *,
        relay: bool = False,
    ) -> Subscriber:
        """Add a viewer (or a relay link); each output starts at a keyframe once its viewer
        is connected."""
        if subscriber_id in self.subscribers:
            raise Conflict("subscriber already in the room")
        subscriber = Subscriber(subscriber_id, outputs, disconnect, relay=relay)
        self.subscribers[subscriber_id] = subscriber
        self.relays += relay
        return subscriber

    def unsubscribe(self, subscriber_id: str) -> None:
        subscriber = self.subscribers.pop(subscriber_id, None)
        if subscriber is not None:
            self.relays -= subscriber.relay
            self.relayed_viewers.pop(subscriber_id, None)
            for output in subscriber.outputs.values():
                output.close()

    @property
    def viewer_count(self) -> int:
        """This node's viewers of the room."""
        return len(self.subscribers) - self.relays

    @property
    def audience(self) -> int:
        """Viewers here and at the edges this room is relayed to."""
        return self.viewer_count + sum(self.relayed_viewers.values())

    def stats(self) -> dict[str, object]:
        return {
            "session": self.session_id,
            "live": self.live,
            "viewers": self.viewer_count,
            "relays": self.relays,
            "audience": self.audience,
            "codecs": self.codecs(),
            "frames_in": {kind: state.frames for kind, state in self._kinds.items()},
            "bytes_in": {kind: state.bytes for kind, state in self._kinds.items()},
            "keyframe_requests_sent": self.keyframes.sent,
            "frames_shed": self.frames_shed,
            "relay_latency_ms": {
                f"p{q}": _ms(self.relay_latency.percentile(q)) for q in (50, 95, 99)
            },
        }

    # -- lifetime -------------------------------------------------------------------------

    def _idle(self) -> None:
        self._idle_timer = None
        if self.publisher is None:
            self._spawn(self.close("publisher did not return"))

    async def close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self.keyframes.close()
        if self._fanout_task is not None:
            self._fanout_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fanout_task
        subscribers = list(self.subscribers.values())
        await asyncio.gather(
            *(subscriber.disconnect(reason) for subscriber in subscribers), return_exceptions=True
        )
        for subscriber in subscribers:
            self.unsubscribe(subscriber.id)
        self._tell_sinks("room_closed")
        self.sinks.clear()
        logger.info("%s closed: %s", self.log_prefix, reason)
        if self._on_idle is not None:
            self._on_idle(self)

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def run() -> None:
            await coro

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


class RoomRegistry:
    """The rooms of this process, by session id.

    ``viewer_outputs`` makes each new room's :class:`ViewerOutputs` (forwarding unless a
    benchmark sets another before rooms are created).
    """

    def __init__(self, *, viewer_outputs: ViewerOutputsFactory = Forwarding) -> None:
        self._rooms: dict[str, Room] = {}
        self.viewer_outputs = viewer_outputs
        # Called with each new room before its publisher attaches (the archive adds its sinks).
        self.observers: list[RoomObserver] = []

    def get(self, session_id: str) -> Room | None:
        return self._rooms.get(session_id)

    def get_or_create(self, session_id: str) -> Room:
        room = self._rooms.get(session_id)
        if room is None or room.closed:
            room = Room(session_id, on_idle=self._forget, outputs=self.viewer_outputs())
            self._rooms[session_id] = room
            for observe in self.observers:
                try:
                    observe(room)
                except Exception:  # an observer never stops a publisher
                    logger.exception("%s room observer failed", room.log_prefix)
        return room

    def _forget(self, room: Room) -> None:
        if self._rooms.get(room.session_id) is room:
            del self._rooms[room.session_id]

    def all(self) -> list[Room]:
        return list(self._rooms.values())

    async def close_all(self, reason: str) -> None:
        await asyncio.gather(*(room.close(reason) for room in self.all()), return_exceptions=True)
