"""Viewer sign-up: validation per field, one account per name, a limit per address."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from stream.common.rates import SIGNUP_PER_ADDRESS
from tests.auth.staff import Staff, cheap_passwords

GOOD = {
    "display_name": "Ada",
    "password": "a long enough password",
    "repeat": "a long enough password",
}


async def test_bad_fields_are_explained(server: TestServer) -> None:
    viewer = Staff(server)
    try:
        await viewer.get("/register")
        status, page, _ = await viewer.post("/register", {**GOOD, "username": "No Spaces!"})
        assert status == 400
        assert 'id="f-username"' in page
        assert 'aria-invalid="true"' in page
        status, page, _ = await viewer.post(
            "/register", {**GOOD, "username": "ada", "repeat": "something else"}
        )
        assert status == 400
        assert "f-repeat-error-1" in page
        status, _, _ = await viewer.post("/register", {**GOOD, "username": "ada"}, csrf=False)
        assert status == 403
    finally:
        await viewer.close()


async def test_signups_are_limited_per_address(server: TestServer) -> None:
    with cheap_passwords():
        statuses = []
        for n in range(SIGNUP_PER_ADDRESS.burst + 1):
            viewer = Staff(server)
            try:
                await viewer.get("/register")
                status, _, _ = await viewer.post("/register", {**GOOD, "username": f"ada{n}"})
                statuses.append(status)
            finally:
                await viewer.close()
    assert statuses == [303] * SIGNUP_PER_ADDRESS.burst + [429]
