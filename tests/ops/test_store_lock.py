"""The data directory's lock, in one process: a second embedded server on the same directory
is refused with the running one's URL; commands borrow the running server."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from stream.store import (
    DataDirInUse,
    EmbeddedRedis,
    connect,
    make_private_dir,
    running_redis,
    use_redis,
)


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


def test_data_files_left_readable_become_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "appendonlydir").mkdir(parents=True, mode=0o755)
    (data / "appendonlydir" / "appendonly.aof.1.base.rdb").write_bytes(b"")
    (data / "redis.log").write_text("")
    (data / "someone-elses.txt").write_text("")
    for path in data.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    data.chmod(0o755)
    make_private_dir(data)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "appendonlydir").stat().st_mode) == 0o700
    assert (
        stat.S_IMODE((data / "appendonlydir" / "appendonly.aof.1.base.rdb").stat().st_mode) == 0o600
    )
    assert stat.S_IMODE((data / "redis.log").stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "someone-elses.txt").stat().st_mode) == 0o644, "not ours: untouched"
