"""Typed application state: every ``web.AppKey`` of the app, in one place.

The composition root (:mod:`stream.app`) fills them in its ``cleanup_ctx`` resources;
capabilities read them. The types of capability objects are imported for type checking only,
so this module sits below the capabilities that define them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from stream.common.limits import Limiter
from stream.config import Settings
from stream.store import EmbeddedRedis, Redis, RedisSupervisor

if TYPE_CHECKING:
    from stream.analytics.viewers import ViewerSampler
    from stream.archive.service import Archive
    from stream.chat.chat import ChatService
    from stream.chat.ws import ChatSockets
    from stream.http.identity import Authenticator
    from stream.http.templates import Templates
    from stream.ingest.rtmp.server import RtmpServer
    from stream.ops import Metrics
    from stream.program.schedule import LiveState
    from stream.qa.service import QAService
    from stream.rooms.edge import Edges
    from stream.rooms.presence import Presence
    from stream.rooms.room import RoomRegistry
    from stream.rtc.address_caps import SharedAddressCap
    from stream.rtc.peer import PeerRegistry
    from stream.rtc.resource_nodes import ResourceNodes

# Resources every layer may read.
SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
EMBEDDED_REDIS = web.AppKey("embedded_redis", EmbeddedRedis)
REDIS_SUPERVISOR = web.AppKey("redis_supervisor", RedisSupervisor)  # embedded Redis only
LIMITER = web.AppKey("limiter", Limiter)  # every rate limit, shared by the nodes
NODE_SECRET = web.AppKey("node_secret", str)  # calls between nodes (stream.http.nodes)
TEMPLATES: web.AppKey[Templates] = web.AppKey("templates")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")  # request counts for /metrics

# The grant model: the deployment's signing secret and what turns credentials into identities.
AUTH_SECRET = web.AppKey("auth_secret", bytes)
AUTHENTICATOR: web.AppKey[Authenticator] = web.AppKey("authenticator")

# Media.
PEERS: web.AppKey[PeerRegistry] = web.AppKey("peers")
# This node's tag in resource ids, its record in Redis, and forwarding to the other nodes.
RESOURCE_NODES: web.AppKey[ResourceNodes] = web.AppKey("resource_nodes")
ROOMS: web.AppKey[RoomRegistry] = web.AppKey("rooms")
PRESENCE: web.AppKey[Presence] = web.AppKey("presence")
EDGES: web.AppKey[Edges] = web.AppKey("edges")  # rooms mirrored from other nodes
UPLINKS: web.AppKey[set[web.WebSocketResponse[bool]]] = web.AppKey("uplinks")  # relay links served
VIEWER_CAP: web.AppKey[SharedAddressCap] = web.AppKey("viewer_cap")  # per address, all nodes
LIVE: web.AppKey[LiveState] = web.AppKey("live")
RTMP_SERVER: web.AppKey[RtmpServer] = web.AppKey("rtmp_server")
ARCHIVE: web.AppKey[Archive] = web.AppKey("archive")  # recordings and live HLS

# Live interaction.
CHAT: web.AppKey[ChatService] = web.AppKey("chat")
CHAT_SOCKETS: web.AppKey[ChatSockets] = web.AppKey("chat_sockets")
QA: web.AppKey[QAService] = web.AppKey("qa")

# Who watches: this process's tally and the sampler of the viewer curves.
VIEWERS: web.AppKey[ViewerSampler] = web.AppKey("viewers")
