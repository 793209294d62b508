"""The ``stream`` command: ``stream serve`` runs the platform, ``stream bench`` measures it,
``stream import`` reads a programme file, ``stream admin`` manages staff accounts."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from stream.config import ConfigError, Settings


def _serve(args: argparse.Namespace) -> int:
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
            relay_mode=args.relay_mode,
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
    web.run_app(
        create_app(settings),
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

    serve = commands.add_parser("serve", help="run the platform")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default 8080)")
    serve.add_argument(
        "--rtmp-port", type=int, help="RTMP ingest port (default 1935; 0 turns RTMP off)"
    )
    serve.add_argument("--rtmp-host", help="address RTMP listens on (default: --host)")
    serve.add_argument("--redis-url", help="use this Redis/Valkey instead of the embedded one")
    serve.add_argument("--data-dir", type=Path, help="embedded Redis data and AOF (default .data)")
    serve.add_argument(
        "--ice-host",
        action="append",
        help="IP address offered as ICE host candidate (repeatable; default: all but loopback)",
    )
    serve.add_argument(
        "--demo", action="store_true", help="create the demo event with a live test pattern"
    )
    serve.add_argument("--public-url", help="URL other nodes use to reach this one")
    serve.add_argument(
        "--relay-mode",
        choices=["forward", "reencode"],
        help="forward encoded frames (default); reencode per viewer only to benchmark against",
    )
    serve.set_defaults(func=_serve)

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
