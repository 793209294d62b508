"""The chat socket end to end: real app instances, a real Redis, real WebSockets."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from stream.chat.protocol import MAX_FRAME_BYTES, MAX_TEXT_LENGTH, MAX_WIRE_BYTES
from stream.chat.ws import MAX_REFUSED_FRAMES
from stream.config import Settings
from tests.chat.client import ChatClient, ws_url
from tests.conftest import MakeServer, base_url, create_session


async def test_message_is_acked_with_its_id_and_reaches_everyone(server: TestServer) -> None:
    await create_session(server, "talk")
    anna = await ChatClient.connect(server, "talk", name="Anna")
    bo = await ChatClient.connect(server, "talk", name="Bo")
    try:
        ack = await anna.send("Hej allihop!")
        assert ack["type"] == "ack"
        assert not ack["duplicate"]
        seen = await bo.event(lambda e: e.get("id") == ack["id"])
        assert seen["text"] == "Hej allihop!"
        assert seen["name"] == "Anna"
        assert seen["role"] == "viewer"
        assert "uid" not in seen, "viewers never see user ids"
        assert "ah" not in seen, "viewers never see address tags"
        await anna.event(lambda e: e.get("id") == ack["id"])
    finally:
        await anna.close()
        await bo.close()


async def test_two_app_instances_share_the_chat(
    make_server: MakeServer, settings: Settings
) -> None:
    one = await make_server(settings)
    two = await make_server(settings)
    await create_session(one, "multi")
    on_one = await ChatClient.connect(one, "multi", name="Ett")
    on_two = await ChatClient.connect(two, "multi", name="Två")
    try:
        first = await on_one.send("från nod ett")
        second = await on_two.send("från nod två")
        for client in (on_one, on_two):
            await client.event(lambda e: e.get("id") == second["id"])
            assert client.texts() == ["från nod ett", "från nod två"]
        assert first["id"] < second["id"] or len(first["id"]) < len(second["id"])
    finally:
        await on_one.close()
        await on_two.close()


async def test_new_viewer_gets_recent_history(server: TestServer) -> None:
    await create_session(server, "hist")
    anna = await ChatClient.connect(server, "hist", name="Anna")
    try:
        for n in range(3):
            await anna.say(f"meddelande {n}")
        late = await ChatClient.connect(server, "hist")
        try:
            history = await late.frame("history")
            assert history["reset"] is True
            assert [e["text"] for e in history["events"]] == [f"meddelande {n}" for n in range(3)]
        finally:
            await late.close()
    finally:
        await anna.close()


async def test_reconnect_with_last_id_replays_exactly_the_gap(
    make_server: MakeServer, settings: Settings
) -> None:
    one = await make_server(settings)
    two = await make_server(settings)
    await create_session(one, "gap")
    writer = await ChatClient.connect(one, "gap", name="Skribent")
    reader = await ChatClient.connect(two, "gap")
    try:
        for n in range(3):
            await writer.say(f"före {n}")
        await reader.until(lambda: len(reader.texts()) == 3)
        last_id = reader.last_id
        await reader.close()
        for n in range(4):
            await writer.say(f"under {n}")
        back = await ChatClient.connect(two, "gap", last_id=last_id)
        try:
            replay = await back.frame("history")
            assert replay["reset"] is False
            assert [e["text"] for e in replay["events"]] == [f"under {n}" for n in range(4)]
            await writer.say("efter")
            await back.until(lambda: back.texts()[-1:] == ["efter"])
            assert back.texts() == [f"under {n}" for n in range(4)] + ["efter"]
        finally:
            await back.close()
    finally:
        await writer.close()


async def test_retried_client_message_id_is_stored_once(server: TestServer) -> None:
    await create_session(server, "dedup")
    anna = await ChatClient.connect(server, "dedup", name="Anna")
    try:
        first = await anna.send("en gång", cid="same-id")
        anna.frames.clear()
        again = await anna.send("en gång", cid="same-id")
        assert again["id"] == first["id"]
        assert again["duplicate"] is True
        late = await ChatClient.connect(server, "dedup")
        try:
            assert late.texts() == ["en gång"]
        finally:
            await late.close()
    finally:
        await anna.close()


async def test_token_keeps_the_name_across_connections(server: TestServer) -> None:
    await create_session(server, "who")
    anna = await ChatClient.connect(server, "who", name="Anna")
    token = anna.token
    await anna.close()
    again = await ChatClient.connect(server, "who", token=token)
    try:
        welcome = await again.frame("welcome")
        assert welcome["you"]["name"] == "Anna"
        assert (await again.send("jag igen"))["type"] == "ack"
    finally:
        await again.close()


async def test_forged_token_is_an_anonymous_viewer(server: TestServer) -> None:
    await create_session(server, "forge")
    anna = await ChatClient.connect(server, "forge", name="Anna")
    assert anna.token is not None
    await anna.close()
    forged = anna.token[:-4] + ("AAAA" if not anna.token.endswith("AAAA") else "BBBB")
    mallory = await ChatClient.connect(server, "forge", token=forged)
    try:
        assert (await mallory.frame("welcome"))["you"]["name"] == ""
        refused = await mallory.send("hej")
        assert refused["code"] == "no_name"
    finally:
        await mallory.close()


async def test_bad_frames_get_error_frames_not_a_closed_socket(server: TestServer) -> None:
    await create_session(server, "bad")
    client = await ChatClient.connect(server, "bad", name="Anna")
    try:
        for raw, detail in [
            ("not json", "frame is not JSON"),
            ("[1, 2]", "frame must be a JSON object"),
            ('{"type": "nope"}', "unknown frame type"),
            ('{"type": "send", "text": "x"}', "cid is required"),
            ('{"type": "send", "cid": "a b", "text": "x"}', "cid is malformed"),
            ('{"type": "send", "cid": "ok", "text": "   "}', "message is empty"),
            ('{"type": "hello"}', "hello was already received"),
        ]:
            client.frames.clear()
            await client.ws.send_str(raw)
            error = await client.frame("error")
            assert error["detail"] == detail, raw
        too_long = await client.send("x" * (MAX_TEXT_LENGTH + 1))
        assert too_long["code"] == "too_long"
        assert (await client.send("fortfarande här"))["type"] == "ack"
    finally:
        await client.close()


async def test_oversized_frame_is_refused_and_a_huge_one_closes_with_1009(
    server: TestServer,
) -> None:
    await create_session(server, "big")
    client = await ChatClient.connect(server, "big", name="Anna")
    try:
        await client.ws.send_str('{"type":"send","cid":"x","text":"' + "a" * MAX_FRAME_BYTES + '"}')
        refused = await client.frame("error", code="too_large")
        assert refused["detail"] == f"frame is larger than {MAX_FRAME_BYTES} bytes"
        await client.say("still open")
        await client.ws.send_str('{"type":"send","cid":"y","text":"' + "a" * MAX_WIRE_BYTES + '"}')
        await client.until(lambda: client.ws.closed, what="socket closed")
        assert client.ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    finally:
        await client.close()


async def test_foreign_origin_is_refused(server: TestServer) -> None:
    await create_session(server, "origin")
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(
                ws_url(server, "origin"), headers={"Origin": "https://evil.example"}
            )
        assert refused.value.status == 403
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(ws_url(server, "origin"), headers={"Origin": "null"})
        own = await http.ws_connect(ws_url(server, "origin"), headers={"Origin": base_url(server)})
        await own.close()


async def test_unknown_session_is_404(server: TestServer) -> None:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as missing:
            await http.ws_connect(ws_url(server, "nowhere"))
        assert missing.value.status == 404
        async with http.get(base_url(server) + "/ws/nowhere") as response:
            assert response.status == 404
            assert response.content_type == "application/problem+json"


async def test_first_frame_must_be_hello(server: TestServer) -> None:
    await create_session(server, "hello")
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(ws_url(server, "hello"))
        await ws.send_json({"type": "send", "cid": "a", "text": "hej"})
        error = await ws.receive_json(timeout=5)
        assert error == {
            "type": "error",
            "code": "bad_request",
            "detail": "the first frame must be hello",
        }
        closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == aiohttp.WSCloseCode.POLICY_VIOLATION
        await ws.close()


async def test_shutdown_closes_sockets_with_going_away(
    make_server: MakeServer, settings: Settings
) -> None:
    server = await make_server(settings)
    await create_session(server, "bye")
    client = await ChatClient.connect(server, "bye", name="Anna")
    try:
        await asyncio.wait_for(server.close(), 10)
        await client.until(lambda: client.ws.closed, what="socket closed")
        assert client.ws.close_code == aiohttp.WSCloseCode.GOING_AWAY
    finally:
        await client.close()


async def test_plain_get_on_the_socket_url_is_400_not_500(server: TestServer) -> None:
    await create_session(server, "plain")
    async with aiohttp.ClientSession() as http:
        async with http.get(base_url(server) + "/ws/plain") as response:
            assert response.status == 400
            assert response.content_type == "application/problem+json"


async def test_a_socket_sending_only_garbage_is_closed(server: TestServer) -> None:
    await create_session(server, "garbage")
    client = await ChatClient.connect(server, "garbage")
    try:
        for _ in range(MAX_REFUSED_FRAMES + 1):
            await client.ws.send_str("garbage")
        await client.until(lambda: client.ws.closed, what="socket closed")
        assert client.ws.close_code == aiohttp.WSCloseCode.POLICY_VIOLATION
        errors = [f for f in client.frames if f.get("type") == "error"]
        assert len(errors) == MAX_REFUSED_FRAMES
    finally:
        await client.close()
