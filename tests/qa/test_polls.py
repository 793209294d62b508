"""Polls over real sockets: drafts hidden, answer once (on any node), live results, closing."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestServer

from stream.config import Settings
from tests.chat.client import moderator_token
from tests.conftest import MakeServer, create_session
from tests.qa.client import QAClient

SESSION = "poll-test"


async def test_poll_answer_once_with_live_results(
    make_server: MakeServer, settings: Settings
) -> None:
    first = await make_server(settings)
    second = await make_server(settings)
    await create_session(first, SESSION)
    mod = await QAClient.join(first, SESSION, moderator_token=await moderator_token(first, SESSION))
    viewer = await QAClient.join(second, SESSION, name="Ada")
    try:
        created = await mod.request(
            "poll.create", question="Vilket språk?", kind="single", options=["Svenska", "English"]
        )
        assert created["type"] == "qa.ack", created
        pid = created["poll"]
        await mod.until(lambda: pid in mod.state()["polls"])
        assert pid not in viewer.state()["polls"]  # a draft is for moderators only
        early = await viewer.request("poll.answer", poll=pid, choices=[0])
        assert early["code"] == "poll_closed"
        assert (await mod.request("poll.mod", action="open", poll=pid, v=1))["type"] == "qa.ack"
        await viewer.until(lambda: viewer.state()["polls"].get(pid, {}).get("state") == "open")
        # The same person answers at once on both nodes, many times: one answer counts.
        again = await QAClient.join(first, SESSION, token=viewer.token)
        try:
            replies = await asyncio.gather(
                *(
                    (viewer if i % 2 else again).request("poll.answer", poll=pid, choices=[1])
                    for i in range(20)
                )
            )
        finally:
            await again.close()
        assert sum(1 for r in replies if r["type"] == "qa.ack") == 1
        codes = {r.get("code") for r in replies if r["type"] == "qa.error"}
        assert "answered" in codes
        assert codes <= {"answered", "rate_limited"}  # past the per-person burst
        await mod.until(lambda: mod.state()["polls"].get(pid, {}).get("counts") == [0, 1])
        assert mod.state()["polls"][pid]["voters"] == 1
        two = await viewer.request("poll.answer", poll=pid, choices=[0, 1])
        assert two["code"] in ("one_choice", "answered")
        assert (await viewer.request("poll.mod", action="close", poll=pid, v=2))[
            "code"
        ] == "forbidden"
        assert (await mod.request("poll.mod", action="close", poll=pid, v=2))["type"] == "qa.ack"
        late = await QAClient.join(second, SESSION, name="Bo")
        try:
            closed = await late.request("poll.answer", poll=pid, choices=[0])
            assert closed["code"] == "poll_closed"
            snap = late.snapshot
            assert snap is not None
            assert snap["polls"][0]["counts"] == [0, 1]
            assert snap["polls"][0]["state"] == "closed"
        finally:
            await late.close()
        mine = await viewer.sync()
        assert mine["answers"] == {pid: [1]}
    finally:
        await viewer.close()
        await mod.close()


async def test_multiple_choice_and_validation(server: TestServer) -> None:
    await create_session(server, SESSION)
    mod = await QAClient.join(
        server, SESSION, moderator_token=await moderator_token(server, SESSION)
    )
    viewer = await QAClient.join(server, SESSION)
    try:
        bad = await mod.request("poll.create", question="?", options=["bara en"])
        assert bad["detail"] == "options must be a list of 2 to 10 strings"
        same = await mod.request("poll.create", question="Dubbel", options=["a", "a"])
        assert same["detail"] == "options must differ"
        pid = (
            await mod.request(
                "poll.create", question="Vad gillar du?", kind="multiple", options=["A", "B", "C"]
            )
        )["poll"]
        await mod.request("poll.mod", action="open", poll=pid, v=1)
        out_of_range = await viewer.request("poll.answer", poll=pid, choices=[3])
        assert out_of_range["type"] == "qa.error"
        assert (await viewer.request("poll.answer", poll=pid, choices=[0, 2]))["type"] == "qa.ack"
        await viewer.until(lambda: viewer.state()["polls"].get(pid, {}).get("counts") == [1, 0, 1])
        stale = await mod.request("poll.mod", action="close", poll=pid, v=1)
        assert stale["code"] == "conflict"
    finally:
        await viewer.close()
        await mod.close()
