"""Moderator links on a session's staff page: create one (its URL shown once), revoke one or all.

A link is the same grant as a moderator's login (:mod:`stream.auth.links`), scoped to one
session. Its token travels in the URL's fragment (``/moderate/{id}#token=…``), which browsers
never send to the server, so it stays out of access logs; the moderation page reads it.
"""

from __future__ import annotations

import logging

from aiohttp import web

from stream.admin import session_pages
from stream.admin.session_pages import LINK_LIFETIMES_HOURS
from stream.auth.links import MAX_LABEL_LENGTH, ModeratorLinks
from stream.common.validation import FieldError
from stream.http.forms import Form
from stream.http.keys import REDIS, SETTINGS
from stream.http.render import read_form, see_other
from stream.http.urls import absolute_url

logger = logging.getLogger(__name__)

HOUR = 3600


def _links(request: web.Request) -> ModeratorLinks:
    return ModeratorLinks(request.app[REDIS], request.app[SETTINGS].moderator_token)


async def link_create(request: web.Request) -> web.StreamResponse:
    identity, session = await session_pages.managed(request)
    values = await read_form(request)
    label = " ".join(values.get("label", "").split())
    errors = []
    if not label:
        errors.append(FieldError("label", "required", "give the link a name"))
    elif len(label) > MAX_LABEL_LENGTH:
        limit = (("limit", str(MAX_LABEL_LENGTH)),)
        errors.append(FieldError("label", "too_long", "the name is too long", limit))
    try:
        hours = int(values.get("lifetime", ""))
    except ValueError:
        hours = 0
    if hours not in LINK_LIFETIMES_HOURS:
        errors.append(FieldError("lifetime", "bad_choice", "choose one of the lifetimes"))
    if errors:
        form = Form(values, errors)
        return await session_pages.session_page(
            request, identity, session, status=400, link_form=form
        )
    token = await _links(request).grant(session.id, label, hours * HOUR)
    logger.info("[%s] moderator link created by %s", session.id, identity.username)
    url = absolute_url(request.app[SETTINGS], f"/moderate/{session.id}", request)
    return await session_pages.session_page(
        request, identity, session, status=201, new_link=f"{url}#token={token}"
    )


async def link_revoke(request: web.Request) -> web.StreamResponse:
    identity, session = await session_pages.managed(request)
    await read_form(request)
    link_id = request.match_info["link"]
    revoked = await _links(request).revoke_id(session.id, link_id)
    if revoked:
        logger.info("[%s] a moderator link revoked by %s", session.id, identity.username)
    notice = "link_revoked" if revoked else "link_gone"
    raise see_other(f"/admin/sessions/{session.id}?notice={notice}#links-title")


async def link_revoke_all(request: web.Request) -> web.StreamResponse:
    identity, session = await session_pages.managed(request)
    await read_form(request)
    await _links(request).revoke(session.id)
    logger.info("[%s] every moderator link revoked by %s", session.id, identity.username)
    raise see_other(f"/admin/sessions/{session.id}?notice=links_revoked#links-title")
