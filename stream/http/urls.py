"""Absolute URLs: the one place that builds them (iCal, QR codes, invite links, WHIP/WHEP
``Location`` when absolute, log lines).

``STREAM_PUBLIC_URL`` wins when set (behind a proxy, or a name that differs from the address
the request came to); otherwise the request's own scheme and host are used; without a request
(start-up messages, presence records) the node's listening address.
"""

from __future__ import annotations

from aiohttp import web

from stream.config import Settings


def base_url(settings: Settings, request: web.Request | None = None) -> str:
    """``https://stream.example`` (no trailing slash)."""
    if settings.public_url:
        return settings.public_url
    if request is not None:
        return f"{request.scheme}://{request.host}"
    return settings.base_url


def absolute_url(settings: Settings, path: str, request: web.Request | None = None) -> str:
    """The absolute URL of a local ``path`` (which starts with ``/``)."""
    if not path.startswith("/"):
        raise ValueError(f"not a local path: {path!r}")
    return base_url(settings, request) + path


def host_name(settings: Settings, request: web.Request | None = None) -> str:
    """The host part of :func:`base_url`, without a port (iCal UIDs)."""
    netloc = base_url(settings, request).split("://", 1)[-1]
    return netloc.rsplit(":", 1)[0].strip("[]") if netloc.count(":") == 1 else netloc or "stream"
