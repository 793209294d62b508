"""Small holes found by trying the media endpoints as an attacker would: an offer without a
DTLS fingerprint must be refused (nothing could authenticate the DTLS handshake), and the embed
page must say one thing about framing (``frame-ancestors``), not two that contradict."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from stream.http.keys import PEERS, REDIS, ROOMS
from stream.program.sessions import Session, SessionStore
from tests.conftest import base_url, create_session
from tests.media import publish_loop, wait_for
from tests.rtc.offers import real_offer, without_lines

SDP = {"Content-Type": "application/sdp"}


async def test_offers_without_a_dtls_fingerprint_are_400(server: TestServer) -> None:
    base = base_url(server)
    key = await create_session(server, "nofp")
    send_offer = without_lines(await real_offer(), "a=fingerprint:")
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/whip/nofp", data=send_offer, headers={**SDP, "Authorization": f"Bearer {key}"}
        ) as response:
            assert response.status == 400, await response.text()
            assert "fingerprint" in (await response.json())["detail"]
        publisher, _ = await publish_loop(base, "nofp", key)
        try:
            room = server.app[ROOMS].get("nofp")
            await wait_for(lambda: room is not None and room.live, 10, "the publisher live")
            recv_offer = without_lines(await real_offer(direction="recvonly"), "a=fingerprint:")
            async with http.post(f"{base}/whep/nofp", data=recv_offer, headers=SDP) as response:
                assert response.status == 400, await response.text()
                assert "fingerprint" in (await response.json())["detail"]
        finally:
            await publisher.close()
    assert server.app[PEERS].count("whep") == 0


async def test_the_embed_page_answers_framing_with_frame_ancestors_only(
    server: TestServer,
) -> None:
    await SessionStore(server.app[REDIS]).save(Session(id="inbaddad", title="Inbäddad"))
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base_url(server)}/embed/inbaddad") as response:
            assert response.status == 200
            assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
            assert "X-Frame-Options" not in response.headers
        async with http.get(f"{base_url(server)}/s/inbaddad") as response:
            assert response.status == 200
            assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
            assert "X-Frame-Options" not in response.headers
