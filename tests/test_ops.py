"""Operations endpoints: health and Prometheus metrics reflect what is live."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from stream.http.keys import ROOMS
from tests.conftest import base_url, create_session
from tests.media import publish_loop, wait_for, watch


async def test_health_and_metrics(server: TestServer) -> None:
    base = base_url(server)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/healthz") as r:
            assert r.status == 200
            assert (await r.json())["redis"] == "ok"
        key = await create_session(server, "metered")
        publisher, _ = await publish_loop(base, "metered", key)
        room = server.app[ROOMS].get("metered")
        assert room is not None
        await wait_for(lambda: room.live, what="live")
        viewer, received = await watch(base, "metered")
        try:
            await wait_for(lambda: len(received.frames["video"]) >= 5, what="frames")
            async with http.get(f"{base}/metrics") as r:
                text = await r.text()
            assert 'stream_peers{role="whip"} 1' in text
            assert 'stream_peers{role="whep"} 1' in text
            assert 'stream_room_viewers{session="metered"} 1' in text
            assert 'stream_room_live{session="metered"} 1' in text
            assert 'stream_relay_latency_seconds{session="metered",quantile="0.99"}' in text
            async with http.get(f"{base}/api/sessions/metered/status") as r:
                assert await r.json() == {"session": "metered", "live": True, "viewers": 1}
        finally:
            await viewer.close()
            await publisher.close()
