"""The data directory's lock, in one process: a second embedded server on the same directory
is refused with the running one's URL; commands borrow the running server."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from stream.store import DataDirInUse, EmbeddedRedis, connect, running_redis, use_redis


async def test_one_embedded_redis_per_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = EmbeddedRedis(data)
    await asyncio.to_thread(first.start)
    try:
        assert running_redis(first.data_dir) == first.url
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        second = EmbeddedRedis(data)
        with pytest.raises(DataDirInUse) as refused:
            second.start()
        assert refused.value.url == first.url
        assert second.pid is None, "no second server was started"
        async with use_redis(None, data) as borrowed:
            await borrowed.set("written-by", "a command")
        client = connect(first.url)
        assert await client.get("written-by") == b"a command"
        await client.aclose()
        assert first.pid is not None
    finally:
        await asyncio.to_thread(first.stop)
    assert running_redis(first.data_dir) is None
    # Free again: a command starts its own server on it, and stops it after.
    async with use_redis(None, data) as own:
        assert await own.get("written-by") == b"a command"
        assert running_redis(first.data_dir) is not None
    assert running_redis(first.data_dir) is None
