"""A subscriber's queue: starts at a keyframe, skips to the next one when it falls behind."""

from __future__ import annotations

import asyncio

import pytest
from aiortc.mediastreams import MediaStreamError

from stream.rooms.media import MediaFrame
from stream.rooms.subscriber import (
    MAX_QUEUED_AUDIO_FRAMES,
    MAX_QUEUED_VIDEO_FRAMES,
    SubscriberTrack,
)


def video(n: int, keyframe: bool = False) -> MediaFrame:
    return MediaFrame("video", "H264", bytes([n % 256]), n * 3000, keyframe)


async def test_video_starts_at_a_keyframe() -> None:
    requests: list[int] = []
    track = SubscriberTrack("video", lambda: requests.append(1))
    track.offer(video(1))
    track.offer(video(2))
    assert track.queued == 0
    track.offer(video(3, keyframe=True))
    track.offer(video(4))
    assert (await track.recv()).timestamp == 9000
    assert (await track.recv()).timestamp == 12000
    assert track.first_keyframe_at is not None


async def test_slow_viewer_skips_to_next_keyframe_and_asks_for_one() -> None:
    requests: list[int] = []
    track = SubscriberTrack("video", lambda: requests.append(1))
    track.offer(video(0, keyframe=True))
    for n in range(1, MAX_QUEUED_VIDEO_FRAMES + 5):
        track.offer(video(n))
    assert track.queued == 0  # overflow: queue emptied...
    assert track.waiting_for_keyframe  # ...and it waits for the next keyframe
    assert requests == [1]
    assert track.skips == 1
    track.offer(video(500, keyframe=True))
    assert (await track.recv()).keyframe


async def test_audio_drops_oldest() -> None:
    track = SubscriberTrack("audio", lambda: None)
    for n in range(MAX_QUEUED_AUDIO_FRAMES + 10):
        track.offer(MediaFrame("audio", "opus", b"x", n * 960, True))
    assert track.queued == MAX_QUEUED_AUDIO_FRAMES
    assert (await track.recv()).timestamp == 10 * 960
    assert track.frames_dropped == 10


async def test_stop_wakes_a_waiting_reader() -> None:
    track = SubscriberTrack("video", lambda: None)
    reader = asyncio.create_task(track.recv())
    await asyncio.sleep(0.01)
    track.stop()
    with pytest.raises(MediaStreamError):
        await reader
