"""``python -m stream.bench.reencode_server serve ...``: ``stream serve`` whose rooms re-encode.

The relay benchmark's baseline server: the same application and flags as ``stream serve``,
with :class:`stream.bench.reencode.Reencoding` injected as every room's viewer outputs.
"""

from __future__ import annotations

import sys

from aiohttp import web

from stream.bench.reencode import Reencoding
from stream.cli import build_parser, serve
from stream.rooms.routes import ROOMS


def use_reencoding(app: web.Application) -> None:
    """Rooms of ``app`` re-encode per viewer (set once the room registry exists)."""

    async def inject(app: web.Application) -> None:
        app[ROOMS].viewer_outputs = Reencoding

    app.on_startup.append(inject)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "serve":
        print("usage: python -m stream.bench.reencode_server serve [stream serve flags]")
        return 2
    return serve(args, prepare=use_reencoding)


if __name__ == "__main__":
    sys.exit(main())
