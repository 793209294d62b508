"""Which node holds a WHIP/WHEP resource, and resource requests that reach another node.

Behind one port (``stream serve --workers``) or a load balancer, a client's ``PATCH`` or
``DELETE`` on its resource URL may reach a node other than the one that holds the peer. So
each node:

- makes a random *node tag* at start and puts it at the end of the ids of the peers it makes
  (``<random>.<tag>``; the random part alone keeps them unguessable);
- records ``node:{tag}:link`` → its node link (:func:`stream.http.nodes.node_link`) in Redis
  with a TTL, refreshed while it runs: a node that dies stops refreshing and its record expires;
- answers a resource request for another node's peer by sending it on to that node's link, at
  ``/node/{whip|whep}/{session}/{resource}`` with the node secret, and returning the answer as
  it came (status, body, ``ETag``, …). Of the client's request only the method, the body and
  ``Content-Type``/``If-Match`` go along: the resource URL is the credential.

The node routes (guard ``NODE``) answer from the node's own peers and never forward, so a
request is forwarded at most once. An unknown or expired tag, or a node that does not answer,
gives 404, as for any resource that ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import secrets
from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
from aiohttp import web

from stream.common.errors import NotFound, RateLimited, TooLarge, Unavailable
from stream.common.rates import RESOURCE_FORWARDS_PER_ADDRESS
from stream.http.client import client_address
from stream.http.keys import LIMITER, NODE_SECRET, REDIS, RESOURCE_NODES, SETTINGS
from stream.http.nodes import link_session, node_headers, node_link
from stream.rtc.peer import split_resource_id
from stream.rtc.sdp import MAX_SDP_BYTES
from stream.store import Redis, text

logger = logging.getLogger(__name__)

NODE_TAG_BYTES = 4
TAG_PATTERN = re.compile(r"[0-9a-f]{8}")
NODE_RECORD_TTL = 20  # seconds: a few missed refreshes before a node counts as gone
NODE_RECORD_INTERVAL = 5.0
MAX_TAG_ATTEMPTS = 8
FORWARD_TIMEOUT = 10.0
# What the holding node's answer keeps on its way back to the client.
RELAYED_HEADERS = ("Content-Type", "ETag", "Accept-Patch", "Link", "Retry-After")
GONE = "no such resource (it may have ended)"


def node_key(tag: str) -> str:
    return f"node:{tag}:link"


def node_resource_path(role: str, session_id: str, resource_id: str) -> str:
    """Where a node answers for its own peers (the ``NODE`` routes of the composition root)."""
    return f"/node/{role}/{quote(session_id, safe='')}/{quote(resource_id, safe='')}"


class ResourceNodes:
    """This node's tag and record, and the forwarding of requests for other nodes' peers."""

    def __init__(self, redis: Redis, tag: str, link: str, secret: str) -> None:
        self.redis = redis
        self.tag = tag
        self.link = link
        self.secret = secret
        self.forwarded = 0
        self._clients: dict[str, tuple[aiohttp.ClientSession, str]] = {}

    @classmethod
    async def register(cls, redis: Redis, link: str, secret: str) -> ResourceNodes:
        """A fresh tag, recorded (``SET NX``: a tag another live node holds is not taken)."""
        for _ in range(MAX_TAG_ATTEMPTS):
            tag = secrets.token_hex(NODE_TAG_BYTES)
            if await redis.set(node_key(tag), link, nx=True, ex=NODE_RECORD_TTL):
                return cls(redis, tag, link, secret)
        raise RuntimeError("no free node tag in Redis")

    async def refresh(self) -> None:
        await self.redis.set(node_key(self.tag), self.link, ex=NODE_RECORD_TTL)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(NODE_RECORD_INTERVAL)
            try:
                await self.refresh()
            except Exception as exc:  # Redis away for a moment: try again next round
                logger.warning("node record refresh failed: %s", exc)

    async def withdraw(self) -> None:
        with contextlib.suppress(Exception):
            await self.redis.delete(node_key(self.tag))

    async def close(self) -> None:
        clients, self._clients = self._clients, {}
        for client, _ in clients.values():
            await client.close()

    async def link_of(self, tag: str) -> str | None:
        if not TAG_PATTERN.fullmatch(tag):
            return None
        link = await self.redis.get(node_key(tag))
        return text(link) if link is not None else None

    def _client(self, link: str) -> tuple[aiohttp.ClientSession, str]:
        found = self._clients.get(link)
        if found is None or found[0].closed:
            found = link_session(link, aiohttp.ClientTimeout(total=FORWARD_TIMEOUT))
            self._clients[link] = found
        return found

    async def forward(self, request: web.Request, role: str) -> web.Response | None:
        """The holding node's answer when ``request`` names another node's peer; None when the
        peer would be this node's (the caller answers)."""
        session_id = request.match_info["session"]
        resource_id = request.match_info["resource"]
        tag, _ = split_resource_id(resource_id)
        if tag is None or tag == self.tag:
            return None
        try:
            link = await self.link_of(tag)
        except Exception as exc:  # Redis away for a moment: the client may try again
            logger.warning("node record of %s unreadable: %s", tag, type(exc).__name__)
            raise Unavailable("cannot reach the node of this resource now; try again") from None
        if link is None or link == self.link:  # gone, or this node's previous life
            raise NotFound(GONE)
        address = client_address(request)
        wait = await request.app[LIMITER].hit(RESOURCE_FORWARDS_PER_ADDRESS, ("addr", address))
        if wait > 0:
            raise RateLimited(
                "too many resource requests from your address; wait and retry",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        if request.content_length is not None and request.content_length > MAX_SDP_BYTES:
            raise TooLarge(f"body is larger than {MAX_SDP_BYTES} bytes")
        body = await request.read()
        if len(body) > MAX_SDP_BYTES:
            raise TooLarge(f"body is larger than {MAX_SDP_BYTES} bytes")
        headers = node_headers(self.secret)
        for name in ("Content-Type", "If-Match"):
            if name in request.headers:
                headers[name] = request.headers[name]
        client, base = self._client(link)
        url = base + node_resource_path(role, session_id, resource_id)
        try:
            async with client.request(
                request.method, url, data=body, headers=headers, allow_redirects=False
            ) as answer:
                payload = await answer.read()
                response = web.Response(status=answer.status, body=payload)
                for name in RELAYED_HEADERS:
                    values = answer.headers.getall(name, ())
                    if values:
                        response.headers.popall(name, None)
                    for value in values:
                        response.headers.add(name, value)
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.info("node %s did not answer a %s request: %s", tag, role, type(exc).__name__)
            raise NotFound(GONE) from None
        self.forwarded += 1
        return response


async def resource_nodes_context(app: web.Application) -> AsyncIterator[None]:
    """This node's tag and record (after Redis and the node secret; withdrawn at the end)."""
    nodes = await ResourceNodes.register(app[REDIS], node_link(app[SETTINGS]), app[NODE_SECRET])
    app[RESOURCE_NODES] = nodes
    task = asyncio.create_task(nodes.run(), name="node-record")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await nodes.withdraw()
        await nodes.close()
