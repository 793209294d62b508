"""The route table's vocabulary: a :class:`Route` names its handler and its :class:`Guard`.

The composition root lists every route of the app in one table and :func:`mount` adds them;
each handler runs only after its guard has let the request through. A guard raises the usual
errors (401, 403, 404 for what a visitor may not know exists); for staff pages (``page=True``)
those become a login redirect or an error page instead of a JSON problem.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from stream.http.render import Handler, public_page, staff_page

Check = Callable[[web.Request], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Guard:
    """Who may call a route: ``name`` says it in words (the table reads as documentation)."""

    name: str
    check: Check

    async def __call__(self, request: web.Request) -> None:
        await self.check(request)


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Handler
    guard: Guard
    # An HTML page: refusals become pages, not JSON problems. "staff": a login redirect or an
    # error page; "visitor": the 404 page for what does not exist or may not be seen.
    page: Literal["", "staff", "visitor"] = ""


def guarded(handler: Handler, guard: Guard) -> Handler:
    @functools.wraps(handler)
    async def run(request: web.Request) -> web.StreamResponse:
        await guard(request)
        return await handler(request)

    return run


def mount(app: web.Application, routes: Iterable[Route]) -> None:
    """Add each route in order (order matters where paths overlap: ``/s/x.ics`` before
    ``/s/{session}``)."""
    for route in routes:
        handler = guarded(route.handler, route.guard)
        if route.page == "staff":
            handler = staff_page(handler)
        elif route.page == "visitor":
            handler = public_page(handler)
        app.router.add_route(route.method, route.path, handler)
