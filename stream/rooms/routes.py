"""HTTP for rooms: WHEP playback (``/whep/{session}``) and the live status of a session."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from stream.auth.invites import require_attendance
from stream.http.keys import REDIS, SETTINGS
from stream.http.middleware import problem
from stream.program.sessions import validate_session_id
from stream.rooms.presence import Presence
from stream.rooms.room import RoomRegistry
from stream.rooms.whep import NOT_LIVE_RETRY_AFTER, accept_viewer
from stream.rtc import routes as rtc
from stream.rtc.sdp import SDP_CONTENT_TYPE, check_offer, read_body

ROOMS = web.AppKey("rooms", RoomRegistry)
PRESENCE = web.AppKey("presence", Presence)


async def rooms_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    registry = RoomRegistry()
    app[ROOMS] = registry
    presence = Presence(app[REDIS], registry, settings.base_url)
    app[PRESENCE] = presence
    task = asyncio.create_task(presence.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await registry.close_all("server shutting down")
    await presence.withdraw()


async def whep_post(request: web.Request) -> web.Response:
    session_id = validate_session_id(request.match_info["session"])
    settings = request.app[SETTINGS]
    await require_attendance(request, session_id)  # 404 for none, or not invited
    room = request.app[ROOMS].get(session_id)
    if room is None or not room.live:
        elsewhere = await request.app[PRESENCE].lookup(session_id)
        if elsewhere is not None and elsewhere.origin != settings.base_url:
            # Live on another node: WHEP clients follow a 307 with the same offer.
            raise web.HTTPTemporaryRedirect(f"{elsewhere.origin}/whep/{session_id}")
        return _not_live()
    offer = await read_body(request, SDP_CONTENT_TYPE)
    kinds = check_offer(offer, want="recv")
    peer, answer = await accept_viewer(
        room,
        offer,
        kinds,
        ice_servers=settings.ice_servers,
        handshake_timeout=settings.handshake_timeout,
    )
    request.app[rtc.PEERS].add(peer)
    response = web.Response(
        status=201,
        body=answer.encode(),
        content_type=SDP_CONTENT_TYPE,
        headers={
            "Location": f"/whep/{session_id}/{peer.id}",
            "ETag": rtc.etag_of(peer),
            "Accept-Patch": rtc.TRICKLE_CONTENT_TYPE,
        },
    )
    rtc.add_ice_server_links(response, settings.ice_servers)
    return response


def _not_live() -> web.Response:
    return problem(
        409,
        "session is not live yet",
        headers={"Retry-After": str(NOT_LIVE_RETRY_AFTER)},
    )


async def whep_options(request: web.Request) -> web.Response:
    return rtc.options_response(
        "POST, OPTIONS", accept_post=True, ice_servers=request.app[SETTINGS].ice_servers
    )


async def whep_resource_options(request: web.Request) -> web.Response:
    return rtc.options_response("PATCH, DELETE, OPTIONS", accept_post=False)


async def whep_delete(request: web.Request) -> web.Response:
    return await rtc.delete_resource(request, "whep")


async def whep_patch(request: web.Request) -> web.Response:
    return await rtc.patch_resource(request, "whep")


async def session_status(request: web.Request) -> web.Response:
    """Live state for pages: this node's room, or the presence another node recorded."""
    session_id = validate_session_id(request.match_info["session"])
    room = request.app[ROOMS].get(session_id)
    if room is not None and room.live:
        body = {"session": session_id, "live": True, "viewers": room.viewer_count}
    else:
        # Another node may host it; our own record may lag behind our room by a refresh.
        elsewhere = await request.app[PRESENCE].lookup(session_id)
        if elsewhere is not None and elsewhere.origin == request.app[SETTINGS].base_url:
            elsewhere = None
        body = {
            "session": session_id,
            "live": elsewhere is not None,
            "viewers": elsewhere.viewers if elsewhere else 0,
        }
    return web.json_response(body, headers={"Cache-Control": "no-store"})


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(rooms_context)
    app.router.add_post("/whep/{session}", whep_post)
    app.router.add_route("OPTIONS", "/whep/{session}", whep_options)
    app.router.add_delete("/whep/{session}/{resource}", whep_delete)
    app.router.add_patch("/whep/{session}/{resource}", whep_patch)
    app.router.add_route("OPTIONS", "/whep/{session}/{resource}", whep_resource_options)
    app.router.add_get("/api/sessions/{session}/status", session_status)
