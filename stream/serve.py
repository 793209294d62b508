"""``stream serve``: settings from the environment and flags, logging, the app, run until
stopped (SIGINT/SIGTERM close every resource in order)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from stream.app import create_app
from stream.config import ConfigError, Settings


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
        "--demo", action="store_true", help="create the demo event with a live test pattern"
    )
    server.add_argument("--public-url", help="URL other nodes use to reach this one")


def serve(
    args: argparse.Namespace, prepare: Callable[[web.Application], None] | None = None
) -> int:
    """``stream serve``; ``prepare`` may add to the application before it runs (benchmarks)."""
    try:
        settings = Settings.from_env(
            host=args.host,
            port=args.port,
            rtmp_port=args.rtmp_port,
            rtmp_host=args.rtmp_host,
            redis_url=args.redis_url,
            data_dir=args.data_dir,
            ice_hosts=tuple(args.ice_host) if args.ice_host else None,
            demo=args.demo or None,
            public_url=args.public_url,
        )
    except ConfigError as exc:
        print(f"stream: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aiortc").setLevel(logging.WARNING)
    logging.getLogger("aioice").setLevel(logging.WARNING)
    app = create_app(settings)
    if prepare is not None:
        prepare(app)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        backlog=1024,
        shutdown_timeout=5.0,
        print=lambda message: print(message, flush=True),
    )
    return 0
