"""Wires RTMP ingest into the app: a cleanup context starts the listener and stops it.

No HTTP routes: RTMP has its own port (``Settings.rtmp_port``, 0 = off). Started after the
rooms (it publishes into them) and therefore stopped before them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from stream.http.keys import REDIS, ROOMS, RTMP_SERVER, SETTINGS
from stream.ingest.rtmp.connection import KeyGrant
from stream.ingest.rtmp.lookup import session_for_key
from stream.ingest.rtmp.server import RtmpServer


async def rtmp_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if not settings.rtmp_port:
        yield
        return
    redis = app[REDIS]

    async def authorise(key: str) -> KeyGrant | None:
        return await session_for_key(redis, key)

    server = RtmpServer(authorise, app[ROOMS].get_or_create)
    host = settings.rtmp_host or settings.host
    try:
        await server.start(host, settings.rtmp_port)
    except OSError as exc:
        raise RuntimeError(
            f"STREAM_RTMP_PORT: cannot listen on {host}:{settings.rtmp_port} ({exc.strerror});"
            " choose another port, or 0 to turn RTMP ingest off"
        ) from exc
    app[RTMP_SERVER] = server
    try:
        yield
    finally:
        await server.close()
