"""create_app(settings): wires every part through ``cleanup_ctx`` (closed in reverse order)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from stream import ops
from stream.config import Settings
from stream.http.keys import EMBEDDED_REDIS, REDIS, SETTINGS
from stream.http.middleware import error_middleware, security_headers
from stream.http.templates import TEMPLATES, make_templates
from stream.store import EmbeddedRedis, connect, wait_ready

logger = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1024 * 1024


async def redis_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    embedded: EmbeddedRedis | None = None
    url = settings.redis_url
    if url is None:
        embedded = EmbeddedRedis(settings.data_dir)
        # Started from the loop's own thread, not a worker: the child is bound to the thread
        # that started it (it gets SIGTERM when that thread ends; see EmbeddedRedis).
        embedded.start()
        app[EMBEDDED_REDIS] = embedded
        url = embedded.url
    client = connect(url)
    try:
        await wait_ready(client)
    except Exception:
        await client.aclose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
        raise
    app[REDIS] = client
    try:
        yield
    finally:
        await client.aclose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


def create_app(settings: Settings) -> web.Application:
    from stream.admin import routes as admin_routes
    from stream.auth import routes as auth_routes
    from stream.chat import routes as chat_routes
    from stream.ingest import routes as ingest_routes
    from stream.ingest.rtmp import routes as rtmp_routes
    from stream.pages import routes as page_routes
    from stream.program import routes as program_routes
    from stream.qa import routes as qa_routes
    from stream.rooms import routes as room_routes
    from stream.rtc import routes as rtc_routes

    app = web.Application(
        middlewares=[error_middleware, security_headers], client_max_size=MAX_REQUEST_BYTES
    )
    app[SETTINGS] = settings
    app[TEMPLATES] = make_templates(settings.web_dir)
    app.cleanup_ctx.append(redis_context)
    rtc_routes.setup(app)
    room_routes.setup(app)
    ingest_routes.setup(app)
    rtmp_routes.setup(app)
    program_routes.setup(app)  # before the pages: /s/{id}.ics ahead of /s/{id}
    auth_routes.setup(app)
    admin_routes.setup(app)
    page_routes.setup(app)
    chat_routes.setup(app)
    qa_routes.setup(app)  # after the chat: its frames ride the chat's sockets
    ops.setup(app)
    if settings.demo:
        from stream import demo

        demo.setup(app)
    app.router.add_static("/static", settings.web_dir / "static", append_version=True)
    return app
