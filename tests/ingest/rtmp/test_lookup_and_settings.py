"""Stream key → session against real Redis; the RTMP settings and their errors."""

from __future__ import annotations

import socket

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from stream.config import ConfigError, Settings
from stream.http.keys import REDIS, ROOMS, RTMP_SERVER, SETTINGS
from stream.ingest.rtmp.lookup import session_for_key
from stream.ingest.rtmp.service import rtmp_context
from stream.program.sessions import SessionStore
from stream.rooms.room import RoomRegistry
from stream.store import Redis
from tests.conftest import create_session


async def session_id_for(redis: Redis, key: str) -> str | None:
    grant = await session_for_key(redis, key)
    return grant.session_id if grant is not None else None


async def test_key_finds_its_session_and_nothing_else(server: TestServer) -> None:
    keys = {f"s{n}": await create_session(server, f"s{n}") for n in range(5)}
    redis = server.app[REDIS]
    for session_id, key in keys.items():
        assert await session_id_for(redis, key) == session_id
    assert await session_for_key(redis, "wrong") is None
    assert await session_for_key(redis, "") is None
    new_key = await SessionStore(redis).rotate_key("s3")
    assert await session_for_key(redis, keys["s3"]) is None  # the old key stops at once
    assert await session_id_for(redis, new_key) == "s3"


def test_rtmp_settings_from_env_and_flags() -> None:
    assert Settings().rtmp_port == 1935
    assert Settings().rtmp_host is None
    settings = Settings.from_env({"STREAM_RTMP_PORT": "1936", "STREAM_RTMP_HOST": "0.0.0.0"})
    assert (settings.rtmp_port, settings.rtmp_host) == (1936, "0.0.0.0")
    assert Settings.from_env({"STREAM_RTMP_PORT": "1936"}, rtmp_port=0).rtmp_port == 0


@pytest.mark.parametrize("value", ["rtmp", "-1", "65536"])
def test_bad_rtmp_port_names_its_key(value: str) -> None:
    with pytest.raises(ConfigError, match="STREAM_RTMP_PORT"):
        Settings.from_env({"STREAM_RTMP_PORT": value})


def test_cli_flags() -> None:
    from stream.cli import build_parser

    args = build_parser().parse_args(["serve", "--rtmp-port", "1940", "--rtmp-host", "::"])
    assert (args.rtmp_port, args.rtmp_host) == (1940, "::")


async def test_port_zero_turns_rtmp_off(server: TestServer) -> None:
    assert RTMP_SERVER not in server.app


async def test_a_taken_rtmp_port_fails_start_up_naming_the_setting(server: TestServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = web.Application()
        app[SETTINGS] = server.app[SETTINGS].with_(rtmp_port=port)
        app[REDIS] = server.app[REDIS]
        app[ROOMS] = RoomRegistry()
        context = rtmp_context(app)
        with pytest.raises(
            RuntimeError, match=f"STREAM_RTMP_PORT: cannot listen on 127.0.0.1:{port}"
        ):
            await anext(context)
