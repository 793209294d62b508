"""Pages: the programme (``/``), the watch page (``/s/{id}``), the studio (``/studio/{id}``),
and the player alone for other sites (``/embed/{id}``).

Pages are HTML even when something is missing: an unknown or malformed session id gets the
404 page in the visitor's language, not the API's problem+json.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from stream.auth.invites import remember_invite, require_attendance
from stream.common import times
from stream.common.display import When
from stream.common.errors import BadRequest
from stream.common.ids import validate_session_id
from stream.http import identity
from stream.http.i18n import LANG_COOKIE, choose_language
from stream.http.keys import LIVE, REDIS, SETTINGS, TEMPLATES
from stream.http.middleware import CONTENT_SECURITY_POLICY, EMBEDDABLE_FRAME_ANCESTORS
from stream.http.render import identity_context
from stream.http.urls import base_url
from stream.pages.changeover import changeover
from stream.program.listing import build_view, day_choices, filter_sessions
from stream.program.programme import Programme, load_programme
from stream.program.schedule import State, live_lookup, state_of
from stream.program.sessions import Session

# Pages differ by language, which comes from ?lang=, the cookie or Accept-Language.
VARY = "Cookie, Accept-Language"


async def render(
    request: web.Request, name: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    """A visitor's page; a logged-in visitor sees who they are in the header, with log out."""
    if "identity" not in context:
        context = {**context, **await identity_context(request)}
    response = request.app[TEMPLATES].render(request, name, context, status=status)
    response.headers["Vary"] = VARY
    response.headers["Cache-Control"] = "no-cache"
    return response


PROGRAMME_FILTERS = ("q", "event", "arranger", "studio", "day")
# ``?view=``: the week by day (the default), by arranger, or the sessions starred in this
# browser ("mine": the page lists every card by day, programme.js keeps the starred ones).
PROGRAMME_VIEWS = ("", "arranger", "mine")


def page_language(request: web.Request) -> str:
    return choose_language(
        request.query.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("Accept-Language"),
    )


async def programme(request: web.Request) -> web.Response:
    """Public sessions in programme order (invite-only sessions are left out): live now,
    later today, the week by day or by arranger, narrowed by search and filters."""
    loaded = await load_programme(request.app[REDIS])
    query = {k: request.query.get(k, "") for k in PROGRAMME_FILTERS}
    filter_failed = False
    try:
        sessions = filter_sessions(loaded, query)
    except BadRequest:
        sessions, filter_failed = loaded.public_sessions(), True
    now = times.now()
    when = When(page_language(request))
    view_name = request.query.get("view", "")
    if view_name not in PROGRAMME_VIEWS:
        view_name = ""
    studios = {
        studio.id: ", ".join(part for part in (studio.name, studio.location) if part)
        for studio in loaded.studios.values()
    }
    context = {
        "sessions": sessions,
        "view": build_view(sessions, request.app[LIVE].now(), now, studios),
        "view_name": view_name,
        "by_arranger": view_name == "arranger",
        "filters": query,
        "filter_query": "" if filter_failed else urlencode({k: v for k, v in query.items() if v}),
        "filtered": any(query.values()) and not filter_failed,
        "filter_failed": filter_failed,
        "arrangers": list(loaded.arrangers.values()),
        "events": list(loaded.events.values()),
        "studios": list(loaded.studios.values()),
        "day_choices": day_choices(loaded.public_sessions()),
        "active_filters": active_filters(loaded, query, when, view_name),
        "programme": loaded,
        "now": now,
        "when": when,
    }
    return await render(request, "programme.html", context)


def active_filters(
    loaded: Programme, query: dict[str, str], when: When, view: str = ""
) -> list[tuple[str, str, str]]:
    """The filters in use as (label key, value shown, the page's address without this one)."""
    names: dict[str, Callable[[str], str]] = {
        "q": lambda v: v,
        "event": lambda v: loaded.events[v].name if v in loaded.events else v,
        "arranger": lambda v: loaded.arrangers[v].name if v in loaded.arrangers else v,
        "studio": lambda v: loaded.studios[v].name if v in loaded.studios else v,
        "day": lambda v: _day_label(v, when),
    }
    chips = []
    for key in PROGRAMME_FILTERS:
        value = query.get(key, "")
        if not value:
            continue
        rest = {k: v for k, v in query.items() if v and k != key}
        if view:
            rest["view"] = view
        chips.append((key, names[key](value), "/?" + urlencode(rest) if rest else "/"))
    return chips


def _day_label(value: str, when: When) -> str:
    try:
        return when.day(times.parse_date(value))
    except ValueError:
        return value


def recording_url(session: Session) -> str | None:
    """The address of the session's recording (the archive fills this in; none yet)."""
    return None


async def session_details(request: web.Request, session: Session) -> dict[str, Any]:
    """What the watch and embed pages show about a session besides the player."""
    loaded = await load_programme(request.app[REDIS])
    now = times.now()
    live = live_lookup(request.app[LIVE].now(), session.id)
    base = base_url(request.app[SETTINGS], request)
    state = state_of(session, now, live)
    return {
        "session": session,
        "event": loaded.events.get(session.event),
        "place": loaded.studio_label(session),
        "state": state.value,
        # Over and not live: the page says so, and chat and questions are read-only.
        "ended": state is State.ENDED,
        # Where the recording plays once the archive has one (None: no recording).
        "recording_url": recording_url(session),
        "now": now,
        "when": When(page_language(request)),
        "share_url": f"{base}/s/{session.id}",
        "embed_code": (
            f'<iframe src="{base}/embed/{session.id}" title="{html.escape(session.title)}" '
            'width="960" height="540" allow="autoplay; fullscreen" allowfullscreen></iframe>'
        ),
    }


async def attended_session(request: web.Request) -> Session:
    """The session (the route's guard has let this visitor in)."""
    return await require_attendance(request, validate_session_id(request.match_info["session"]))


async def watch(request: web.Request) -> web.Response:
    session = await attended_session(request)
    response = await render(request, "watch.html", await session_details(request, session))
    remember_invite(request, response, session.id)
    return response


async def embed(request: web.Request) -> web.Response:
    """The player alone, for other sites' iframes (any site may frame it)."""
    session = await attended_session(request)
    response = await render(request, "embed.html", await session_details(request, session))
    remember_invite(request, response, session.id)
    policy = response.headers.get("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["Content-Security-Policy"] = policy.replace(
        "frame-ancestors 'self'", EMBEDDABLE_FRAME_ANCESTORS
    )
    return response


async def studio(request: web.Request) -> web.Response:
    """The browser studio, with the audience (viewers, approved questions) beside the preview
    and the changeover: who uses the studio before and after, and when the key works."""
    session = await attended_session(request)
    loaded = await load_programme(request.app[REDIS])
    now = times.now()
    context = {
        "session": session,
        "changeover": changeover(session, loaded.sessions, now),
        "studio_name": loaded.studio_label(session),
        "now": now,
        "when": When(page_language(request)),
        "identity": await identity.current_identity(request),
        "csrf_token": await identity.csrf_token(request),
        "csrf_field": identity.CSRF_FIELD,
        "timezone": times.TIMEZONE_NAME,
    }
    response = await render(request, "studio.html", context)
    identity.remember_nonce(request, response)
    # The studio handles a publish key: keep the page out of caches.
    response.headers["Cache-Control"] = "no-store"
    return response
