"""Keyframe requests are merged, throttled, retried, and never dropped."""

from __future__ import annotations

import asyncio

from stream.rooms.keyframes import KeyframeRequester


async def test_requests_are_merged_and_throttled() -> None:
    sent: list[float] = []
    loop = asyncio.get_running_loop()
    requester = KeyframeRequester(lambda: sent.append(loop.time()), interval=0.1, retry=10)
    requester.request()
    assert len(sent) == 1  # the first request goes out at once
    for _ in range(20):
        requester.request()
    assert len(sent) == 1  # merged into the request in flight (its keyframe serves all)
    requester.keyframe_arrived()
    requester.request()  # a new request inside the interval...
    assert len(sent) == 1
    await asyncio.sleep(0.15)
    assert len(sent) == 2  # ...is sent when the interval ends: never dropped
    assert sent[1] - sent[0] >= 0.09
    requester.close()


async def test_keyframe_arrival_cancels_the_pending_request() -> None:
    sent: list[int] = []
    requester = KeyframeRequester(lambda: sent.append(1), interval=0.1, retry=10)
    requester.request()
    requester.request()
    requester.keyframe_arrived()
    await asyncio.sleep(0.15)
    assert sent == [1]
    assert not requester.pending


async def test_unanswered_request_is_repeated() -> None:
    sent: list[int] = []
    requester = KeyframeRequester(lambda: sent.append(1), interval=0.01, retry=0.05)
    requester.request()
    await asyncio.sleep(0.18)
    assert len(sent) >= 3  # the PLI may have been lost: ask again until a keyframe comes
    requester.keyframe_arrived()
    count = len(sent)
    await asyncio.sleep(0.1)
    assert len(sent) == count
