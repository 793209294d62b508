"""Rating polls (1 to 5) and word clouds over real sockets on two servers sharing a real Redis:
exact counts under concurrent answers (reconciled with the stored answers), the validation
errors as ``qa.error`` frames, hiding an entry, and a closed poll's result on screen until a
moderator clears it, also across a server restart."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import Counter

import pytest
from aiohttp.test_utils import TestServer

from stream.config import Settings
from stream.http.keys import REDIS
from stream.qa.keys import (
    poll_answers_key,
    poll_counts_key,
    poll_key,
    poll_labels_key,
    poll_screen_key,
    poll_words_key,
)
from stream.qa.limits import MAX_WORD_LENGTH, MAX_WORDS_PER_ANSWER, RATING_OPTIONS
from tests.chat.client import moderator_token
from tests.conftest import MakeServer, create_session
from tests.qa.client import QAClient

SESSION = "poll-kinds"
VIEWERS = 24


@pytest.fixture
def proxied(settings: Settings) -> Settings:
    """X-Forwarded-For names each viewer's address (every viewer its own)."""
    return dataclasses.replace(settings, trusted_proxies=("127.0.0.1",))


async def _viewers(servers: list[TestServer], count: int) -> list[QAClient]:
    viewers = []
    for i in range(count):
        headers = {"X-Forwarded-For": f"10.7.{i // 200}.{i % 200 + 1}"}
        viewers.append(await QAClient.join(servers[i % len(servers)], SESSION, headers=headers))
    return viewers


async def _create_open(mod: QAClient, **params: object) -> str:
    created = await mod.request("poll.create", **params)
    assert created["type"] == "qa.ack", created
    pid = str(created["poll"])
    opened = await mod.request("poll.mod", action="open", poll=pid, v=1)
    assert opened["type"] == "qa.ack", opened
    return pid


async def test_rating_counts_exact_under_concurrent_answers(
    make_server: MakeServer, proxied: Settings
) -> None:
    servers = [await make_server(proxied), await make_server(proxied)]
    await create_session(servers[0], SESSION)
    token = await moderator_token(servers[0], SESSION)
    mod = await QAClient.join(servers[0], SESSION, moderator_token=token)
    viewers = await _viewers(servers, VIEWERS)
    try:
        with_options = await mod.request(
            "poll.create", question="Betyg?", kind="rating", options=["a", "b"]
        )
        assert with_options["type"] == "qa.error"
        assert with_options["detail"] == "a rating poll takes no options"
        pid = await _create_open(mod, question="Hur var passet?", kind="rating")
        assert mod.state()["polls"][pid]["options"] == list(RATING_OPTIONS)
        # Every viewer answers at once, twice (one counts), rating i % 5 + 1.
        async with asyncio.timeout(60):
            replies = await asyncio.gather(
                *(
                    v.request("poll.answer", poll=pid, choices=[i % 5])
                    for _ in range(2)
                    for i, v in enumerate(viewers)
                )
            )
        acks = [r for r in replies if r["type"] == "qa.ack"]
        assert len(acks) == VIEWERS
        assert {r["code"] for r in replies if r["type"] == "qa.error"} == {"answered"}
        want = [sum(1 for i in range(VIEWERS) if i % 5 == k) for k in range(5)]
        # Reconciled: the counts equal the stored answers, and the voters their number.
        redis = servers[0].app[REDIS]
        stored = await redis.hgetall(poll_answers_key(SESSION, pid))
        tally = Counter(c for a in stored.values() for c in json.loads(a))
        counts = await redis.hgetall(poll_counts_key(SESSION, pid))
        assert [int(counts.get(str(k).encode(), 0)) for k in range(5)] == want
        assert [tally[k] for k in range(5)] == want
        assert int(await redis.hget(poll_key(SESSION, pid), "voters")) == VIEWERS == len(stored)
        for client in (mod, viewers[0], viewers[1]):  # both servers' sockets end exact
            await client.until(lambda c=client: c.state()["polls"][pid].get("counts") == want)
        # One rating only, from 1 to 5.
        late = await QAClient.join(servers[1], SESSION, headers={"X-Forwarded-For": "10.8.0.1"})
        try:
            two = await late.request("poll.answer", poll=pid, choices=[0, 4])
            assert two["code"] == "one_choice"
            six = await late.request("poll.answer", poll=pid, choices=[5])
            assert six["detail"] == "choices must be a list of option numbers"
            words = await late.request("poll.answer", poll=pid, words=["fem"])
            assert words["detail"] == "this poll is answered with choices"
        finally:
            await late.close()
    finally:
        for viewer in viewers:
            await viewer.close()
        await mod.close()


async def test_word_cloud_counts_normalised_entries_exactly(
    make_server: MakeServer, proxied: Settings
) -> None:
    servers = [await make_server(proxied), await make_server(proxied)]
    await create_session(servers[0], SESSION)
    token = await moderator_token(servers[0], SESSION)
    mod = await QAClient.join(servers[0], SESSION, moderator_token=token)
    viewers = await _viewers(servers, VIEWERS)
    hostile = '</script><b>"@words@"</b>'
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "Kaffe")
    spellings = ["Kaffe", "KAFFE ", " kaffe", full_width]  # one entry
    try:
        pid = await _create_open(mod, question="Ett ord om dagen?", kind="words")
        assert mod.state()["polls"][pid]["words"] == []

        def words_of(i: int) -> list[str]:
            own = [spellings[i % len(spellings)], "Öl" if i % 2 else "öl"]
            return [*own, hostile] if i % 3 == 0 else own

        async with asyncio.timeout(60):
            replies = await asyncio.gather(
                *(
                    v.request("poll.answer", poll=pid, words=words_of(i))
                    for _ in range(2)
                    for i, v in enumerate(viewers)
                )
            )
        assert sum(1 for r in replies if r["type"] == "qa.ack") == VIEWERS
        assert {r["code"] for r in replies if r["type"] == "qa.error"} == {"answered"}
        hostile_count = sum(1 for i in range(VIEWERS) if i % 3 == 0)
        redis = servers[0].app[REDIS]
        scores = {
            k.decode(): int(s)
            for k, s in await redis.zrange(poll_words_key(SESSION, pid), 0, -1, withscores=True)
        }
        stored = await redis.hgetall(poll_answers_key(SESSION, pid))
        tally = Counter(w for a in stored.values() for w in json.loads(a))
        assert scores == dict(tally)
        assert scores == {"kaffe": VIEWERS, "öl": VIEWERS, hostile.lower(): hostile_count}
        labels = await redis.hgetall(poll_labels_key(SESSION, pid))
        assert labels[b"kaffe"].decode() in {"Kaffe", "KAFFE", "kaffe", full_width}
        want = {
            labels[b"kaffe"].decode(): VIEWERS,
            labels["öl".encode()].decode(): VIEWERS,
            hostile: hostile_count,
        }
        for client in (mod, viewers[0], viewers[1]):
            await client.until(
                lambda c=client: {w: n for w, n in c.state()["polls"][pid].get("words", [])} == want
            )
        # The moderator hides the hostile entry (by any spelling): no viewer gets it again.
        viewer = viewers[1]
        hide = await viewer.request("poll.mod", action="hide", poll=pid, word=hostile.upper())
        assert hide["code"] == "forbidden"
        hidden = await mod.request("poll.mod", action="hide", poll=pid, word=hostile.upper())
        assert hidden["type"] == "qa.ack", hidden
        await viewer.until(lambda: len(viewer.state()["polls"][pid]["words"]) == 2)
        again = await mod.request("poll.mod", action="hide", poll=pid, word=hostile)
        assert again["code"] == "not_found"
        fresh = await QAClient.join(servers[1], SESSION, headers={"X-Forwarded-For": "10.8.0.2"})
        try:
            assert fresh.snapshot is not None
            assert "script" not in json.dumps(fresh.snapshot["polls"])
            bad = {
                "choices": [0],
                "words": [],
                "words ": ["a", "b", "c", "d"],
                "long": ["x" * (MAX_WORD_LENGTH + 1)],
                "blank": ["  \u200b\t "],
                "number": [7],
            }
            details = {}
            for name, value in bad.items():
                params = {"choices": value} if name == "choices" else {"words": value}
                reply = await fresh.request("poll.answer", poll=pid, **params)
                assert reply["type"] == "qa.error", (name, reply)
                details[name] = reply["detail"]
            assert details == {
                "choices": "a word cloud is answered with words",
                "words": f"words must be a list of 1 to {MAX_WORDS_PER_ANSWER} strings",
                "words ": f"words must be a list of 1 to {MAX_WORDS_PER_ANSWER} strings",
                "long": f"a word is longer than {MAX_WORD_LENGTH} characters",
                "blank": "a word is empty",
                "number": "words must be strings",
            }
            # Just under the limit, after trimming, counts.
            fits = " " + "y" * MAX_WORD_LENGTH + "  "
            reply = await fresh.request("poll.answer", poll=pid, words=[fits, fits.upper()])
            assert reply["type"] == "qa.ack", reply
            assert reply["words"] == ["y" * MAX_WORD_LENGTH]
        finally:
            await fresh.close()
    finally:
        for viewer in viewers:
            await viewer.close()
        await mod.close()


async def test_closed_poll_stays_on_screen_until_cleared_also_after_restart(
    make_server: MakeServer, settings: Settings
) -> None:
    first = await make_server(settings)
    await create_session(first, SESSION)
    token = await moderator_token(first, SESSION)
    mod = await QAClient.join(first, SESSION, moderator_token=token)
    viewer = await QAClient.join(first, SESSION)
    try:
        pid = await _create_open(mod, question="Betyg på dagen?", kind="rating")
        assert (await viewer.request("poll.answer", poll=pid, choices=[3]))["type"] == "qa.ack"
        closed = await mod.request("poll.mod", action="close", poll=pid, v=2)
        assert closed["type"] == "qa.ack", closed
        await viewer.until(lambda: viewer.state()["screen"] == pid)
        assert viewer.state()["polls"][pid]["counts"] == [0, 0, 0, 1, 0]
        # Only moderators clear, and only the poll on screen.
        assert (await viewer.request("poll.mod", action="clear", poll=pid))["code"] == "forbidden"
        other = await mod.request("poll.mod", action="clear", poll="p999")
        assert other["code"] == "not_on_screen"
    finally:
        await viewer.close()
        await mod.close()
    # A restart: the server goes away; a new one on the same Redis still shows it.
    await first.close()
    second = await make_server(settings)
    mod = await QAClient.join(second, SESSION, moderator_token=token)
    viewer = await QAClient.join(second, SESSION)
    try:
        assert viewer.snapshot is not None
        assert viewer.snapshot["screen"] == pid
        cleared = await mod.request("poll.mod", action="clear", poll=pid)
        assert cleared["type"] == "qa.ack", cleared
        await viewer.until(lambda: viewer.state()["screen"] is None)
        assert await second.app[REDIS].get(poll_screen_key(SESSION)) is None
        assert (await viewer.sync())["screen"] is None
        twice = await mod.request("poll.mod", action="clear", poll=pid)
        assert twice["code"] == "not_on_screen"
        # Opening it again takes nothing off screen that is not there; closing puts it back,
        # and opening it takes it off.
        assert (await mod.request("poll.mod", action="open", poll=pid, v=3))["type"] == "qa.ack"
        assert (await mod.request("poll.mod", action="close", poll=pid, v=4))["type"] == "qa.ack"
        await viewer.until(lambda: viewer.state()["screen"] == pid)
        assert (await mod.request("poll.mod", action="open", poll=pid, v=5))["type"] == "qa.ack"
        await viewer.until(lambda: viewer.state()["screen"] is None)
        bad = await mod.request("poll.mod", action="clear")
        assert bad["detail"] == "poll is malformed"
    finally:
        await viewer.close()
        await mod.close()
