"""``/admin/recordings`` in headless Chromium: an admin sees each recording's state (a failed
one with its reason), its size and length, the disk the archive uses and the retention, and
deletes a recording (confirmed, CSRF-checked POST); at phone width nothing scrolls sideways.
Screenshots go to ``docs/screenshots/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Dialog, Page, expect

from stream.common.grants import Role
from stream.config import Settings
from stream.http.keys import ARCHIVE
from stream.program.sessions import Session, SessionStore
from tests.archive.helpers import end_session, publish_for, recording_state
from tests.auth.staff import cheap_passwords, make_arranger, make_user, redis_of
from tests.conftest import MakeServer, base_url
from tests.e2e.test_staff_day import FITS, PHONE, SCREENSHOTS, log_in


@pytest.fixture(autouse=True)
def fast_password_hashing() -> Iterator[None]:
    with cheap_passwords():
        yield


async def test_admin_sees_a_failure_and_deletes_a_recording(
    make_server: MakeServer, settings: Settings, page: Page
) -> None:
    blocked: Path = settings.data_dir / "recordings" / "trasig"
    blocked.parent.mkdir(parents=True)
    blocked.write_bytes(b"")  # a file where the recording's directory would go: it fails
    server = await make_server(settings.with_(recording_retention_days=30))
    await make_arranger(server, "skog", "Skogstekniska klustret")
    await make_user(server, "admin", Role.ADMIN)
    store = SessionStore(redis_of(server))
    for session_id, title in (("trasig", "Trasig inspelning"), ("hel", "Hel inspelning")):
        await store.save(Session(id=session_id, title=title, arranger_id="skog"))
        key = await store.rotate_key(session_id)
        await publish_for(server, session_id, key, 1.5)
        await end_session(server, session_id)
    failed = await recording_state(server, "trasig")
    assert failed.state == "failed"
    assert failed.reason
    assert (await recording_state(server, "hel")).state == "done"
    kept = server.app[ARCHIVE].recordings / "hel"
    assert kept.is_dir()

    base = base_url(server)
    await log_in(page, base, "admin", "/admin/recordings")
    await expect(page.locator("h1")).to_have_text("Inspelningar")
    broken = page.locator('tr[data-session="trasig"]')
    await expect(broken.locator('[data-field="recording-state"]')).to_have_text("Misslyckades")
    await expect(broken.locator('[data-field="reason"]')).to_contain_text(failed.reason)
    await expect(broken.locator("button")).to_have_count(0)  # nothing on disk to delete
    done = page.locator('tr[data-session="hel"]')
    await expect(done.locator('[data-field="recording-state"]')).to_have_text("Klar")
    assert (await done.locator('[data-field="size"]').text_content() or "").endswith("kB")
    assert (await done.locator('[data-field="length"]').text_content() or "").startswith("0:0")
    await expect(page.locator('[data-field="retention"]')).to_contain_text("30 dagar")
    await expect(page.locator('[data-field="free-bytes"]')).to_contain_text("B")

    await page.set_viewport_size({"width": PHONE["width"], "height": PHONE["height"]})
    assert await page.evaluate(FITS), "the page scrolls sideways at phone width"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "staff-recordings-390.png"), full_page=True)

    dialogs: list[str] = []

    async def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    await done.locator("button").click()
    await expect(page.locator(".notice")).to_have_text("Inspelningen är raderad.")
    assert dialogs
    assert "Hel inspelning" in dialogs[0]
    assert not kept.exists()
    assert (await recording_state(server, "hel")).state == ""
    await expect(page.locator('tr[data-session="hel"]')).to_have_count(0)
