"""The client's address: X-Forwarded-For believed only from trusted proxies, read from the
right so a client cannot put a made-up address before its proxy's entry."""

from __future__ import annotations

from unittest import mock

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from stream.config import Settings
from stream.http.client import client_address
from stream.http.keys import SETTINGS


def request(peer: str, forwarded: str | None, trusted: tuple[str, ...]) -> web.Request:
    app = web.Application()
    app[SETTINGS] = Settings(trusted_proxies=trusted)
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (peer, 40000) if name == "peername" else default
    )
    return make_mocked_request("GET", "/", headers=headers, app=app, transport=transport)


def test_direct_clients_are_their_peer_address() -> None:
    assert client_address(request("203.0.113.7", "198.51.100.1", ())) == "203.0.113.7"
    assert client_address(request("203.0.113.7", "198.51.100.1", ("10.0.0.0/8",))) == (
        "203.0.113.7"
    )


def test_behind_a_trusted_proxy_the_forwarded_client_counts() -> None:
    trusted = ("10.0.0.0/8",)
    assert client_address(request("10.0.0.2", "198.51.100.1", trusted)) == "198.51.100.1"
    # A client that sends its own X-Forwarded-For: the proxy appends the real address.
    spoofed = "1.2.3.4, 198.51.100.1"
    assert client_address(request("10.0.0.2", spoofed, trusted)) == "198.51.100.1"
    # Two trusted hops.
    assert client_address(request("10.0.0.2", "198.51.100.1, 10.0.0.9", trusted)) == (
        "198.51.100.1"
    )


def test_garbage_in_the_header_counts_the_proxy() -> None:
    trusted = ("10.0.0.0/8",)
    assert client_address(request("10.0.0.2", "not an address", trusted)) == "10.0.0.2"
    assert client_address(request("10.0.0.2", "", trusted)) == "10.0.0.2"
