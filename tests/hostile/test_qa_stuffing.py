"""Vote and poll stuffing by reconnecting: a viewer keeps the identity of its first connection
(the welcome carries its signed token), votes once per identity, and fresh identities from one
address are limited, as are the votes and poll answers one address adds to one question/poll."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from aiohttp.test_utils import TestServer

from stream.common.rates import QA_NEW_IDENTITY_PER_ADDRESS
from stream.config import Settings
from stream.http.keys import CHAT, QA, REDIS
from stream.qa.keys import poll_answers_key, question_key, voters_key
from stream.qa.limits import MAX_POLL_ANSWERS_PER_ADDRESS, MAX_VOTES_PER_ADDRESS_PER_QUESTION
from stream.qa.protocol import PollAnswer, QAError
from tests.chat.client import Frame, moderator_token
from tests.conftest import MakeServer, create_session
from tests.qa.client import QAClient

SESSION = "hostile-votes"
FLOODER = "127.0.0.1"
VIEWER = {"X-Forwarded-For": "192.0.2.20"}
RECONNECTS = 80
# The new-identity burst, what its sustained rate adds while the test runs, and some slack.
MAX_STUFFED = QA_NEW_IDENTITY_PER_ADDRESS.burst + 10


@pytest.fixture
def proxied(settings: Settings) -> Settings:
    return dataclasses.replace(settings, trusted_proxies=(FLOODER,))


async def _setup(server: TestServer) -> tuple[QAClient, str, str]:
    """A moderator, one approved question and one open poll."""
    await create_session(server, SESSION)
    token = await moderator_token(server, SESSION)
    mod = await QAClient.join(server, SESSION, moderator_token=token, name="Moa")
    assert (await mod.qa_mod("premod", on=False))["type"] == "qa.ack"
    ask = await mod.ask("Which topic next?")
    created = await mod.request(
        "poll.create", question="Next topic?", kind="single", options=["A", "B"]
    )
    assert created["type"] == "qa.ack", created
    opened = await mod.request("poll.mod", action="open", poll=created["poll"], v=1)
    assert opened["type"] == "qa.ack", opened
    return mod, ask["q"], created["poll"]


async def _votes(server: TestServer, qid: str) -> tuple[int, int]:
    redis = server.app[REDIS]
    count = int(await redis.hget(question_key(SESSION, qid), "votes") or 0)
    return count, int(await redis.scard(voters_key(SESSION, qid)))


async def test_reconnecting_viewer_keeps_identity_and_votes_once(
    make_server: MakeServer, proxied: Settings
) -> None:
    server = await make_server(proxied)
    mod, qid, pid = await _setup(server)
    try:
        first = await QAClient.join(server, SESSION, headers=VIEWER)  # no name chosen
        welcome = next(f for f in first.frames if f["type"] == "welcome")
        token = welcome.get("token")
        assert isinstance(token, str), f"the first welcome carries no token: {welcome}"
        assert first.snapshot is not None
        uid = first.snapshot["me"]["uid"]
        assert (await first.vote(qid))["votes"] == 1
        assert (await first.request("poll.answer", poll=pid, choices=[0]))["type"] == "qa.ack"
        await first.close()

        again = await QAClient.join(server, SESSION, token=token, headers=VIEWER)  # reload
        try:
            assert again.snapshot is not None
            assert again.snapshot["me"]["uid"] == uid
            assert again.snapshot["voted"] == [qid]
            vote = await again.vote(qid)
            assert vote["type"] == "qa.ack", vote
            assert vote["changed"] is False
            answer = await again.request("poll.answer", poll=pid, choices=[1])
            assert answer["type"] == "qa.error", answer
            assert answer["code"] == "answered"
        finally:
            await again.close()
        assert await _votes(server, qid) == (1, 1)
    finally:
        await mod.close()


async def test_fresh_identities_from_one_address_are_limited(
    make_server: MakeServer, proxied: Settings
) -> None:
    server = await make_server(proxied)
    mod, qid, pid = await _setup(server)
    counted = answered = 0
    refusals: list[Frame] = []
    try:
        async with asyncio.timeout(90):
            for _ in range(RECONNECTS):
                stuffer = await QAClient.join(server, SESSION)  # reload without the token
                try:
                    vote = await stuffer.vote(qid)
                    answer = await stuffer.request("poll.answer", poll=pid, choices=[1])
                finally:
                    await stuffer.close()
                for reply in (vote, answer):
                    if reply["type"] != "qa.ack":
                        refusals.append(reply)
                counted += vote["type"] == "qa.ack" and bool(vote.get("changed"))
                answered += answer["type"] == "qa.ack"
        print(f"stuffing: {counted} votes and {answered} poll answers of {RECONNECTS} reloads")
        assert counted <= MAX_STUFFED, f"{counted} of {RECONNECTS} reloads counted a vote"
        assert answered <= MAX_STUFFED, f"{answered} of {RECONNECTS} reloads answered"
        assert refusals
        assert all(r["type"] == "qa.error" and r["code"] == "rate_limited" for r in refusals)
        assert all(r.get("detail") for r in refusals)

        viewer = await QAClient.join(server, SESSION, headers=VIEWER)  # another address
        try:
            vote = await viewer.vote(qid)
            assert vote["type"] == "qa.ack", vote
            answer = await viewer.request("poll.answer", poll=pid, choices=[0])
            assert answer["type"] == "qa.ack", answer
        finally:
            await viewer.close()
        assert await _votes(server, qid) == (counted + 1, counted + 1)
    finally:
        await mod.close()


async def test_votes_from_one_address_stop_at_the_ceiling(
    make_server: MakeServer, proxied: Settings
) -> None:
    server = await make_server(proxied)
    mod, qid, pid = await _setup(server)
    tag = server.app[CHAT].signer.address_tag("198.51.100.7")
    votes = server.app[QA].votes
    attempts = MAX_VOTES_PER_ADDRESS_PER_QUESTION + 20
    counted = 0
    try:
        for i in range(MAX_VOTES_PER_ADDRESS_PER_QUESTION):
            counted += (await votes.vote(SESSION, qid, f"u{i}", address=tag)).changed
        for i in range(MAX_VOTES_PER_ADDRESS_PER_QUESTION, attempts):
            with pytest.raises(QAError, match="from your address") as refused:
                await votes.vote(SESSION, qid, f"u{i}", address=tag)
            assert refused.value.code == "address_full"
        print(f"ceiling: {counted} of {attempts} votes from one address counted")
        assert counted == MAX_VOTES_PER_ADDRESS_PER_QUESTION
        assert (await votes.vote(SESSION, qid, "u0", up=False, address=tag)).changed
        assert (await votes.vote(SESSION, qid, "late", address=tag)).changed  # a place freed
        assert (await votes.vote(SESSION, qid, "elsewhere", address="other")).changed
        polls = server.app[QA].polls
        for i in range(MAX_POLL_ANSWERS_PER_ADDRESS):
            await polls.answer(SESSION, f"u{i}", PollAnswer(pid, (0,)), address=tag)
        with pytest.raises(QAError, match="from your address") as refused:
            await polls.answer(SESSION, "one-more", PollAnswer(pid, (0,)), address=tag)
        assert refused.value.code == "address_full"
        await polls.answer(SESSION, "one-more", PollAnswer(pid, (0,)), address="other")
        answers = await server.app[REDIS].hgetall(poll_answers_key(SESSION, pid))
        assert len(answers) == MAX_POLL_ANSWERS_PER_ADDRESS + 1
    finally:
        await mod.close()
    assert await _votes(server, qid) == (counted + 1, counted + 1)
