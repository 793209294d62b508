"""Behind a reverse proxy (nginx, Caddy): the request as the client made it.

From a trusted proxy (``STREAM_TRUSTED_PROXIES``) only, the request is cloned with the client's
address (``X-Forwarded-For``, read as :func:`stream.http.client.client_address` does), scheme
(``X-Forwarded-Proto``) and host (``X-Forwarded-Host``). Everything downstream then sees the
real thing: ``request.secure`` (cookies are ``Secure`` under https), ``request.host`` and
``request.scheme`` (absolute URLs, origin checks), ``request.remote`` (per-address limits, logs).
From anyone else the headers are ignored.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from stream.http.client import UNKNOWN, client_address, from_trusted_proxy

SCHEMES = ("http", "https")
MAX_HOST_LENGTH = 255
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$"
)


def _first(value: str | None) -> str:
    """The first entry of a comma-separated header: the one the outermost proxy wrote."""
    return (value or "").split(",", 1)[0].strip()


def forwarded_proto(request: web.Request) -> str | None:
    proto = _first(request.headers.get("X-Forwarded-Proto")).lower()
    return proto if proto in SCHEMES else None


def forwarded_host(request: web.Request) -> str | None:
    host = _first(request.headers.get("X-Forwarded-Host"))
    if not host or len(host) > MAX_HOST_LENGTH or not _HOST.match(host):
        return None
    return host


@web.middleware
async def forwarded_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not from_trusted_proxy(request):
        return await handler(request)
    changes: dict[str, Any] = {}
    address = client_address(request)
    if address != UNKNOWN:
        changes["remote"] = address
    proto = forwarded_proto(request)
    if proto is not None:
        changes["scheme"] = proto
    host = forwarded_host(request)
    if host is not None:
        changes["host"] = host
    return await handler(request.clone(**changes) if changes else request)
