"""HTTP for rooms: WHEP playback (``/whep/{session}``), the live status of a session, and the
relay link other nodes pull a room over (``/relay/{session}``).

Mounted by :mod:`stream.app`; the route table there names each handler's guard."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from stream.auth.invites import require_attendance
from stream.common.errors import RateLimited
from stream.common.ids import validate_session_id
from stream.common.rates import WHEP_OFFERS_PER_ADDRESS
from stream.http.client import client_address
from stream.http.keys import (
    EDGES,
    LIMITER,
    LIVE,
    NODE_SECRET,
    PEERS,
    PRESENCE,
    REDIS,
    RESOURCE_NODES,
    ROOMS,
    SETTINGS,
    UPLINKS,
    VIEWER_CAP,
)
from stream.http.middleware import problem
from stream.http.nodes import node_link
from stream.http.urls import base_url
from stream.rooms import link
from stream.rooms.edge import LINK_HEARTBEAT, Edges
from stream.rooms.live import LiveBoard
from stream.rooms.presence import Presence
from stream.rooms.room import Room, RoomRegistry
from stream.rooms.uplink import MAX_LINKS_PER_ROOM, Uplink
from stream.rooms.whep import MAX_VIEWERS_PER_ADDRESS, NOT_LIVE_RETRY_AFTER, accept_viewer
from stream.rtc import resource as rtc
from stream.rtc.address_caps import SharedAddressCap
from stream.rtc.peer import Peer
from stream.rtc.sdp import SDP_CONTENT_TYPE, check_offer, read_body


async def rooms_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    registry = RoomRegistry()
    app[ROOMS] = registry
    app[LIVE] = LiveBoard(registry)
    own_link = node_link(settings)
    presence = Presence(app[REDIS], registry, base_url(settings), own_link)
    app[PRESENCE] = presence

    async def origin_of(session_id: str) -> str | None:
        record = await presence.lookup(session_id)
        return record.node if record is not None and record.node != own_link else None

    app[EDGES] = Edges(origin_of, app[NODE_SECRET])
    app[UPLINKS] = set()
    cap = SharedAddressCap(
        app[REDIS], app[RESOURCE_NODES].tag, app[NODE_SECRET].encode(), MAX_VIEWERS_PER_ADDRESS
    )
    app[VIEWER_CAP] = cap
    tasks = [
        asyncio.create_task(presence.run()),
        asyncio.create_task(cap.run(lambda: app[PEERS].by_address("whep"))),
    ]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await app[EDGES].close_all("server shutting down")
    await registry.close_all("server shutting down")
    await presence.withdraw()


async def close_relays(app: web.Application) -> None:
    """On shutdown, before handlers are awaited: relay links close (1001), mirrors end."""
    links = app[UPLINKS]
    for ws in list(links):
        with contextlib.suppress(Exception):
            await ws.close(code=1001, message=b"server shutting down")
    await app[EDGES].close_all("server shutting down")


async def _viewer_room(request: web.Request, session_id: str) -> Room | web.Response | None:
    """The room a viewer of ``session_id`` joins on this node: ours or a mirror we have; None
    when it is live on another node and we have no mirror of it yet (redirected there instead
    when edges are off); a 409 response when it is live nowhere."""
    room = request.app[ROOMS].get(session_id)
    if room is not None and room.live:
        return room
    settings = request.app[SETTINGS]
    mirrored = request.app[EDGES].get(session_id)
    if mirrored is not None and mirrored.live:
        return mirrored
    elsewhere = await request.app[PRESENCE].lookup(session_id)
    if elsewhere is None or elsewhere.node == node_link(settings):
        return _not_live()
    if not settings.edge_relay:
        # Live on another node: WHEP clients follow a 307 with the same offer.
        raise web.HTTPTemporaryRedirect(f"{elsewhere.origin}/whep/{session_id}")
    return None


async def whep_post(request: web.Request) -> web.Response:
    session_id = validate_session_id(request.match_info["session"])
    settings = request.app[SETTINGS]
    await require_attendance(request, session_id)  # 404 for none, or not invited
    peers = request.app[PEERS]
    address = client_address(request)
    wait = await request.app[LIMITER].hit(WHEP_OFFERS_PER_ADDRESS, ("addr", address))
    if wait > 0:
        peers.admission.log.refused("WHEP offers", address, "offer rate exceeded")
        raise RateLimited(
            "too many offers from your address; wait and retry",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    room = await _viewer_room(request, session_id)
    if isinstance(room, web.Response):
        return room
    offer = await read_body(request, SDP_CONTENT_TYPE)
    kinds = check_offer(offer, want="recv")
    if room is None:  # live on another node: a mirror here (a bad offer never opens one)
        room = await request.app[EDGES].room(session_id)
    slot = peers.admission.reserve(address, per_address=MAX_VIEWERS_PER_ADDRESS, what="WHEP offers")
    shared = request.app[VIEWER_CAP]
    try:
        # The same cap over every node of the deployment (workers behind one port, machines).
        if not await shared.acquire(address):
            peers.admission.log.refused("WHEP offers", address, "viewers from this address")
            raise RateLimited(
                f"too many connections from your address (at most {MAX_VIEWERS_PER_ADDRESS})",
                headers={"Retry-After": str(NOT_LIVE_RETRY_AFTER)},
            )
    except BaseException:
        slot.release()
        raise
    try:
        peer, answer = await accept_viewer(
            room,
            offer,
            kinds,
            ice_servers=settings.ice_servers,
            handshake_timeout=settings.handshake_timeout,
            node_tag=request.app[RESOURCE_NODES].tag,
        )
    except BaseException:
        slot.release()
        await shared.release(address)
        raise

    async def released(_: Peer) -> None:
        await shared.release(address)

    peer.on_close(released)
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
            "viewers": room.audience,  # ours and our edges'
            "video": room.codecs().get("video"),  # the watch page's HLS fallback needs H.264
        }
    else:
        # Another node may host it; our own record may lag behind our room by a refresh.
        elsewhere = await request.app[PRESENCE].lookup(session_id)
        if elsewhere is not None and elsewhere.node == node_link(request.app[SETTINGS]):
            elsewhere = None
        body = {
            "session": session_id,
            "live": elsewhere is not None,
            "viewers": elsewhere.viewers if elsewhere else 0,
        }
        if elsewhere is not None:
            body["video"] = elsewhere.video
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def relay_link(request: web.Request) -> web.StreamResponse:
    """Another node pulls a room live here (``stream.rooms.uplink``; guard: the node secret)."""
    session_id = validate_session_id(request.match_info["session"])
    room = request.app[ROOMS].get(session_id)
    if room is None or not room.live:
        return _not_live()
    if room.relays >= MAX_LINKS_PER_ROOM:
        return problem(503, "this room is relayed to too many nodes", headers={"Retry-After": "5"})
    ws = web.WebSocketResponse(
        heartbeat=LINK_HEARTBEAT, max_msg_size=link.MAX_CONTROL_MESSAGE, compress=False
    )
    await ws.prepare(request)
    links = request.app[UPLINKS]
    links.add(ws)

    async def close(reason: str) -> None:
        await ws.close(code=1001, message=reason.encode()[:120])

    async def send(message: bytes | str) -> None:
        if isinstance(message, bytes):
            await ws.send_bytes(message)
        else:
            await ws.send_str(message)

    uplink = Uplink(room, send, close)
    try:
        uplink.start()
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                await ws.close(code=1003, message=b"text control messages only")
                break
            try:
                uplink.control(message.data)
            except link.LinkError as exc:
                await ws.close(code=1008, message=str(exc).encode()[:120])
                break
    finally:
        links.discard(ws)
        await uplink.stop()
    return ws
