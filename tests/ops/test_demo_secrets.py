"""The demo keeps its key and staff password across restarts of one data directory (made
once, stored there with mode 0600, printed at start on standard output); every data file is
private; the server's log (standard error) never carries a key, password or invite code."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import aiohttp

from stream.auth.authenticator import SIGNING_KEY_NAME
from stream.auth.invites import invite_code
from stream.store import connect
from tests.ops.server import Serve, serving

INVITE_ONLY = "rus-grupp-1"
# Neither from the environment: the demo makes them.
NO_PRESET = {"STREAM_DEMO_KEY": "", "STREAM_DEMO_ADMIN_PASSWORD": ""}


def printed_secrets(server: Serve) -> tuple[str, str]:
    out = "".join(server.stdout)
    key = re.search(r"Bearer token \(publish key\)\s+(\S+)", out)
    password = re.search(r"\(arranger\), password (\S+)", out)
    assert key is not None, out
    assert password is not None, out
    return key.group(1), password.group(1)


def assert_private(data: Path) -> None:
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in data.rglob("*"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    assert stat.S_IMODE((data / "demo-secrets.json").stat().st_mode) == 0o600


async def use_the_secrets(server: Serve, data: Path, key: str, password: str) -> str:
    """Requests that carry every secret somewhere a careless log would print it."""
    redis = connect(json.loads((data / "stream.lock").read_text())["url"])
    secret = await redis.get(SIGNING_KEY_NAME)
    await redis.aclose()
    assert isinstance(secret, bytes)
    code = invite_code(secret, INVITE_ONLY)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.base}/s/{INVITE_ONLY}?invite={code}") as r:
            assert r.status == 200
        async with http.get(f"{server.base}/studio/studio?key={key}&password={password}") as r:
            assert r.status == 200
        async with http.post(
            f"{server.base}/whip/studio",
            data="v=0 broken",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"},
        ) as r:
            assert r.status < 500
        async with http.post(
            f"{server.base}/login", data={"username": password, "password": password}
        ) as r:
            assert r.status < 500
    return code


async def test_demo_secrets_are_stable_private_and_never_logged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with serving(data, "--demo", env=NO_PRESET) as first:
        key, password = printed_secrets(first)
        code = await use_the_secrets(first, data, key, password)
        assert_private(data)
    async with serving(data, "--demo", env=NO_PRESET) as second:
        assert printed_secrets(second) == (key, password)
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{second.base}/whip/studio",
                data="v=0 broken",
                headers={"Authorization": "Bearer wrong", "Content-Type": "application/sdp"},
            ) as r:
                assert r.status == 401
    assert_private(data)
    assert "GET /s/{session} 200" in "".join(first.stderr), "the access log is on"
    for server in (first, second):
        log = "".join(server.stderr)
        for secret in (key, password, code):
            assert secret not in log
