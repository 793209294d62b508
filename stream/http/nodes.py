"""How the nodes of one deployment reach each other: a node link and a shared node secret.

A *node* is one server process. Nodes share one Redis; besides that, one node sometimes calls
another: an edge pulls a live room from its origin over a relay link
(``stream.rooms.edge``), a WHIP/WHEP resource request is forwarded to the node that holds the
peer. Each node is reached at its *link*: ``Settings.node_link`` (``http://…``, ``https://…``
or ``unix:/path.sock``, the last for worker processes on one machine), else its public URL.

Calls between nodes carry ``Authorization: Bearer <node secret>``: a random secret the first
node writes to Redis (``SET NX``) and every node reads. Whoever can read that Redis holds every
other secret of the deployment too, so the secret adds no trust it does not already have.
"""

from __future__ import annotations

import hmac
import secrets

import aiohttp
from aiohttp import web

from stream.config import Settings
from stream.store import Redis, text

NODE_SECRET_KEY = "node:link-secret"  # noqa: S105 - a Redis key, not the secret
NODE_SECRET_BYTES = 32
UNIX_PREFIX = "unix:"
# The host name requests over a Unix socket carry (aiohttp needs one; nothing resolves it).
UNIX_HOST = "http://node.local"


def node_link(settings: Settings) -> str:
    """Where the other nodes reach this one."""
    return settings.node_link or settings.base_url


async def shared_node_secret(redis: Redis) -> str:
    """The deployment's node secret: made by the first node, read by every other."""
    await redis.set(NODE_SECRET_KEY, secrets.token_urlsafe(NODE_SECRET_BYTES), nx=True)
    stored = await redis.get(NODE_SECRET_KEY)
    if stored is None:  # deleted between the two commands: make it again
        return await shared_node_secret(redis)
    return text(stored)


def node_headers(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def is_node_request(request: web.Request, secret: str) -> bool:
    """The request carries the node secret (compared in constant time)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), secret.encode()
    )


def link_session(link: str, timeout: aiohttp.ClientTimeout) -> tuple[aiohttp.ClientSession, str]:
    """A client session that reaches ``link`` and the base URL to put before paths."""
    if link.startswith(UNIX_PREFIX):
        connector = aiohttp.UnixConnector(path=link[len(UNIX_PREFIX) :])
        return aiohttp.ClientSession(connector=connector, timeout=timeout), UNIX_HOST
    return aiohttp.ClientSession(timeout=timeout), link.rstrip("/")
