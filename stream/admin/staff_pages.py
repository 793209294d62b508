"""Admin pages for staff accounts: admins manage everyone; arranger staff manage the
moderators and speakers of their own arranger and assign them to their own sessions.
A new account's password is typed by its creator or generated and shown once."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from aiohttp import web

from stream.admin import forms
from stream.admin.access import require_organiser
from stream.auth.authenticator import set_login_cookie
from stream.auth.logins import LoginStore
from stream.auth.passwords import verify_password_async
from stream.auth.users import USERNAME_PATTERN, User, UserStore
from stream.common.errors import Conflict, Forbidden
from stream.common.grants import STAFF_ROLES, Identity, Permission
from stream.common.validation import FieldError, Invalid
from stream.http import identity as guard
from stream.http.forms import Form, oversized
from stream.http.keys import REDIS
from stream.http.render import read_form, render, see_other
from stream.program.programme import load_programme

logger = logging.getLogger(__name__)

GENERATED_PASSWORD_BYTES = 12


def _visible(identity: Identity, users: list[User]) -> list[User]:
    """Staff accounts this identity manages (registered viewers are not listed here)."""
    return [
        u
        for u in users
        if u.role in STAFF_ROLES and identity.may_manage_account(u.role, u.arranger)
    ]


async def _form_page(
    request: web.Request,
    identity: Identity,
    form: Form,
    *,
    user: User | None,
    status: int = 200,
    password: str | None = None,
) -> web.Response:
    programme = await load_programme(request.app[REDIS])
    sessions = [
        s for s in programme.sessions if identity.may(Permission.MANAGE, s.id, s.arranger_id)
    ]
    assigned = set(user.sessions) if user else set()
    if form.errors or status != 200:
        assigned = {s.id for s in sessions if form.values.get(f"session:{s.id}") == "on"}
    context: dict[str, Any] = {
        "form": form,
        "user": user,
        "roles": identity.may_grant(),
        "arrangers": list(programme.arrangers.values()) if identity.is_admin else [],
        "sessions": sessions,
        "assigned": assigned,
        "new_password": password,
        "notice": request.query.get("notice", ""),
        "is_self": user is not None and user.username == identity.username,
    }
    return await render(request, "admin/staff_form.html", context, status=status)


async def staff_list(request: web.Request) -> web.StreamResponse:
    identity = await require_organiser(request)
    users = _visible(identity, await UserStore(request.app[REDIS]).all())
    programme = await load_programme(request.app[REDIS])
    return await render(
        request,
        "admin/staff.html",
        {"users": users, "programme": programme, "notice": request.query.get("notice", "")},
    )


async def staff_new(request: web.Request) -> web.StreamResponse:
    identity = await require_organiser(request)
    defaults = {"role": identity.may_grant()[-1].value, "arranger": identity.arranger}
    return await _form_page(request, identity, Form(defaults), user=None)


def _assigned(values: dict[str, str]) -> list[str]:
    return [key.split(":", 1)[1] for key, value in values.items() if key.startswith("session:")]


async def staff_create(request: web.Request) -> web.StreamResponse:
    identity = await require_organiser(request)
    values = await read_form(request)
    password = values.pop("password", "")
    generated = not password
    if generated:
        password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    try:
        too_long = oversized(values)
        if too_long:
            raise too_long
        user = forms.user_from_form(
            values, username=None, identity=identity, sessions=_assigned(values)
        )
        _check_may_manage(identity, user)
        user = await UserStore(request.app[REDIS]).create(user, password)
    except Invalid as exc:
        return await _form_page(request, identity, Form.failed(values, exc), user=None, status=400)
    except Conflict:
        error = FieldError("username", "username_taken", "this username is taken")
        return await _form_page(request, identity, Form(values, [error]), user=None, status=409)
    logger.info("account %s (%s) created by %s", user.username, user.role, identity.username)
    if generated:
        return await _form_page(
            request,
            identity,
            Form(forms.user_values(user)),
            user=user,
            status=201,
            password=password,
        )
    raise see_other(f"/admin/staff/{user.username}?notice=created")


def _check_may_manage(identity: Identity, user: User) -> None:
    if not identity.may_manage_account(user.role, user.arranger):
        raise Forbidden("you may not manage this account")


async def _managed(request: web.Request) -> tuple[Identity, User]:
    identity = await require_organiser(request)
    username = request.match_info["username"]
    if not USERNAME_PATTERN.fullmatch(username):
        raise web.HTTPNotFound()
    user = await UserStore(request.app[REDIS]).get(username)
    _check_may_manage(identity, user)
    return identity, user


async def staff_edit(request: web.Request) -> web.StreamResponse:
    identity, user = await _managed(request)
    return await _form_page(request, identity, Form(forms.user_values(user)), user=user)


async def staff_update(request: web.Request) -> web.StreamResponse:
    identity, user = await _managed(request)
    values = await read_form(request)
    values.pop("password", None)
    try:
        too_long = oversized(values)
        if too_long:
            raise too_long
        changed = forms.user_from_form(
            values, username=user.username, identity=identity, sessions=_assigned(values)
        )
        _check_may_manage(identity, changed)
        await UserStore(request.app[REDIS]).update(changed)
    except Invalid as exc:
        return await _form_page(request, identity, Form.failed(values, exc), user=user, status=400)
    except Conflict as exc:
        error = FieldError("role", "last_admin", exc.detail)
        return await _form_page(request, identity, Form(values, [error]), user=user, status=409)
    raise see_other(f"/admin/staff/{user.username}?notice=saved")


async def staff_password(request: web.Request) -> web.StreamResponse:
    """A new password for someone else's account (typed, or generated and shown once)."""
    identity, user = await _managed(request)
    values = await read_form(request)
    password = values.get("password", "")
    generated = not password
    if generated:
        password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    try:
        await UserStore(request.app[REDIS]).set_password(user.username, password)
    except Invalid as exc:
        return await _form_page(
            request,
            identity,
            Form.failed(forms.user_values(user), exc),
            user=user,
            status=400,
        )
    logger.info("password of %s reset by %s", user.username, identity.username)
    if user.username == identity.username:
        raise see_other("/login")
    return await _form_page(
        request,
        identity,
        Form(forms.user_values(user)),
        user=user,
        password=password if generated else None,
    )


async def staff_delete(request: web.Request) -> web.StreamResponse:
    identity, user = await _managed(request)
    await read_form(request)
    if user.username == identity.username:
        error = FieldError("delete", "delete_self", "you cannot delete your own account")
        return await _form_page(
            request, identity, Form(forms.user_values(user), [error]), user=user, status=409
        )
    try:
        await UserStore(request.app[REDIS]).delete(user.username)
    except Conflict as exc:
        error = FieldError("delete", "last_admin", exc.detail)
        return await _form_page(
            request, identity, Form(forms.user_values(user), [error]), user=user, status=409
        )
    logger.info("account %s deleted by %s", user.username, identity.username)
    raise see_other("/admin/staff?notice=deleted")


async def account_page(request: web.Request) -> web.StreamResponse:
    await guard.require_staff(request)
    return await render(
        request,
        "admin/account.html",
        {"form": Form(), "notice": request.query.get("notice", "")},
    )


async def account_password(request: web.Request) -> web.StreamResponse:
    """Change one's own password: the current one first; every other login ends."""
    identity = await guard.require_staff(request)
    values = await read_form(request)
    store = UserStore(request.app[REDIS])
    user = await store.get(identity.username)
    errors: list[FieldError] = []
    if not await verify_password_async(user.password_hash, values.get("current", "")):
        errors.append(FieldError("current", "wrong_password", "the current password is wrong"))
    if values.get("password", "") != values.get("repeat", ""):
        errors.append(FieldError("repeat", "passwords_differ", "the new passwords differ"))
    try:
        if errors:
            raise Invalid(errors)
        await store.set_password(user.username, values.get("password", ""))
    except Invalid as exc:
        return await render(
            request, "admin/account.html", {"form": Form({}, list(exc.errors))}, status=400
        )
    token, _ = await LoginStore(request.app[REDIS]).create(user.username)
    response = web.Response(status=303, headers={"Location": "/admin/account?notice=saved"})
    set_login_cookie(request, response, token)
    return response
