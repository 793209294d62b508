"""Viewer sign-up: ``GET/POST /register`` makes a registered viewer account and logs it in.

Registered viewers chat under their own name, also where a session's chat admits registered
participants only; they have no staff pages. Sign-ups are limited per address.
"""

from __future__ import annotations

import logging

from aiohttp import web

from stream.auth.authenticator import set_login_cookie
from stream.auth.logins import LoginStore
from stream.auth.users import User, UserStore, normalise_username
from stream.common.errors import Conflict, Forbidden
from stream.common.grants import Role
from stream.common.rates import SIGNUP_PER_ADDRESS
from stream.common.validation import FieldError, Invalid
from stream.http import identity as guard
from stream.http.client import client_address
from stream.http.forms import Form
from stream.http.keys import LIMITER, REDIS
from stream.http.render import read_form, render, safe_next

logger = logging.getLogger(__name__)


async def _signups_left(request: web.Request) -> bool:
    """Count this sign-up against the address (:data:`SIGNUP_PER_ADDRESS`); False past it."""
    wait = await request.app[LIMITER].hit(SIGNUP_PER_ADDRESS, ("addr", client_address(request)))
    return not wait


async def register_page(request: web.Request) -> web.StreamResponse:
    next_path = safe_next(request.query.get("next"), default="/")
    return await render(request, "register.html", {"form": Form(), "next": next_path})


async def register_submit(request: web.Request) -> web.StreamResponse:
    try:
        values = await read_form(request)  # checks the CSRF token
    except Forbidden:
        form = Form({}, [FieldError("username", "expired", "the form expired; try again")])
        return await render(request, "register.html", {"form": form, "next": "/"}, status=403)
    next_path = safe_next(values.get("next"), default="/")
    shown = {k: v for k, v in values.items() if k in ("username", "display_name")}

    async def again(errors: list[FieldError], status: int) -> web.Response:
        form = Form(shown, errors)
        context = {"form": form, "next": next_path}
        return await render(request, "register.html", context, status=status)

    errors: list[FieldError] = []
    if values.get("password", "") != values.get("repeat", ""):
        errors.append(FieldError("repeat", "passwords_differ", "the passwords differ"))
    try:
        user = User(
            username=normalise_username(values.get("username", "")),
            display_name=values.get("display_name", "").strip(),
            role=Role.VIEWER,
        )
    except Invalid as exc:
        return await again(list(exc.errors) + errors, 400)
    if errors:
        return await again(errors, 400)
    if not await _signups_left(request):
        return await again([FieldError("username", "rate_limited", "too many sign-ups")], 429)
    try:
        await UserStore(request.app[REDIS]).create(user, values.get("password", ""))
    except Invalid as exc:
        return await again(list(exc.errors), 400)
    except Conflict:
        return await again([FieldError("username", "taken", "the username is taken")], 409)
    token, _ = await LoginStore(request.app[REDIS]).create(user.username)
    logger.info("viewer account created from %s", client_address(request))
    response = web.Response(status=303, headers={"Location": next_path})
    set_login_cookie(request, response, token)
    guard.forget_current(request)
    return response
