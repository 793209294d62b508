"""Room logic without peers: timelines across publisher changes, the GOP cache, codec changes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from stream.rooms.room import Room

IDR = b"\x00\x00\x00\x01\x65idr"
P = b"\x00\x00\x00\x01\x41p"


@dataclass
class FakePublisher:
    id: str
    answers_keyframe_requests: bool = True
    requests: list[int] = field(default_factory=list)

    def request_keyframe(self) -> None:
        self.requests.append(1)


async def disconnect(reason: str) -> None:
    return None


async def test_new_viewer_asks_a_webrtc_publisher_for_a_keyframe() -> None:
    room = Room("r")
    publisher = FakePublisher("a" * 8)
    room.attach(publisher)
    room.push("video", "H264", IDR, 0)
    subscriber = room.subscribe("v1", disconnect, ["video"])
    assert publisher.requests == [1]
    room.push("video", "H264", P, 3000)
    assert subscriber.tracks["video"].queued == 0  # waits for the requested keyframe
    room.push("video", "H264", IDR, 6000)
    assert subscriber.tracks["video"].queued == 1
    await room.close("done")


async def test_rtmp_like_publisher_serves_new_viewers_from_the_gop_cache() -> None:
    room = Room("r")
    publisher = FakePublisher("b" * 8, answers_keyframe_requests=False)
    room.attach(publisher)
    for n, data in enumerate([P, IDR, P, P]):
        room.push("video", "H264", data, n * 3000)
    subscriber = room.subscribe("v1", disconnect, ["video"])
    track = subscriber.tracks["video"]
    assert track.queued == 3  # the keyframe and the two frames after it
    first = await track.recv()
    assert first.keyframe
    assert publisher.requests == []
    await room.close("done")


async def test_timeline_continues_across_publishers() -> None:
    room = Room("r")
    first = FakePublisher("c" * 8)
    room.attach(first)
    room.push("video", "H264", IDR, 900_000)
    room.push("video", "H264", P, 903_000)
    subscriber = room.subscribe("v1", disconnect, ["video"])
    track = subscriber.tracks["video"]
    room.push("video", "H264", IDR, 906_000)
    before = (await track.recv()).timestamp
    room.detach(first)
    second = FakePublisher("d" * 8)
    room.attach(second)
    room.push("video", "H264", IDR, 0)  # a new publisher starts its clock at zero
    after = (await track.recv()).timestamp
    assert after > before  # viewers never see time go backwards
    await room.close("done")


async def test_codec_change_disconnects_viewers_of_that_kind() -> None:
    room = Room("r")
    reasons: list[str] = []

    async def record(reason: str) -> None:
        reasons.append(reason)

    first = FakePublisher("e" * 8)
    room.attach(first)
    room.push("video", "H264", IDR, 0)
    room.subscribe("v1", record, ["video"])
    room.detach(first)
    room.attach(FakePublisher("f" * 8))
    room.push("video", "VP8", b"\x10\x02\x00", 0)
    for _ in range(3):
        await asyncio.sleep(0)
    assert reasons == ["codec changed"]
    await room.close("done")
