"""Who is who on the watch page: the header names a signed-in visitor; in the chat, a
registered viewer's messages carry a badge, a moderator's another, a guest's none (a guest
cannot pass for someone with an account)."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from stream.common.grants import Role
from tests.auth.staff import PASSWORD, cheap_passwords, make_user
from tests.chat.client import ChatClient, moderator_token
from tests.conftest import base_url, create_session
from tests.e2e.conftest import FAILED_RESOURCE, PageLog

SESSION = "badges"


async def test_badges_for_accounts_and_moderators_not_for_guests(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    await create_session(server, SESSION)
    with cheap_passwords():
        await make_user(server, "ada", Role.VIEWER)
    guest = await ChatClient.connect(server, SESSION, name="Gästen")
    moderator = await ChatClient.connect(
        server, SESSION, moderator_token=await moderator_token(server, SESSION)
    )
    try:
        await page.goto(f"{base}/login?next=/s/{SESSION}&lang=en")
        await page.fill("input[name=username]", "ada")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("form button[type=submit]")
        await page.wait_for_url(f"**/s/{SESSION}**")
        # The header says who is signed in, on the watch page too, with a way to log out.
        assert await page.get_attribute(".site-user", "data-identity") == "viewer"
        assert "Ada" in (await page.text_content(".site-user__who") or "")
        assert await page.locator(".site-user__logout button").count() == 1
        await page.fill("[data-chat-compose] input", "Hej från Ada")
        await page.press("[data-chat-compose] input", "Enter")
        ada_id = (await guest.event(lambda e: e.get("text") == "Hej från Ada"))["id"]
        guest_id = await guest.say("Hej från gästen")
        mod_id = await moderator.say("Välkomna")

        for message_id in (ada_id, guest_id, mod_id):
            await page.wait_for_selector(f'.chat__messages [data-id="{message_id}"]')
        ada = page.locator(f'.chat__messages [data-id="{ada_id}"] .chat__badge')
        assert await ada.text_content() == "Registered"
        assert await page.locator(f'[data-id="{guest_id}"] .chat__badge').count() == 0
        mod = page.locator(f'.chat__messages [data-id="{mod_id}"] .chat__badge')
        assert await mod.text_content() == "Moderator"
    finally:
        await guest.close()
        await moderator.close()
    assert page_log.problems(allow=[FAILED_RESOURCE.format(status=409)]) == []  # not live
