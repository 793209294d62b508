"""Middlewares: errors as short problem+json bodies (never a bare 500), security headers."""

from __future__ import annotations

import json
import logging
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler

from stream.common.errors import StreamError

logger = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self' ws: wss:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
# Pages meant to be embedded in other sites (the player-only embed page) relax this one.
EMBEDDABLE_FRAME_ANCESTORS = "frame-ancestors *"


def problem(
    status: int, detail: str, *, title: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    """An RFC 9457 problem document."""
    body = {"status": status, "title": title or _reason(status), "detail": detail}
    return web.Response(
        status=status,
        text=json.dumps(body),
        content_type="application/problem+json",
        headers=headers,
    )


def _reason(status: int) -> str:
    try:
        from http import HTTPStatus

        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except StreamError as exc:
        return problem(exc.status, exc.detail, title=exc.title, headers=exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/problem+json":
            raise
        return problem(exc.status, exc.reason, headers=_passthrough_headers(exc))
    except Exception:
        incident = uuid.uuid4().hex[:12]
        logger.exception(
            "unhandled error in %s %s (incident %s)", request.method, request.path, incident
        )
        return problem(500, f"Internal error (incident {incident})")


def _passthrough_headers(exc: web.HTTPException) -> dict[str, str]:
    keep = ("Allow", "Retry-After", "WWW-Authenticate", "Location")
    return {k: v for k, v in exc.headers.items() if k in keep}


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.content_type == "text/html":
        # Framing is said once, by CSP frame-ancestors (no X-Frame-Options to contradict it).
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response
