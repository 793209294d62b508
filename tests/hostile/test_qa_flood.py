"""One address flooding the Q&A from fresh anonymous sockets: refused with clear errors, while
a viewer on another address can still ask and vote, and nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from aiohttp.test_utils import TestServer

from stream.chat.identity import Identity
from stream.common.rates import QA_ASK_PER_ADDRESS, QA_NEW_IDENTITY_PER_ADDRESS
from stream.config import Settings
from stream.http.keys import CHAT, QA, REDIS
from stream.qa.keys import order_key
from stream.qa.limits import MAX_QUESTIONS_PER_SESSION
from stream.qa.protocol import Ask, QAError
from tests.chat.client import Frame, moderator_token
from tests.conftest import MakeServer, create_session
from tests.qa.client import QAClient

SESSION = "hostile-qa"
FLOOD_ATTEMPTS = 300
ASKS_PER_SOCKET = 5
FLOODER = "127.0.0.1"  # the test's own address: no X-Forwarded-For
VIEWER = {"X-Forwarded-For": "192.0.2.10"}
VOTER = {"X-Forwarded-For": "192.0.2.11"}
# A burst per address, what the sustained rate adds while the flood runs, and some slack.
MAX_FLOOD_ACCEPTED = QA_ASK_PER_ADDRESS.burst + 15
REFUSAL_CODES = {"rate_limited", "address_full"}
FILL_AT_ONCE = 100


@pytest.fixture
def proxied(settings: Settings) -> Settings:
    """The test client stands in for a proxy: X-Forwarded-For names the viewer's address."""
    return dataclasses.replace(settings, trusted_proxies=(FLOODER,))


async def _open_session(server: TestServer) -> QAClient:
    await create_session(server, SESSION)
    token = await moderator_token(server, SESSION)
    mod = await QAClient.join(server, SESSION, moderator_token=token, name="Moa")
    assert (await mod.qa_mod("premod", on=False))["type"] == "qa.ack"
    return mod


async def _stored(server: TestServer) -> set[str]:
    raw = await server.app[REDIS].zrange(order_key(SESSION), 0, -1)
    return {q.decode() for q in raw}


def _clear(reply: Frame) -> bool:
    return (
        reply.get("type") == "qa.error"
        and reply.get("code") in REFUSAL_CODES
        and bool(reply.get("detail"))
    )


async def test_flooder_on_fresh_sockets_is_refused_viewer_still_asks(
    make_server: MakeServer, proxied: Settings
) -> None:
    server = await make_server(proxied)
    mod = await _open_session(server)
    accepted: list[str] = []
    refused: list[Frame] = []
    try:
        async with asyncio.timeout(90):
            for round_ in range(FLOOD_ATTEMPTS // ASKS_PER_SOCKET):
                flooder = await QAClient.join(server, SESSION)  # a new anonymous identity
                try:
                    for i in range(ASKS_PER_SOCKET):
                        reply = await flooder.ask(f"flood {round_}-{i}", anon=True)
                        if reply["type"] == "qa.ack":
                            accepted.append(reply["q"])
                        else:
                            refused.append(reply)
                finally:
                    await flooder.close()
        print(f"flood: {len(accepted)} of {FLOOD_ATTEMPTS} accepted, {len(refused)} refused")
        assert refused, f"all {len(accepted)} flood questions were accepted"
        assert all(_clear(r) for r in refused), refused[:3]
        assert len(accepted) <= MAX_FLOOD_ACCEPTED
        assert QA_NEW_IDENTITY_PER_ADDRESS.burst >= FLOOD_ATTEMPTS // ASKS_PER_SOCKET // 2

        viewer = await QAClient.join(server, SESSION, headers=VIEWER)
        voter = await QAClient.join(server, SESSION, headers=VOTER)
        try:
            ack = await viewer.ask("Will the slides be shared?", anon=True)
            assert ack["type"] == "qa.ack", ack
            vote = await voter.vote(ack["q"])
            assert vote["type"] == "qa.ack", vote
            assert vote["votes"] == 1
            accepted.append(ack["q"])
        finally:
            await viewer.close()
            await voter.close()
        assert set(accepted) <= await _stored(server)  # nothing acknowledged is lost
    finally:
        await mod.close()


async def test_full_share_refuses_only_the_flooding_address(
    make_server: MakeServer, proxied: Settings
) -> None:
    server = await make_server(proxied)
    mod = await _open_session(server)
    app = server.app
    flooder = Identity("flooder", "", "viewer", app[CHAT].signer.address_tag(FLOODER))
    stored_by_flooder = 0
    try:
        # The flooder's questions, asked over a long time (under every rate limit).
        for i in range(MAX_QUESTIONS_PER_SESSION):
            try:
                await app[QA].questions.ask(SESSION, flooder, Ask(f"filler {i}"), f"c{i}", None)
            except QAError:
                break
            stored_by_flooder += 1
        print(f"share: {stored_by_flooder} of cap {MAX_QUESTIONS_PER_SESSION} from one address")
        again = await QAClient.join(server, SESSION)
        viewer = await QAClient.join(server, SESSION, headers=VIEWER)
        try:
            refused = await again.ask("One more from the flooder", anon=True)
            assert refused["type"] == "qa.error", refused
            assert refused["code"] == "address_full", refused
            ack = await viewer.ask("And mine, from another address?", anon=True)
            assert ack["type"] == "qa.ack", ack
        finally:
            await again.close()
            await viewer.close()
        assert stored_by_flooder < MAX_QUESTIONS_PER_SESSION
    finally:
        await mod.close()


async def test_rejected_questions_do_not_count_toward_the_cap(
    make_server: MakeServer, proxied: Settings
) -> None:
    server = await make_server(proxied)
    mod = await _open_session(server)
    questions = server.app[QA].questions
    tags = [server.app[CHAT].signer.address_tag(f"203.0.113.{i}") for i in range(1, 21)]
    try:
        assert (await mod.qa_mod("premod", on=True))["type"] == "qa.ack"
        for start in range(0, MAX_QUESTIONS_PER_SESSION, FILL_AT_ONCE):
            # Many addresses, each within its share.
            await asyncio.gather(
                *(
                    questions.ask(
                        SESSION,
                        Identity(f"u{i}", "", "viewer", tags[i % len(tags)]),
                        Ask(f"question {i}"),
                        "c",
                        None,
                    )
                    for i in range(start, min(start + FILL_AT_ONCE, MAX_QUESTIONS_PER_SESSION))
                )
            )
        viewer = await QAClient.join(server, SESSION, headers=VIEWER)
        try:
            full = await viewer.ask("Is there room for one more?", anon=True)
            assert full["type"] == "qa.error", full
            assert full["code"] == "full"
            assert (await mod.qa_mod("reject", q="q1", v=1))["type"] == "qa.ack"
            again = await viewer.ask("Is there room now?", anon=True)
            assert again["type"] == "qa.ack", again  # the rejected one left a place
            assert (await viewer.ask("And another?", anon=True))["code"] == "full"
            assert (await mod.qa_mod("reopen", q="q1", v=2))["type"] == "qa.ack"
            assert len(await _stored(server)) == MAX_QUESTIONS_PER_SESSION + 1
        finally:
            await viewer.close()
    finally:
        await mod.close()
