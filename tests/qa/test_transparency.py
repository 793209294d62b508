"""Transparent moderation: counts (waiting, merged, declined questions; removed chat messages)
pushed on the session socket, from Redis, coalesced, never with a text or a name."""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from stream.chat.identity import Identity as ChatIdentity
from stream.chat.keys import deleted_key
from stream.config import Settings
from stream.http.keys import REDIS
from stream.qa.keys import states_key
from stream.qa.moderation import QAModeration
from stream.qa.protocol import Ask, QAError, QAModerate
from stream.qa.questions import Questions
from stream.qa.snapshot import load_questions
from stream.qa.transparency import ModerationCounts, read_counts, tally
from stream.store import Redis
from tests.chat.client import ChatClient, moderator_token
from tests.conftest import MakeServer, create_session
from tests.qa.client import QAClient

SESSION = "open-mod"


def test_tally_sorts_the_states_into_the_counts_the_audience_sees() -> None:
    by_state = {
        "pending": 3,
        "approved": 5,
        "answered": 1,
        "rejected": 2,
        "dismissed": 1,
        "merged": 4,
        "odd": 1,  # an unknown state reads as pending
    }
    counts = tally(by_state, removed=4, at=b"1-0")
    assert counts == ModerationCounts(pending=4, merged=4, declined=3, removed=4, at=b"1-0")
    assert counts.frame() == {
        "type": "moderation",
        "pending": 4,
        "merged": 4,
        "declined": 3,
        "removed": 4,
    }
    with pytest.raises(ValueError, match=r"^counts must not be negative$"):
        ModerationCounts(pending=-1)


def _counts(client: ChatClient) -> list[dict[str, object]]:
    return [f for f in client.frames if f.get("type") == "moderation"]


async def _moderated_session(server: TestServer) -> tuple[QAClient, QAClient]:
    """Three waiting questions, one of them rejected and one merged; one chat message deleted."""
    await create_session(server, SESSION)
    mod = await QAClient.join(
        server, SESSION, moderator_token=await moderator_token(server, SESSION), name="Moa"
    )
    viewer = await QAClient.join(server, SESSION, name="Ada")
    qids = []
    for text in ("Secret question one?", "Secret question two?", "Secret question three?"):
        ack = await viewer.ask(text)
        assert ack["state"] == "pending", ack
        qids.append(ack["q"])
    assert (await mod.qa_mod("reject", q=qids[0], v=1))["type"] == "qa.ack"
    await mod.until(lambda: mod.question(qids[2]).get("v") == 1)
    merged = await mod.qa_mod("merge", q=qids[1], v=1, into=qids[2], into_v=1)
    assert merged["type"] == "qa.ack", merged
    target = await viewer.say("a rude chat line")
    assert (await mod.mod("delete", target=target))["type"] == "ack"
    return mod, viewer


async def test_viewers_get_the_counts_live_and_never_a_text(server: TestServer) -> None:
    mod, viewer = await _moderated_session(server)
    try:
        want = {"pending": 1, "merged": 1, "declined": 1, "removed": 1}
        await viewer.frame("moderation", **want)
        for frame in _counts(viewer):
            assert set(frame) == {"type", *want}, "counts only"
        late = await QAClient.connect(server, SESSION, name="Bo")
        try:
            await late.frame("moderation", timeout=1.5, **want)  # at once, not after a change
        finally:
            await late.close()
    finally:
        await viewer.close()
        await mod.close()


async def test_counts_are_exact_after_a_restart(
    make_server: MakeServer, settings: Settings
) -> None:
    first = await make_server(settings)
    mod, viewer = await _moderated_session(first)
    await viewer.frame("moderation", pending=1, merged=1, declined=1, removed=1)
    await viewer.close()
    await mod.close()
    await first.close()
    second = await make_server(settings)  # a new process on the same Redis
    fresh = await QAClient.connect(second, SESSION, name="Cy")
    try:
        await fresh.frame("moderation", pending=1, merged=1, declined=1, removed=1)
    finally:
        await fresh.close()


async def test_a_moderation_burst_is_coalesced(server: TestServer) -> None:
    await create_session(server, SESSION)
    mod = await QAClient.join(
        server, SESSION, moderator_token=await moderator_token(server, SESSION), name="Moa"
    )
    askers = [await QAClient.join(server, SESSION, name=f"Asker {n}") for n in range(5)]
    watcher = await QAClient.connect(server, SESSION, name="Bo")
    try:
        qids = [  # five each: the rate per person
            (await asker.ask(f"Question number {n}?"))["q"] for asker in askers for n in range(5)
        ]
        await watcher.frame("moderation", pending=25, declined=0)
        before = len(_counts(watcher))
        started = time.monotonic()
        for qid in qids:
            assert (await mod.qa_mod("reject", q=qid, v=1))["type"] == "qa.ack"
        await watcher.frame("moderation", pending=0, declined=25)
        elapsed = time.monotonic() - started
        pushed = len(_counts(watcher)) - before
        # One frame per second at most (the watcher's interval), not one per action.
        assert 1 <= pushed <= elapsed + 2, (pushed, elapsed)
        assert pushed < len(qids)
    finally:
        await watcher.close()
        for asker in askers:
            await asker.close()
        await mod.close()


async def test_nothing_is_read_while_the_log_stands_still(server: TestServer) -> None:
    await create_session(server, SESSION)
    store = server.app[REDIS]
    counts = await read_counts(store, SESSION)
    assert counts == ModerationCounts(at=b"")
    assert await read_counts(store, SESSION, counts) is None, "unchanged log: no count"


ACTIONS = ("approve", "reject", "answer", "dismiss", "reopen", "edit", "merge")


async def _full_recount(store: Redis, session_id: str, at: bytes) -> ModerationCounts:
    questions = await load_questions(store, session_id)
    removed = await store.scard(deleted_key(session_id))
    return tally(Counter(q.state for q in questions), removed, at)


async def _reads(store: Redis) -> dict[str, int]:
    """Calls per command since the statistics were reset (Lua's calls counted too)."""
    stats: Any = await store.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()}


async def test_the_kept_counts_equal_a_full_recount_after_random_moderation(
    server: TestServer,
) -> None:
    """Ask, approve, reject, answer, dismiss, reopen, edit and merge at random (re-transitions
    and merges of merged targets refused or not): after every few steps the counts read equal a
    count of every question's state; reading them touches no question."""
    session_id = "open-mod-random"
    store = server.app[REDIS]
    questions = Questions(store)
    moderation = QAModeration(store, questions)
    by = {"name": "Moa", "label": "Moa"}
    rng = random.Random(20261207)
    qids: list[str] = []
    for n in range(40):
        who = ChatIdentity(f"u{n}", f"Person {n}", "moderator" if n % 7 == 0 else "viewer")
        qids.append((await questions.ask(session_id, who, Ask(f"Fråga {n}?"), f"c{n}", None)).qid)
    applied = 0
    for step in range(240):
        qid = rng.choice(qids)
        current = await questions.get(session_id, qid)
        assert current is not None
        action = rng.choice(ACTIONS)
        command = QAModerate(action, qid, current.v, text=f"Ändrad {step}?")
        if action == "merge":
            target = await questions.get(session_id, rng.choice(qids))
            assert target is not None
            command = replace(command, into=target.id, into_v=target.v)
        try:
            await moderation.apply(session_id, command, by)
            applied += 1
        except QAError:
            pass
        if step % 20 == 19:
            counts = await read_counts(store, session_id)
            assert counts is not None
            assert counts == await _full_recount(store, session_id, counts.at), step
    assert applied > 60, applied  # enough of the actions were allowed to mean something
    final = await _full_recount(store, session_id, b"")
    assert final.merged > 0
    assert final.declined > 0
    # Reading the counts is O(1): no question's hash is read however many there are.
    await store.config_resetstat()
    moved = await read_counts(store, session_id, since=ModerationCounts(at=b"stale"))
    assert moved is not None
    reads = await _reads(store)
    assert reads.get("hget", 0) == 0, reads
    assert reads.get("hgetall", 0) == 1, reads
    # A session counted before the kept counts existed (no mark) is counted once, exactly.
    await store.delete(states_key(session_id))
    again = await read_counts(store, session_id)
    assert again == await _full_recount(store, session_id, again.at if again else b"")
    assert await store.hexists(states_key(session_id), "~counted")
