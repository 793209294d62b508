"""The ``stream`` command: ``stream serve`` runs the platform, ``stream bench`` measures it,
``stream import`` reads a programme file, ``stream admin`` manages staff accounts."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from stream.config import ConfigError, Settings

if TYPE_CHECKING:
    from aiohttp import web


def serve(
    args: argparse.Namespace, prepare: Callable[[web.Application], None] | None = None
) -> int:
    """``stream serve``; ``prepare`` may add to the application before it runs (benchmarks)."""
    from aiohttp import web

    from stream.app import create_app

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


def _bench(args: argparse.Namespace) -> int:
    from stream.bench import run_bench

    return run_bench(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stream",
        description="Livestreams and hybrid events: run, measure, load a programme.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    server = commands.add_parser("serve", help="run the platform")
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
    server.set_defaults(func=serve)

    bench = commands.add_parser("bench", help="measure the platform (prints figures)")
    from stream.bench import add_bench_arguments

    add_bench_arguments(bench)
    bench.set_defaults(func=_bench)

    from stream.admin import commands as admin_commands

    importer = commands.add_parser(
        "import", help="import a programme from a CSV or pretalx/frab JSON file"
    )
    admin_commands.add_import_arguments(importer)
    importer.set_defaults(func=admin_commands.run_import)
    admin = commands.add_parser("admin", help="staff accounts (create-user, set-password)")
    admin_commands.add_admin_arguments(admin)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
