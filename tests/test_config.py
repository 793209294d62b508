"""Settings: environment, flags over environment, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from stream.config import ConfigError, Settings
from stream.http.i18n import choose_language
from stream.rtc.ice import parse_ice_server


def test_env_then_flags() -> None:
    env = {
        "STREAM_PORT": "9000",
        "STREAM_ICE_HOSTS": "127.0.0.1, 10.0.0.5",
        "STREAM_DATA_DIR": "/d",
    }
    settings = Settings.from_env(env, port=9100)
    assert settings.port == 9100
    assert settings.ice_hosts == ("127.0.0.1", "10.0.0.5")
    assert settings.data_dir == Path("/d")


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"STREAM_PORT": "http"}, "STREAM_PORT"),
        ({"STREAM_PORT": "70000"}, "STREAM_PORT"),
        ({"STREAM_ICE_HOSTS": "myhost"}, "STREAM_ICE_HOSTS"),
        ({"STREAM_ICE_SERVERS": "http://x"}, "STREAM_ICE_SERVERS"),
    ],
)
def test_bad_values_name_their_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        Settings.from_env(env)


def test_demo_key_is_not_in_repr() -> None:
    assert "secret" not in repr(Settings(demo_key="secret"))


def test_ice_server_urls() -> None:
    turn = parse_ice_server("turn:user:p%40ss@relay.example.org:3478?transport=udp")
    assert turn.username == "user"
    assert turn.credential == "p@ss"
    assert parse_ice_server("stun:media.example.org:3478").urls == "stun:media.example.org:3478"


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        ("en", "sv", "sv", "en"),
        (None, "en", "sv", "en"),
        (None, None, "en-GB,en;q=0.8", "en"),
        (None, None, "de-DE", "sv"),
        ("xx", None, None, "sv"),
    ],
)
def test_language_choice(
    query: str | None, cookie: str | None, accept: str | None, expected: str
) -> None:
    assert choose_language(query, cookie, accept) == expected


def test_trusted_proxies_and_the_restart_bound() -> None:
    env = {"STREAM_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8", "STREAM_REDIS_RESTART_WITHIN": "5"}
    settings = Settings.from_env(env)
    assert settings.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    assert settings.redis_restart_within == 5.0
    assert Settings.from_env(env, trusted_proxies=("::1",)).trusted_proxies == ("::1",)


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"STREAM_TRUSTED_PROXIES": "proxy.local"}, "STREAM_TRUSTED_PROXIES"),
        ({"STREAM_REDIS_RESTART_WITHIN": "soon"}, "STREAM_REDIS_RESTART_WITHIN"),
        ({"STREAM_REDIS_RESTART_WITHIN": "0"}, "STREAM_REDIS_RESTART_WITHIN"),
    ],
)
def test_operations_settings_name_their_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        Settings.from_env(env)


def test_the_trusted_proxy_flag() -> None:
    from stream.cli import build_parser

    args = build_parser().parse_args(
        ["serve", "--trusted-proxy", "127.0.0.1", "--trusted-proxy", "10.0.0.0/8"]
    )
    assert args.trusted_proxy == ["127.0.0.1", "10.0.0.0/8"]
