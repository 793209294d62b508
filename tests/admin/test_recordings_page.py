"""``/admin/recordings`` over HTTP: arranger staff see and delete only their own arranger's
recordings; a delete needs the CSRF token; the JSON gives the disk usage too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from stream.archive.index import RecordingIndex, Segment, write_index
from stream.archive.state import save_state
from stream.http.keys import ARCHIVE
from tests.auth.staff import Staff, redis_of

Login = Callable[[str], Awaitable[Staff]]


async def _recorded(staff: Staff, session_id: str) -> None:
    directory = staff.server.app[ARCHIVE].recordings / session_id
    directory.mkdir(parents=True)
    (directory / "segment-000.mp4").write_bytes(b"\0" * 2500)
    write_index(
        directory, RecordingIndex(session_id, [Segment("segment-000.mp4", 1.0, 61.0, True)])
    )
    await save_state(redis_of(staff.server), session_id, "recording", "done")


async def test_arrangers_see_and_delete_only_their_own(login: Login) -> None:
    anna = await login("anna")  # skog's: skogens-dag is hers, crispr is noden's
    await _recorded(anna, "skogens-dag")
    await _recorded(anna, "crispr")
    status, html = await anna.get("/admin/recordings")
    assert status == 200
    assert 'data-session="skogens-dag"' in html
    assert "1:01" in html
    assert 'data-session="crispr"' not in html
    status, _, _ = await anna.post("/admin/recordings/crispr/delete", {})
    assert status == 404
    assert (anna.server.app[ARCHIVE].recordings / "crispr").is_dir()
    status, _, _ = await anna.post("/admin/recordings/skogens-dag/delete", {}, csrf=False)
    assert status == 403
    status, _, location = await anna.post("/admin/recordings/skogens-dag/delete", {})
    assert (status, location) == (303, "/admin/recordings?notice=deleted")
    assert not (anna.server.app[ARCHIVE].recordings / "skogens-dag").exists()

    admin = await login("admin")
    async with admin.http.get(f"{admin.base}/admin/api/recordings") as response:
        body = await response.json()
    assert [r["session"] for r in body["recordings"]] == ["crispr"]
    assert body["recordings_bytes"] >= 2500
    assert body["free_bytes"] > 0
    assert body["hls_bytes"] == 0


async def test_the_recordings_json_shows_only_what_the_caller_may_manage(login: Login) -> None:
    anna = await login("anna")  # skog's arranger staff
    await _recorded(anna, "skogens-dag")
    await _recorded(anna, "crispr")  # noden's
    mo = await login("mo")  # skog's moderator, assigned to skogens-dag

    async def get(staff: Staff, path: str) -> tuple[int, dict[str, object]]:
        async with staff.http.get(f"{staff.base}{path}") as response:
            body = await response.json() if response.content_type == "application/json" else {}
            return response.status, body

    status, body = await get(anna, "/admin/api/recordings")
    assert status == 200
    assert [r["session"] for r in body["recordings"]] == ["skogens-dag"]  # type: ignore[union-attr]
    assert int(str(body["recordings_bytes"])) >= 5000  # an organiser sees the disk
    assert (await get(anna, "/admin/api/recordings/skogens-dag"))[0] == 200
    assert (await get(anna, "/admin/api/recordings/crispr"))[0] == 404

    status, body = await get(mo, "/admin/api/recordings")
    assert status == 200
    assert body["recordings"] == []
    assert "recordings_bytes" not in body
    assert "free_bytes" not in body
    assert (await get(mo, "/admin/api/recordings/skogens-dag"))[0] == 404
    assert (await get(mo, "/admin/api/recordings/crispr"))[0] == 404

    admin = await login("admin")
    status, body = await get(admin, "/admin/api/recordings")
    assert [r["session"] for r in body["recordings"]] == ["crispr", "skogens-dag"]  # type: ignore[union-attr]
    assert (await get(admin, "/admin/api/recordings/crispr"))[0] == 200


async def test_a_delete_the_disk_refuses_is_a_notice_and_keeps_the_recording(
    login: Login,
) -> None:
    anna = await login("anna")
    archive = anna.server.app[ARCHIVE]
    await _recorded(anna, "skogens-dag")
    # Where a deleted recording is moved before it is removed cannot be made: the delete fails.
    blocker = archive.data_dir / "deleting"
    blocker.write_bytes(b"")
    status, _, location = await anna.post("/admin/recordings/skogens-dag/delete", {})
    assert (status, location) == (303, "/admin/recordings?notice=failed")
    assert (archive.recordings / "skogens-dag" / "segment-000.mp4").is_file()
    status, html = await anna.get(location)
    assert status == 200
    assert "kunde inte raderas" in html  # the page is Swedish unless asked otherwise
    url = f"{anna.base}/api/sessions/skogens-dag/recording"
    async with anna.http.delete(url, headers={"X-CSRF-Token": anna.csrf}) as response:
        assert response.status == 409
        assert "could not be deleted" in (await response.json())["detail"]

    blocker.unlink()
    status, _, location = await anna.post("/admin/recordings/skogens-dag/delete", {})
    assert location == "/admin/recordings?notice=deleted"
    assert not (archive.recordings / "skogens-dag").exists()
    assert list((archive.data_dir / "deleting").iterdir()) == []  # removed, not parked
    status, _, location = await anna.post("/admin/recordings/skogens-dag/delete", {})
    assert location == "/admin/recordings?notice=gone"
