"""The archive keeps the whole conversation after the Stream's cap has dropped the oldest."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from stream.chat.chat import ChatService
from stream.http.keys import CHAT
from tests.chat.client import ChatClient, moderator_token
from tests.conftest import base_url, create_session


async def test_transcript_outlives_the_stream_cap(server: TestServer) -> None:
    await create_session(server, "lang")
    app: web.Application = server.app  # type: ignore[assignment]
    service: ChatService = app[CHAT]
    service.log.maxlen = 20  # a tiny cap, so this test can exceed it
    anna = await ChatClient.connect(server, "lang", name="Anna")
    mod = await ChatClient.connect(
        server, "lang", moderator_token=await moderator_token(server, "lang")
    )
    try:
        ids = [await anna.say(f"inlägg {n}") for n in range(60)]
        deleted = await mod.mod("delete", target=ids[55])
        assert deleted["type"] == "ack", deleted
        assert await service.log.redis.xlen("chat:{lang}") < 60  # the Stream was trimmed

        async def transcript() -> list[str]:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"{base_url(server)}/api/chat/lang/transcript") as r,
            ):
                assert r.status == 200
                return [e["text"] for e in (await r.json())["events"]]

        expected = [f"inlägg {n}" for n in range(60) if n != 55]
        texts: list[str] = []
        for _ in range(50):
            texts = await transcript()
            if texts == expected:
                break
            await asyncio.sleep(0.1)
        assert texts == expected  # all of it, in order, without the deleted message
    finally:
        await anna.close()
        await mod.close()
