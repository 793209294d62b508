"""``stream serve``: settings from the environment and flags, logging, the app, run until
stopped (SIGINT/SIGTERM close every resource in order).

Before anything starts, the things a deployment gets wrong are checked, each failing with one
line that names the flag and exit code 1: the HTTP port (bound here, then handed to the app),
the RTMP port, the data directory (writable, not served by another process), ``--redis-url``.

With ``--workers N`` (N > 1) this process then supervises N worker processes that share the
bound port (:mod:`stream.workers`); each worker is ``stream serve --worker-of FD``.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import logging
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from redis.asyncio import Redis as PlainRedis

from stream.app import create_app
from stream.config import ConfigError, Settings, parse_workers
from stream.ops import AccessLogger
from stream.store import (
    LOCK_FILE,
    PRIVATE_UMASK,
    DataDirInUse,
    make_private_dir,
    read_lock,
    redact_url,
    running_redis,
)
from stream.workers import WorkersFailed, read_spec, supervise

logger = logging.getLogger(__name__)

REDIS_PROBE_TIMEOUT = 3.0
LISTEN_BACKLOG = 1024
EXIT_START_FAILED = 1
EXIT_BAD_SETTING = 2


class StartError(Exception):
    """The server cannot start; the message is the one line printed."""


# On SIGTERM every socket is closed with 1001 first; handlers still running (a socket that was
# joining) get this long before they are cancelled, so the process is gone within 5 s.
HANDLER_GRACE_SECONDS = 3.0


def add_serve_arguments(server: argparse.ArgumentParser) -> None:
    server.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    server.add_argument("--port", type=int, help="HTTP port (default 8080)")
    server.add_argument(
        "--rtmp-port", type=int, help="RTMP ingest port (default 1935; 0 turns RTMP off)"
    )
    server.add_argument("--rtmp-host", help="address RTMP listens on (default: --host)")
    server.add_argument("--redis-url", help="use this Redis/Valkey instead of the embedded one")
    server.add_argument("--data-dir", type=Path, help="embedded Redis data and AOF (default .data)")
    server.add_argument(
        "--ice-host",
        action="append",
        help="IP address offered as ICE host candidate (repeatable; default: all but loopback)",
    )
    server.add_argument(
        "--trusted-proxy",
        action="append",
        help="address or network of a reverse proxy whose X-Forwarded-* headers are believed "
        "(repeatable)",
    )
    server.add_argument(
        "--demo", action="store_true", help="create the demo event with a live test pattern"
    )
    server.add_argument("--public-url", help="URL other nodes use to reach this one")
    server.add_argument(
        "--workers",
        help="processes serving the HTTP port, each a node on the same Redis "
        "(default 1; auto: one per core)",
    )
    # A worker of ``--workers``: its settings come from its supervisor through this pipe.
    server.add_argument("--worker-of", type=int, help=argparse.SUPPRESS)
    server.add_argument(
        "--log-format", choices=LOG_FORMATS, help="log lines as text or JSON (default text)"
    )
    server.add_argument(
        "--log-level", choices=LOG_LEVELS, type=str.upper, help="log level (default INFO)"
    )


LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and an
    exception's text when there is one (a traceback stays inside the one line); the process
    (``supervisor``, ``worker 1``) under ``--workers``."""

    def __init__(self, process: str | None = None) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.process is not None:
            event["process"] = self.process
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False)


def configure_logging(log_format: str, level: str, process: str | None = None) -> None:
    """Log lines to standard error; ``process`` names this process among ``--workers``."""
    handler = logging.StreamHandler()
    text_format = TEXT_FORMAT
    if process is not None:
        text_format = TEXT_FORMAT.replace("%(name)s", f"[{process}] %(name)s")
    handler.setFormatter(
        JsonFormatter(process) if log_format == "json" else logging.Formatter(text_format)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("aiortc").setLevel(logging.WARNING)
    logging.getLogger("aioice").setLevel(logging.WARNING)


def serve(
    args: argparse.Namespace, prepare: Callable[[web.Application], None] | None = None
) -> int:
    """``stream serve``; ``prepare`` may add to the application before it runs (benchmarks)."""
    if getattr(args, "worker_of", None) is not None:
        return serve_worker(args.worker_of)
    try:
        workers = getattr(args, "workers", None)
        settings = Settings.from_env(
            workers=parse_workers(workers) if workers else None,
            host=args.host,
            port=args.port,
            rtmp_port=args.rtmp_port,
            rtmp_host=args.rtmp_host,
            redis_url=args.redis_url,
            data_dir=args.data_dir,
            ice_hosts=tuple(args.ice_host) if args.ice_host else None,
            trusted_proxies=tuple(args.trusted_proxy) if args.trusted_proxy else None,
            demo=args.demo or None,
            public_url=args.public_url,
            log_format=getattr(args, "log_format", None),
            log_level=getattr(args, "log_level", None),
        )
    except ConfigError as exc:
        print(f"stream: {exc}", file=sys.stderr)
        return EXIT_BAD_SETTING
    configure_logging(
        settings.log_format, settings.log_level, "supervisor" if settings.workers > 1 else None
    )
    # Everything the service writes (the data directory, recordings, HLS) is its user's alone.
    os.umask(PRIVATE_UMASK)
    try:
        check_data_dir(settings)
        if settings.redis_url:
            asyncio.run(probe_redis(settings.redis_url))
        if settings.rtmp_port:
            check_port(settings.rtmp_host or settings.host, settings.rtmp_port, "--rtmp-port")
        if settings.workers > 1:
            socks = listen_each(settings.host, settings.port, settings.workers)
        else:
            sock = listen(settings.host, settings.port)
    except StartError as exc:
        print(f"stream: {exc}", file=sys.stderr)
        return EXIT_START_FAILED
    if settings.workers > 1:
        return serve_workers(settings, socks)
    redis_failed: list[bool] = []

    def on_redis_failure() -> None:
        redis_failed.append(True)
        signal.raise_signal(signal.SIGTERM)  # run_app's handler: a graceful stop

    app = create_app(settings, on_redis_failure)
    if prepare is not None:
        prepare(app)
    try:
        web.run_app(
            app,
            sock=sock,
            backlog=LISTEN_BACKLOG,
            shutdown_timeout=HANDLER_GRACE_SECONDS,
            access_log_class=AccessLogger,
            print=lambda message: print(message, flush=True),
        )
    except DataDirInUse as exc:
        print(f"stream: {_in_use(exc)}", file=sys.stderr)
        return EXIT_START_FAILED
    except (OSError, RuntimeError, ConfigError) as exc:
        print(f"stream: could not start: {exc}", file=sys.stderr)
        return EXIT_START_FAILED
    if redis_failed:
        print("stream: the embedded Redis died and could not be restarted", file=sys.stderr)
        return EXIT_START_FAILED
    return 0


def serve_workers(settings: Settings, socks: list[socket.socket]) -> int:
    """The supervisor of ``--workers``: until a signal, or until the workers cannot go on."""
    try:
        asyncio.run(supervise(settings, socks))
    except DataDirInUse as exc:
        print(f"stream: {_in_use(exc)}", file=sys.stderr)
        return EXIT_START_FAILED
    except WorkersFailed as exc:
        print(f"stream: {exc}", file=sys.stderr)
        return EXIT_START_FAILED
    except (OSError, RuntimeError) as exc:
        print(f"stream: could not start: {exc}", file=sys.stderr)
        return EXIT_START_FAILED
    return 0


def serve_worker(fd: int) -> int:
    """One worker of ``--workers``: the app on the inherited HTTP socket and its node socket."""
    try:
        spec = read_spec(fd)
        node_socket = spec.node_socket
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"stream: --worker-of is for the supervisor of --workers ({exc})", file=sys.stderr)
        return EXIT_BAD_SETTING
    settings = spec.settings
    name = f"worker {settings.worker}"
    configure_logging(settings.log_format, settings.log_level, name)
    os.umask(PRIVATE_UMASK)
    sock = socket.socket(fileno=spec.listen_fd)
    sock.setblocking(False)
    app = create_app(settings)
    app.on_startup.insert(0, _stop_on_first_signal)
    try:
        web.run_app(
            app,
            sock=sock,
            path=str(node_socket),
            backlog=LISTEN_BACKLOG,
            shutdown_timeout=HANDLER_GRACE_SECONDS,
            handle_signals=False,
            access_log_class=AccessLogger,
            print=lambda _: print(f"[{name}] serving, node link {settings.node_link}", flush=True),
        )
    except (OSError, RuntimeError, ConfigError) as exc:
        print(f"stream: {name} could not start: {exc}", file=sys.stderr)
        return EXIT_START_FAILED
    return 0


async def _stop_on_first_signal(app: web.Application) -> None:
    """A worker stops gracefully on SIGTERM or SIGINT and ignores the ones that follow while it
    stops (the supervisor's and, say, systemd's signal to every process of the service)."""
    loop = asyncio.get_running_loop()
    stopping: list[bool] = []

    def stop() -> None:
        # Two signals read in one turn of the loop schedule this twice: the second must not
        # raise again (it would run during run_app's clean-up and end the process with 1).
        if stopping:
            return
        stopping.append(True)
        for signum in (signal.SIGINT, signal.SIGTERM):
            # Ignored from now until the process ends (the loop's own removal at its close
            # would restore the default, which ends the process mid-way).
            loop.remove_signal_handler(signum)
            signal.signal(signum, signal.SIG_IGN)
        raise web.GracefulExit

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop)


def _in_use(exc: DataDirInUse) -> str:
    owner = f"process {exc.pid}" if exc.pid else "another process"
    return (
        f"data directory {exc.data_dir} is in use by {owner} (--data-dir / STREAM_DATA_DIR): "
        f"stop it, or share its Redis with --redis-url {exc.url}"
    )


def check_data_dir(settings: Settings) -> None:
    """The data directory exists, is private (0700) and writable, and no other process serves
    its Redis. Needed for the embedded Redis, and for the demo's secrets."""
    if settings.redis_url and not settings.demo:
        return
    data_dir = settings.data_dir
    try:
        make_private_dir(data_dir)
        with tempfile.TemporaryFile(dir=data_dir):
            pass
    except OSError as exc:
        raise StartError(
            f"data directory {data_dir} is not writable (--data-dir / STREAM_DATA_DIR): "
            f"{exc.strerror or exc}"
        ) from None
    if settings.redis_url is None:
        url = running_redis(data_dir.resolve())
        if url is not None:
            _, pid = read_lock(data_dir / LOCK_FILE)
            raise StartError(_in_use(DataDirInUse(data_dir, url, pid)))


async def probe_redis(url: str) -> None:
    """One PING without retries: an unreachable ``--redis-url`` fails in seconds, clearly."""
    shown = redact_url(url)
    try:
        client = PlainRedis.from_url(
            url, socket_connect_timeout=REDIS_PROBE_TIMEOUT, socket_timeout=REDIS_PROBE_TIMEOUT
        )
    except ValueError as exc:
        raise StartError(f"--redis-url / STREAM_REDIS_URL {shown!r}: {exc}") from None
    try:
        await asyncio.wait_for(client.ping(), REDIS_PROBE_TIMEOUT * 2)
    except Exception as exc:
        reason = str(exc).replace(url, shown) or type(exc).__name__
        raise StartError(
            f"cannot reach Redis at {shown} (--redis-url / STREAM_REDIS_URL): {reason}"
        ) from None
    finally:
        await client.aclose()


def _bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def _bind_error(host: str, port: int, flag: str, exc: OSError) -> StartError:
    if exc.errno == errno.EADDRINUSE:
        return StartError(f"port {port} on {host} is already in use ({flag})")
    if exc.errno == errno.EACCES:
        return StartError(f"not allowed to listen on port {port} ({flag})")
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return StartError(f"cannot listen on {host}: not an address of this machine (--host)")
    return StartError(f"cannot listen on {host}:{port} ({flag}): {exc.strerror or exc}")


def listen(host: str, port: int) -> socket.socket:
    """The HTTP listening socket, bound before anything starts."""
    try:
        sock = _bind(host, port)
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        raise _bind_error(host, port, "--port", exc) from None
    sock.setblocking(False)
    return sock


def listen_each(host: str, port: int, count: int) -> list[socket.socket]:
    """One listening socket per worker on the same port (``SO_REUSEPORT``): the kernel spreads
    new connections evenly over them, where workers accepting from one shared socket would
    leave it to whichever wakes first (one worker can take nearly all). The port is checked
    free first: a socket without the option cannot join another server's group."""
    check_port(host, port, "--port")
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = _bind(host, port, reuse_port=True)
            socks.append(sock)
            sock.listen(LISTEN_BACKLOG)
            sock.setblocking(False)
    except OSError as exc:
        for sock in socks:
            sock.close()
        raise _bind_error(host, port, "--port", exc) from None
    return socks


def check_port(host: str, port: int, flag: str) -> None:
    """Fail now if another process listens on ``port`` (the service binds it later)."""
    try:
        _bind(host, port).close()
    except OSError as exc:
        raise _bind_error(host, port, flag, exc) from None
