"""What a deployment gets wrong fails at start with one line naming the flag, and exit code 1:
no "demo is up" first, no traceback."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.ops.server import Serve, free_port


def one_clear_line(server: Serve) -> str:
    assert "Traceback" not in server.output, server.output
    assert "demo is up" not in server.output
    lines = [line for line in server.stderr if line.startswith("stream: ")]
    assert len(lines) == 1, server.output
    return lines[0]


async def test_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = Serve(tmp_path / "data", "--demo")
        server.port = taken.getsockname()[1]
        await server.start(wait=False)
        assert await server.exit_code() == 1
    line = one_clear_line(server)
    assert f"port {server.port} on 127.0.0.1 is already in use (--port)" in line


async def test_a_busy_rtmp_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        rtmp_port = taken.getsockname()[1]
        server = Serve(tmp_path / "data", "--rtmp-port", str(rtmp_port))
        await server.start(wait=False)
        assert await server.exit_code() == 1
    assert f"port {rtmp_port} on 127.0.0.1 is already in use (--rtmp-port)" in one_clear_line(
        server
    )


async def test_a_data_directory_that_cannot_be_written(tmp_path: Path) -> None:
    # A file where a directory should be (the tests run as root: modes alone would not stop it).
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    server = Serve(blocker / "data", "--demo")
    await server.start(wait=False)
    assert await server.exit_code() == 1
    line = one_clear_line(server)
    assert f"data directory {blocker / 'data'} is not writable (--data-dir" in line


async def test_an_unreachable_redis_url(tmp_path: Path) -> None:
    nobody = free_port()
    server = Serve(tmp_path / "data", "--redis-url", f"redis://:hunter2@127.0.0.1:{nobody}/0")
    await server.start(wait=False)
    assert await server.exit_code(timeout=20) == 1
    line = one_clear_line(server)
    assert f"cannot reach Redis at redis://:***@127.0.0.1:{nobody}/0 (--redis-url" in line
    assert "hunter2" not in server.output


async def test_an_external_redis_needs_no_data_directory(tmp_path: Path, redis_url: str) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    server = Serve(blocker / "data", "--redis-url", redis_url)
    await server.start()
    assert await server.stop() == 0


async def test_an_embedded_redis_that_cannot_read_its_data(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "appendonlydir").mkdir(parents=True)
    (data / "appendonlydir" / "appendonly.aof.manifest").write_text("broken\n")
    server = Serve(data, "--demo")
    await server.start(wait=False)
    assert await server.exit_code(timeout=20) == 1
    line = one_clear_line(server)
    assert "embedded Redis exited with 1" in line
    assert str(data.resolve() / "redis.log") in line
