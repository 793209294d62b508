"""Admin pages for sessions: list, create (the key is shown once), edit, rotate the key, delete."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from stream.admin import forms
from stream.admin.access import require_manage, require_organiser
from stream.auth.invites import invite_link
from stream.auth.links import ModeratorLinks
from stream.auth.users import UserStore
from stream.common import times
from stream.common.errors import Conflict
from stream.common.grants import Identity
from stream.common.ids import validate_session_id
from stream.common.validation import FieldError, Invalid
from stream.http.forms import CHECKED, Form, oversized
from stream.http.keys import LIVE, REDIS, ROOMS, SETTINGS
from stream.http.render import read_form, render, see_other
from stream.http.urls import base_url
from stream.program.bookings import ScheduleConflict
from stream.program.keys import GRACE_PERIOD, REHEARSAL_WINDOW
from stream.program.programme import Programme, load_programme
from stream.program.schedule import NOT_LIVE, by_day, state_of
from stream.program.sessions import Session, SessionStore

logger = logging.getLogger(__name__)

# The lifetimes a moderator link may be given, in hours: a shift, a day, the week, its follow-up.
LINK_LIFETIMES_HOURS = (4, 24, 7 * 24, 14 * 24)
DEFAULT_LIFETIME_HOURS = 24

# Languages a session may be held in, by their own names (Swedish, English, Northern Sami,
# Finnish, Meänkieli).
LANGUAGE_NAMES = {
    "sv": "svenska",
    "en": "English",
    "se": "davvisámegiella",
    "fi": "suomi",
    "fit": "meänkieli",
}


def _own(identity: Identity, programme: Programme) -> list[Session]:
    if identity.is_admin:
        return programme.sessions
    return [s for s in programme.sessions if s.arranger_id == identity.arranger]


def _choices(identity: Identity, programme: Programme) -> dict[str, Any]:
    arrangers = list(programme.arrangers.values())
    if not identity.is_admin:
        arrangers = [a for a in arrangers if a.id == identity.arranger]
    return {
        "event_options": [(e.id, e.name) for e in programme.events.values()],
        "arranger_options": [(a.id, a.name) for a in arrangers],
        "studio_options": [
            (s.id, ", ".join(p for p in (s.name, s.location) if p))
            for s in programme.studios.values()
        ],
        "language_options": list(LANGUAGE_NAMES.items()),
    }


async def session_list(request: web.Request) -> web.StreamResponse:
    identity = await require_organiser(request)
    programme = await load_programme(request.app[REDIS])
    sessions = _own(identity, programme)
    keyed = await SessionStore(request.app[REDIS]).keyed(s.id for s in sessions)
    now = times.now()
    live = request.app[LIVE].now()
    states = {s.id: state_of(s, now, live.get(s.id, NOT_LIVE)).value for s in sessions}
    return await render(
        request,
        "admin/sessions.html",
        {
            "days": by_day(sessions),
            "unscheduled": [s for s in sessions if not s.scheduled],
            "keyed": keyed,
            "states": states,
            "programme": programme,
            "notice": request.query.get("notice", ""),
        },
    )


async def _form_page(
    request: web.Request,
    identity: Identity,
    form: Form,
    *,
    session: Session | None,
    status: int = 200,
    conflict: ScheduleConflict | None = None,
    extra: dict[str, Any] | None = None,
) -> web.Response:
    programme = await load_programme(request.app[REDIS])
    context: dict[str, Any] = {
        "form": form,
        "session": session,
        "conflict": conflict,
        "conflict_studio": programme.studios.get(conflict.studio) if conflict else None,
        "conflict_visible": bool(
            conflict
            and (other := programme.session(conflict.other_id))
            and (identity.is_admin or other.arranger_id == identity.arranger)
        ),
        "fixed_arranger": None if identity.is_admin else programme.arrangers.get(identity.arranger),
        **_choices(identity, programme),
    }
    if session is not None:
        redis = request.app[REDIS]
        context["has_key"] = await SessionStore(redis).has_key(session.id)
        context["staff"] = [u for u in await UserStore(redis).all() if session.id in u.sessions]
        context["window"] = session.key_window()
        room = request.app[ROOMS].get(session.id)
        context["live"] = bool(room and room.live)
        context["publishing"] = bool(room and room.publisher is not None)
        context["notice"] = request.query.get("notice", "")
        context["invite_link"] = (
            ""
            if session.public
            else invite_link(request, base_url(request.app[SETTINGS], request), session.id)
        )
        links = ModeratorLinks(redis, request.app[SETTINGS].moderator_token)
        context["links"] = [
            {"id": link.id, "label": link.label, "expires": times.from_epoch(link.expires)}
            for link in await links.active(session.id)
        ]
        context["link_form"] = Form({"lifetime": str(DEFAULT_LIFETIME_HOURS)})
        context["lifetime_hours"] = LINK_LIFETIMES_HOURS
        context["new_link"] = ""
    context.update(extra or {})
    return await render(request, "admin/session_form.html", context, status=status)


async def session_page(
    request: web.Request,
    identity: Identity,
    session: Session,
    *,
    status: int = 200,
    **extra: Any,
) -> web.Response:
    """The session's staff page, with ``extra`` in its context (a new link, a failed form)."""
    form = Form(forms.session_values(session))
    return await _form_page(request, identity, form, session=session, status=status, extra=extra)


async def session_new(request: web.Request) -> web.StreamResponse:
    identity = await require_organiser(request)
    programme = await load_programme(request.app[REDIS])
    defaults = {
        "event": next(iter(programme.events), ""),
        "arranger_id": identity.arranger,
        "visibility": "public",
        "chat": "on",
        "qa": "on",
        "record": "on",
        "language": "sv",
    }
    return await _form_page(request, identity, Form(defaults), session=None)


async def session_create(request: web.Request) -> web.StreamResponse:
    identity = await require_organiser(request)
    values = await read_form(request)
    store = SessionStore(request.app[REDIS])
    try:
        too_long = oversized(values)
        if too_long:
            raise too_long
        draft = forms.session_from_form(values, session_id=None, identity=identity)
        session = await store.save(draft, create=True)
    except Invalid as exc:
        return await _form_page(
            request, identity, Form.failed(values, exc), session=None, status=400
        )
    except ScheduleConflict as exc:
        return await _form_page(
            request, identity, Form(values), session=None, status=409, conflict=exc
        )
    except Conflict:
        error = FieldError("id", "id_taken", "this id is taken: choose another")
        return await _form_page(request, identity, Form(values, [error]), session=None, status=409)
    key = await store.rotate_key(session.id)
    logger.info("[%s] session created by %s", session.id, identity.username)
    return await _key_page(request, session, key, created=True)


async def _key_page(
    request: web.Request, session: Session, key: str, *, created: bool
) -> web.Response:
    base = base_url(request.app[SETTINGS], request)
    return await render(
        request,
        "admin/session_key.html",
        {
            "session": session,
            "key": key,
            "created": created,
            "whip_url": f"{base}/whip/{session.id}",
            "studio_url": f"/studio/{session.id}",
            "window": session.key_window(),
            "rehearsal_minutes": int(REHEARSAL_WINDOW.total_seconds() // 60),
            "grace_minutes": int(GRACE_PERIOD.total_seconds() // 60),
        },
        status=201 if created else 200,
    )


async def managed(request: web.Request) -> tuple[Identity, Session]:
    """The session of the path, if the current identity may manage it."""
    identity = await require_organiser(request)
    session_id = validate_session_id(request.match_info["session"])
    session = await SessionStore(request.app[REDIS]).get(session_id)
    require_manage(identity, session)
    return identity, session


async def session_edit(request: web.Request) -> web.StreamResponse:
    identity, session = await managed(request)
    return await _form_page(request, identity, Form(forms.session_values(session)), session=session)


async def session_update(request: web.Request) -> web.StreamResponse:
    identity, session = await managed(request)
    values = await read_form(request)
    try:
        too_long = oversized(values)
        if too_long:
            raise too_long
        draft = forms.session_from_form(values, session_id=session.id, identity=identity)
        await SessionStore(request.app[REDIS]).save(draft)
    except Invalid as exc:
        return await _form_page(
            request, identity, Form.failed(values, exc), session=session, status=400
        )
    except ScheduleConflict as exc:
        return await _form_page(
            request, identity, Form(values), session=session, status=409, conflict=exc
        )
    raise see_other(f"/admin/sessions/{session.id}?notice=saved")


async def session_rotate_key(request: web.Request) -> web.StreamResponse:
    identity, session = await managed(request)
    values = await read_form(request)
    key = await SessionStore(request.app[REDIS]).rotate_key(session.id)
    logger.info("[%s] publish key rotated by %s", session.id, identity.username)
    if values.get("disconnect") in CHECKED:
        room = request.app[ROOMS].get(session.id)
        publisher = room.publisher if room else None
        if publisher is not None:  # WHIP or RTMP alike
            await publisher.stop("publish key rotated")
            logger.info("[%s] publisher disconnected after key rotation", session.id)
    return await _key_page(request, session, key, created=False)


async def session_delete(request: web.Request) -> web.StreamResponse:
    identity, session = await managed(request)
    await read_form(request)
    room = request.app[ROOMS].get(session.id)
    if room is not None and room.live:
        raise see_other(f"/admin/sessions/{session.id}?notice=live")
    await SessionStore(request.app[REDIS]).delete(session.id)
    logger.info("[%s] session deleted by %s", session.id, identity.username)
    raise see_other("/admin/sessions?notice=deleted")
