"""Middlewares: errors as short problem+json bodies for APIs and machines, as a page in the
visitor's language for browsers (never a bare 500); security headers."""

from __future__ import annotations

import json
import logging
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler

from stream.common.errors import StreamError
from stream.http.keys import TEMPLATES

logger = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self' ws: wss:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
# Pages meant to be embedded in other sites (the player-only embed page) relax this one.
EMBEDDABLE_FRAME_ANCESTORS = "frame-ancestors *"


# Paths whose errors are always problem+json, whoever asks: the APIs, the media endpoints, the
# sockets and the media segments.
API_PREFIXES = ("/api/", "/admin/api/", "/whip/", "/whep/", "/ws/", "/hls/")
# The error page's text for each status (``error.{kind}.title`` / ``.text`` in web/i18n).
ERROR_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    410: "not_found",
    429: "rate_limited",
    503: "unavailable",
}
# What a browser's page of an error may pass on from the exception.
_PASSTHROUGH = ("Allow", "Retry-After", "WWW-Authenticate", "Location")


def wants_page(request: web.Request) -> bool:
    """A browser navigating (it accepts ``text/html``) to anything but an API path, and not
    asking for JSON: errors become a page in its language, not a problem document."""
    if request.path.startswith(API_PREFIXES):
        return False
    accept = request.headers.get("Accept", "").lower()
    if "json" in accept:
        return False
    return "text/html" in accept


def error_kind(status: int) -> str:
    if status in ERROR_KINDS:
        return ERROR_KINDS[status]
    return "server" if status >= 500 else "other"


def error_page(
    request: web.Request,
    status: int,
    *,
    incident: str = "",
    headers: dict[str, str] | None = None,
) -> web.Response | None:
    """The error page for ``status`` in the visitor's language, or None when pages cannot be
    rendered (the templates are not installed, or rendering failed): then the caller answers
    with a problem document."""
    templates = request.app.get(TEMPLATES)
    if templates is None:
        return None
    context = {"status": status, "kind": error_kind(status), "incident": incident}
    try:
        response = templates.render(request, "error.html", context, status=status)
    except Exception:
        logger.exception("the error page for %s could not be rendered", status)
        return None
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Accept, Cookie, Accept-Language"
    return response


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
        if wants_page(request):
            page = error_page(request, exc.status, headers=_kept(exc.headers))
            if page is not None:
                return page
        return problem(exc.status, exc.detail, title=exc.title, headers=exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/problem+json":
            raise
        if wants_page(request):
            page = error_page(request, exc.status, headers=_passthrough_headers(exc))
            if page is not None:
                return page
        return problem(exc.status, exc.reason, headers=_passthrough_headers(exc))
    except Exception:
        incident = uuid.uuid4().hex[:12]
        logger.exception(
            "unhandled error in %s %s (incident %s)", request.method, request.path, incident
        )
        if wants_page(request):
            page = error_page(request, 500, incident=incident)
            if page is not None:
                return page
        return problem(500, f"Internal error (incident {incident})")


def _kept(headers: dict[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (headers or {}).items() if k in _PASSTHROUGH}


def _passthrough_headers(exc: web.HTTPException) -> dict[str, str]:
    return {k: v for k, v in exc.headers.items() if k in _PASSTHROUGH}


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
