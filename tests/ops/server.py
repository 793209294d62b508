"""``python -m stream.cli serve`` as a real child process: standard output (what the server
prints for people) and standard error (its log) kept apart, every wait bounded."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from tests.conftest import free_port

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


class Serve:
    """One ``stream serve`` process on 127.0.0.1 (RTMP off unless asked)."""

    def __init__(self, data_dir: Path, *flags: str, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.flags = flags
        self.env = {
            **os.environ,
            "STREAM_LOG_LEVEL": "INFO",
            "STREAM_RTMP_PORT": "0",
            **(env or {}),
        }
        self.process: asyncio.subprocess.Process | None = None
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers: list[asyncio.Task[None]] = []
        self._running = asyncio.Event()

    async def start(self, wait: bool = True) -> Serve:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "stream.cli", "serve",
            "--port", str(self.port), "--data-dir", str(self.data_dir),
            "--ice-host", "127.0.0.1", *self.flags,
            env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._readers = [
            asyncio.create_task(self._read(self.process.stdout, self.stdout)),
            asyncio.create_task(self._read(self.process.stderr, self.stderr)),
        ]
        if wait:
            await self.wait_running()
        return self

    async def _read(self, stream: asyncio.StreamReader, lines: list[str]) -> None:
        while line := (await stream.readline()).decode():
            lines.append(line)
            if "Running on" in line:
                self._running.set()

    async def wait_running(self) -> None:
        assert self.process is not None
        exited = asyncio.create_task(self.process.wait())
        running = asyncio.create_task(self._running.wait())
        try:
            await asyncio.wait(
                {exited, running}, timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            exited.cancel()
            running.cancel()
        if not self._running.is_set():
            raise AssertionError(f"server did not start:\n{self.output}")

    async def exit_code(self, timeout: float = START_TIMEOUT) -> int:
        """Wait for the process to end by itself."""
        assert self.process is not None
        async with asyncio.timeout(timeout):
            code = await self.process.wait()
            await asyncio.gather(*self._readers)
        return code

    async def stop(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return await self.exit_code(STOP_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise

    @property
    def output(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.get(self.base + path) as response:
            return response.status, await response.text()

    async def health(self) -> tuple[int, str]:
        try:
            return await self.get("/healthz")
        except aiohttp.ClientError as exc:
            return 0, str(exc)


@contextlib.asynccontextmanager
async def serving(
    data_dir: Path, *flags: str, env: dict[str, str] | None = None
) -> AsyncIterator[Serve]:
    server = Serve(data_dir, *flags, env=env)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
