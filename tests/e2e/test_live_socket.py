"""One WebSocket per page: chat, Q&A, polls and the viewer count ride the page's one session
socket, which resumes after a drop and gets what it missed replayed."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import WSCloseCode
from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page

from stream.config import Settings
from stream.http.keys import CHAT_SOCKETS, ROOMS
from tests.chat.client import moderator_token
from tests.conftest import MakeServer, base_url, create_session
from tests.e2e.conftest import PageLog
from tests.e2e.sockets import SocketLog
from tests.media import publish_loop, wait_for
from tests.qa.client import QAClient

SESSION = "en-sockel"
# Long enough for every script of a page to have opened what it would open.
SETTLE_SECONDS = 1.5


@pytest.mark.parametrize(
    ("path", "moderator", "chat", "qa"),
    [
        ("/s/{id}", False, True, True),
        ("/q/{id}", False, False, True),
        ("/stage/{id}", False, False, True),
        ("/moderate/{id}", True, True, True),
    ],
)
async def test_every_live_page_opens_exactly_one_socket(
    server: TestServer, context: BrowserContext, path: str, moderator: bool, chat: bool, qa: bool
) -> None:
    await create_session(server, SESSION)
    page = await context.new_page()
    if moderator:
        token = await moderator_token(server, SESSION, "Moa")
        await page.add_init_script(
            f"sessionStorage.setItem('stream.chat.moderator.{SESSION}', {token!r});"
        )
    sockets = SocketLog(page)
    await page.goto(base_url(server) + path.format(id=SESSION))
    socket = await sockets.welcomed()
    if qa:  # the Q&A state comes over the same socket
        await sockets.until(lambda: socket.got("qa.snapshot"), "the Q&A snapshot")
    await asyncio.sleep(SETTLE_SECONDS)
    ws_base = base_url(server).replace("http://", "ws://")
    assert sockets.urls == [f"{ws_base}/ws/{SESSION}"]
    assert not socket.closed
    hello = socket.sent[0]
    assert hello["type"] == "hello"
    assert ("moderator_token" in hello) is moderator
    welcome = socket.got("welcome")
    assert welcome is not None
    assert welcome["you"]["role"] == ("moderator" if moderator else "viewer")
    assert [f["type"] for f in socket.sent].count("qa.sync") == (1 if qa else 0)
    if chat:
        await page.wait_for_selector(".chat__note--empty")
    await page.close()


async def drop_sockets(server: TestServer) -> None:
    """The server ends every session socket it holds (as on a restart of that node)."""
    for ws in list(server.app[CHAT_SOCKETS].open):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"test drops it")


async def test_watch_page_chat_qa_and_count_ride_one_socket_and_survive_a_drop(
    server: TestServer, make_server: MakeServer, settings: Settings, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    key = await create_session(server, SESSION)
    publisher, _ = await publish_loop(base, SESSION, key)
    room = server.app[ROOMS].get(SESSION)
    assert room is not None
    # A moderator on another node of the same Redis writes while the page is away.
    other = await make_server(settings)
    moa = await QAClient.join(
        other, SESSION, moderator_token=await moderator_token(server, SESSION), name="Moa"
    )
    try:
        assert (await moa.qa_mod("premod", on=False))["type"] == "qa.ack"
        await wait_for(lambda: room.live, what="room live")
        sockets = SocketLog(page)
        status_requests: list[str] = []
        page.on(
            "request",
            lambda request: (
                status_requests.append(request.url) if request.url.endswith("/status") else None
            ),
        )
        await page.goto(f"{base}/s/{SESSION}?lang=en")
        first = await sockets.welcomed()

        # The viewer count is pushed on the socket (the page's own player is the viewer).
        await sockets.until(lambda: first.got("presence", live=True, viewers=1), "1 viewer")
        await page.wait_for_selector("#player-viewers:not([hidden])")
        assert " ".join((await page.text_content("#player-viewers-text") or "").split()) == (
            "1 viewer"
        )

        # Chat from the page: a name, a message; the moderator on the other node sees it.
        await page.fill("[data-chat-name-form] input", "Ada")
        await page.click("[data-chat-name-form] button")
        await page.fill("[data-chat-compose] input", "Hej från sidan")
        await page.press("[data-chat-compose] input", "Enter")
        said = await moa.event(lambda e: e.get("text") == "Hej från sidan")
        await page.wait_for_selector(f'.chat__messages [data-id="{said["id"]}"]')
        # Q&A from the page, under the name the chat chose (one identity for the page).
        await page.wait_for_selector("[data-qa-name-row]", state="hidden")
        await page.fill("[data-qa-ask] textarea[name=text]", "Hur många tittar?")
        await page.click("[data-qa-ask] button[type=submit]")
        await page.wait_for_selector("[data-qa-list] .qa__text")
        assert await page.text_content("[data-qa-list] .qa__text") == "Hur många tittar?"
        assert await page.text_content("[data-qa-list] .qa__who") == "Ada"
        # And the Q&A's answer came on the chat's socket: still one.
        assert len(sockets.sockets) == 1

        # The server drops the socket; while the page is away, a message and a question.
        await drop_sockets(server)
        missed = await moa.say("Medan du var borta")
        asked = await moa.ask("Missade du den här?")
        assert asked["type"] == "qa.ack"

        second = await sockets.welcomed(1)
        assert first.closed
        hello = second.sent[0]
        assert hello["type"] == "hello"
        assert hello.get("last_id"), "resumes from its one cursor"
        replay = await sockets.until(lambda: second.got("history"), "the replay")
        assert replay["reset"] is False
        kinds = [(e["type"], e.get("text") or e.get("action")) for e in replay["events"]]
        assert ("msg", "Medan du var borta") in kinds
        assert ("qa", "ask") in kinds
        assert second.said("qa.sync") is None, "the replay brought the Q&A up to date"
        await page.wait_for_selector(f'.chat__messages [data-id="{missed}"]')
        await page.wait_for_function(
            "() => [...document.querySelectorAll('[data-qa-list] .qa__text')]"
            ".some((el) => el.textContent === 'Missade du den här?')"
        )
        # The count comes again on the new socket, and still from no second socket.
        await sockets.until(lambda: second.got("presence", live=True, viewers=1), "count again")
        await asyncio.sleep(SETTLE_SECONDS)
        assert len(sockets.sockets) == 2
        assert sockets.open() == [second]
        assert await page.is_hidden("[data-chat-status]")
        # Nothing asked the status endpoint: the count and the live hint came on the socket.
        assert status_requests == []
    finally:
        await moa.close()
        await publisher.close()
    assert page_log.problems() == []
