"""HTTP for ingest: WHIP (RFC 9725) at ``/whip/{session}``, authorised by the session's key."""

from __future__ import annotations

from aiohttp import web

from stream.common import times
from stream.common.errors import Conflict, Forbidden, NotFound, TooLarge, Unauthorized
from stream.common.ids import validate_session_id
from stream.common.times import iso_local
from stream.http.client import client_address
from stream.http.keys import PEERS, REDIS, RESOURCE_NODES, ROOMS, SETTINGS
from stream.ingest.whip import accept_publisher
from stream.program.keys import KeyCheck
from stream.program.sessions import SessionStore
from stream.rtc import resource as rtc
from stream.rtc.sdp import MAX_SDP_BYTES, SDP_CONTENT_TYPE, check_offer, read_body

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="stream"'}


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authorise_publisher(request: web.Request) -> None:
    """The route guard of ``POST /whip/{session}``: the session's publish key, in its window."""
    session_id = validate_session_id(request.match_info["session"])
    token = bearer_token(request)
    if token is None:
        raise Unauthorized(
            "a publish key is required (Authorization: Bearer)", headers=BEARER_CHALLENGE
        )
    sessions = SessionStore(request.app[REDIS])
    if not await sessions.exists(session_id):
        raise NotFound("no such session")
    # A wrong key is 401 whatever the time; only the holder of the right key learns about
    # the schedule (403: right key, outside its rehearsal-to-grace window).
    check = await sessions.check_publish_key(session_id, token)
    if check is KeyCheck.WRONG:
        raise Unauthorized(
            "the publish key is not valid for this session", headers=BEARER_CHALLENGE
        )
    if check is KeyCheck.TOO_EARLY:
        window = (await sessions.get(session_id)).key_window()
        opens = f" at {iso_local(window[0])}" if window else ""
        raise Forbidden(f"the publish key is not valid yet: publishing opens{opens}")
    if check is KeyCheck.EXPIRED:
        raise Forbidden("the publish key has expired: this session's publishing window has closed")


async def whip_post(request: web.Request) -> web.Response:
    session_id = validate_session_id(request.match_info["session"])
    if request.content_length is not None and request.content_length > MAX_SDP_BYTES:
        raise TooLarge(f"body is larger than {MAX_SDP_BYTES} bytes")
    offer = await read_body(request, SDP_CONTENT_TYPE)
    kinds = check_offer(offer, want="send")
    room = request.app[ROOMS].get_or_create(session_id)
    if room.publisher is not None:
        raise Conflict("this session already has a live publisher")
    settings = request.app[SETTINGS]
    peers = request.app[PEERS]
    # The key holder is not limited per address, but every peer counts toward the process's cap.
    slot = peers.admission.reserve(client_address(request), per_address=None, what="WHIP offers")
    try:
        peer, answer = await accept_publisher(
            room,
            offer,
            kinds,
            ice_servers=settings.ice_servers,
            handshake_timeout=settings.handshake_timeout,
            media_timeout=settings.publisher_timeout,
            consent_interval=settings.consent_interval,
            node_tag=request.app[RESOURCE_NODES].tag,
        )
    except BaseException:
        slot.release()
        raise
    peers.add(peer, slot)
    window = (await SessionStore(request.app[REDIS]).get(session_id)).key_window()
    if window is not None:  # the key stops at the end of its window, and so does publishing
        peer.end_after((window[1] - times.now()).total_seconds(), "publishing window closed")
    response = web.Response(
        status=201,
        body=answer.encode(),
        content_type=SDP_CONTENT_TYPE,
        headers={
            "Location": f"/whip/{session_id}/{peer.id}",
            "ETag": rtc.etag_of(peer),
            "Accept-Patch": rtc.TRICKLE_CONTENT_TYPE,
        },
    )
    rtc.add_ice_server_links(response, settings.ice_servers)
    return response


async def whip_options(request: web.Request) -> web.Response:
    return rtc.options_response(
        "POST, OPTIONS", accept_post=True, ice_servers=request.app[SETTINGS].ice_servers
    )


async def whip_resource_options(request: web.Request) -> web.Response:
    return rtc.options_response("PATCH, DELETE, OPTIONS", accept_post=False)


async def whip_delete(request: web.Request) -> web.Response:
    return await rtc.delete_resource(request, "whip")


async def whip_patch(request: web.Request) -> web.Response:
    return await rtc.patch_resource(request, "whip")
