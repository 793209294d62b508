"""WHIP and WHEP over real HTTP: status codes for every kind of bad request, never a 500."""

from __future__ import annotations

import random

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from aiortc import RTCPeerConnection

from stream.http.keys import PEERS
from stream.rtc.sdp import MAX_SDP_BYTES
from tests.conftest import base_url, create_session
from tests.media import publish_loop


async def make_offer(
    kinds: tuple[str, ...] = ("audio", "video"), direction: str = "sendonly"
) -> str:
    pc = RTCPeerConnection()
    for kind in kinds:
        pc.addTransceiver(kind, direction=direction)
    await pc.setLocalDescription(await pc.createOffer())
    sdp: str = pc.localDescription.sdp
    await pc.close()
    return sdp


def sdp_headers(key: str | None = None) -> dict[str, str]:
    headers = {"Content-Type": "application/sdp"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return headers


async def test_missing_or_wrong_key_is_401_and_creates_no_peer(server: TestServer) -> None:
    base = base_url(server)
    await create_session(server, "s1")
    offer = await make_offer()
    async with aiohttp.ClientSession() as http:
        for headers in (
            sdp_headers(),
            sdp_headers("not-the-key"),
            {**sdp_headers(), "Authorization": "Basic abc"},
        ):
            async with http.post(f"{base}/whip/s1", data=offer, headers=headers) as response:
                assert response.status == 401
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                assert response.content_type == "application/problem+json"
                body = await response.json()
                assert "key" in body["detail"]
    assert len(server.app[PEERS]) == 0


async def test_unknown_and_invalid_sessions(server: TestServer) -> None:
    base = base_url(server)
    offer = await make_offer()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/whip/nosuch", data=offer, headers=sdp_headers("k")) as r:
            assert r.status == 404
        async with http.post(f"{base}/whip/Bad_Id", data=offer, headers=sdp_headers("k")) as r:
            assert r.status == 400
        async with http.post(f"{base}/whep/nosuch", data=offer, headers=sdp_headers()) as r:
            assert r.status == 404


async def test_content_type_size_and_malformed_sdp(server: TestServer) -> None:
    base = base_url(server)
    key = await create_session(server, "s2")
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "text/plain"}
        async with http.post(f"{base}/whip/s2", data="v=0", headers=headers) as r:
            assert r.status == 415
        big = "v=0\r\n" + "a=x\r\n" * (MAX_SDP_BYTES // 5)
        async with http.post(f"{base}/whip/s2", data=big, headers=sdp_headers(key)) as r:
            assert r.status == 413
        for bad in ("hello", "v=0\r\n", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", "\xff\xfe"):
            async with http.post(
                f"{base}/whip/s2",
                data=bad.encode("utf-8", "surrogateescape"),
                headers=sdp_headers(key),
            ) as r:
                assert r.status == 400, bad
        recv_only = await make_offer(direction="recvonly")
        async with http.post(f"{base}/whip/s2", data=recv_only, headers=sdp_headers(key)) as r:
            assert r.status == 400
    assert len(server.app[PEERS]) == 0


async def test_mutated_offers_never_500(server: TestServer) -> None:
    """Random line deletions/duplications/corruptions of a real offer: 201 or 4xx, never 5xx."""
    base = base_url(server)
    key = await create_session(server, "fuzz")
    lines = (await make_offer()).splitlines()
    rng = random.Random(9725)
    async with aiohttp.ClientSession() as http:
        for _ in range(40):
            mutated = list(lines)
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(len(mutated))
                action = rng.choice(("drop", "dup", "garble", "truncate"))
                if action == "drop":
                    del mutated[i]
                elif action == "dup":
                    mutated.insert(i, mutated[i])
                elif action == "garble":
                    mutated[i] = mutated[i][:3] + "\x00%$" + mutated[i][6:]
                else:
                    mutated[i] = mutated[i][: len(mutated[i]) // 2]
            body = "\r\n".join(mutated) + "\r\n"
            async with http.post(
                f"{base}/whip/fuzz", data=body.encode(), headers=sdp_headers(key)
            ) as r:
                assert r.status in (201, 400, 409), (r.status, await r.text())
                if r.status == 201:
                    async with http.delete(base + r.headers["Location"]) as d:
                        assert d.status == 200


async def test_second_publisher_conflicts_and_resource_lifecycle(server: TestServer) -> None:
    base = base_url(server)
    key = await create_session(server, "s3")
    publisher, _ = await publish_loop(base, "s3", key)
    try:
        offer = await make_offer()
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/whip/s3", data=offer, headers=sdp_headers(key)) as r:
                assert r.status == 409
            resource = publisher.resource_url
            assert resource is not None
            assert resource.startswith(f"{base}/whip/s3/")
            assert len(resource.rsplit("/", 1)[1]) >= 20  # unguessable
            async with http.options(resource) as r:
                assert r.status == 204
                assert "DELETE" in r.headers["Allow"]
            async with http.options(f"{base}/whip/s3") as r:
                assert r.status == 204
                assert r.headers["Accept-Post"] == "application/sdp"
                assert r.headers["Access-Control-Allow-Origin"] == "*"
                assert "Location" in r.headers["Access-Control-Expose-Headers"]
            frag = {"Content-Type": "application/trickle-ice-sdpfrag"}
            candidate = "a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"
            async with http.patch(resource, data=candidate, headers=frag) as r:
                assert r.status == 204
            async with http.patch(
                resource, data=candidate, headers={**frag, "If-Match": '"nope"'}
            ) as r:
                assert r.status == 412
            restart = "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"
            async with http.patch(resource, data=restart, headers={**frag, "If-Match": "*"}) as r:
                assert r.status == 422
            async with http.patch(
                resource, data=candidate, headers={"Content-Type": "text/plain"}
            ) as r:
                assert r.status == 415
            async with http.delete(resource) as r:
                assert r.status == 200
            async with http.delete(resource) as r:
                assert r.status == 200  # just ended: a repeated DELETE still succeeds
            async with http.patch(resource, data=candidate, headers=frag) as r:
                assert r.status == 404  # ...but the resource is gone
            publisher.resource_url = None
            # the slot is free again
            async with http.post(f"{base}/whip/s3", data=offer, headers=sdp_headers(key)) as r:
                assert r.status == 201
                async with http.delete(base + r.headers["Location"]) as d:
                    assert d.status == 200
    finally:
        await publisher.close()


async def test_whep_before_live_is_409_with_retry_after(server: TestServer) -> None:
    base = base_url(server)
    await create_session(server, "later")
    offer = await make_offer(direction="recvonly")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/whep/later", data=offer, headers=sdp_headers()) as r:
            assert r.status == 409
            assert int(r.headers["Retry-After"]) > 0
        async with http.options(f"{base}/whep/later") as r:
            assert r.status == 204
            assert r.headers["Accept-Post"] == "application/sdp"


@pytest.mark.parametrize("path", ["/whip/x/y", "/whep/x/y"])
async def test_unknown_resources_are_404(server: TestServer, path: str) -> None:
    async with aiohttp.ClientSession() as http, http.delete(base_url(server) + path) as r:
        assert r.status == 404
