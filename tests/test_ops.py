"""Operations endpoints: health and Prometheus metrics (parsed with prometheus-client's own
parser) reflect what is live; invite-only sessions never appear by name."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from stream.config import Settings
from stream.http.keys import REDIS, ROOMS
from stream.program.sessions import Session, SessionStore
from tests.chat.client import ChatClient
from tests.conftest import MakeServer, base_url, create_session
from tests.media import publish_loop, wait_for, watch


async def scrape(http: aiohttp.ClientSession, base: str) -> tuple[str, dict[str, list[Sample]]]:
    async with http.get(f"{base}/metrics") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=")
        text = await r.text()
    samples: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return text, samples


def value(samples: dict[str, list[Sample]], name: str, **labels: str) -> float:
    found = [s.value for s in samples[name] if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, samples.get(name))
    return found[0]


async def test_health_and_metrics(server: TestServer) -> None:
    base = base_url(server)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/healthz") as r:
            assert r.status == 200
            assert await r.json() == {"status": "ok", "redis": "ok"}
        key = await create_session(server, "metered")
        store = SessionStore(server.app[REDIS])
        await store.save(
            Session(id="closed-group", title="Arbetsgrupp", arranger="Noden", visibility="invite")
        )
        secret_key = await store.rotate_key("closed-group")
        publisher, _ = await publish_loop(base, "metered", key)
        hidden, _ = await publish_loop(base, "closed-group", secret_key)
        room = server.app[ROOMS].get("metered")
        hidden_room = server.app[ROOMS].get("closed-group")
        assert room is not None
        assert hidden_room is not None
        await wait_for(lambda: room.live and hidden_room.live, what="live")
        viewer, received = await watch(base, "metered")
        chat = await ChatClient.connect(server, "metered")
        try:
            await wait_for(lambda: len(received.frames["video"]) >= 5, what="frames")
            text, samples = await scrape(http, base)
            assert "closed-group" not in text, "invite-only sessions are not named"
            assert value(samples, "stream_rooms") == 2
            assert value(samples, "stream_publishers") == 2
            assert value(samples, "stream_viewers") == 1
            assert value(samples, "stream_peers", role="whip") == 2
            assert value(samples, "stream_peers", role="whep") == 1
            assert value(samples, "stream_room_viewers", session="metered") == 1
            assert value(samples, "stream_room_live", session="metered") == 1
            assert (
                value(samples, "stream_relay_latency_seconds", session="metered", quantile="0.99")
                >= 0
            )
            assert value(samples, "stream_chat_sockets") == 1
            assert value(samples, "stream_chat_fanout_readers") == 1
            assert value(samples, "stream_redis_up") == 1
            assert value(samples, "process_resident_memory_bytes") > 0
            # Requests by route template and status (never by path).
            assert (
                value(
                    samples,
                    "stream_http_requests_total",
                    method="GET",
                    route="/healthz",
                    status="200",
                )
                == 1
            )
            assert (
                value(
                    samples,
                    "stream_http_requests_total",
                    method="POST",
                    route="/whip/{session}",
                    status="201",
                )
                == 2
            )
            async with http.get(f"{base}/no/such/page") as r:
                assert r.status == 404
            _, samples = await scrape(http, base)
            assert (
                value(
                    samples,
                    "stream_http_requests_total",
                    method="GET",
                    route="unmatched",
                    status="404",
                )
                == 1
            )
            async with http.get(f"{base}/api/sessions/metered/status") as r:
                assert await r.json() == {
                    "session": "metered",
                    "live": True,
                    "viewers": 1,
                    "video": "H264",
                }
        finally:
            await chat.close()
            await viewer.close()
            await publisher.close()
            await hidden.close()


async def test_metrics_behind_a_token(make_server: MakeServer, settings: Settings) -> None:
    server = await make_server(settings.with_(metrics_token="scrape-me"))
    base = base_url(server)
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            async with http.get(f"{base}/metrics", headers=headers) as r:
                assert r.status == 401
                assert r.headers["WWW-Authenticate"] == "Bearer"
        async with http.get(f"{base}/metrics", headers={"Authorization": "Bearer scrape-me"}) as r:
            assert r.status == 200
            assert "stream_rooms 0.0" in await r.text()
        async with http.get(f"{base}/healthz") as r:
            assert r.status == 200, "health stays open"
