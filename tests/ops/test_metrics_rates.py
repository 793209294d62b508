"""``/metrics``: the relay latency histogram, and chat/Q&A message counters by public session
(invite-only sessions summed under ``_unlisted``, never named), from real peers and sockets."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from stream.auth.invites import invite_code
from stream.http.keys import AUTH_SECRET, REDIS, ROOMS
from stream.ops import UNLISTED
from stream.program.sessions import Session, SessionStore
from tests.conftest import base_url, create_session
from tests.media import publish_loop, wait_for, watch
from tests.qa.client import QAClient
from tests.test_ops import scrape, value


async def test_relay_latency_histogram_and_message_counters(server: TestServer) -> None:
    base = base_url(server)
    key = await create_session(server, "rated")
    store = SessionStore(server.app[REDIS])
    await store.save(Session(id="hush", title="Internt", arranger="Noden", visibility="invite"))
    publisher, _ = await publish_loop(base, "rated", key)
    room = server.app[ROOMS].get("rated")
    assert room is not None
    await wait_for(lambda: room.live, what="live")
    async with aiohttp.ClientSession() as http:
        _, samples = await scrape(http, base)  # the histogram observes the room from now on
        before = value(samples, "stream_relay_latency_histogram_seconds_count")
        viewer, received = await watch(base, "rated")
        public = await QAClient.join(server, "rated", name="Ada")
        # An invited guest: the invite link's cookie opens the session's chat.
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as guest:
            code = invite_code(server.app[AUTH_SECRET], "hush")
            async with guest.get(f"{base}/s/hush?invite={code}") as r:
                assert r.status == 200
        cookie = "; ".join(f"{c.key}={c.value}" for c in jar)
        hidden = await QAClient.join(
            server, "hush", name="Bo", headers={"Cookie": cookie, "Origin": base}
        )
        try:
            await wait_for(lambda: len(received.frames["video"]) >= 10, what="frames")
            for text in ("one", "two", "three"):
                await public.say(text)
            await hidden.say("secret")
            await public.ask("How long does the relay take?")
            await hidden.ask("Is this private?")
            text, samples = await scrape(http, base)
        finally:
            await public.close()
            await hidden.close()
            await viewer.close()
            await publisher.close()
    assert "hush" not in text, "invite-only sessions are not named"
    assert value(samples, "stream_relay_latency_histogram_seconds_count") >= before + 10
    assert value(samples, "stream_relay_latency_histogram_seconds_bucket", le="+Inf") >= 10
    assert value(samples, "stream_chat_messages_total", session="rated") >= 3
    assert value(samples, "stream_chat_messages_total", session=UNLISTED) >= 1
    assert value(samples, "stream_qa_questions_total", session="rated") == 1
    assert value(samples, "stream_qa_questions_total", session=UNLISTED) == 1
