"""``python -m stream.bench.record_server serve ...``: ``stream serve`` without the archive.

The recording benchmark's baseline: the same application and flags as ``stream serve``, with
the archive detached from the room registry once it has started, so no room is recorded and
none writes live HLS.
"""

from __future__ import annotations

import argparse
import sys

from aiohttp import web

from stream.http.keys import ARCHIVE, ROOMS
from stream.serve import add_serve_arguments, serve


def without_archive(app: web.Application) -> None:
    """New rooms of ``app`` get no archive sink (after the archive's own start-up)."""

    async def detach(app: web.Application) -> None:
        app[ROOMS].observers.remove(app[ARCHIVE].observe)

    app.on_startup.append(detach)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stream.bench.record_server")
    commands = parser.add_subparsers(dest="command", required=True)
    add_serve_arguments(commands.add_parser("serve", help="stream serve, nothing recorded"))
    return serve(parser.parse_args(argv), prepare=without_archive)


if __name__ == "__main__":
    sys.exit(main())
