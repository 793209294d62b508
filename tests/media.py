"""Helpers for media tests: publish a pre-encoded loop, collect what viewers receive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from stream.ingest.sources import EncodedFrame, EncodedLoopTrack, encode_test_pattern
from stream.ingest.testpattern import TestPatternAudioTrack
from stream.ingest.whep_client import WhepClient
from stream.ingest.whip_client import WhipClient

_ENCODED: dict[tuple[int, int, int], list[EncodedFrame]] = {}


def encoded_loop(width: int = 320, height: int = 180, frames: int = 60) -> list[EncodedFrame]:
    key = (width, height, frames)
    if key not in _ENCODED:
        _ENCODED[key] = encode_test_pattern(
            width=width, height=height, frames=frames, gop=30, bitrate=400_000
        )
    return _ENCODED[key]


def nal_units(annexb: bytes) -> list[bytes]:
    """Split an Annex-B access unit into NAL units without their start codes."""
    units = []
    for chunk in annexb.split(b"\x00\x00\x01"):
        chunk = chunk.rstrip(b"\x00") if chunk.endswith(b"\x00") else chunk
        if chunk:
            units.append(chunk)
    return units


@dataclass
class Received:
    frames: dict[str, list[bytes]] = field(default_factory=lambda: {"video": [], "audio": []})
    first_frame_at: float | None = None

    def __call__(self, kind: str, codec: str, data: bytes, timestamp: int) -> None:
        if self.first_frame_at is None:
            self.first_frame_at = time.monotonic()
        self.frames[kind].append(data)


async def publish_loop(
    base: str, session: str, key: str, *, audio: bool = True, record: bool = False
) -> tuple[WhipClient, EncodedLoopTrack]:
    video = EncodedLoopTrack(encoded_loop())
    video.record = record
    tracks = [video, TestPatternAudioTrack()] if audio else [video]
    client = WhipClient(f"{base}/whip/{session}", key, tracks)
    await client.publish()
    return client, video


async def wait_for(
    predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def watch(
    base: str, session: str, received: Received | None = None
) -> tuple[WhepClient, Received]:
    received = received or Received()
    client = WhepClient(f"{base}/whep/{session}", on_frame=received)
    await client.connect()
    return client, received
