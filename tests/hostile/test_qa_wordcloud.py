"""Attacks on a word cloud: one address flooding it from fresh anonymous sockets, oversized
entries and frames, and many distinct entries meant to blow up storage. Each is refused with a
clear error or bounded by a named limit, a viewer elsewhere still answers, and the counts stay
equal to the stored answers."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import Counter

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from stream.chat.protocol import MAX_FRAME_BYTES, MAX_WIRE_BYTES
from stream.common.rates import QA_NEW_IDENTITY_PER_ADDRESS
from stream.config import Settings
from stream.http.keys import QA, REDIS
from stream.qa.keys import poll_answers_key, poll_labels_key, poll_words_key
from stream.qa.limits import (
    MAX_DISTINCT_WORDS_PER_POLL,
    MAX_POLL_ANSWERS_PER_ADDRESS,
    MAX_WORD_LENGTH,
    MAX_WORDS_PER_ANSWER,
    WORD_CLOUD_TOP,
)
from stream.qa.protocol import PollAnswer, QAError, Word, word_key
from tests.chat.client import moderator_token
from tests.conftest import MakeServer, create_session
from tests.qa.client import QAClient

SESSION = "hostile-words"
FLOODER = "127.0.0.1"  # the test's own address: no X-Forwarded-For
VIEWER = {"X-Forwarded-For": "192.0.2.30"}
FLOOD_SOCKETS = 70
# The new-identity burst per address, what its sustained rate adds while the flood runs, slack.
MAX_FLOOD_ACCEPTED = QA_NEW_IDENTITY_PER_ADDRESS.burst + 10


@pytest.fixture
def proxied(settings: Settings) -> Settings:
    return dataclasses.replace(settings, trusted_proxies=(FLOODER,))


async def _open_cloud(server: TestServer) -> tuple[QAClient, str]:
    await create_session(server, SESSION)
    token = await moderator_token(server, SESSION)
    mod = await QAClient.join(server, SESSION, moderator_token=token, name="Moa")
    created = await mod.request("poll.create", question="Ett ord?", kind="words")
    assert created["type"] == "qa.ack", created
    pid = str(created["poll"])
    assert (await mod.request("poll.mod", action="open", poll=pid, v=1))["type"] == "qa.ack"
    return mod, pid


async def _reconciled(server: TestServer, pid: str) -> dict[str, int]:
    """The cloud's counts, asserted equal to the entries of the stored answers."""
    redis = server.app[REDIS]
    raw = await redis.zrange(poll_words_key(SESSION, pid), 0, -1, withscores=True)
    scores = {key.decode(): int(score) for key, score in raw}
    stored = await redis.hgetall(poll_answers_key(SESSION, pid))
    assert scores == dict(Counter(w for a in stored.values() for w in json.loads(a)))
    return scores


async def test_flood_from_one_address_is_refused_viewer_still_answers(
    make_server: MakeServer, proxied: Settings
) -> None:
    server = await make_server(proxied)
    mod, pid = await _open_cloud(server)
    accepted = 0
    codes: Counter[str] = Counter()
    try:
        async with asyncio.timeout(90):
            for i in range(FLOOD_SOCKETS):
                flooder = await QAClient.join(server, SESSION)  # a fresh anonymous identity
                try:
                    reply = await flooder.request(
                        "poll.answer", poll=pid, words=[f"spam{i}", "spam", "SPAM!"]
                    )
                finally:
                    await flooder.close()
                if reply["type"] == "qa.ack":
                    accepted += 1
                else:
                    assert reply["detail"], reply
                    codes[str(reply["code"])] += 1
        print(f"word cloud flood: {accepted} of {FLOOD_SOCKETS} fresh sockets counted, {codes}")
        assert accepted <= MAX_FLOOD_ACCEPTED
        assert set(codes) == {"rate_limited"}
        viewer = await QAClient.join(server, SESSION, headers=VIEWER)
        try:
            reply = await viewer.request("poll.answer", poll=pid, words=["Fika"])
            assert reply["type"] == "qa.ack", reply
        finally:
            await viewer.close()
        scores = await _reconciled(server, pid)
        assert scores["spam"] == accepted
        assert scores["fika"] == 1
    finally:
        await mod.close()


async def test_oversized_entries_and_frames_are_refused(server: TestServer) -> None:
    mod, pid = await _open_cloud(server)
    viewer = await QAClient.join(server, SESSION)
    try:
        too_long = "å" * (MAX_WORD_LENGTH + 1)
        reply = await viewer.request("poll.answer", poll=pid, words=[too_long])
        assert (reply["code"], reply["detail"]) == (
            "too_long",
            f"a word is longer than {MAX_WORD_LENGTH} characters",
        )
        many = [f"w{i}" for i in range(MAX_WORDS_PER_ANSWER + 1)]
        reply = await viewer.request("poll.answer", poll=pid, words=many)
        assert reply["detail"] == f"words must be a list of 1 to {MAX_WORDS_PER_ANSWER} strings"
        nested = await viewer.request("poll.answer", poll=pid, words=[["a"], {"b": 1}])
        assert nested["detail"] == "words must be strings"
        # Long but within a frame: refused by the word limit. Over a frame: an error frame.
        # Over what the socket reads at all: closed with 1009. Nothing is counted.
        reply = await viewer.request("poll.answer", poll=pid, words=["x" * 3000])
        assert reply["code"] == "too_long"
        frame = {"type": "poll.answer", "cid": "big", "poll": pid}
        await viewer.ws.send_json({**frame, "words": ["x" * MAX_FRAME_BYTES]})
        refused = await viewer.frame("error", code="too_large")
        assert refused["detail"] == f"frame is larger than {MAX_FRAME_BYTES} bytes"
        await viewer.ws.send_json({**frame, "words": ["x" * MAX_WIRE_BYTES]})
        await viewer.until(lambda: viewer.ws.closed, what="socket closed")
        assert viewer.ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
        assert await _reconciled(server, pid) == {}
    finally:
        await viewer.close()
        await mod.close()


async def test_distinct_entries_are_capped_and_counts_stay_exact(server: TestServer) -> None:
    """Many people each giving new entries: the poll keeps at most the named number of
    distinct entries; known entries still count, and viewers get only the top ones."""
    mod, pid = await _open_cloud(server)
    polls = server.app[QA].polls
    try:
        people = MAX_DISTINCT_WORDS_PER_POLL // 2 + 20  # two new entries each

        def answer(i: int) -> PollAnswer:
            words = [f"ord {i} {j} " + "z" * (MAX_WORD_LENGTH - 12) for j in range(2)]
            words.append("Alla")  # one entry everybody gives
            return PollAnswer(pid, words=tuple(Word(w, word_key(w)) for w in words))

        async with asyncio.timeout(60):
            for start in range(0, people, 50):
                await asyncio.gather(
                    *(
                        polls.answer_words(SESSION, f"u{i}", answer(i), address=f"a{i}")
                        for i in range(start, min(start + 50, people))
                    )
                )
        redis = server.app[REDIS]
        assert await redis.zcard(poll_words_key(SESSION, pid)) == MAX_DISTINCT_WORDS_PER_POLL
        assert await redis.hlen(poll_labels_key(SESSION, pid)) == MAX_DISTINCT_WORDS_PER_POLL
        scores = await _reconciled(server, pid)
        assert scores["alla"] == people  # a known entry is still counted when the poll is full
        # Viewers get the top entries only.
        await mod.until(lambda: len(mod.state()["polls"][pid].get("words", [])) == WORD_CLOUD_TOP)
        assert mod.state()["polls"][pid]["words"][0] == ["Alla", people]
        # One address answers at most MAX_POLL_ANSWERS_PER_ADDRESS times.
        for i in range(MAX_POLL_ANSWERS_PER_ADDRESS):
            await polls.answer_words(SESSION, f"same{i}", answer(0), address="one")
        with pytest.raises(QAError) as refused:
            await polls.answer_words(SESSION, "same-more", answer(0), address="one")
        assert refused.value.code == "address_full"
        await _reconciled(server, pid)
    finally:
        await mod.close()
