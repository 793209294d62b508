"""Poll results coalesced per tick, over real sockets on two servers sharing a real Redis: a
burst of answers to a rating poll and a word cloud appends far fewer ``results`` entries than
answers, and the last one of each poll holds exactly what Redis counts (every socket ends
there)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest

from stream.chat.keys import stream_key
from stream.config import Settings
from stream.http.keys import REDIS
from stream.qa.keys import poll_counts_key, poll_key
from stream.qa.tally import VOTE_TICK_ENV
from stream.qa.wordcloud import WordCloud
from stream.store import Redis
from tests.chat.client import moderator_token
from tests.conftest import MakeServer, create_session
from tests.qa.client import QAClient

SESSION = "poll-tally"
VIEWERS = 40
TICK_MS = 200  # long enough that a loaded machine still puts many answers in one tick


@pytest.fixture
def proxied(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv(VOTE_TICK_ENV, str(TICK_MS))
    return dataclasses.replace(settings, trusted_proxies=("127.0.0.1",))


async def _results(redis: Redis, pid: str) -> list[dict[str, Any]]:
    rows: Any = await redis.xrange(stream_key(SESSION))
    events = [json.loads(fields[b"d"]) for _, fields in rows if b"d" in fields]
    return [e for e in events if e.get("action") == "results" and e.get("poll") == pid]


async def test_a_burst_of_answers_publishes_per_tick_and_ends_exact(
    make_server: MakeServer, proxied: Settings
) -> None:
    servers = [await make_server(proxied), await make_server(proxied)]
    await create_session(servers[0], SESSION)
    token = await moderator_token(servers[0], SESSION)
    mod = await QAClient.join(servers[0], SESSION, moderator_token=token)
    viewers = []
    for i in range(VIEWERS):
        headers = {"X-Forwarded-For": f"10.9.0.{i + 1}"}
        viewers.append(await QAClient.join(servers[i % 2], SESSION, headers=headers))
    try:
        pids = {}
        for kind in ("rating", "words"):
            created = await mod.request("poll.create", question=f"{kind}?", kind=kind)
            pids[kind] = str(created["poll"])
            opened = await mod.request("poll.mod", action="open", poll=pids[kind], v=1)
            assert opened["type"] == "qa.ack", opened
        async with asyncio.timeout(60):
            replies = await asyncio.gather(
                *(v.request("poll.answer", poll=pids["rating"], choices=[i % 5])
                  for i, v in enumerate(viewers)),
                *(v.request("poll.answer", poll=pids["words"], words=[f"ord{i % 7}", "fika"])
                  for i, v in enumerate(viewers)),
            )  # fmt: skip
        assert [r["type"] for r in replies] == ["qa.ack"] * (2 * VIEWERS), replies
        redis = servers[0].app[REDIS]
        counts = await redis.hgetall(poll_counts_key(SESSION, pids["rating"]))
        want_counts = [int(counts.get(str(k).encode(), 0)) for k in range(5)]
        assert sum(want_counts) == VIEWERS
        want_words = [list(w) for w in await WordCloud(redis).top(SESSION, pids["words"])]
        assert want_words[0] == ["fika", VIEWERS]
        expected = (("rating", "counts", want_counts), ("words", "words", want_words))

        async def exact() -> bool:
            lasts = [await _results(redis, pids[kind]) for kind, _, _ in expected]
            return all(
                rows and rows[-1][field] == want
                for rows, (_, field, want) in zip(lasts, expected, strict=True)
            )

        async with asyncio.timeout(10):  # both servers' ticks have gone out
            while not await exact():
                await asyncio.sleep(0.05)
        for kind, field, want in expected:
            published = await _results(redis, pids[kind])
            # Far fewer entries than answers, and the last exact.
            assert 1 <= len(published) <= VIEWERS // 4, (kind, len(published))
            assert published[-1][field] == want, kind
            assert published[-1]["voters"] == VIEWERS
            assert int(await redis.hget(poll_key(SESSION, pids[kind]), "voters")) == VIEWERS
        for client in (mod, viewers[0], viewers[1]):  # sockets of both servers end exact
            await client.until(
                lambda c=client: (
                    c.state()["polls"][pids["rating"]].get("counts") == want_counts
                    and c.state()["polls"][pids["words"]].get("words") == want_words
                )
            )
    finally:
        for viewer in viewers:
            await viewer.close()
        await mod.close()
