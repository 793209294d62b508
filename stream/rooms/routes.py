"""HTTP for rooms: WHEP playback (``/whep/{session}``) and the live status of a session.

Mounted by :mod:`stream.app`; the route table there names each handler's guard."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator

from aiohttp import web

from stream.auth.invites import require_attendance
from stream.common.errors import RateLimited
from stream.common.ids import validate_session_id
from stream.common.rates import WHEP_OFFERS_PER_ADDRESS
from stream.http.client import client_address
from stream.http.keys import LIMITER, LIVE, PEERS, PRESENCE, REDIS, ROOMS, SETTINGS
from stream.http.middleware import problem
from stream.http.urls import base_url
from stream.rooms.live import LiveBoard
from stream.rooms.presence import Presence
from stream.rooms.room import RoomRegistry
from stream.rooms.whep import MAX_VIEWERS_PER_ADDRESS, NOT_LIVE_RETRY_AFTER, accept_viewer
from stream.rtc import resource as rtc
from stream.rtc.sdp import SDP_CONTENT_TYPE, check_offer, read_body


async def rooms_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    registry = RoomRegistry()
    app[ROOMS] = registry
    app[LIVE] = LiveBoard(registry)
    presence = Presence(app[REDIS], registry, base_url(settings))
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
        if elsewhere is not None and elsewhere.origin != base_url(settings):
            # Live on another node: WHEP clients follow a 307 with the same offer.
            raise web.HTTPTemporaryRedirect(f"{elsewhere.origin}/whep/{session_id}")
        return _not_live()
    peers = request.app[PEERS]
    address = client_address(request)
    wait = await request.app[LIMITER].hit(WHEP_OFFERS_PER_ADDRESS, ("addr", address))
    if wait > 0:
        peers.admission.log.refused("WHEP offers", address, "offer rate exceeded")
        raise RateLimited(
            "too many offers from your address; wait and retry",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    slot = peers.admission.reserve(address, per_address=MAX_VIEWERS_PER_ADDRESS, what="WHEP offers")
    try:
        offer = await read_body(request, SDP_CONTENT_TYPE)
        kinds = check_offer(offer, want="recv")
        peer, answer = await accept_viewer(
            room,
            offer,
            kinds,
            ice_servers=settings.ice_servers,
            handshake_timeout=settings.handshake_timeout,
        )
    except BaseException:
        slot.release()
        raise
    peers.add(peer, slot)
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
        body = {
            "session": session_id,
            "live": True,
            "viewers": room.viewer_count,
            "video": room.codecs().get("video"),  # the watch page's HLS fallback needs H.264
        }
    else:
        # Another node may host it; our own record may lag behind our room by a refresh.
        elsewhere = await request.app[PRESENCE].lookup(session_id)
        if elsewhere is not None and elsewhere.origin == base_url(request.app[SETTINGS]):
            elsewhere = None
        body = {
            "session": session_id,
            "live": elsewhere is not None,
            "viewers": elsewhere.viewers if elsewhere else 0,
        }
        if elsewhere is not None:
            body["video"] = elsewhere.video
    return web.json_response(body, headers={"Cache-Control": "no-store"})
