"""Behind a reverse proxy: a small aiohttp proxy (as nginx is configured in the README: it
appends the client to X-Forwarded-For and says the client came over https to stream.example)
in front of the real app. From the trusted proxy the forwarded client, scheme and host count;
the same headers sent straight to the server are ignored."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from stream.common import times
from stream.common.limits import counter_key
from stream.common.rates import LOGIN_PER_ADDRESS
from stream.config import Settings
from stream.http.keys import REDIS
from stream.program.sessions import Session, SessionStore
from tests.conftest import MakeServer, base_url

PROXY = "127.0.0.2"


def _address_key(address: str) -> str:
    return counter_key(LOGIN_PER_ADDRESS, "addr", address)


PUBLIC_HOST = "stream.example"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"}
FORGED = {
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "evil.example",
}


def reverse_proxy(upstream: str) -> web.Application:
    """TLS terminated in front (so: https), the client appended to X-Forwarded-For."""

    async def forward(request: web.Request) -> web.StreamResponse:
        headers = CIMultiDict(
            (k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP
        )
        before = headers.pop("X-Forwarded-For", "")
        peer = request.remote or ""
        headers["X-Forwarded-For"] = f"{before}, {peer}" if before else peer
        headers["X-Forwarded-Proto"] = "https"
        headers["X-Forwarded-Host"] = PUBLIC_HOST
        connector = aiohttp.TCPConnector(local_addr=(PROXY, 0))
        async with (
            aiohttp.ClientSession(connector=connector, auto_decompress=False) as http,
            http.request(
                request.method,
                upstream + request.path_qs,
                headers=headers,
                data=await request.read(),
                allow_redirects=False,
            ) as answer,
        ):
            body = await answer.read()
            kept = CIMultiDict(
                (k, v) for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP
            )
            return web.Response(status=answer.status, body=body, headers=kept)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


@pytest.fixture
async def behind_proxy(
    make_server: MakeServer, settings: Settings
) -> AsyncIterator[tuple[TestServer, str]]:
    server = await make_server(settings.with_(trusted_proxies=(f"{PROXY}/32",)))
    proxy = TestServer(reverse_proxy(base_url(server)), host="127.0.0.1")
    await proxy.start_server()
    yield server, base_url(proxy)
    await proxy.close()


def client_from(address: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)))


def nonce_cookie(response: aiohttp.ClientResponse) -> str:
    return next(v for v in response.headers.getall("Set-Cookie") if v.startswith("stream_csrf="))


async def failed_login(http: aiohttp.ClientSession, base: str) -> None:
    async with http.get(f"{base}/login") as page:
        form = await page.text()
        cookie = nonce_cookie(page).split(";", 1)[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    async with http.post(
        f"{base}/login",
        data={"csrf_token": token.group(1), "username": "nobody", "password": "wrong"},
        headers={"Cookie": cookie, **FORGED},
    ) as answer:
        assert answer.status == 401


async def test_cookies_and_urls_follow_the_trusted_proxy_only(
    behind_proxy: tuple[TestServer, str],
) -> None:
    server, proxied = behind_proxy
    start = times.now() + timedelta(days=1)
    await SessionStore(server.app[REDIS]).save(
        Session(
            id="hall", title="Aulan", arranger="Umeå", start=start, end=start + timedelta(hours=1)
        )
    )
    async with client_from("127.0.0.3") as http:
        async with http.get(f"{proxied}/login") as page:
            assert page.status == 200
            assert "; Secure" in nonce_cookie(page)
        async with http.get(f"{proxied}/s/hall.ics") as calendar:
            assert f"URL:https://{PUBLIC_HOST}/s/hall" in await calendar.text()
    # The same headers sent by a client straight to the server change nothing.
    direct = base_url(server)
    async with client_from("127.0.0.1") as http:
        async with http.get(f"{direct}/login", headers=FORGED) as page:
            assert "Secure" not in nonce_cookie(page)
        async with http.get(f"{direct}/s/hall.ics", headers=FORGED) as calendar:
            text = await calendar.text()
            assert f"URL:{direct}/s/hall" in text
            assert "evil.example" not in text


async def test_per_address_limits_count_the_real_client(
    behind_proxy: tuple[TestServer, str],
) -> None:
    server, proxied = behind_proxy
    redis = server.app[REDIS]
    for address in ("127.0.0.3", "127.0.0.4"):
        async with client_from(address) as http:
            await failed_login(http, proxied)
    for address in ("127.0.0.3", "127.0.0.4"):
        assert await redis.exists(_address_key(address)) == 1, address
    # Neither the proxy nor the address the clients made up is counted.
    assert await redis.exists(_address_key(PROXY)) == 0
    assert await redis.exists(_address_key(FORGED["X-Forwarded-For"])) == 0
    # Straight to the server, the forged header is ignored: the peer is counted.
    async with client_from("127.0.0.5") as http:
        await failed_login(http, base_url(server))
    assert await redis.exists(_address_key("127.0.0.5")) == 1
    assert await redis.exists(_address_key(FORGED["X-Forwarded-For"])) == 0


async def test_websockets_pass_through_the_forwarded_request(
    behind_proxy: tuple[TestServer, str],
) -> None:
    """What nginx does for a WebSocket upgrade: the socket works, and its origin check sees
    the public host (a page on https://stream.example opened it)."""
    server, _ = behind_proxy
    await SessionStore(server.app[REDIS]).save(Session(id="hall", title="Aulan", arranger="Umeå"))
    url = base_url(server).replace("http://", "ws://") + "/ws/hall"
    headers = {
        "X-Forwarded-For": "198.51.100.4",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": PUBLIC_HOST,
        "Origin": f"https://{PUBLIC_HOST}",
    }
    async with client_from(PROXY) as http, http.ws_connect(url, headers=headers) as ws:
        await ws.send_json({"type": "hello"})
        assert (await ws.receive_json(timeout=5))["type"] == "welcome"
    # Without the trusted proxy in between, the same origin is another site's.
    async with client_from("127.0.0.1") as http:
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(url, headers=headers)
