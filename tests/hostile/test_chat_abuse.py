"""Hostile chat visitors, each through the public socket or HTTP against a real server and Redis:
chat off, deleted messages, the transcript, deep frames, names, new identities, the limiter
shared by every node."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta

import aiohttp
from aiohttp.test_utils import TestServer

from stream.auth.users import User, UserStore
from stream.chat.archive import ChatArchive
from stream.chat.chat import TRANSCRIPT_PAGE
from stream.chat.limits import ChatLimits
from stream.chat.log import Entry
from stream.common import times
from stream.common.grants import Role
from stream.config import Settings
from stream.http.keys import CHAT, REDIS
from stream.program.schedule import AUDIENCE_GRACE_AFTER_END
from stream.program.sessions import Session, SessionStore
from tests.chat.client import ChatClient, chat_service, moderator_token
from tests.conftest import MakeServer, base_url, create_session

ARCHIVED = 5_000
SMALL_CAP = 1_000
# The longest the event loop may stall while one transcript page is served.
MAX_LOOP_STALL = 0.1
DEEP = 1_500


async def test_chat_off_is_enforced_on_the_socket(server: TestServer) -> None:
    store = SessionStore(server.app[REDIS])
    await store.save(Session(id="quiet", title="Quiet", arranger="Arr", chat=False))
    client = await ChatClient.connect(server, "quiet", name="Anna")
    try:
        welcome = await client.frame("welcome")
        assert welcome["state"]["enabled"] is False
        reply = await client.send("hello anyway")
        assert reply["type"] == "error", reply
        assert reply["code"] == "chat_off"
        assert await server.app[REDIS].xlen("chat:{quiet}") == 0
    finally:
        await client.close()


async def test_chat_is_read_only_after_the_session_and_its_grace(server: TestServer) -> None:
    """An ended session keeps its chat to read: a guest's message is refused after the end plus
    the grace; a moderator may still write (a closing note)."""
    now = times.now()
    store = SessionStore(server.app[REDIS])
    ended = now - AUDIENCE_GRACE_AFTER_END - timedelta(minutes=1)
    await store.save(
        Session(
            id="over", title="Over", arranger="Arr", start=ended - timedelta(hours=1), end=ended
        )
    )
    late = now - AUDIENCE_GRACE_AFTER_END / 2
    await store.save(
        Session(id="late", title="Late", arranger="Arr", start=late - timedelta(hours=1), end=late)
    )
    anna = await ChatClient.connect(server, "over", name="Anna")
    bo = await ChatClient.connect(server, "late", name="Bo")
    mod = await ChatClient.connect(
        server, "over", moderator_token=await moderator_token(server, "over")
    )
    try:
        reply = await anna.send("still here?")
        assert reply["type"] == "error", reply
        assert reply["code"] == "ended"
        assert await server.app[REDIS].xlen("chat:{over}") == 0
        assert (await bo.send("within the grace"))["type"] != "error"
        assert await mod.say("Thanks for watching")
    finally:
        for client in (anna, bo, mod):
            await client.close()


async def test_a_deleted_message_never_leaves_again(server: TestServer) -> None:
    await create_session(server, "del")
    anna = await ChatClient.connect(server, "del", name="Anna")
    mod = await ChatClient.connect(
        server, "del", moderator_token=await moderator_token(server, "del")
    )
    try:
        before = await anna.say("first, kept")
        secret = await anna.say("SECRET to be deleted")
        await anna.say("third, kept")
        assert (await mod.mod("delete", target=secret))["type"] == "ack"
        # Resuming from before the message (history replay), from the start, and the transcript.
        for last_id in (before, "0-1"):
            late = await ChatClient.connect(server, "del", last_id=last_id)
            try:
                await late.until(
                    lambda late=late: any(e.get("action") == "delete" for e in late.events)
                )
                assert "SECRET to be deleted" not in late.texts(), late.events
            finally:
                await late.close()
        fresh = await ChatClient.connect(server, "del")
        try:
            assert "SECRET to be deleted" not in fresh.texts()
        finally:
            await fresh.close()
        async with aiohttp.ClientSession() as http:
            for _ in range(50):
                async with http.get(f"{base_url(server)}/api/chat/del/transcript") as response:
                    body = await response.text()
                if "third, kept" in body:
                    break
                await asyncio.sleep(0.1)
        assert "third, kept" in body
        assert "SECRET" not in body
        # Staff still see it.
        staff = await ChatClient.connect(
            server, "del", moderator_token=await moderator_token(server, "del"), last_id=before
        )
        try:
            await staff.until(lambda: "SECRET to be deleted" in staff.texts())
        finally:
            await staff.close()
    finally:
        await anna.close()
        await mod.close()


async def _stall_while(task: asyncio.Task[object]) -> float:
    """The longest the loop was late waking up while ``task`` ran."""
    worst = 0.0
    while not task.done():
        started = time.monotonic()
        await asyncio.sleep(0.005)
        worst = max(worst, time.monotonic() - started - 0.005)
    return worst


async def test_transcript_is_paged_and_the_archive_capped(server: TestServer) -> None:
    await create_session(server, "long")
    archive: ChatArchive = server.app[CHAT].archive
    base_ms = int(time.time() * 1000) - ARCHIVED
    entries = [
        Entry(
            f"{base_ms + n}-0".encode(),
            f'{{"type":"msg","name":"N","role":"viewer","text":"line {n}","ts":0}}'.encode(),
            f'{{"type":"msg","name":"N","role":"viewer","text":"line {n}","ts":0}}'.encode(),
        )
        for n in range(ARCHIVED)
    ]
    for start in range(0, ARCHIVED, 1000):
        await archive.add("long", entries[start : start + 1000])
    url = f"{base_url(server)}/api/chat/long/transcript"
    texts: list[str] = []
    pages = 0
    worst = 0.0
    async with aiohttp.ClientSession() as http:
        after: str | None = None
        while True:
            params = {"after": after} if after else {}

            async def fetch(params: dict[str, str] = params) -> dict[str, object]:
                async with http.get(url, params=params) as response:
                    assert response.status == 200
                    page: dict[str, object] = await response.json()
                    return page

            task = asyncio.ensure_future(fetch())
            worst = max(worst, await _stall_while(task))  # type: ignore[arg-type]
            page = await task
            events = page["events"]
            assert isinstance(events, list)
            assert len(events) <= TRANSCRIPT_PAGE
            texts += [e["text"] for e in events]
            pages += 1
            after = page["next"]  # type: ignore[assignment]
            if after is None:
                break
        async with http.get(url, params={"after": "nonsense"}) as response:
            assert response.status == 400
    print(
        f"transcript: {ARCHIVED} entries in {pages} pages, worst loop stall {worst * 1000:.0f} ms"
    )
    assert texts == [f"line {n}" for n in range(ARCHIVED)]
    assert worst < MAX_LOOP_STALL

    archive.max_entries = SMALL_CAP
    await archive.add("long", entries[:1])  # any add trims to the cap
    assert await archive.size("long") <= SMALL_CAP


async def test_deep_json_gets_an_error_frame_not_a_dead_socket(server: TestServer) -> None:
    await create_session(server, "deep")
    client = await ChatClient.connect(server, "deep", name="Djup")
    try:
        nested = "[" * DEEP + "]" * DEEP
        await client.ws.send_str('{"type":"send","cid":"d1","text":"x","extra":' + nested + "}")
        refused = await client.frame("error", code="too_deep")
        assert "deeper than" in refused["detail"]
        await client.ws.send_str('{"type":"qa.ask","cid":"d2","x":' + nested + "}")
        await client.until(lambda: sum(f.get("code") == "too_deep" for f in client.frames) == 2)
        await client.say("still alive")
    finally:
        await client.close()


async def test_guests_cannot_take_staff_or_taken_names(server: TestServer) -> None:
    await create_session(server, "names")
    users = UserStore(server.app[REDIS])
    await users.create(
        User(username="moa", display_name="Moa Staff", role=Role.ADMIN), "a long secret pass 42"
    )
    one = await ChatClient.connect(server, "names")
    two = await ChatClient.connect(server, "names")
    try:
        for impostor in ("Moa Staff", "moa  staff", "MOA"):
            refused = await one.rename(impostor)
            assert refused["type"] == "error", refused
            assert refused["code"] == "bad_name"
            assert refused["detail"] == "that name is reserved for staff"
        assert (await one.rename("Gäst"))["type"] == "identity"
        taken = await two.rename("gäst")
        assert taken["type"] == "error", taken
        assert taken["code"] == "bad_name"
        assert taken["detail"] == "someone here already has that name"
        # The holder keeps it on reconnect with their token.
        again = await ChatClient.connect(server, "names", token=one.token)
        try:
            assert (await again.frame("welcome"))["you"]["name"] == "Gäst"
        finally:
            await again.close()
    finally:
        await one.close()
        await two.close()


async def test_new_identities_per_address_are_limited(server: TestServer) -> None:
    await create_session(server, "evade")
    service = chat_service(server)
    service.limits = ChatLimits(new_identities_per_second=0.01, new_identities_burst=3)
    answers: list[str] = []
    for n in range(5):
        client = await ChatClient.connect(server, "evade")
        try:
            reply = await client.rename(f"Ny {n}")
            answers.append(reply["type"] if reply["type"] == "identity" else reply["code"])
        finally:
            await client.close()
    assert answers == ["identity"] * 3 + ["rate_limited"] * 2


async def test_the_chat_limit_is_shared_by_every_node(
    make_server: MakeServer, settings: Settings
) -> None:
    one = await make_server(settings)
    two = await make_server(settings)
    await create_session(one, "nodes")
    for node in (one, two):
        node.app[CHAT].limits = replace(ChatLimits(), rate_per_second=0.01, rate_burst=3)
    first = await ChatClient.connect(one, "nodes", name="Flod")
    second = await ChatClient.connect(two, "nodes", token=first.token)
    try:
        replies = [await (first, second)[n % 2].send(f"spam {n}") for n in range(6)]
        kinds = [r["type"] for r in replies]
        print(f"one identity on two nodes, burst 2 after a name: {kinds}")
        assert kinds.count("ack") == 2  # the rename took the first of the burst of 3
        assert {r["code"] for r in replies if r["type"] == "error"} == {"rate_limited"}
    finally:
        await first.close()
        await second.close()
