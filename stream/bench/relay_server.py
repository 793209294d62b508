"""Benchmark helpers around the server process: free ports, startup, CPU accounting, teardown.

The server under test runs as its own subprocess (``python -m stream.cli serve``) so that its
CPU time can be read from the kernel apart from the load generator's. Every child started here
is terminated and waited for, also on errors and Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil  # type: ignore[import-untyped,unused-ignore]

LOOPBACK = "127.0.0.1"
SERVER_START_TIMEOUT = 30.0  # seconds until /healthz answers 200
SERVER_START_ATTEMPTS = 3  # a free port can be taken before the server binds it
SERVER_STOP_TIMEOUT = 15.0  # graceful shutdown (closes every peer) before SIGKILL
HEALTH_POLL_INTERVAL = 0.1
HEALTH_REQUEST_TIMEOUT = 2.0
LOG_TAIL_CHARS = 3000
SERVER_LOG_LEVEL = "WARNING"
UDP_INODE_FIELD = 9  # columns of /proc/net/udp
UDP_DROPS_FIELD = 12  # per-peer INFO lines would be part of what we measure


# ``relay_mode`` → the module run as ``python -m MODULE serve``.
SERVER_MODULES = {
    "forward": "stream.cli",  # the platform as it ships
    "reencode": "stream.bench.reencode_server",  # rooms re-encode per viewer
    "no-archive": "stream.bench.record_server",  # no recording and no live HLS
}


class ServerFailed(RuntimeError):
    """The server under test did not start (the message carries the tail of its log)."""


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (all its threads); ``None`` is this process."""
    times: Any = psutil.Process(pid).cpu_times()
    return float(times.user) + float(times.system)


def system_cpu_seconds(pid: int | None = None) -> float:
    """System (kernel) CPU seconds of a process: for a fan-out, mostly the sockets' sends."""
    times: Any = psutil.Process(pid).cpu_times()
    return float(times.system)


def rss_mb(pid: int | None = None) -> float | None:
    """Resident memory of a process in MB (10^6 bytes); ``None`` if it is gone."""
    try:
        return float(psutil.Process(pid).memory_info().rss) / 1e6
    except psutil.Error:
        return None


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy, all cores: user, nice, system, irq, softirq.

    Idle, iowait and steal are not busy; guest time is already part of user and nice.
    """
    times: Any = psutil.cpu_times()
    busy = ("user", "nice", "system", "irq", "softirq")
    return sum(float(getattr(times, name, 0.0)) for name in busy)


def runqueue_wait_seconds(pid: int | None = None) -> float | None:
    """Seconds the process's main thread (the event loop) was runnable but waiting for a CPU.

    From ``/proc/PID/schedstat`` (Linux); ``None`` where that is not available. A server that
    waits here while the machine is busy with other processes is starved, not slow.
    """
    try:
        fields = Path(f"/proc/{pid or 'self'}/schedstat").read_text().split()
        return int(fields[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def udp_drops(pid: int | None = None) -> int | None:
    """Datagrams the kernel dropped on the process's UDP sockets (receive buffer full).

    Sums the ``drops`` column of ``/proc/PID/net/udp{,6}`` over the sockets the process holds;
    ``None`` where that is not available.
    """
    proc = Path(f"/proc/{pid or 'self'}")
    try:
        inodes = set()
        for fd in (proc / "fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
        drops = 0
        for table in ("udp", "udp6"):
            with contextlib.suppress(FileNotFoundError):
                for line in (proc / "net" / table).read_text().splitlines()[1:]:
                    fields = line.split()
                    if len(fields) > UDP_DROPS_FIELD and fields[UDP_INODE_FIELD] in inodes:
                        drops += int(fields[UDP_DROPS_FIELD])
        return drops
    except (OSError, ValueError):
        return None


def renice(pid: int | None, increment: int) -> bool:
    """Change a process's niceness by ``increment`` (``None``: this one); False if not allowed."""
    target = pid or os.getpid()
    try:
        current = os.getpriority(os.PRIO_PROCESS, target)
        os.setpriority(os.PRIO_PROCESS, target, current + increment)
    except (OSError, AttributeError):
        return False
    return True


def cpu_count() -> int:
    return os.cpu_count() or 1


@dataclass
class ServerProcess:
    """``stream serve`` on 127.0.0.1 with loopback-only ICE, as a child of this process.

    ``relay_mode`` is ``"forward"`` (the platform) or a baseline of :data:`SERVER_MODULES`.
    """

    data_dir: Path
    redis_url: str
    relay_mode: str = "forward"
    nice: int = 0  # added to the server's niceness (negative: higher priority; needs root)
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.data_dir / f"server-{self.relay_mode}.log"

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("server not started")
        return self.process.pid

    def _spawn(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        env = dict(os.environ)
        env["STREAM_LOG_LEVEL"] = SERVER_LOG_LEVEL
        # Only what the relay needs: no RTMP listener (its fixed port may be taken by another
        # server on this machine). An environment variable, so older servers just ignore it.
        env["STREAM_RTMP_PORT"] = "0"
        # The viewers each send their own X-Forwarded-For (stream.bench.relay_phase).
        env["STREAM_TRUSTED_PROXIES"] = LOOPBACK
        # The baselines are ``stream serve`` with something injected by the benchmark.
        module = SERVER_MODULES[self.relay_mode]
        command = [
            sys.executable, "-m", module, "serve",
            "--host", LOOPBACK,
            "--port", str(self.port),
            "--ice-host", LOOPBACK,
            "--data-dir", str(self.data_dir),
            "--redis-url", self.redis_url,
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        if self.nice:
            renice(self.process.pid, self.nice)

    async def start(self, http: aiohttp.ClientSession) -> None:
        """Spawn the server and wait until ``/healthz`` says ok (retrying on a port race)."""
        for attempt in range(SERVER_START_ATTEMPTS):
            self._spawn()
            try:
                await self._wait_healthy(http)
                return
            except ServerFailed:
                self.stop()
                if attempt == SERVER_START_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def _wait_healthy(self, http: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        timeout = aiohttp.ClientTimeout(total=HEALTH_REQUEST_TIMEOUT)
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise ServerFailed(f"server exited during startup:\n{self.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(f"{self.base_url}/healthz", timeout=timeout) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(HEALTH_POLL_INTERVAL)
        raise ServerFailed(
            f"server not healthy within {SERVER_START_TIMEOUT} s:\n{self.log_tail()}"
        )

    def log_tail(self) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return text[-LOG_TAIL_CHARS:]

    def stop(self) -> None:
        """SIGTERM, wait for the graceful shutdown, SIGKILL if it hangs; always reaped."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=SERVER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        else:
            process.wait()

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)
