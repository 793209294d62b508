"""Each moderation action through the socket, as a moderator and as the people it affects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from stream.config import Settings
from tests.chat.client import ChatClient, moderator_token
from tests.conftest import MakeServer, create_session

SESSION = "mod"


@dataclass
class Room:
    server: TestServer
    mod: ChatClient
    anna: ChatClient
    bo: ChatClient
    extra: list[ChatClient] = field(default_factory=list)

    async def join(
        self, *, name: str | None = None, token: str | None = None, moderator_token: str = ""
    ) -> ChatClient:
        client = await ChatClient.connect(
            self.server, SESSION, name=name, token=token, moderator_token=moderator_token or None
        )
        self.extra.append(client)
        return client


@pytest.fixture
async def room(server: TestServer) -> AsyncIterator[Room]:
    await create_session(server, SESSION)
    token = await moderator_token(server, SESSION, "Moa (värd)")
    mod = await ChatClient.connect(server, SESSION, moderator_token=token)
    anna = await ChatClient.connect(server, SESSION, name="Anna")
    bo = await ChatClient.connect(server, SESSION, name="Bo")
    room = Room(server, mod, anna, bo)
    yield room
    for client in [mod, anna, bo, *room.extra]:
        await client.close()


async def test_moderator_is_known_by_token_and_badged(room: Room) -> None:
    welcome = await room.mod.frame("welcome")
    assert welcome["you"]["role"] == "moderator"
    assert welcome["you"]["name"] == "Moa (värd)"
    assert welcome["state"]["words"] == []
    message_id = await room.mod.say("Välkomna!")
    seen = await room.anna.event(lambda e: e.get("id") == message_id)
    assert seen["role"] == "moderator"


async def test_viewers_may_not_moderate(room: Room) -> None:
    target = await room.bo.say("hej")
    refused = await room.anna.mod("delete", target=target)
    assert refused["code"] == "forbidden"
    wrong = await ChatClient.connect(room.server, SESSION, moderator_token="not-a-token")
    room.extra.append(wrong)
    assert (await wrong.frame("welcome"))["you"]["role"] == "viewer"


async def test_delete_hides_the_message_live_and_in_history(room: Room) -> None:
    target = await room.anna.say("något olämpligt")
    kept = await room.anna.say("något bra")
    ack = await room.mod.mod("delete", target=target)
    assert ack["type"] == "ack"
    removal = await room.bo.event(lambda e: e.get("action") == "delete")
    assert removal["target"] == target
    assert "by" not in removal, "viewers do not see which moderator acted"
    late = await room.join()
    assert [e["id"] for e in late.messages()] == [kept]
    logged = await room.mod.event(lambda e: e.get("action") == "delete")
    assert logged["by"]["label"] == "Moa (värd)"
    assert (await room.mod.mod("delete", target="1-1"))["code"] == "not_found"


async def test_timeout_silences_one_person_for_a_while(room: Room) -> None:
    target = await room.anna.say("spam")
    assert (await room.mod.mod("timeout", target=target, seconds=60))["type"] == "ack"
    refused = await room.anna.send("mer spam")
    assert refused["code"] == "timeout"
    assert 55 < refused["retry_after"] <= 60
    await room.bo.say("jag får skriva")
    logged = await room.mod.event(lambda e: e.get("action") == "timeout")
    assert logged["name"] == "Anna"
    assert logged["seconds"] == 60
    assert all(e.get("action") != "timeout" for e in room.bo.events), "viewers are not told"
    anna_uid = (await room.anna.frame("welcome"))["you"]["uid"]
    assert (await room.mod.mod("unban", user=anna_uid))["type"] == "ack"
    await room.anna.say("tillbaka")


async def test_ban_by_identity_survives_reconnecting(room: Room) -> None:
    target = await room.anna.say("troll")
    assert (await room.mod.mod("ban", target=target))["type"] == "ack"
    assert (await room.anna.send("igen"))["code"] == "banned"
    again = await room.join(token=room.anna.token)
    assert (await again.send("med samma token"))["code"] == "banned"
    await room.bo.say("andra påverkas inte")


async def test_ban_by_address_covers_new_identities_until_unbanned(room: Room) -> None:
    target = await room.anna.say("troll")
    assert (await room.mod.mod("ban", target=target, address=True))["type"] == "ack"
    fresh = await room.join(name="Ny identitet")
    assert (await fresh.send("hej"))["code"] == "banned"
    await room.mod.say("moderatorer är undantagna")
    anna_uid = (await room.anna.frame("welcome"))["you"]["uid"]
    assert (await room.mod.mod("unban", user=anna_uid))["type"] == "ack"
    await fresh.say("nu går det")
    await room.anna.say("och för Anna")


async def test_slow_mode_spaces_each_persons_messages(room: Room) -> None:
    assert (await room.mod.mod("slow", seconds=30))["type"] == "ack"
    announced = await room.anna.event(lambda e: e.get("action") == "slow")
    assert announced["seconds"] == 30
    await room.anna.say("ett")
    refused = await room.anna.send("två")
    assert refused["code"] == "slow"
    assert 25 < refused["retry_after"] <= 30
    await room.bo.say("Bo har egen klocka")
    await room.mod.say("moderatorer först")
    await room.mod.say("och igen")
    await room.mod.mod("slow", seconds=0)
    await room.anna.say("slow mode av")


async def test_blocked_words_hold_messages_for_review(room: Room) -> None:
    ack = await room.mod.mod("words", words=["Dumbom", "ass"])
    assert ack["type"] == "ack"
    assert all(e.get("action") != "words" for e in room.anna.events), "the list is private"
    held = await room.anna.send("du är en DUMBOM!")
    assert held["type"] == "held"
    await room.anna.say("first class")  # a blocked word inside another word is fine
    queued = await room.mod.event(lambda e: e.get("id") == held["id"])
    assert queued["held"] is True
    assert queued["uid"]
    await room.bo.until(lambda: "first class" in room.bo.texts())
    assert "du är en DUMBOM!" not in room.bo.texts()
    welcome = await (await room.join()).frame("welcome")
    assert "words" not in welcome["state"]


async def test_hold_mode_approve_publishes_and_reject_discards(room: Room) -> None:
    await room.mod.mod("hold", on=True)
    good = await room.anna.send("en bra fråga")
    bad = await room.bo.send("något dumt")
    assert good["type"] == bad["type"] == "held"
    approved = await room.mod.mod("approve", target=good["id"])
    assert approved["type"] == "ack"
    published = await room.bo.event(lambda e: e.get("text") == "en bra fråga")
    assert published["approved"] == good["id"]
    assert published["name"] == "Anna"
    again = await room.mod.mod("reject", target=good["id"])
    assert again["code"] == "conflict"
    assert (await room.mod.mod("reject", target=bad["id"]))["type"] == "ack"
    assert (await room.mod.mod("approve", target=bad["id"]))["code"] == "conflict"
    late = await room.join()
    assert late.texts() == ["en bra fråga"]
    await room.mod.mod("hold", on=False)
    await room.anna.say("direkt igen")


async def test_two_moderators_racing_decide_once(room: Room) -> None:
    second = await room.join(moderator_token=await moderator_token(room.server, SESSION, "Sam"))
    await room.mod.mod("hold", on=True)
    held = await room.anna.send("vem hinner först?")
    results = await asyncio.gather(
        room.mod.mod("approve", target=held["id"]), second.mod("approve", target=held["id"])
    )
    assert sorted(r["type"] for r in results) == ["ack", "error"]
    await room.bo.until(lambda: room.bo.texts().count("vem hinner först?") == 1)
    await asyncio.sleep(0.2)
    assert room.bo.texts().count("vem hinner först?") == 1


async def test_registered_only_mode(room: Room) -> None:
    await room.mod.mod("registered_only", on=True)
    assert (await room.anna.send("hej"))["code"] == "registered_only"
    await room.mod.say("moderatorer räknas som registrerade")
    await room.mod.mod("registered_only", on=False)
    await room.anna.say("nu igen")


async def test_pin_and_unpin(room: Room) -> None:
    target = await room.anna.say("Länk till bilderna: https://example.org/bilder")
    assert (await room.mod.mod("pin", target=target))["type"] == "ack"
    pinned = await room.bo.event(lambda e: e.get("action") == "pin")
    assert pinned["msg"]["id"] == target
    late = await room.join()
    state = (await late.frame("welcome"))["state"]
    assert state["pinned"]["text"] == "Länk till bilderna: https://example.org/bilder"
    assert "uid" not in state["pinned"]
    await room.mod.mod("unpin")
    later = await room.join()
    assert (await later.frame("welcome"))["state"]["pinned"] is None


async def test_clear_empties_the_chat_for_everyone(room: Room) -> None:
    await room.anna.say("gammalt")
    await room.mod.mod("clear")
    await room.bo.event(lambda e: e.get("action") == "clear")
    late = await room.join()
    assert late.texts() == []
    await room.anna.say("nytt")
    after = await room.join()
    assert after.texts() == ["nytt"]


async def test_chat_off_and_on(room: Room) -> None:
    await room.mod.mod("enabled", on=False)
    announced = await room.anna.event(lambda e: e.get("action") == "enabled")
    assert announced["on"] is False
    assert (await room.anna.send("hallå?"))["code"] == "chat_off"
    await room.mod.say("moderatorer kan fortfarande skriva")
    late = await room.join()
    assert (await late.frame("welcome"))["state"]["enabled"] is False
    await room.mod.mod("enabled", on=True)
    await room.anna.say("igång igen")


async def test_every_action_is_logged_with_who(room: Room) -> None:
    target = await room.anna.say("hej")
    actions: list[tuple[str, dict[str, Any]]] = [
        ("slow", {"seconds": 5}),
        ("hold", {"on": False}),
        ("words", {"words": ["x"]}),
        ("pin", {"target": target}),
        ("unpin", {}),
        ("registered_only", {"on": False}),
        ("enabled", {"on": True}),
        ("timeout", {"target": target, "seconds": 1}),
        ("ban", {"target": target}),
        ("unban", {"target": target}),
        ("delete", {"target": target}),
        ("clear", {}),
    ]
    for action, params in actions:
        assert (await room.mod.mod(action, **params))["type"] == "ack", action
    log = await ChatClient.connect(
        room.server, SESSION, moderator_token=await moderator_token(room.server, SESSION, "Revisor")
    )
    room.extra.append(log)
    entries = [e for e in log.events if e.get("type") == "mod"]
    assert [e["action"] for e in entries] == [action for action, _ in actions]
    assert {e["by"]["label"] for e in entries} == {"Moa (värd)"}


async def test_deployment_wide_moderator_token(make_server: MakeServer, settings: Settings) -> None:
    token = Settings.from_env({"STREAM_MODERATOR_TOKEN": "a-long-staff-token-from-the-environment"})
    server = await make_server(settings.with_(moderator_token=token.moderator_token))
    await create_session(server, "staff")
    staff = await ChatClient.connect(
        server, "staff", moderator_token="a-long-staff-token-from-the-environment"
    )
    guess = await ChatClient.connect(server, "staff", moderator_token="a-long-staff-token")
    try:
        assert (await staff.frame("welcome"))["you"]["role"] == "moderator"
        assert (await guess.frame("welcome"))["you"]["role"] == "viewer"
        await staff.mod("slow", seconds=2)
        logged = await staff.event(lambda e: e.get("action") == "slow")
        assert logged["by"]["label"] == "staff"
    finally:
        await staff.close()
        await guess.close()
