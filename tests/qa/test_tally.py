"""Vote counts published per tick: fewer stream entries than votes under load, at once when
quiet, and the last published count of every question equal to its count in Redis."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from stream.chat.identity import Identity
from stream.chat.keys import stream_key
from stream.qa.keys import question_key
from stream.qa.protocol import Ask
from stream.qa.questions import Questions
from stream.qa.tally import Tally
from stream.qa.votes import Votes
from stream.store import Redis, connect

SESSION = "tally"
WAIT = 5.0


async def _seed(redis: Redis, count: int) -> list[str]:
    questions = Questions(redis)
    qids = []
    for n in range(count):
        who = Identity(f"mod{n}", f"Moderator {n}", "moderator")
        qids.append((await questions.ask(SESSION, who, Ask(f"Question {n}?"), f"c{n}", None)).qid)
    return qids


async def _published(redis: Redis) -> list[dict[str, Any]]:
    rows: Any = await redis.xrange(stream_key(SESSION))
    events = [json.loads(fields[b"d"]) for _, fields in rows if b"d" in fields]
    return [e for e in events if e.get("action") == "votes"]


async def _settled(tally: Tally) -> None:
    async with asyncio.timeout(WAIT):
        while tally._sessions:
            await asyncio.sleep(0.01)


async def test_burst_is_published_per_tick_and_ends_exact(redis_url: str) -> None:
    redis = connect(redis_url)
    tally = Tally(redis, tick_ms=50)
    votes = Votes(redis, publish=False)
    try:
        qids = await _seed(redis, 3)

        async def vote(n: int) -> None:
            qid = qids[n % 3]
            if (await votes.vote(SESSION, qid, f"voter{n}")).changed:
                tally.changed(SESSION, qid)

        await asyncio.gather(*(vote(n) for n in range(300)))
        await _settled(tally)
        published = await _published(redis)
        assert len(published) < 300 / 2
        last = {str(e["q"]): e["votes"] for e in published}
        for qid in qids:
            stored: Any = await redis.hget(question_key(SESSION, qid), "votes")
            assert last[qid] == int(stored) == 100
        for qid in qids:  # never a smaller count after a larger one
            counts = [e["votes"] for e in published if e["q"] == qid]
            assert counts == sorted(counts)
    finally:
        await tally.close()
        await redis.aclose()


async def test_vote_in_a_quiet_session_is_published_at_once(redis_url: str) -> None:
    redis = connect(redis_url)
    tally = Tally(redis, tick_ms=1000)
    votes = Votes(redis, publish=False)
    try:
        (qid,) = await _seed(redis, 1)
        assert (await votes.vote(SESSION, qid, "ada")).changed
        tally.changed(SESSION, qid)
        async with asyncio.timeout(0.5):  # well inside the tick
            while not await _published(redis):
                await asyncio.sleep(0.01)
        assert await _published(redis) == [{"type": "qa", "action": "votes", "q": qid, "votes": 1}]
    finally:
        await tally.close()
        await redis.aclose()


async def test_quiet_vote_publishes_its_own_count_busy_ones_wait(redis_url: str) -> None:
    redis = connect(redis_url)
    tally = Tally(redis, tick_ms=200)
    votes = Votes(redis, publish=False)
    try:
        qid, other = await _seed(redis, 2)
        assert tally.inline(SESSION)  # quiet: the vote script appends the count itself
        first = await votes.vote(SESSION, qid, "ada", publish=True)
        assert first.entry_id is not None
        assert not tally.inline(SESSION)  # within the tick: the tally publishes it
        second = await votes.vote(SESSION, other, "bo", publish=False)
        assert second.entry_id is None
        tally.changed(SESSION, other)
        assert [e["q"] for e in await _published(redis)] == [qid]
        await _settled(tally)
        assert [(e["q"], e["votes"]) for e in await _published(redis)] == [(qid, 1), (other, 1)]
    finally:
        await tally.close()
        await redis.aclose()
