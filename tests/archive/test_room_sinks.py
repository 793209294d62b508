"""The room's sink hook the archive uses: every frame with the publisher's own timestamp,
publisher changes and the room's end; a sink that raises is dropped and the room goes on."""

from __future__ import annotations

from dataclasses import dataclass, field

from stream.rooms.media import MediaFrame
from stream.rooms.room import Room, RoomRegistry

IDR = b"\x00\x00\x00\x01\x65\x88"
SLICE = b"\x00\x00\x00\x01\x41\x9a"


@dataclass
class FakePublisher:
    id: str = "publisher-1"
    answers_keyframe_requests: bool = True
    keyframe_requests: int = 0

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1

    async def stop(self, reason: str) -> None:
        pass


@dataclass
class RecordingSink:
    events: list[str] = field(default_factory=list)
    frames: list[MediaFrame] = field(default_factory=list)

    def publisher_attached(self) -> None:
        self.events.append("attached")

    def frame(self, frame: MediaFrame) -> None:
        self.frames.append(frame)

    def publisher_left(self) -> None:
        self.events.append("left")

    def room_closed(self) -> None:
        self.events.append("closed")


class BrokenSink(RecordingSink):
    def frame(self, frame: MediaFrame) -> None:
        raise OSError("disk on fire")


async def test_sinks_get_frames_and_lifecycle_and_a_broken_one_is_dropped() -> None:
    registry = RoomRegistry()
    seen: list[Room] = []
    good, broken = RecordingSink(), BrokenSink()

    def observe(room: Room) -> None:
        seen.append(room)
        room.add_sink(good)
        room.add_sink(broken)

    registry.observers.append(observe)
    room = registry.get_or_create("sinks")
    assert seen == [room]
    publisher = FakePublisher()
    room.attach(publisher)
    room.push("video", "H264", IDR, 1_000_000)
    room.push("audio", "opus", b"\xfc", 5)
    room.push("video", "H264", SLICE, 1_003_000)
    assert broken not in room.sinks  # removed at its first failure; the room went on
    assert room.live
    assert [(f.kind, f.timestamp, f.keyframe) for f in good.frames] == [
        ("video", 1_000_000, True),
        ("audio", 5, True),
        ("video", 1_003_000, False),
    ]
    room.detach(publisher)
    await room.close("done")
    assert good.events == ["attached", "left", "closed"]
    assert room.sinks == []
