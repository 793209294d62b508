"""Operations: ``/healthz`` (is Redis there), ``/metrics`` (Prometheus, through
``prometheus-client``), the request counter behind it, and the access log.

Invite-only sessions never appear by name: per-session series are labelled for public sessions
only; every other figure is an aggregate. The access log names the route (``/whip/{session}/
{resource}``), never the path or query string, which can carry resource ids and invite codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import Iterable, Iterator

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler
from aiohttp.web_request import BaseRequest
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from stream.chat.keys import stream_key
from stream.common.errors import Unauthorized
from stream.http.keys import (
    CHAT,
    CHAT_SOCKETS,
    EDGES,
    METRICS,
    PEERS,
    REDIS,
    REDIS_SUPERVISOR,
    ROOMS,
    SETTINGS,
)
from stream.program.sessions import SessionStore
from stream.qa.keys import question_seq_key
from stream.rooms.room import Room
from stream.rooms.stats import SampleWindow
from stream.store import RedisState

HEALTH_REDIS_TIMEOUT = 2.0
METRICS_REDIS_TIMEOUT = 1.0
UNMATCHED_ROUTE = "unmatched"
LATENCY_QUANTILES = (50, 95, 99)
# Seconds, frame arrival to hand-off to a viewer's sender: well under a millisecond normally.
RELAY_LATENCY_BUCKETS = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)
# Sessions that are not public count together under this label value, never by name.
UNLISTED = "_unlisted"


def route_name(request: BaseRequest) -> str:
    """The matched route's template (bounded: one label value per route), never the path."""
    match_info = getattr(request, "match_info", None)
    resource = match_info.route.resource if match_info is not None else None
    return resource.canonical if resource is not None else UNMATCHED_ROUTE


class Metrics:
    """Per application: what is counted as it happens (requests by route and status)."""

    def __init__(self) -> None:
        self.requests = Counter(
            "stream_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=None,
        )
        self.relay_latency = Histogram(
            "stream_relay_latency_histogram_seconds",
            "Frame arrival to hand-off to a viewer's sender, every room of this process.",
            buckets=RELAY_LATENCY_BUCKETS,
            registry=None,
        )

    def observe_rooms(self, rooms: Iterable[Room]) -> None:
        """Feed each room's relay latency samples into the histogram from now on."""
        for room in rooms:
            if not isinstance(room.relay_latency, ObservedWindow):
                room.relay_latency = ObservedWindow(room.relay_latency, self.relay_latency)


class ObservedWindow(SampleWindow):
    """A room's latency window that also observes every sample into a histogram."""

    def __init__(self, window: SampleWindow, histogram: Histogram) -> None:
        # No super().__init__(): every method goes to the room's own window, samples kept.
        self.window = window
        self.histogram = histogram

    @property
    def count(self) -> int:
        return self.window.count

    @count.setter
    def count(self, value: int) -> None:
        self.window.count = value

    def add(self, value: float) -> None:
        self.window.add(value)
        self.histogram.observe(value)

    def clear(self) -> None:
        self.window.clear()

    def percentile(self, q: float) -> float | None:
        return self.window.percentile(q)

    def __len__(self) -> int:
        return len(self.window)


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        request.app[METRICS].requests.labels(request.method, route_name(request), status).inc()


class _Snapshot(Collector):
    """Gauges read from the application at scrape time."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


async def _public(app: web.Application, session_ids: Iterable[str]) -> set[str]:
    sessions = await SessionStore(app[REDIS]).many(session_ids)
    return {session.id for session in sessions if session.public}


async def _redis_up(app: web.Application) -> bool:
    try:
        await asyncio.wait_for(app[REDIS].ping(), METRICS_REDIS_TIMEOUT)
    except Exception:
        return False
    return True


async def snapshot(app: web.Application) -> list[Metric]:
    own = app[ROOMS].all()
    mirrored = app[EDGES].rooms()  # rooms live on another node, served here as an edge
    rooms = own + mirrored
    peers = app[PEERS]
    redis_up = await _redis_up(app)
    public: set[str] = set()
    if redis_up:
        with contextlib.suppress(Exception):
            public = await _public(app, [room.session_id for room in rooms])
    families: list[Metric] = [
        _gauge("stream_rooms", "Rooms in this process.", len(own)),
        _gauge("stream_mirrored_rooms", "Rooms mirrored from another node.", len(mirrored)),
        _gauge(
            "stream_relay_links", "Relay links to edge nodes served.", sum(r.relays for r in own)
        ),
        _gauge("stream_publishers", "Rooms with a publisher sending.", sum(r.live for r in own)),
        _gauge("stream_viewers", "Viewers of every room.", sum(r.viewer_count for r in rooms)),
        _gauge("stream_redis_up", "1 when Redis answers a PING.", int(redis_up)),
    ]
    by_role = GaugeMetricFamily("stream_peers", "WebRTC peers by role.", labels=["role"])
    for role in ("whip", "whep"):
        by_role.add_metric([role], peers.count(role))
    families.append(by_role)
    if CHAT in app and CHAT_SOCKETS in app:
        fanout = app[CHAT].fanout
        families += [
            _gauge("stream_chat_sockets", "Open chat sockets.", len(app[CHAT_SOCKETS].open)),
            _gauge("stream_chat_fanout_readers", "Sessions read by the fan-out.", fanout.sessions),
            _gauge("stream_chat_subscribers", "Sockets attached to a fan-out.", fanout.subscribers),
        ]
    supervisor = app.get(REDIS_SUPERVISOR)
    if supervisor is not None:
        state = GaugeMetricFamily(
            "stream_redis_embedded_state", "The embedded Redis's state.", labels=["state"]
        )
        for state_name in RedisState:
            state.add_metric([str(state_name)], int(supervisor.state == state_name))
        families += [
            state,
            _gauge(
                "stream_redis_embedded_restarts",
                "Times the embedded Redis was restarted.",
                supervisor.restarts,
            ),
        ]
    viewers = GaugeMetricFamily(
        "stream_room_viewers", "Viewers per room (public sessions only).", labels=["session"]
    )
    live = GaugeMetricFamily(
        "stream_room_live", "1 while a publisher sends (public sessions only).", labels=["session"]
    )
    latency = GaugeMetricFamily(
        "stream_relay_latency_seconds",
        "Frame arrival to hand-off to a viewer's sender (public sessions only).",
        labels=["session", "quantile"],
    )
    for room in rooms:
        if room.session_id not in public:
            continue
        viewers.add_metric([room.session_id], room.viewer_count)
        live.add_metric([room.session_id], int(room.live))
        for q in LATENCY_QUANTILES:
            value = room.relay_latency.percentile(q)
            if value is not None:
                latency.add_metric([room.session_id, str(q / 100)], value)
    families += [viewers, live, latency]
    if redis_up:
        with contextlib.suppress(Exception):
            families += await _message_counts(app, public)
    return families


async def _message_counts(app: web.Application, public: set[str]) -> list[Metric]:
    """Chat stream entries and Q&A questions per session, counted in Redis (every node's).

    Counters: Prometheus's ``rate()`` gives messages per second. Sessions that are not public
    are summed under ``session="_unlisted"``.
    """
    store = SessionStore(app[REDIS])
    session_ids = await asyncio.wait_for(store.all_ids(), METRICS_REDIS_TIMEOUT)
    listed = public | {
        s.id for s in await store.many([i for i in session_ids if i not in public]) if s.public
    }
    pipe = app[REDIS].pipeline(transaction=False)
    for session_id in session_ids:
        pipe.xinfo_stream(stream_key(session_id))
        pipe.get(question_seq_key(session_id))
    results = await asyncio.wait_for(pipe.execute(raise_on_error=False), METRICS_REDIS_TIMEOUT)
    chat = CounterMetricFamily(
        "stream_chat_messages",
        "Chat events written (messages, Q&A and moderation frames), by public session.",
        labels=["session"],
    )
    questions = CounterMetricFamily(
        "stream_qa_questions", "Q&A questions asked, by public session.", labels=["session"]
    )
    unlisted_chat = unlisted_questions = 0
    for index, session_id in enumerate(session_ids):
        info, asked = results[2 * index], results[2 * index + 1]
        added = _entries_added(info)
        count = int(asked) if isinstance(asked, (bytes, str, int)) else 0
        if session_id in listed:
            chat.add_metric([session_id], added)
            questions.add_metric([session_id], count)
        else:
            unlisted_chat += added
            unlisted_questions += count
    chat.add_metric([UNLISTED], unlisted_chat)
    questions.add_metric([UNLISTED], unlisted_questions)
    return [chat, questions]


def _entries_added(info: object) -> int:
    if not isinstance(info, dict):
        return 0  # no stream yet (an error in the pipeline's results)
    for key in ("entries-added", b"entries-added", "length", b"length"):
        if key in info:
            return int(info[key])
    return 0


def _check_metrics_token(request: web.Request) -> None:
    token = request.app[SETTINGS].metrics_token
    if token is None:
        return
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise Unauthorized(
            "/metrics needs the metrics token", headers={"WWW-Authenticate": "Bearer"}
        )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text; with ``STREAM_METRICS_TOKEN`` set, for its bearer only."""
    _check_metrics_token(request)
    registry = CollectorRegistry(auto_describe=False)
    request.app[METRICS].observe_rooms(request.app[ROOMS].all())
    registry.register(request.app[METRICS].requests)
    registry.register(request.app[METRICS].relay_latency)
    registry.register(_Snapshot(await snapshot(request.app)))
    ProcessCollector(registry=registry)
    return web.Response(
        body=generate_latest(registry),
        headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"},
    )


async def healthz(request: web.Request) -> web.Response:
    """200 ``{"status": "ok"}``, or 503 ``{"status": "degraded", "redis": <state>}`` while the
    embedded Redis is restarting (``restarting``), gave up (``failed``) or does not answer.
    A worker of ``stream serve --workers`` adds its index (``"worker": 1``)."""
    headers = {"Cache-Control": "no-store"}
    supervisor = request.app.get(REDIS_SUPERVISOR)
    if supervisor is not None and supervisor.state != RedisState.OK:
        degraded = {"status": "degraded", "redis": str(supervisor.state)}
        return web.json_response(degraded, status=503, headers=headers)
    try:
        await asyncio.wait_for(request.app[REDIS].ping(), HEALTH_REDIS_TIMEOUT)
    except Exception:
        unreachable = {"status": "degraded", "redis": "unreachable"}
        return web.json_response(unreachable, status=503, headers=headers)
    body: dict[str, object] = {"status": "ok", "redis": "ok"}
    worker = request.app[SETTINGS].worker
    if worker is not None:  # one of ``stream serve --workers``: which one answered
        body["worker"] = worker
    return web.json_response(body, headers=headers)


async def room_stats(request: web.Request) -> web.Response:
    """JSON stats of this process's rooms (used by the benchmark; no secrets in it), but not
    those of invite-only sessions (their ids stay unknown).

    Rooms this node mirrors from another node (an edge's, ``stream.rooms.edge``) are listed
    too, with ``"mirror": true`` and the relay links they opened; the rooms live here have
    ``"mirror": false``."""
    stats = [{**room.stats(), "mirror": False} for room in request.app[ROOMS].all()]
    stats += [{**mirror.stats(), "mirror": True} for mirror in request.app[EDGES].mirrors()]
    public = await _public(request.app, {str(room["session"]) for room in stats})
    return web.json_response([room for room in stats if room["session"] in public])


class AccessLogger(AbstractAccessLogger):
    """One line per request: method, route template, status, duration (no path, no query)."""

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.1fms", request.method, route_name(request), response.status, time * 1000
        )
