"""Room logic without peers: keyframes for new viewers, the GOP cache, timelines, codec changes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from stream.rooms import room as room_module
from stream.rooms.forward import SendClock
from stream.rooms.media import MediaFrame
from stream.rooms.roles import Output
from stream.rooms.room import Room
from tests.media import wait_for

IDR = b"\x00\x00\x00\x01\x65idr"
P = b"\x00\x00\x00\x01\x41p"


@dataclass
class FakePublisher:
    id: str
    answers_keyframe_requests: bool = True
    requests: list[int] = field(default_factory=list)

    def request_keyframe(self) -> None:
        self.requests.append(1)

    async def stop(self, reason: str) -> None:
        pass


@dataclass
class FakeOutput:
    """Records what the room sends; 'connects' when told to."""

    kind: str
    is_connected: bool = True
    fail: bool = False
    waiting_for_keyframe: bool = True
    keyframe_requested: bool = False
    created: float = 0.0
    first_keyframe_at: float | None = None
    sent: list[MediaFrame] = field(default_factory=list)

    @property
    def connected(self) -> bool:
        return self.is_connected

    def send(self, frame: MediaFrame, clock: SendClock) -> float | None:
        if self.fail:
            raise OSError("socket gone")
        if not self.is_connected:
            return None
        if self.waiting_for_keyframe:
            if not frame.keyframe:
                return None
            self.waiting_for_keyframe = False
        self.sent.append(frame)
        return 0.0

    def restart(self) -> None:
        self.waiting_for_keyframe = True
        self.keyframe_requested = False

    def close(self) -> None:
        pass


async def disconnect(reason: str) -> None:
    return None


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def subscribe(room: Room, name: str, output: FakeOutput) -> None:
    outputs: dict[str, Output] = {output.kind: output}
    room.subscribe(name, disconnect, outputs)


async def test_connected_viewer_asks_a_webrtc_publisher_for_a_keyframe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(room_module, "RECENT_KEYFRAME", 0.0)  # the cached keyframe is old
    room = Room("r")
    publisher = FakePublisher("a" * 8)
    room.attach(publisher)
    room.push("video", "H264", IDR, 0)
    output = FakeOutput("video", is_connected=False)
    subscribe(room, "v1", output)
    room.push("video", "H264", P, 3000)
    await settle()
    assert publisher.requests == []  # not connected yet: a keyframe now would be wasted
    output.is_connected = True
    room.push("video", "H264", P, 6000)
    await settle()
    assert publisher.requests == [1]
    assert output.sent == []  # still waiting for the keyframe it asked for
    room.push("video", "H264", IDR, 9000)
    room.push("video", "H264", P, 12000)
    await settle()
    assert [f.timestamp for f in output.sent] == [9000, 12000]
    await room.close("done")


async def test_viewer_joining_just_after_a_keyframe_starts_from_it() -> None:
    room = Room("r")
    publisher = FakePublisher("h" * 8)
    room.attach(publisher)
    room.push("video", "H264", IDR, 0)
    room.push("video", "H264", P, 3000)
    await settle()
    output = FakeOutput("video")
    subscribe(room, "v1", output)
    room.push("video", "H264", P, 6000)
    await settle()
    assert [f.timestamp for f in output.sent] == [0, 3000, 6000]
    assert publisher.requests == []  # no PLI needed: the keyframe is fresh
    await room.close("done")


async def test_a_viewer_starts_when_it_connects_not_at_the_next_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    room = Room("r")
    publisher = FakePublisher("c" * 8)
    room.attach(publisher)
    room.push("video", "H264", IDR, 0)
    room.push("video", "H264", P, 3000)
    await settle()
    fresh = FakeOutput("video", is_connected=False)
    subscribe(room, "fresh", fresh)
    fresh.is_connected = True
    room.viewer_connected("fresh")
    await settle()
    # no new frame since: the cached keyframe and the frame after it, each once
    assert [f.timestamp for f in fresh.sent] == [0, 3000]
    assert publisher.requests == []
    monkeypatch.setattr(room_module, "RECENT_KEYFRAME", 0.0)  # now the keyframe is old
    late = FakeOutput("video", is_connected=False)
    subscribe(room, "late", late)
    late.is_connected = True
    room.viewer_connected("late")
    room.viewer_connected("gone")  # a viewer that left meanwhile is ignored
    await settle()
    assert publisher.requests == [1]  # asked at once, not at the next frame
    room.push("video", "H264", P, 6000)
    await settle()
    assert [f.timestamp for f in fresh.sent] == [0, 3000, 6000]
    assert late.sent == []
    await room.close("done")


async def test_audio_goes_out_between_batches_of_a_video_frame() -> None:
    room = Room("r")
    room.attach(FakePublisher("d" * 8))
    order: list[tuple[str, str]] = []

    class Recording(FakeOutput):
        def send(self, frame: MediaFrame, clock: SendClock) -> float | None:
            order.append((self.name, frame.kind))
            return super().send(frame, clock)

    viewers = 3 * room_module.FANOUT_BATCH
    for n in range(viewers):
        outputs: dict[str, Output] = {}
        for kind in ("video", "audio"):
            output = Recording(kind)
            output.name = f"v{n}"  # type: ignore[attr-defined]
            outputs[kind] = output
        room.subscribe(f"v{n}", disconnect, outputs)
    room.push("video", "H264", IDR, 0)
    # arrives while the keyframe is being written (after the first batch of viewers)
    asyncio.get_running_loop().call_soon(room.push, "audio", "opus", b"a", 0)
    await settle()
    kinds = [kind for _, kind in order]
    assert kinds.count("video") == kinds.count("audio") == viewers
    first_audio = kinds.index("audio")
    assert room_module.FANOUT_BATCH <= first_audio < viewers  # not behind the whole keyframe
    assert kinds[first_audio : first_audio + viewers] == ["audio"] * viewers
    await room.close("done")


async def test_rtmp_like_publisher_serves_new_viewers_from_the_gop_cache() -> None:
    room = Room("r")
    publisher = FakePublisher("b" * 8, answers_keyframe_requests=False)
    room.attach(publisher)
    for n, data in enumerate([P, IDR, P]):
        room.push("video", "H264", data, n * 3000)
    await settle()
    output = FakeOutput("video")
    subscribe(room, "v1", output)
    room.push("video", "H264", P, 9000)
    await settle()
    assert [f.timestamp for f in output.sent] == [3000, 6000, 9000]
    assert output.sent[0].keyframe
    assert publisher.requests == []
    await room.close("done")


async def test_timeline_continues_across_publishers() -> None:
    room = Room("r")
    first = FakePublisher("c" * 8)
    room.attach(first)
    output = FakeOutput("video")
    subscribe(room, "v1", output)
    room.push("video", "H264", IDR, 900_000)
    room.push("video", "H264", P, 903_000)
    await settle()
    room.detach(first)
    room.attach(FakePublisher("d" * 8))
    room.push("video", "H264", IDR, 0)  # a new publisher starts its clock at zero
    await settle()
    timestamps = [f.timestamp for f in output.sent]
    assert len(timestamps) == 3
    assert timestamps == sorted(timestamps)  # viewers never see time go backwards
    await room.close("done")


async def test_codec_change_disconnects_viewers_of_that_kind() -> None:
    room = Room("r")
    reasons: list[str] = []

    async def record(reason: str) -> None:
        reasons.append(reason)

    first = FakePublisher("e" * 8)
    room.attach(first)
    room.push("video", "H264", IDR, 0)
    room.subscribe("v1", record, {"video": FakeOutput("video")})
    room.detach(first)
    room.attach(FakePublisher("f" * 8))
    room.push("video", "VP8", b"\x10\x02\x00", 0)
    await settle()
    assert reasons == ["codec changed"]
    await room.close("done")


async def test_a_failing_viewer_is_dropped_and_the_others_carry_on() -> None:
    room = Room("r")
    room.attach(FakePublisher("g" * 8))
    good, bad = FakeOutput("video"), FakeOutput("video", fail=True)
    subscribe(room, "bad", bad)
    subscribe(room, "good", good)
    room.push("video", "H264", IDR, 0)
    room.push("video", "H264", P, 3000)
    await wait_for(lambda: len(good.sent) == 2, timeout=2, what="good viewer served")
    assert "bad" not in room.subscribers
    await room.close("done")
