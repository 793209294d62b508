"""Admin pages for the programme's catalogue: events, arrangers and studios.

Admins create, edit and delete them; arranger staff may look (they pick an event and a studio
for their sessions and want to see when a studio is free).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from stream.admin import forms
from stream.admin.access import require_admin, require_organiser
from stream.auth.users import UserStore
from stream.common.errors import Conflict
from stream.common.validation import ID_PATTERN, FieldError, Invalid
from stream.http.forms import Form, oversized
from stream.http.keys import REDIS
from stream.http.render import read_form, render, see_other
from stream.program.arrangers import ArrangerStore
from stream.program.events import EventStore
from stream.program.programme import load_programme
from stream.program.schedule import by_day
from stream.program.studios import StudioStore
from stream.store import Redis


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: str = "text"  # text | textarea | date | url | checkbox
    required: bool = False
    limit: int = 200
    hint: bool = False  # a translated hint exists (``admin.hint.{kind}.{name}``)


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of catalogue object and how its pages read and write it."""

    name: str  # "events"
    singular: str  # "event"
    fields: tuple[Field, ...]
    store: Callable[[Redis], Any]
    from_form: Callable[..., Any]
    values: Callable[[Any], dict[str, str]]


KINDS = {
    "events": Kind(
        "events",
        "event",
        (
            Field("name", required=True),
            Field("start_date", "date", required=True),
            Field("end_date", "date", required=True),
            Field("venue", hint=True),
            Field("languages", hint=True, limit=30),
            Field("description", "textarea", limit=5000),
            Field("record", "checkbox", hint=True),
        ),
        EventStore,
        lambda values, key: forms.event_from_form(values, event_id=key),
        forms.event_values,
    ),
    "arrangers": Kind(
        "arrangers",
        "arranger",
        (
            Field("name", required=True),
            Field("website", "url", limit=500),
            Field("description", "textarea", limit=5000),
        ),
        ArrangerStore,
        lambda values, key: forms.arranger_from_form(values, arranger_id=key),
        forms.arranger_values,
    ),
    "studios": Kind(
        "studios",
        "studio",
        (
            Field("name", required=True),
            Field("location", hint=True),
            Field("description", "textarea", limit=5000),
        ),
        StudioStore,
        lambda values, key: forms.studio_from_form(values, studio_id=key),
        forms.studio_values,
    ),
}


def _kind(request: web.Request) -> Kind:
    return KINDS[request.match_info["kind"]]


def _object_id(request: web.Request) -> str:
    object_id = request.match_info["id"]
    if not ID_PATTERN.fullmatch(object_id):
        raise web.HTTPNotFound()
    return object_id


async def _details(request: web.Request, kind: Kind, object_id: str) -> dict[str, Any]:
    """What an object's page shows besides its form: a studio's bookings, an arranger's staff
    and sessions, an event's sessions."""
    redis = request.app[REDIS]
    programme = await load_programme(redis)
    if kind.name == "studios":
        booked = [s for s in programme.sessions if s.studio == object_id]
        return {"booking_days": by_day(booked)}
    if kind.name == "arrangers":
        staff = [u for u in await UserStore(redis).all() if u.arranger == object_id]
        own = [s for s in programme.sessions if s.arranger_id == object_id]
        return {"staff": staff, "owned_sessions": own}
    return {"owned_sessions": [s for s in programme.sessions if s.event == object_id]}


async def _page(
    request: web.Request,
    kind: Kind,
    form: Form,
    *,
    object_id: str | None,
    status: int = 200,
    editable: bool = True,
    notice: str = "",
) -> web.Response:
    context: dict[str, Any] = {
        "kind": kind,
        "form": form,
        "object_id": object_id,
        "editable": editable,
        "notice": notice,
    }
    if object_id is not None:
        context.update(await _details(request, kind, object_id))
    return await render(request, "admin/catalogue_form.html", context, status=status)


async def catalogue_list(request: web.Request) -> web.StreamResponse:
    identity = await require_organiser(request)
    kind = _kind(request)
    items = await kind.store(request.app[REDIS]).all()
    return await render(
        request,
        "admin/catalogue_list.html",
        {
            "kind": kind,
            "items": items,
            "editable": identity.is_admin,
            "notice": request.query.get("notice", ""),
        },
    )


async def catalogue_new(request: web.Request) -> web.StreamResponse:
    await require_admin(request)
    kind = _kind(request)
    defaults = {"languages": "sv, en", "record": "on"} if kind.name == "events" else {}
    return await _page(request, kind, Form(defaults), object_id=None)


async def catalogue_create(request: web.Request) -> web.StreamResponse:
    await require_admin(request)
    kind = _kind(request)
    values = await read_form(request)
    try:
        too_long = oversized(values)
        if too_long:
            raise too_long
        item = kind.from_form(values, None)
        await kind.store(request.app[REDIS]).save(item, create=True)
    except Invalid as exc:
        return await _page(request, kind, Form.failed(values, exc), object_id=None, status=400)
    except Conflict:
        error = FieldError("id", "id_taken", "this id is taken: choose another")
        return await _page(request, kind, Form(values, [error]), object_id=None, status=409)
    raise see_other(f"/admin/{kind.name}/{item.id}?notice=created")


async def catalogue_edit(request: web.Request) -> web.StreamResponse:
    identity = await require_organiser(request)
    kind = _kind(request)
    object_id = _object_id(request)
    item = await kind.store(request.app[REDIS]).get(object_id)
    return await _page(
        request,
        kind,
        Form(kind.values(item)),
        object_id=object_id,
        editable=identity.is_admin,
        notice=request.query.get("notice", ""),
    )


async def catalogue_update(request: web.Request) -> web.StreamResponse:
    await require_admin(request)
    kind = _kind(request)
    object_id = _object_id(request)
    store = kind.store(request.app[REDIS])
    await store.get(object_id)  # 404 unless it exists
    values = await read_form(request)
    try:
        too_long = oversized(values)
        if too_long:
            raise too_long
        await store.save(kind.from_form(values, object_id))
    except Invalid as exc:
        return await _page(request, kind, Form.failed(values, exc), object_id=object_id, status=400)
    raise see_other(f"/admin/{kind.name}/{object_id}?notice=saved")


async def catalogue_delete(request: web.Request) -> web.StreamResponse:
    await require_admin(request)
    kind = _kind(request)
    object_id = _object_id(request)
    store = kind.store(request.app[REDIS])
    item = await store.get(object_id)
    await read_form(request)
    try:
        await store.delete(object_id)
    except Conflict as exc:
        error = FieldError("delete", "in_use", exc.detail)
        return await _page(
            request,
            kind,
            Form(kind.values(item), [error]),
            object_id=object_id,
            status=409,
        )
    raise see_other(f"/admin/{kind.name}?notice=deleted")


Route = Callable[[web.Request], Awaitable[web.StreamResponse]]
KINDS_PATTERN = "{kind:events|arrangers|studios}"
