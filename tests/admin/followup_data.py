"""A session with something of everything for the follow-up: questions (answered, open, merged)
whose asker and text are hostile markup, a poll, chat messages and a viewer curve from two
nodes."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer

from stream.analytics.curve import CurveWriter, NodeSample
from stream.http.keys import REDIS
from tests.chat.client import moderator_token
from tests.qa.client import QAClient

SESSION = "skogens-dag"
T0 = 1_800_000_005.0
HOSTILE_Q = "<script>alert('q')</script> Hur mäter ni?"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_CHAT = "</li><script>alert('chat')</script>"
HOSTILE_OPTION = "<b onmouseover=alert(2)>Ja</b>"


@pytest.fixture(autouse=True)
def relaxed_chat_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RATE_PER_SECOND", "RATE_BURST", "ADDRESS_RATE_PER_SECOND", "ADDRESS_RATE_BURST"):
        monkeypatch.setenv(f"STREAM_CHAT_{name}", "10000")


async def fill_session(
    server: TestServer, chat_messages: int = 2, *, curve: bool = True
) -> dict[str, str]:
    """Questions (answered, open, merged), a poll, chat and a viewer curve for SESSION."""
    token = await moderator_token(server, SESSION)
    mod = await QAClient.join(server, SESSION, moderator_token=token, name="Moa")
    viewer = await QAClient.join(server, SESSION, name=HOSTILE_NAME)
    other = await QAClient.join(server, SESSION, name="Olle")
    try:
        await mod.qa_mod("premod", on=False)
        first = (await viewer.ask(HOSTILE_Q))["q"]
        second = (await other.ask("Vad kostar det?"))["q"]
        third = (await other.ask("Hur mäter ni tillväxten?"))["q"]
        await other.vote(first)
        await viewer.vote(second)
        await mod.vote(second)
        await mod.qa_mod("answer", q=second, v=1)
        await mod.qa_mod("merge", q=third, v=1, into=first, into_v=1)
        pid = (await mod.request("poll.create", question="Bra?", options=[HOSTILE_OPTION, "Nej"]))[
            "poll"
        ]
        await mod.request("poll.mod", action="open", poll=pid, v=1)
        await viewer.request("poll.answer", poll=pid, choices=[0])
        await other.request("poll.answer", poll=pid, choices=[0])
        rating = (await mod.request("poll.create", question="Betyg?", kind="rating"))["poll"]
        await mod.request("poll.mod", action="open", poll=rating, v=1)
        await viewer.request("poll.answer", poll=rating, choices=[3])  # 4 of 5
        await other.request("poll.answer", poll=rating, choices=[4])  # 5 of 5
        cloud = (await mod.request("poll.create", question="Ett ord?", kind="words"))["poll"]
        await mod.request("poll.mod", action="open", poll=cloud, v=1)
        await viewer.request("poll.answer", poll=cloud, words=["<i>skog</i>", "vatten"])
        await other.request("poll.answer", poll=cloud, words=["<i>skog</i>"])
        # A hidden entry stays in the record, flagged.
        await mod.request("poll.mod", action="hide", poll=cloud, word="vatten")
        await viewer.say(HOSTILE_CHAT)
        for n in range(chat_messages - 1):
            await other.say(f"meddelande {n}")
    finally:
        for client in (viewer, other, mod):
            await client.close()
    if not curve:
        return {"first": first, "second": second, "third": third}
    redis = server.app[REDIS]
    a, b = CurveWriter(redis, "node-a"), CurveWriter(redis, "node-b")
    for n, (on_a, on_b) in enumerate(((2, 1), (3, 2), (1, 1))):
        await a.write([NodeSample(SESSION, on_a, 1, frozenset({f"a{n}"}))], T0 + 10 * n)
        await b.write([NodeSample(SESSION, on_b, 2, frozenset({f"b{n}", "a0"}))], T0 + 10 * n)
    return {"first": first, "second": second, "third": third}
