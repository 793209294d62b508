"""One Redis per data directory: a second ``stream serve`` refuses clearly, ``stream import``
uses the running server's Redis instead of starting its own on the same append-only file."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import psutil

from tests.ops.server import Serve, serving

PROGRAMME = """title,arranger,date,start,end
Lock check,Region Västerbotten,2031-01-21,10:00,11:00
"""


def redis_servers(server: Serve) -> list[psutil.Process]:
    assert server.process is not None
    return [
        child for child in psutil.Process(server.process.pid).children() if "server" in child.name()
    ]


async def test_a_second_server_refuses_and_import_uses_the_running_redis(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with serving(data) as first:
        lock = json.loads((data / "stream.lock").read_text())
        assert first.process is not None
        assert lock["pid"] == first.process.pid
        assert lock["url"].startswith("unix://")
        assert (data / "stream.lock").stat().st_mode & 0o777 == 0o600

        second = Serve(data)
        await second.start(wait=False)
        assert await second.exit_code() == 1
        assert "Traceback" not in second.output
        refusal = "".join(second.stderr)
        assert f"data directory {data} is in use by process {first.process.pid}" in refusal
        assert f"--redis-url {lock['url']}" in refusal

        csv = tmp_path / "programme.csv"
        csv.write_text(PROGRAMME, "utf-8")
        importer = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "stream.cli", "import", str(csv),
            "--data-dir", str(data), "--create-missing",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "STREAM_LOG_LEVEL": "WARNING"},
        )  # fmt: skip
        async with asyncio.timeout(30):
            out, _ = await importer.communicate()
        assert importer.returncode == 0, out.decode()
        # One Redis for the directory: the server's own, which now has the imported session.
        assert len(redis_servers(first)) == 1
        status, body = await first.get("/api/sessions/lock-check")
        assert status == 200, body
        assert "Lock check" in body
