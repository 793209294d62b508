"""Rendering pages: the identity, the CSRF token, times in the event's zone, translated field
errors; and turning domain errors into pages (a login redirect, a 403 page), never a 500."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web

from stream.common import times
from stream.common.display import When
from stream.common.errors import BadRequest, Forbidden, NotFound, StreamError, Unauthorized
from stream.common.validation import FieldError
from stream.http import identity as guard
from stream.http.i18n import LANG_COOKIE, choose_language
from stream.http.keys import TEMPLATES

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_NEXT_LENGTH = 2000
# Whitespace and control characters anywhere (the Unicode line and paragraph separators too).
_UNSAFE_IN_NEXT = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]")


def page_language(request: web.Request) -> str:
    return choose_language(
        request.query.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("Accept-Language"),
    )


async def identity_context(request: web.Request) -> dict[str, Any]:
    """What a page's header needs (``partials/user_header.html``): who is logged in, and the
    CSRF token of their log out form; nothing for a visitor (no token, so no cookie)."""
    who = await guard.current_identity(request)
    if who is None:
        return {}
    return {
        "identity": who,
        "csrf_token": await guard.csrf_token(request),
        "csrf_field": guard.CSRF_FIELD,
    }


async def render(
    request: web.Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.Response:
    templates = request.app[TEMPLATES]
    lang = page_language(request)

    def error_text(error: FieldError) -> str:
        key = f"form.error.{error.code}"
        params = dict(error.params)
        text = templates.catalogues.gettext(lang, key, **params)
        return error.message if text == key else text

    def field_label(name: str) -> str:
        key = f"form.field.{name}"
        text = templates.catalogues.gettext(lang, key)
        return name if text == key else text

    full = {
        "identity": await guard.current_identity(request),
        "csrf_token": await guard.csrf_token(request),
        "csrf_field": guard.CSRF_FIELD,
        "when": When(lang),
        "error_text": error_text,
        "field_label": field_label,
        "timezone": times.TIMEZONE_NAME,
        **(context or {}),
    }
    response = templates.render(request, name, full, status=status)
    guard.remember_nonce(request, response)
    response.headers["Cache-Control"] = "no-store"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def see_other(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


def login_redirect(request: web.Request) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='/')}")


def staff_page(handler: Handler) -> Handler:
    """Run a staff page: a visitor who is not logged in goes to the login page; a refusal or
    a missing object becomes a page saying so (not a JSON problem)."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Unauthorized:
            if request.method == "GET":
                raise login_redirect(request) from None
            return await render(
                request, "admin/error.html", {"message_key": "admin.error.login"}, status=401
            )
        except guard.CsrfRejected:
            return await render(
                request, "admin/error.html", {"message_key": "auth.error.expired"}, status=403
            )
        except Forbidden as exc:
            return await render(
                request,
                "admin/error.html",
                {"message_key": "admin.error.forbidden", "detail": exc.detail},
                status=403,
            )
        except NotFound:
            return await render(
                request, "admin/error.html", {"message_key": "admin.error.not_found"}, status=404
            )
        except StreamError as exc:
            if exc.status >= 500:
                raise
            return await render(
                request,
                "admin/error.html",
                {"message_key": "admin.error.other", "detail": exc.detail},
                status=exc.status,
            )

    return wrapped


def public_page(handler: Handler) -> Handler:
    """Run a visitor's page: a missing (or not-to-be-known) object becomes the 404 page."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (NotFound, BadRequest):  # a malformed id is a page that does not exist
            response = request.app[TEMPLATES].render(request, "error.html", {}, status=404)
            response.headers["Cache-Control"] = "no-cache"
            return response

    return wrapped


async def read_form(request: web.Request) -> dict[str, str]:
    """The submitted fields (text only: files are read by their own handlers), CSRF checked."""
    posted = await request.post()
    values = {key: value for key, value in posted.items() if isinstance(value, str)}
    await guard.check_csrf(request, values.get(guard.CSRF_FIELD, ""))
    values.pop(guard.CSRF_FIELD, None)
    return values


def safe_next(target: str | None, default: str = "/admin") -> str:
    """A path of this site to go to after logging in; anything else gives ``default``.

    Browsers drop tabs and line breaks inside URLs and read ``\\`` as ``/`` (so ``/<tab>/evil``
    and ``/\\evil`` lead to another site), and a line break cannot go in a header at all: a
    target is followed only when it is one printable path starting with a single ``/``."""
    if not target or len(target) > MAX_NEXT_LENGTH or not target.startswith("/"):
        return default
    if target.startswith("//") or "\\" in target or _UNSAFE_IN_NEXT.search(target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return default
    return target
