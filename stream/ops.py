"""Operations endpoints: ``/healthz`` (is Redis reachable) and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from stream.http.keys import PEERS, REDIS, ROOMS
from stream.program.sessions import SessionStore
from stream.rooms.room import Room

HEALTH_REDIS_TIMEOUT = 2.0


async def healthz(request: web.Request) -> web.Response:
    try:
        await asyncio.wait_for(request.app[REDIS].ping(), HEALTH_REDIS_TIMEOUT)
    except Exception:
        return web.json_response({"status": "degraded", "redis": "unreachable"}, status=503)
    return web.json_response({"status": "ok", "redis": "ok"})


async def _listed_rooms(request: web.Request) -> list[Room]:
    """This process's rooms, but not those of invite-only sessions (their ids stay unknown)."""
    rooms = request.app[ROOMS].all()
    sessions = await SessionStore(request.app[REDIS]).many(room.session_id for room in rooms)
    hidden = {session.id for session in sessions if not session.public}
    return [room for room in rooms if room.session_id not in hidden]


async def metrics(request: web.Request) -> web.Response:
    rooms = await _listed_rooms(request)
    peers = request.app[PEERS]
    lines = [
        "# HELP stream_rooms Rooms in this process.",
        "# TYPE stream_rooms gauge",
        f"stream_rooms {len(rooms)}",
        "# HELP stream_peers WebRTC peers in this process by role.",
        "# TYPE stream_peers gauge",
        f'stream_peers{{role="whip"}} {peers.count("whip")}',
        f'stream_peers{{role="whep"}} {peers.count("whep")}',
        "# HELP stream_room_viewers Viewers per live room.",
        "# TYPE stream_room_viewers gauge",
    ]
    for room in rooms:
        lines.append(f'stream_room_viewers{{session="{room.session_id}"}} {room.viewer_count}')
    lines += [
        "# HELP stream_room_live 1 while a publisher is sending.",
        "# TYPE stream_room_live gauge",
    ]
    for room in rooms:
        lines.append(f'stream_room_live{{session="{room.session_id}"}} {int(room.live)}')
    lines += [
        "# HELP stream_relay_latency_seconds Frame arrival to hand-off to a viewer's sender.",
        "# TYPE stream_relay_latency_seconds summary",
    ]
    for room in rooms:
        for q in (50, 95, 99):
            value = room.relay_latency.percentile(q)
            if value is not None:
                lines.append(
                    f'stream_relay_latency_seconds{{session="{room.session_id}",'
                    f'quantile="{q / 100}"}} {value:.6f}'
                )
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


async def room_stats(request: web.Request) -> web.Response:
    """JSON stats of every room (used by the benchmark; no secrets in it)."""
    return web.json_response([room.stats() for room in await _listed_rooms(request)])
