"""Importing through /admin: upload, report, and the CSRF token on a multipart form."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp

from stream.program.sessions import SessionStore
from tests.auth.staff import Staff, redis_of

Login = Callable[[str], Awaitable[Staff]]

CSV = b"""title,arranger,studio,date,start,end
Energidagen,skog,Studio 1,2031-01-22,09:30,11:00
Okand,Ingen Sadan,Studio 1,2031-01-22,13:00,14:00
Krock,noden,Studio 1,2031-01-21,11:00,12:00
"""


async def upload(staff: Staff, data: bytes, **fields: str) -> tuple[int, str]:
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("file", data, filename="program.csv", content_type="text/csv")
    async with staff.http.post(staff.base + "/admin/import", data=form) as response:
        return response.status, await response.text()


async def test_an_upload_is_imported_with_a_report(login: Login) -> None:
    admin = await login("admin")
    await admin.get("/admin/import")
    status, html = await upload(admin, CSV, csrf_token=admin.csrf, dry_run="on")
    assert status == 200
    assert "Provkörning: inget har sparats" in html
    assert "Rader som inte kunde importeras: 2" in html
    assert "unknown arranger &#39;Ingen Sadan&#39;" in html
    assert "already booked then by &#39;Skogens dag&#39;" in html
    assert await SessionStore(redis_of(admin.server)).all_ids() == ["crispr", "skogens-dag"]
    status, html = await upload(admin, CSV, csrf_token=admin.csrf)
    assert "Nya sessioner: 1" in html
    assert await SessionStore(redis_of(admin.server)).exists("energidagen")


async def test_upload_needs_csrf_and_an_admin(login: Login) -> None:
    admin = await login("admin")
    status, _ = await upload(admin, CSV, csrf_token="forged")
    assert status == 403
    anna = await login("anna")
    status, _ = await upload(anna, CSV, csrf_token=anna.csrf)
    assert status == 403
    assert not await SessionStore(redis_of(admin.server)).exists("energidagen")
