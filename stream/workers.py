"""``stream serve --workers N``: one server spread over N processes of this machine.

The process started (the *supervisor*) serves no request itself. After ``stream serve``'s
start checks it:

- starts the embedded Redis (when no ``--redis-url`` is given) and holds the data directory's
  lock, supervising the Redis as a single process would (restarted when it dies; past
  ``STREAM_REDIS_RESTART_WITHIN`` everything stops with exit code 1). The workers are given its
  URL: they start and lock nothing;
- binds one listening socket per worker on the HTTP port (``SO_REUSEPORT``: the kernel spreads
  new connections evenly over the workers; ``stream.serve.listen_each``) and starts N workers
  (``stream serve --worker-of FD``, the settings read from an inherited pipe, never from argv),
  each accepting on its own inherited socket (kept by the supervisor over a restart);
- gives each worker its own node link, a unix socket ``<data dir>/run/node-<i>.sock`` (the
  directory is private) served by the same application, so the workers are N nodes of one
  deployment: chat, Q&A, presence, limits go through Redis as between machines, a viewer who
  reaches a worker without the session's room is served from a mirror pulled over the origin
  worker's link (:mod:`stream.rooms.edge`), a WHIP/WHEP resource request is forwarded to the
  worker holding the peer (:mod:`stream.rtc.resource_nodes`);
- forwards SIGINT/SIGTERM to the workers, waits for them (bounded, then kills), then stops the
  Redis; restarts a worker that exits on its own, at most ``MAX_RESTARTS`` times in
  ``RESTART_WINDOW`` seconds, after which it stops everything and exits with code 1.

What runs once per server, not once per worker (``Settings.runs_singletons``: worker 0):
the demo (its data, its test-pattern publisher, the printed secrets), RTMP ingest (one port),
and the archive's clean-up at start and retention sweep (the workers share the data
directory). Everything else is per node and runs in every worker: each worker's peers, rooms,
recordings and live HLS, its chat sockets and fan-out reader, its viewer counts (under its own
node id), and its webhooks (a worker reports the sessions live on it). The secrets the nodes
share (login signing, chat, node secret) are made once through Redis (``SET NX``).

Workers run in sessions of their own (a terminal's Ctrl-C reaches the supervisor, which stops
them in order), get SIGTERM when the supervisor dies, and stop once: the signals that reach a
stopping worker (its supervisor's, systemd's to every process) are ignored. Their log lines
name them (``[worker 1]``; JSON: ``"process": "worker 1"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from stream.config import Settings
from stream.http.nodes import UNIX_PREFIX, link_session
from stream.store import (
    MAX_UNIX_SOCKET_PATH,
    EmbeddedRedis,
    Redis,
    RedisSupervisor,
    connect,
    parent_death_signal,
    redact_url,
    wait_ready,
)

logger = logging.getLogger(__name__)

RUN_DIR = "run"
WORKER_START_TIMEOUT = 60.0  # every worker answers on its node socket (a loaded machine)
# SIGTERM to killed: a worker closes its sockets, gives handlers 3 s, closes peers and rooms.
WORKER_STOP_TIMEOUT = 15.0
MAX_RESTARTS = 5
RESTART_WINDOW = 60.0
RESTART_DELAY = 0.5
WATCH_INTERVAL = 0.1
READY_PROBE_TIMEOUT = 2.0
MAX_SPEC_BYTES = 60_000  # fits a pipe's buffer: written whole before the worker starts
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class WorkersFailed(Exception):
    """The server stops: the message is the one line printed."""


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What a worker gets from its supervisor (through a pipe): its settings and the HTTP
    socket's inherited descriptor."""

    settings: Settings
    listen_fd: int

    @property
    def node_socket(self) -> Path:
        link = self.settings.node_link or ""
        if not link.startswith(UNIX_PREFIX):
            raise ValueError("a worker's node link is a unix socket")
        return Path(link[len(UNIX_PREFIX) :])


def encode_settings(settings: Settings) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        values[field.name] = value
    return values


def decode_settings(values: dict[str, Any]) -> Settings:
    decoded: dict[str, Any] = {}
    for field in dataclasses.fields(Settings):
        if field.name not in values:
            continue
        value = values[field.name]
        if isinstance(field.default, Path) and value is not None:
            value = Path(value)
        elif isinstance(field.default, tuple):
            value = tuple(value)
        decoded[field.name] = value
    return Settings(**decoded)


def write_spec(spec: WorkerSpec) -> int:
    """A pipe holding ``spec``; the returned read end is for the worker to inherit."""
    data = json.dumps(
        {"settings": encode_settings(spec.settings), "listen_fd": spec.listen_fd}
    ).encode()
    if len(data) > MAX_SPEC_BYTES:
        raise WorkersFailed("the settings are too large to hand to the workers")
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, data)
    finally:
        os.close(write_fd)
    return read_fd


def read_spec(fd: int) -> WorkerSpec:
    """In the worker: the spec from the inherited pipe ``fd`` (closed after)."""
    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        raise ValueError(f"descriptor {fd} is not a pipe")
    with os.fdopen(fd, "rb") as pipe:
        record = json.loads(pipe.read(MAX_SPEC_BYTES + 1))
    return WorkerSpec(decode_settings(record["settings"]), int(record["listen_fd"]))


def run_dir(settings: Settings) -> tuple[Path, bool]:
    """The private directory of the workers' node sockets, and whether it is a temporary one
    (a data directory whose path is too long for a unix socket)."""
    directory = settings.data_dir.resolve() / RUN_DIR
    if len(str(directory / "node-00.sock")) > MAX_UNIX_SOCKET_PATH:
        return Path(tempfile.mkdtemp(prefix="stream-nodes-")), True
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)
    return directory, False


def worker_settings(settings: Settings, index: int, redis_url: str, sockets: Path) -> Settings:
    return settings.with_(
        worker=index,
        redis_url=redis_url,
        node_link=f"{UNIX_PREFIX}{sockets / f'node-{index}.sock'}",
        demo=settings.demo and index == 0,
        rtmp_port=settings.rtmp_port if index == 0 else 0,
    )


class Worker:
    def __init__(self, settings: Settings, listen_fd: int) -> None:
        self.spec = WorkerSpec(settings, listen_fd)
        self.index = settings.worker
        self.process: subprocess.Popen[bytes] | None = None
        self.respawn_at: float | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def spawn(self) -> None:
        read_fd = write_spec(self.spec)
        command = [sys.executable, "-m", "stream.cli", "serve", "--worker-of", str(read_fd)]
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                command,
                stdin=subprocess.DEVNULL,
                pass_fds=(self.spec.listen_fd, read_fd),
                start_new_session=True,
                preexec_fn=parent_death_signal(),
            )
        finally:
            os.close(read_fd)
        self.respawn_at = None
        logger.info("worker %s started (pid %s)", self.index, self.process.pid)

    async def answers(self) -> bool:
        """The worker serves HTTP on its node socket."""
        timeout = aiohttp.ClientTimeout(total=READY_PROBE_TIMEOUT)
        client, base = link_session(f"{UNIX_PREFIX}{self.spec.node_socket}", timeout)
        try:
            async with client.get(f"{base}/healthz") as response:
                return response.status in (200, 503)
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False
        finally:
            await client.close()


class Supervisor:
    """Starts the workers, restarts those that exit, stops them all on a signal."""

    def __init__(self, settings: Settings, socks: list[socket.socket], redis_url: str) -> None:
        self.settings = settings
        self.socks = socks
        self.sockets, self.temporary_sockets = run_dir(settings)
        self.workers = [
            Worker(worker_settings(settings, i, redis_url, self.sockets), socks[i].fileno())
            for i in range(settings.workers)
        ]
        self.stopping = asyncio.Event()
        self.failure: str | None = None
        self._exits: deque[float] = deque()

    def stop(self, failure: str | None = None) -> None:
        if failure is not None and self.failure is None:
            self.failure = failure
        self.stopping.set()

    async def run(self) -> None:
        """Start the workers; stop them when :meth:`stop` is called (:func:`supervise` calls it
        on SIGINT/SIGTERM), or when they cannot go on (then :class:`WorkersFailed`)."""
        watch: asyncio.Task[None] | None = None
        try:
            for worker in self.workers:
                worker.spawn()
            watch = asyncio.create_task(self._watch(), name="workers-watch")
            if await self._wait_ready():
                print(
                    f"======== Running on {self.settings.base_url} "
                    f"with {len(self.workers)} workers ========\n(Press CTRL+C to quit)",
                    flush=True,
                )
            await self.stopping.wait()
        finally:
            if watch is not None:
                watch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watch
            await self._stop_workers()
            self.remove_sockets()
        if self.failure is not None:
            raise WorkersFailed(self.failure)

    async def _wait_ready(self) -> bool:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        waiting = list(self.workers)
        while waiting and not self.stopping.is_set():
            if time.monotonic() > deadline:
                self.stop(f"workers did not start within {WORKER_START_TIMEOUT:.0f} s")
                return False
            answers = await asyncio.gather(*(worker.answers() for worker in waiting))
            waiting = [w for w, ok in zip(waiting, answers, strict=True) if not ok]
            if waiting:
                await asyncio.sleep(0.1)
        return not self.stopping.is_set()

    async def _watch(self) -> None:
        while not self.stopping.is_set():
            await asyncio.sleep(WATCH_INTERVAL)
            now = time.monotonic()
            for worker in self.workers:
                if worker.respawn_at is not None:
                    if now >= worker.respawn_at:
                        try:
                            worker.spawn()
                        except (OSError, WorkersFailed) as exc:
                            self.stop(f"cannot start worker {worker.index}: {exc}")
                            return
                    continue
                if worker.process is None or worker.process.poll() is None:
                    continue
                logger.error(
                    "worker %s (pid %s) exited with code %s",
                    worker.index,
                    worker.process.pid,
                    worker.process.returncode,
                )
                self._exits.append(now)
                while self._exits and now - self._exits[0] > RESTART_WINDOW:
                    self._exits.popleft()
                if len(self._exits) > MAX_RESTARTS:
                    self.stop(
                        f"workers exited {len(self._exits)} times within "
                        f"{RESTART_WINDOW:.0f} s; stopping"
                    )
                    return
                worker.respawn_at = now + RESTART_DELAY

    async def _stop_workers(self) -> None:
        running = [w for w in self.workers if w.running]
        logger.info("stopping %d workers", len(running))
        for worker in running:
            assert worker.process is not None
            with contextlib.suppress(ProcessLookupError):
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + WORKER_STOP_TIMEOUT
        for worker in running:
            assert worker.process is not None
            try:
                left = max(deadline - time.monotonic(), 0.0)
                await asyncio.to_thread(worker.process.wait, left)
            except subprocess.TimeoutExpired:
                logger.warning("worker %s did not stop in time: killed", worker.index)
                worker.process.kill()
                await asyncio.to_thread(worker.process.wait)
            else:
                if worker.process.returncode != 0:
                    logger.warning(
                        "worker %s stopped with code %s", worker.index, worker.process.returncode
                    )

    def remove_sockets(self) -> None:
        if self.temporary_sockets:
            shutil.rmtree(self.sockets, ignore_errors=True)
            return
        for worker in self.workers:
            with contextlib.suppress(OSError):
                worker.spec.node_socket.unlink()


async def supervise(settings: Settings, socks: list[socket.socket]) -> None:
    """Run the workers until a signal (or a failure: :class:`WorkersFailed`)."""
    embedded: EmbeddedRedis | None = None
    url = settings.redis_url
    if url is None:
        embedded = EmbeddedRedis(settings.data_dir, own_process_group=True)
        url = embedded.url
    supervisor = Supervisor(settings, socks, url)
    loop = asyncio.get_running_loop()
    # Until the end, Redis stopped too: a signal only asks to stop (once is enough).
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, supervisor.stop)
    client: Redis | None = None
    watch: asyncio.Task[None] | None = None
    try:
        if embedded is not None:
            embedded.start()  # from the loop's thread: the child is bound to it (EmbeddedRedis)
            await embedded.wait_serving()
        client = connect(url)
        await wait_ready(client)
        if embedded is not None:
            redis_supervisor = RedisSupervisor(
                embedded,
                client,
                lambda: supervisor.stop("the embedded Redis died and could not be restarted"),
                settings.redis_restart_within,
            )
            watch = asyncio.create_task(redis_supervisor.run(), name="redis-supervisor")
        logger.info(
            "%d workers, Redis at %s, node sockets in %s",
            settings.workers,
            redact_url(url),
            supervisor.sockets,
        )
        if not supervisor.stopping.is_set():  # not signalled while Redis started
            await supervisor.run()
    finally:
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        if client is not None:
            await client.aclose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
        supervisor.remove_sockets()
        for sock in socks:
            sock.close()
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
