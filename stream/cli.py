"""The ``stream`` command: ``stream serve`` runs the platform, ``stream bench`` measures it,
``stream import`` reads a programme file, ``stream admin`` manages staff accounts."""

from __future__ import annotations

import argparse
import sys

from stream.serve import add_serve_arguments, serve


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
    add_serve_arguments(server)
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
