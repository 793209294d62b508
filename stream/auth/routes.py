"""HTTP for staff login: ``GET/POST /login`` and ``POST /logout``."""

from __future__ import annotations

import logging
import math

from aiohttp import web

from stream.auth.authenticator import clear_login_cookie, set_login_cookie
from stream.auth.logins import LoginStore
from stream.auth.passwords import MAX_PASSWORD_LENGTH, verify_password_async
from stream.auth.users import UserStore
from stream.common.errors import Forbidden
from stream.common.rates import LOGIN_PER_ACCOUNT, LOGIN_PER_ADDRESS
from stream.http import identity as guard
from stream.http.client import client_address
from stream.http.keys import LIMITER, REDIS
from stream.http.render import render, safe_next, see_other

logger = logging.getLogger(__name__)

MAX_USERNAME_INPUT = 100


async def login_page(request: web.Request) -> web.StreamResponse:
    next_path = safe_next(request.query.get("next"))
    if await guard.current_identity(request) is not None:
        raise see_other(next_path)
    return await render(request, "admin/login.html", {"next": next_path, "username": ""})


async def login_submit(request: web.Request) -> web.StreamResponse:
    posted = await request.post()
    values = {k: v for k, v in posted.items() if isinstance(v, str)}
    next_path = safe_next(values.get("next"))
    username = values.get("username", "")[:MAX_USERNAME_INPUT]
    password = values.get("password", "")

    async def again(message_key: str, status: int, **extra: str) -> web.Response:
        return await render(
            request,
            "admin/login.html",
            {"next": next_path, "username": username, "message_key": message_key, **extra},
            status=status,
            headers={"Retry-After": extra["retry_after"]} if "retry_after" in extra else None,
        )

    try:
        await guard.check_csrf(request, values.get(guard.CSRF_FIELD, ""))
    except Forbidden:
        return await again("auth.error.expired", 403)
    if not username.strip() or not password:
        return await again("auth.error.missing", 400)
    redis = request.app[REDIS]
    address = client_address(request)
    account = ("account", username.strip().casefold())
    # Counted before the password is checked (atomically, in Redis): parallel guesses get no
    # more checks than the limit, and a locked-out account refuses the right password too.
    limiter = request.app[LIMITER]
    # Both counted in one atomic step, before the password is looked at (or neither).
    wait = await limiter.hit_each(
        (LOGIN_PER_ADDRESS, ("addr", address)), (LOGIN_PER_ACCOUNT, account)
    )
    if wait:
        seconds = max(1, math.ceil(wait))
        logger.info("login refused from %s: too many attempts", address)
        return await again(
            "auth.error.rate_limited",
            429,
            retry_after=str(seconds),
            minutes=str(max(1, (seconds + 59) // 60)),
        )
    user = await UserStore(redis).find(username)
    password_ok = len(password) <= MAX_PASSWORD_LENGTH and await verify_password_async(
        user.password_hash if user else None, password
    )
    if user is None or not password_ok:
        # Not the username: people type passwords into the wrong field.
        logger.info("login refused from %s", address)
        return await again("auth.error.wrong", 401)
    await limiter.reset(LOGIN_PER_ACCOUNT, account)
    token, _ = await LoginStore(redis).create(user.username)
    logger.info("login: %s (%s)", user.username, user.role)
    response = web.Response(status=303, headers={"Location": next_path})
    set_login_cookie(request, response, token)
    guard.forget_current(request)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    posted = await request.post()
    submitted = posted.get(guard.CSRF_FIELD)
    try:
        await guard.check_csrf(request, submitted if isinstance(submitted, str) else "")
    except Forbidden:
        return await render(
            request, "admin/error.html", {"message_key": "auth.error.expired"}, status=403
        )
    token = request.cookies.get(guard.LOGIN_COOKIE)
    if token:
        await LoginStore(request.app[REDIS]).destroy(token)
    response = web.Response(status=303, headers={"Location": "/"})
    clear_login_cookie(response)
    return response
