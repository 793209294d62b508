"""Counts stay exact under the limits: after a burst of concurrent votes from many identities
on two servers sharing Redis, each question's count equals its distinct accepted voters."""

from __future__ import annotations

import asyncio
import dataclasses
import functools

from stream.config import Settings
from stream.http.keys import REDIS
from stream.qa.keys import question_key, vote_addresses_key, voters_key
from tests.chat.client import moderator_token
from tests.conftest import MakeServer, create_session
from tests.qa.client import QAClient

SESSION = "hostile-count"
VOTERS = 40
QUESTIONS = 4


async def test_vote_counts_equal_distinct_accepted_voters(
    make_server: MakeServer, settings: Settings
) -> None:
    proxied = dataclasses.replace(settings, trusted_proxies=("127.0.0.1",))
    servers = [await make_server(proxied), await make_server(proxied)]
    await create_session(servers[0], SESSION)
    token = await moderator_token(servers[0], SESSION)
    mod = await QAClient.join(servers[0], SESSION, moderator_token=token, name="Moa")
    voters: list[QAClient] = []
    try:
        assert (await mod.qa_mod("premod", on=False))["type"] == "qa.ack"
        qids = [(await mod.ask(f"Question {i}?"))["q"] for i in range(QUESTIONS)]
        for i in range(VOTERS):  # every voter its own address, half on each server
            headers = {"X-Forwarded-For": f"10.9.{i // 200}.{i % 200 + 1}"}
            voters.append(await QAClient.join(servers[i % 2], SESSION, headers=headers))

        async def burst(index: int, voter: QAClient) -> set[str]:
            """Vote for every question at once, repeat one, withdraw one: what is counted."""
            replies = await asyncio.gather(*(voter.vote(q) for q in qids), voter.vote(qids[0]))
            assert all(r["type"] == "qa.ack" for r in replies), replies
            mine = {r["q"] for r in replies if r["voted"]}
            if index % 3 == 0:
                withdrawn = await voter.vote(qids[1], up=False)
                assert withdrawn["type"] == "qa.ack", withdrawn
                mine.discard(qids[1])
            return mine

        async with asyncio.timeout(60):
            counted = await asyncio.gather(*(burst(i, v) for i, v in enumerate(voters)))
        redis = servers[0].app[REDIS]
        for qid in qids:
            want = sum(1 for mine in counted if qid in mine)
            votes = int(await redis.hget(question_key(SESSION, qid), "votes"))
            members = await redis.scard(voters_key(SESSION, qid))
            by_address = await redis.hgetall(vote_addresses_key(SESSION, qid))
            per_address = sum(int(v) for k, v in by_address.items() if k.startswith(b"a:"))
            print(f"{qid}: counted {votes}, voters {members}, accepted {want}")
            assert votes == members == want == per_address
            await mod.until(lambda q=qid, n=want: mod.question(q).get("votes") == n)
            # Counts are published per tick by whichever node took the votes: every socket,
            # on either server, ends on the exact count.
            for voter in voters:
                await voter.until(functools.partial(_shows, voter, qid, want))
    finally:
        for voter in voters:
            await voter.close()
        await mod.close()


def _shows(client: QAClient, qid: str, votes: int) -> bool:
    return client.question(qid).get("votes") == votes
