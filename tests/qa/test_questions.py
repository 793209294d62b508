"""Asking, voting and the moderation queue over real sockets on real servers sharing Redis."""

from __future__ import annotations

import asyncio
import functools
import time

from aiohttp.test_utils import TestServer

from stream.chat.identity import Identity
from stream.chat.log import parse_id
from stream.config import Settings
from stream.http.keys import QA
from tests.chat.client import moderator_token
from tests.conftest import MakeServer, create_session
from tests.qa.client import QAClient

SESSION = "qa-test"


def _all_replied(client: QAClient, count: int = 100) -> bool:
    return sum(1 for f in client.frames if f.get("type") in ("qa.ack", "qa.error")) >= count


async def _moderator(server: TestServer, token: str) -> QAClient:
    return await QAClient.join(server, SESSION, moderator_token=token, name="Moa")


async def test_premoderated_question_is_shown_after_approval(server: TestServer) -> None:
    await create_session(server, SESSION)
    mod = await _moderator(server, await moderator_token(server, SESSION))
    viewer = await QAClient.join(server, SESSION, name="Ada")
    try:
        ack = await viewer.ask("Hur fungerar det?", source="room")
        assert ack["type"] == "qa.ack", ack
        assert ack["state"] == "pending"
        qid = ack["q"]
        pending = await mod.until(lambda: mod.question(qid).get("text"), what="pending")
        assert pending == "Hur fungerar det?"
        assert mod.question(qid)["source"] == "room"
        await viewer.until(lambda: viewer.question(qid).get("state") == "pending")
        assert "text" not in viewer.question(qid)  # waiting questions are only counted
        reply = await mod.qa_mod("approve", q=qid, v=1)
        assert reply["type"] == "qa.ack", reply
        await viewer.until(lambda: viewer.question(qid).get("state") == "approved")
        assert viewer.question(qid)["text"] == "Hur fungerar det?"
        assert viewer.question(qid)["name"] == "Ada"
    finally:
        await viewer.close()
        await mod.close()


async def test_anonymous_name_hidden_from_viewers_not_moderators(server: TestServer) -> None:
    await create_session(server, SESSION)
    mod = await _moderator(server, await moderator_token(server, SESSION))
    asker = await QAClient.join(server, SESSION, name="Hemlig Person")
    other = await QAClient.join(server, SESSION, name="Bo")
    try:
        assert (await mod.qa_mod("premod", on=False))["type"] == "qa.ack"
        ack = await asker.ask("En anonym fråga", anon=True)
        assert ack["state"] == "approved", ack
        qid = ack["q"]
        await other.until(lambda: other.question(qid).get("text"))
        assert other.question(qid)["name"] == ""
        assert other.question(qid)["anon"] is True
        await mod.until(lambda: mod.question(qid).get("text"))
        assert mod.question(qid)["name"] == "Hemlig Person"
        # A fresh viewer's snapshot hides it too; a fresh moderator's shows it.
        late = await QAClient.join(server, SESSION)
        late_mod = await _moderator(server, await moderator_token(server, SESSION))
        try:
            assert late.question(qid)["name"] == ""
            assert "Hemlig" not in str(late.snapshot)
            assert late_mod.question(qid)["name"] == "Hemlig Person"
        finally:
            await late.close()
            await late_mod.close()
        # Anonymous asking needs no display name.
        nameless = await QAClient.join(server, SESSION)
        try:
            assert (await nameless.ask("Utan namn?", anon=True))["type"] == "qa.ack"
            refused = await nameless.ask("Utan namn och inte anonym?")
            assert refused["code"] == "no_name"
        finally:
            await nameless.close()
    finally:
        for client in (mod, asker, other):
            await client.close()


async def test_vote_stuffing_counts_once(make_server: MakeServer, settings: Settings) -> None:
    """One person, 1 000 concurrent votes (through the service and through sockets on two
    servers): the count is 1."""
    first = await make_server(settings)
    second = await make_server(settings)
    await create_session(first, SESSION)
    mod = await _moderator(first, await moderator_token(first, SESSION))
    await mod.qa_mod("premod", on=False)
    asker = await QAClient.join(first, SESSION, name="Ada")
    qid = (await asker.ask("Fråga att rösta på"))["q"]
    service = first.app[QA]
    other_service = second.app[QA]
    votes = [
        (service if i % 2 else other_service).votes.vote(SESSION, qid, "stuffer")
        for i in range(1000)
    ]
    results = await asyncio.gather(*votes)
    assert sum(1 for r in results if r.changed) == 1
    assert all(r.votes == 1 for r in results)
    # The same person on ten sockets over two servers, each sending 100 votes at once.
    token = asker.token
    sockets = [
        await QAClient.join(first if i % 2 else second, SESSION, token=token) for i in range(10)
    ]
    try:
        for client in sockets:
            for _ in range(100):
                await client.ws.send_json({"type": "qa.vote", "q": qid})
        for client in sockets:
            await client.until(functools.partial(_all_replied, client), what="replies")
        question = await service.questions.get(SESSION, qid)
        assert question is not None
        assert question.votes == 2
        # Withdrawing counts once too (the sockets above may be rate limited by now).
        withdrawn = await service.votes.vote(SESSION, qid, "stuffer", up=False)
        assert withdrawn.changed
        assert withdrawn.votes == 1
        again = await other_service.votes.vote(SESSION, qid, "stuffer", up=False)
        assert not again.changed
        assert again.votes == 1
    finally:
        for client in [*sockets, mod, asker]:
            await client.close()


async def test_two_moderators_racing(make_server: MakeServer, settings: Settings) -> None:
    first = await make_server(settings)
    second = await make_server(settings)
    await create_session(first, SESSION)
    one = await _moderator(first, await moderator_token(first, SESSION, "Moa"))
    two = await _moderator(second, await moderator_token(second, SESSION, "Bertil"))
    asker = await QAClient.join(first, SESSION, name="Ada")
    try:
        qid = (await asker.ask("Vem hinner först?"))["q"]
        # Approve and reject of the same revision, at once, on two nodes: one wins.
        replies = await asyncio.gather(
            one.qa_mod("approve", q=qid, v=1), two.qa_mod("reject", q=qid, v=1)
        )
        assert sorted(r["type"] for r in replies) == ["qa.ack", "qa.error"], replies
        refusal = next(r for r in replies if r["type"] == "qa.error")
        assert refusal["code"] == "conflict"
        assert "another moderator" in refusal["detail"]
        # Acting on a stale revision later is refused with what happened.
        stale = await two.qa_mod("dismiss", q=qid, v=1)
        assert stale["code"] == "conflict", stale
        assert "Moa" in stale["detail"] or "Bertil" in stale["detail"]
    finally:
        for client in (one, two, asker):
            await client.close()


async def test_merge_combines_votes_and_keeps_askers(server: TestServer) -> None:
    await create_session(server, SESSION)
    mod = await _moderator(server, await moderator_token(server, SESSION))
    await mod.qa_mod("premod", on=False)
    ada = await QAClient.join(server, SESSION, name="Ada")
    bo = await QAClient.join(server, SESSION, name="Bo")
    cy = await QAClient.join(server, SESSION, name="Cy")
    try:
        q1 = (await ada.ask("När kommer inspelningen?"))["q"]
        q2 = (await bo.ask("När kommer inspelningen ut?"))["q"]
        for client, qid in ((ada, q1), (bo, q1), (bo, q2), (cy, q2)):
            assert (await client.vote(qid))["changed"] is True
        await mod.until(lambda: mod.question(q2).get("votes") == 2)
        reply = await mod.qa_mod("merge", q=q2, v=1, into=q1, into_v=1)
        assert reply["type"] == "qa.ack", reply
        await cy.until(lambda: cy.question(q1).get("votes") == 3, what="combined votes")
        assert cy.question(q2)["state"] == "merged"
        assert cy.question(q2)["into"] == q1
        assert cy.question(q1)["askers"] == 2
        merged = await mod.until(lambda: mod.question(q1).get("askers"))
        assert {a["name"] for a in merged} == {"Ada", "Bo"}
        # A withdrawn vote, and a vote again.
        assert (await ada.vote(q1, up=False))["votes"] == 2
        assert (await ada.vote(q1))["votes"] == 3
        # A vote on the merged question is refused; Cy's vote moved with it (counted once).
        assert (await cy.vote(q2))["code"] == "not_votable"
        assert (await cy.vote(q1))["changed"] is False
        assert (await bo.vote(q1))["changed"] is False
        # A fresh viewer counts one merged question.
        late = await QAClient.join(server, SESSION)
        try:
            states = [q["state"] for q in late.snapshot["questions"]]  # type: ignore[index]
            assert states.count("merged") == 1
        finally:
            await late.close()
    finally:
        for client in (mod, ada, bo, cy):
            await client.close()


async def test_stage_update_reaches_a_second_instance(
    make_server: MakeServer, settings: Settings
) -> None:
    first = await make_server(settings)
    second = await make_server(settings)
    await create_session(first, SESSION)
    mod = await _moderator(first, await moderator_token(first, SESSION))
    await mod.qa_mod("premod", on=False)
    stage = await QAClient.join(second, SESSION)
    asker = await QAClient.join(first, SESSION, name="Ada")
    try:
        qid = (await asker.ask("Upp på scenen?"))["q"]
        started = time.monotonic()
        assert (await mod.qa_mod("stage", q=qid, v=1))["type"] == "qa.ack"
        await stage.until(lambda: stage.state()["stage"] == qid, timeout=2.0, what="stage")
        assert time.monotonic() - started < 1.0
        # Answering takes it off the stage; the flow of states is visible to all.
        assert (await mod.qa_mod("answer", q=qid, v=2))["type"] == "qa.ack"
        await stage.until(lambda: stage.state()["stage"] is None, timeout=2.0)
        assert stage.question(qid)["state"] == "answered"
        assert (await mod.qa_mod("reopen", q=qid, v=3))["type"] == "qa.ack"
        await stage.until(lambda: stage.question(qid).get("state") == "approved")
    finally:
        for client in (mod, stage, asker):
            await client.close()


async def test_moderator_actions_and_refusals(server: TestServer) -> None:
    await create_session(server, SESSION)
    mod = await _moderator(server, await moderator_token(server, SESSION))
    viewer = await QAClient.join(server, SESSION, name="Ada")
    try:
        qid = (await viewer.ask("Stavfel i frågn"))["q"]
        assert (await viewer.qa_mod("approve", q=qid, v=1))["code"] == "forbidden"
        assert (await mod.qa_mod("edit", q=qid, v=1, text="Stavfel i frågan"))["type"] == "qa.ack"
        assert (await mod.qa_mod("approve", q=qid, v=1))["code"] == "conflict"
        assert (await mod.qa_mod("approve", q=qid, v=2))["type"] == "qa.ack"
        await viewer.until(lambda: viewer.question(qid).get("text") == "Stavfel i frågan")
        assert viewer.question(qid)["edited"] is True
        assert (await mod.qa_mod("approve", q=qid, v=3))["code"] == "bad_state"
        reply = await mod.qa_mod("reply", q=qid, v=3, text="Svar bara till dig")
        assert reply["type"] == "qa.ack"
        await viewer.until(lambda: viewer.question(qid).get("replied") is True)
        assert "Svar bara" not in str(viewer.qa_events())
        mine = await viewer.sync()
        own = next(q for q in mine["questions"] if q["id"] == qid)
        assert own["answer"] == "Svar bara till dig"
        assert (await mod.qa_mod("dismiss", q=qid, v=4))["type"] == "qa.ack"
        await viewer.until(lambda: viewer.question(qid).get("state") == "hidden")
        assert (await viewer.ask("x" * 301))["code"] == "too_long"
        assert (await viewer.vote("q999"))["code"] == "not_found"
        assert (await mod.qa_mod("unstage"))["code"] == "not_found"
        assert (await mod.qa_mod("fly", q=qid, v=1))["detail"] == "unknown Q&A action"
    finally:
        await viewer.close()
        await mod.close()


async def test_retried_ask_is_stored_once_and_rate_limited(server: TestServer) -> None:
    await create_session(server, SESSION)
    service = server.app[QA]
    from stream.qa.protocol import Ask

    who = Identity("u1", "Ada")
    first = await service.questions.ask(SESSION, who, Ask("Samma fråga"), "cid-1", None)
    again = await service.questions.ask(SESSION, who, Ask("Samma fråga"), "cid-1", None)
    assert again.duplicate
    assert again.qid == first.qid
    viewer = await QAClient.join(server, SESSION, name="Bo")
    try:
        replies = [await viewer.ask(f"Fråga nummer {i}") for i in range(6)]
        assert [r["type"] for r in replies[:5]] == ["qa.ack"] * 5
        assert replies[5]["code"] == "rate_limited"
    finally:
        await viewer.close()


async def test_votes_do_not_crowd_the_chat_history(server: TestServer) -> None:
    """Q&A entries share the chat's log; a fresh socket still gets the chat's recent messages."""
    await create_session(server, SESSION)
    mod = await _moderator(server, await moderator_token(server, SESSION))
    await mod.qa_mod("premod", on=False)
    talker = await QAClient.join(server, SESSION, name="Ada")
    try:
        await talker.say("Hej chatten")
        qids = [(await talker.ask(f"Fråga {n}"))["q"] for n in range(5)]
        service = server.app[QA]
        for n in range(120):
            await service.votes.vote(SESSION, qids[n % 5], f"voter{n}")
        token = await moderator_token(server, SESSION)
        for credential in (None, token):
            late = await QAClient.join(server, SESSION, moderator_token=credential)
            try:
                assert "Hej chatten" in late.texts()
                assert not [e for e in late.events if e.get("type") == "qa"]
            finally:
                await late.close()
    finally:
        await talker.close()
        await mod.close()


async def test_one_cursor_resumes_the_chat_and_the_qa_together(server: TestServer) -> None:
    """A page keeps one cursor for the session's log: the history's ``at`` and the ids of
    later events, whatever their kind; resuming from it replays every kind it missed."""
    await create_session(server, SESSION)
    mod = await _moderator(server, await moderator_token(server, SESSION))
    viewer = await QAClient.join(server, SESSION, name="Ada")
    try:
        assert (await mod.qa_mod("premod", on=False))["type"] == "qa.ack"
        await mod.say("före")
        await viewer.until(lambda: "före" in viewer.texts())
        # The cursor is the newest id seen, a chat message or a Q&A event alike.
        history = next(f for f in viewer.frames if f["type"] == "history")
        cursor = max([history["at"]] + [e["id"] for e in viewer.events], key=parse_id)
        await viewer.close()
        asked = await mod.ask("Vad händer sedan?")
        await mod.say("under")
        back = await QAClient.connect(server, SESSION, token=viewer.token, last_id=cursor)
        try:
            replay = await back.frame("history")
            assert replay["reset"] is False
            kinds = [(e["type"], e.get("text") or e.get("action")) for e in replay["events"]]
            assert kinds == [("qa", "ask"), ("msg", "under")]
            assert replay["events"][0]["q"]["id"] == asked["q"]
            assert replay["at"] == replay["events"][-1]["id"]
        finally:
            await back.close()
    finally:
        await mod.close()


async def test_a_named_request_gets_its_own_answer(server: TestServer) -> None:
    """The chat and the Q&A share the socket: a name change answers with the asker's cid."""
    await create_session(server, SESSION)
    viewer = await QAClient.join(server, SESSION)
    try:
        await viewer.ws.send_json({"type": "name", "cid": "n1", "name": "Ada"})
        identity = await viewer.frame("identity", cid="n1")
        assert identity["you"]["name"] == "Ada"
        await viewer.ws.send_json({"type": "name", "cid": "n2", "name": "   "})
        error = await viewer.frame("error", cid="n2")
        assert error["code"] == "bad_name"
    finally:
        await viewer.close()
