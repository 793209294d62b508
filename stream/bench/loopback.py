"""What the media benchmarks share: the publisher's encoded loop and a loopback world (a
scratch directory, ICE on 127.0.0.1 only, an embedded Redis) to run their servers in."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from stream.bench.relay_config import LOOP_GOPS, Config, progress
from stream.ingest.sources import EncodedFrame, encode_test_pattern
from stream.rtc.ice import host_addresses
from stream.store import EmbeddedRedis


async def encoded_loop(config: Config) -> list[EncodedFrame]:
    """The synthetic stream the benchmark publishes over and over, encoded once."""
    progress(
        f"encoding {LOOP_GOPS * config.gop_frames} frames of {config.width}x{config.height} "
        f"at {config.bitrate / 1e6:.2f} Mbit/s"
    )
    return await asyncio.to_thread(
        encode_test_pattern,
        width=config.width,
        height=config.height,
        fps=config.fps,
        frames=LOOP_GOPS * config.gop_frames,
        gop=config.gop_frames,
        bitrate=config.bitrate,
    )


@contextlib.contextmanager
def loopback_world(prefix: str) -> Iterator[tuple[Path, str]]:
    """A scratch directory and the URL of an embedded Redis in it, ICE on loopback only;
    all removed and stopped on the way out."""
    with (
        tempfile.TemporaryDirectory(prefix=prefix) as tmp_name,
        host_addresses(("127.0.0.1",)),
    ):
        tmp = Path(tmp_name)
        redis = EmbeddedRedis(tmp / "redis")
        redis.start()
        try:
            yield tmp, redis.url
        finally:
            redis.stop()
