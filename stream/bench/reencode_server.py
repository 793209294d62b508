"""``python -m stream.bench.reencode_server serve ...``: ``stream serve`` whose rooms re-encode.

The relay benchmark's baseline server: the same application and flags as ``stream serve``,
with :class:`stream.bench.reencode.Reencoding` injected as every room's viewer outputs.
"""

from __future__ import annotations

import argparse
import sys

from aiohttp import web

from stream.bench.reencode import Reencoding
from stream.http.keys import ROOMS
from stream.serve import add_serve_arguments, serve


def use_reencoding(app: web.Application) -> None:
    """Rooms of ``app`` re-encode per viewer (set once the room registry exists)."""

    async def inject(app: web.Application) -> None:
        app[ROOMS].viewer_outputs = Reencoding

    app.on_startup.append(inject)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stream.bench.reencode_server")
    commands = parser.add_subparsers(dest="command", required=True)
    add_serve_arguments(commands.add_parser("serve", help="stream serve, rooms re-encoding"))
    return serve(parser.parse_args(argv), prepare=use_reencoding)


if __name__ == "__main__":
    sys.exit(main())
