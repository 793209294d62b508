"""``stream admin create-user`` / ``set-password``: passwords never on the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from stream.auth.passwords import verify_password
from stream.auth.users import UserStore
from stream.cli import main
from stream.store import connect


async def run(argv: list[str]) -> int:
    return await asyncio.to_thread(main, argv)


async def test_create_the_first_admin_and_reset_a_password(
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = tmp_path / "password"
    secret.write_text("the first admin's password\n")
    argv = ["admin", "create-user", "Chefen", "--name", "Chefen", "--redis-url", redis_url]
    assert await run([*argv, "--password-file", str(secret)]) == 0
    assert "created admin chefen" in capsys.readouterr().out
    assert await run([*argv, "--password-file", str(secret)]) == 1
    assert "the username 'chefen' is taken" in capsys.readouterr().err

    monkeypatch.setenv("STREAM_ADMIN_PASSWORD", "short")
    weak = ["admin", "create-user", "svag", "--redis-url", redis_url]
    assert await run(weak) == 1
    assert "password: the password is too short" in capsys.readouterr().err

    monkeypatch.setenv("STREAM_ADMIN_PASSWORD", "a replacement password")
    assert await run(["admin", "set-password", "chefen", "--redis-url", redis_url]) == 0
    client = connect(redis_url)
    try:
        user = await UserStore(client).get("chefen")
        assert verify_password(user.password_hash, "a replacement password")
        assert user.display_name == "Chefen"
    finally:
        await client.aclose()
    arranger = ["admin", "create-user", "anna", "--role", "arranger", "--redis-url", redis_url]
    assert await run(arranger) == 1
    assert "arranger: arranger staff belong to an arranger" in capsys.readouterr().err
