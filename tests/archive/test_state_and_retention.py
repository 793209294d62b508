"""The recordings' state for the back office, the retention sweep, and the settings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from stream.archive.index import RecordingIndex, Segment, write_index
from stream.archive.service import DAY, DELETING, expired_recordings
from stream.common.grants import Role
from stream.config import ConfigError, Settings
from stream.http.keys import ARCHIVE
from tests.archive.helpers import end_session, publish_for
from tests.auth.staff import Staff, cheap_passwords, make_user
from tests.conftest import MakeServer, base_url, create_session
from tests.media import publish_loop, wait_for


@pytest.fixture(autouse=True)
def fast_password_hashing() -> Iterator[None]:
    with cheap_passwords():
        yield


def _recording(directory: Path, started: float, duration: float) -> None:
    directory.mkdir(parents=True)
    write_index(
        directory,
        RecordingIndex(directory.name, [Segment("segment-000.mp4", started, duration, True)]),
    )
    (directory / "segment-000.mp4").write_bytes(b"x" * 10)


def test_retention_removes_what_ended_long_enough_ago(tmp_path: Path) -> None:
    now = time.time()
    _recording(tmp_path / "old", now - 31 * DAY, 3600)
    _recording(tmp_path / "recent", now - 29 * DAY, 3600)
    _recording(tmp_path / "live-now", now - 40 * DAY, 60)
    removed = expired_recordings(tmp_path, 30, now, keep={"live-now"})
    assert removed == ["old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live-now", "recent"]


def test_recording_settings_from_env() -> None:
    settings = Settings.from_env(
        {"STREAM_RECORDING_RETENTION_DAYS": "30", "STREAM_RECORDING_MAX_BYTES": "1000000"}
    )
    assert settings.recording_retention_days == 30
    assert settings.recording_max_bytes == 1_000_000
    assert Settings.from_env({}).recording_retention_days == 0  # kept until deleted
    with pytest.raises(ConfigError, match="STREAM_RECORDING_RETENTION_DAYS"):
        Settings.from_env({"STREAM_RECORDING_RETENTION_DAYS": "-1"})
    with pytest.raises(ConfigError, match="STREAM_RECORDING_MAX_BYTES"):
        Settings.from_env({"STREAM_RECORDING_MAX_BYTES": "lots"})


async def test_staff_see_the_recordings_state_and_delete_it(server: TestServer) -> None:
    key = await create_session(server, "syns")
    await publish_for(server, "syns", key, 1.5)
    await end_session(server, "syns")
    await make_user(server, "admin", Role.ADMIN)
    staff = Staff(server)
    visitor = Staff(server)
    try:
        async with visitor.http.get(staff.base + "/admin/api/recordings/syns") as response:
            assert response.status == 401
        assert await staff.login("admin") == 303
        async with staff.http.get(staff.base + "/admin/api/recordings/syns") as response:
            assert response.status == 200
            body = await response.json()
        assert body["state"] == "done"
        assert body["reason"] is None
        assert body["segments"] == 1
        assert body["duration"] > 1.0
        assert body["bytes"] > 10_000
        async with staff.http.get(staff.base + "/admin/api/recordings") as response:
            listing = await response.json()
        assert [item["session"] for item in listing["recordings"]] == ["syns"]
        assert listing["bytes"] == body["bytes"]

        # Deleting it: a state-changing call needs the login's CSRF token.
        url = staff.base + "/api/sessions/syns/recording"
        async with staff.http.delete(url) as response:
            assert response.status == 403
        assert (server.app[ARCHIVE].recordings / "syns").is_dir()
        async with staff.http.delete(url, headers={"X-CSRF-Token": staff.csrf}) as response:
            assert response.status == 204
        assert not (server.app[ARCHIVE].recordings / "syns").exists()
        async with staff.http.get(staff.base + "/admin/api/recordings/syns") as response:
            body = await response.json()
        assert (body["state"], body["segments"], body["bytes"]) == (None, 0, 0)
        async with staff.http.delete(url, headers={"X-CSRF-Token": staff.csrf}) as response:
            assert response.status == 404
    finally:
        await staff.close()
        await visitor.close()


async def test_a_recording_is_not_deleted_while_it_is_being_written(server: TestServer) -> None:
    key = await create_session(server, "pagar")
    await make_user(server, "admin", Role.ADMIN)
    staff = Staff(server)
    publisher, _ = await publish_loop(base_url(server), "pagar", key)
    archive = server.app[ARCHIVE]
    url = staff.base + "/api/sessions/pagar/recording"
    try:
        assert await staff.login("admin") == 303
        await wait_for(lambda: archive.recording("pagar"), what="recording")
        await wait_for(lambda: (archive.recordings / "pagar").is_dir(), what="directory")
        async with staff.http.delete(url, headers={"X-CSRF-Token": staff.csrf}) as response:
            assert response.status == 409
        assert await archive.delete_recording("pagar") == "live"
        assert (archive.recordings / "pagar").is_dir()
        await publisher.close()
        await end_session(server, "pagar")
        await wait_for(lambda: not archive.recording("pagar"), what="writer finished")
        async with staff.http.delete(url, headers={"X-CSRF-Token": staff.csrf}) as response:
            assert response.status == 204
        assert not (archive.recordings / "pagar").exists()
    finally:
        await publisher.close()
        await staff.close()


async def test_a_delete_left_unfinished_is_removed_at_the_next_start(
    make_server: MakeServer, settings: Settings
) -> None:
    trash = settings.data_dir / DELETING
    left = trash / "seminar-1a2b3c4d"
    left.mkdir(parents=True)
    (left / "segment-000.mp4").write_bytes(b"\0" * 1024)
    kept = settings.data_dir / "recordings" / "seminar"
    kept.mkdir(parents=True)
    (kept / "segment-000.mp4").write_bytes(b"\0" * 1024)
    await make_server(settings)
    await wait_for(lambda: not left.exists(), what="the unfinished delete removed")
    assert list(trash.iterdir()) == []
    assert (kept / "segment-000.mp4").exists()  # the recordings themselves are untouched
