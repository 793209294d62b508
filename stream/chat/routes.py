"""HTTP for chat: the WebSocket ``/ws/{session}``, the moderator console ``/moderate/{session}``
and this process's fan-out figures ``/api/chat/stats``.

Secrets come from ``Settings`` (``STREAM_CHAT_SECRET``, ``STREAM_MODERATOR_TOKEN``); the limits
are named defaults that ``STREAM_CHAT_*`` variables override (``stream.chat.limits``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from stream.auth.links import ModeratorLinks
from stream.auth.users import UserStore
from stream.chat.audience import AudienceWatch, LiveRecord, Tally
from stream.chat.chat import ChatService, fold_name
from stream.chat.identity import TokenSigner, shared_secret
from stream.chat.limits import ChatLimits
from stream.chat.protocol import ENTRY_ID_PATTERN
from stream.chat.roles import TokenRoles
from stream.chat.wire import encode_text_frame
from stream.chat.ws import ChatSockets
from stream.common.errors import BadRequest
from stream.common.ids import validate_session_id
from stream.http.keys import CHAT, CHAT_SOCKETS, LIMITER, REDIS, SETTINGS, TEMPLATES
from stream.http.render import identity_context
from stream.program.sessions import SessionStore
from stream.store import Redis

PresenceReader = Callable[[Redis, str], Awaitable[LiveRecord | None]]
# The moderation counts (``stream.qa.transparency.read_counts``), given the last ones read.
CountsReader = Callable[[Redis, str, Any], Awaitable[Tally | None]]


def chat_context(
    read_presence: PresenceReader, read_counts: CountsReader | None = None
) -> Callable[[web.Application], AsyncIterator[None]]:
    """The chat's resource: its service and sockets; the audience count comes from the rooms'
    presence records through ``read_presence``, the moderation counts through ``read_counts``
    (the composition root passes them in)."""
    return functools.partial(_chat_context, read_presence=read_presence, read_counts=read_counts)


async def _chat_context(
    app: web.Application, *, read_presence: PresenceReader, read_counts: CountsReader | None
) -> AsyncIterator[None]:
    redis = app[REDIS]
    settings = app[SETTINGS]
    secret = (settings.chat_secret or "").encode() or await shared_secret(redis)
    roles = TokenRoles(ModeratorLinks(redis, settings.moderator_token))
    limits = ChatLimits.from_env(os.environ)
    service = ChatService(
        redis,
        TokenSigner(secret),
        roles,
        limits,
        encode_text_frame,
        app[LIMITER],
        functools.partial(staff_name, UserStore(redis)),
    )
    audience = AudienceWatch(
        functools.partial(read_presence, redis),
        encode_text_frame,
        tally=functools.partial(read_counts, redis) if read_counts is not None else None,
    )
    sockets = ChatSockets(service, audience)
    app[CHAT] = service
    app[CHAT_SOCKETS] = sockets
    try:
        yield
    finally:
        await sockets.close_all()
        await service.close()


async def staff_name(users: UserStore, folded: str) -> bool:
    """Whether a (folded) display name is a staff member's name or username: guests may not
    take it in any chat."""
    return any(
        folded in (fold_name(u.display_name), fold_name(u.username)) for u in await users.all()
    )


async def close_sockets(app: web.Application) -> None:
    """On shutdown, before handlers are waited for: every chat socket gets GOING_AWAY (1001)."""
    await app[CHAT_SOCKETS].close_all()


async def chat_socket(request: web.Request) -> web.StreamResponse:
    return await request.app[CHAT_SOCKETS].handle(request)


async def moderate_page(request: web.Request) -> web.Response:
    session_id = validate_session_id(request.match_info["session"])
    session = await SessionStore(request.app[REDIS]).get(session_id)
    context = {"session": session, "link_header": True, **await identity_context(request)}
    return request.app[TEMPLATES].render(request, "moderate.html", context)


async def chat_stats(request: web.Request) -> web.Response:
    """Fan-out figures of this process (the benchmark reads them; no secrets in them)."""
    fanout = request.app[CHAT].fanout
    body = {
        "sessions": fanout.sessions,
        "sockets": len(request.app[CHAT_SOCKETS].open),
        "subscribers": fanout.subscribers,
        **fanout.stats.snapshot(),
    }
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def transcript(request: web.Request) -> web.Response:
    """One page of the session's public chat, from its archive: ``?after=<id>`` continues from
    the previous page's ``next`` (null on the last page)."""
    session_id = validate_session_id(request.match_info["session"])
    after = request.query.get("after") or None
    if after is not None and not ENTRY_ID_PATTERN.fullmatch(after):
        raise BadRequest("after must be an entry id")
    page = await request.app[CHAT].transcript(session_id, after.encode() if after else None)
    body = (
        b'{"session":"'
        + session_id.encode()
        + b'","next":'
        + (b'"' + page.next + b'"' if page.next is not None else b"null")
        + b',"events":['
        + b",".join(page.events)
        + b"]}"
    )
    return web.Response(
        body=body, content_type="application/json", headers={"Cache-Control": "no-store"}
    )
