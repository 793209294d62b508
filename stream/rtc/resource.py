"""WebRTC wiring shared by WHIP and WHEP: the ICE host setting, the peer registry, and the
HTTP behaviour of a WHIP/WHEP *resource* (the Location of a session: PATCH, DELETE, OPTIONS).

A resource of a peer another node holds is answered by that node
(:mod:`stream.rtc.resource_nodes`); the ``/node/…`` handlers here answer for this node's own.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from stream.common.errors import Conflict, NotFound, PreconditionFailed, StreamError
from stream.http.keys import PEERS, RESOURCE_NODES, SETTINGS
from stream.rtc import internals
from stream.rtc.ice import host_addresses, parse_ice_server
from stream.rtc.peer import Peer, PeerRegistry
from stream.rtc.sdp import TRICKLE_CONTENT_TYPE as TRICKLE_CONTENT_TYPE
from stream.rtc.sdp import read_body, trickle_candidates

logger = logging.getLogger(__name__)


ALLOWED_HEADERS = "Authorization, Content-Type, If-Match"
EXPOSED_HEADERS = "Location, Link, ETag, Accept-Patch, Accept-Post, Retry-After"


class UnprocessableContent(StreamError):
    status = 422
    title = "Unprocessable content"


async def peers_context(app: web.Application) -> AsyncIterator[None]:
    registry = PeerRegistry()
    app[PEERS] = registry
    with (
        host_addresses(app[SETTINGS].ice_hosts),
        internals.contain_connect_failures(_connect_failed),
    ):
        yield
        await registry.close_all()


def _connect_failed(pc: object, exc: BaseException) -> None:
    # One line, no traceback: an offer aiortc accepted but cannot connect (the peer is closed).
    logger.info("a peer connection failed to start: %s", type(exc).__name__)


def is_rtc_path(path: str) -> bool:
    return path.startswith(("/whip/", "/whep/"))


async def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    if not is_rtc_path(request.path):
        return
    origins = request.app[SETTINGS].cors_origins
    origin = request.headers.get("Origin")
    if "*" in origins:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin and origin in origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS


def ice_server_links(ice_servers: tuple[str, ...]) -> list[str]:
    """``Link: rel="ice-server"`` values (RFC 9725 §4.6) for the configured STUN/TURN servers."""
    links = []
    for url in ice_servers:
        server = parse_ice_server(url)
        link = f'<{server.urls}>; rel="ice-server"'
        if server.username:
            link += (
                f'; username="{server.username}"; credential="{server.credential}"'
                '; credential-type="password"'
            )
        links.append(link)
    return links


def add_ice_server_links(response: web.StreamResponse, ice_servers: tuple[str, ...]) -> None:
    for link in ice_server_links(ice_servers):
        response.headers.add("Link", link)


def options_response(
    methods: str, *, accept_post: bool, ice_servers: tuple[str, ...] = ()
) -> web.Response:
    headers = {
        "Allow": methods,
        "Access-Control-Allow-Methods": methods,
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": "86400",
    }
    if accept_post:
        headers["Accept-Post"] = "application/sdp"
    else:
        headers["Accept-Patch"] = TRICKLE_CONTENT_TYPE
    response = web.Response(status=204, headers=headers)
    add_ice_server_links(response, ice_servers)
    return response


def etag_of(peer: Peer) -> str:
    return f'"{peer.id[:16]}"'


def find_peer(request: web.Request, role: str) -> Peer:
    peer = request.app[PEERS].get(request.match_info["resource"])
    if peer is None or peer.role != role or peer.session_id != request.match_info["session"]:
        raise NotFound("no such resource (it may have ended)")
    return peer


async def _elsewhere(request: web.Request, role: str) -> web.Response | None:
    nodes = request.app.get(RESOURCE_NODES)
    return None if nodes is None else await nodes.forward(request, role)


async def delete_resource(request: web.Request, role: str) -> web.Response:
    forwarded = await _elsewhere(request, role)
    return forwarded if forwarded is not None else await _delete_here(request, role)


async def patch_resource(request: web.Request, role: str) -> web.Response:
    forwarded = await _elsewhere(request, role)
    return forwarded if forwarded is not None else await _patch_here(request, role)


async def node_delete(request: web.Request) -> web.Response:
    """``DELETE /node/{role}/{session}/{resource}``: another node forwards a client's DELETE."""
    return await _delete_here(request, request.match_info["role"])


async def node_patch(request: web.Request) -> web.Response:
    """``PATCH /node/{role}/{session}/{resource}``: another node forwards a client's PATCH."""
    return await _patch_here(request, request.match_info["role"])


async def _delete_here(request: web.Request, role: str) -> web.Response:
    resource_id = request.match_info["resource"]
    session_id = request.match_info["session"]
    if request.app[PEERS].recently_ended(resource_id, role, session_id):
        return web.Response(status=200)  # the client's own teardown got there first
    peer = find_peer(request, role)
    await peer.close("deleted by client")
    return web.Response(status=200)


async def _patch_here(request: web.Request, role: str) -> web.Response:
    """Trickle ICE (RFC 8840 fragments). ICE restarts are not supported: 422."""
    peer = find_peer(request, role)
    fragment = await read_body(request, TRICKLE_CONTENT_TYPE)
    if_match = request.headers.get("If-Match")
    if if_match is not None and if_match != "*" and if_match != etag_of(peer):
        raise PreconditionFailed("ETag does not match the ICE session")
    ufrag, candidates = trickle_candidates(fragment)
    if if_match == "*" or (ufrag is not None and ufrag != peer.ice_ufrag):
        raise UnprocessableContent("ICE restart is not supported; start a new session")
    if peer.closed:
        raise Conflict("session has ended")
    try:
        await peer.add_remote_candidates(candidates)
    except Exception as exc:  # a candidate we cannot use is discarded (RFC 9725 §4.3.1)
        logger.debug("%s trickle candidate ignored: %r", peer.log_prefix, exc)
    return web.Response(status=204)
