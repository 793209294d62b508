"""The Q&A state a client starts from: questions, the stage, polls (and the one on screen), and
its own votes/answers.

``at`` is the Stream's last id read *before* the state, so every change after it is also an
event with a larger id: a client applies the snapshot, then the events after ``at`` it got
meanwhile (each event carries absolute values, so applying one twice is harmless).
"""

from __future__ import annotations

from typing import Any

from stream.chat.identity import Identity
from stream.chat.log import ChatLog
from stream.qa.keys import (
    order_key,
    poll_counts_key,
    poll_key,
    poll_screen_key,
    polls_key,
    question_key,
    settings_key,
    stage_key,
)
from stream.qa.model import VISIBLE, Poll, Question, WordEntry
from stream.qa.polls import Polls
from stream.qa.votes import Votes
from stream.qa.wordcloud import WordCloud
from stream.store import Redis


async def load_questions(redis: Redis, session_id: str) -> list[Question]:
    """Every question of the session, in the order asked."""
    raw: Any = await redis.zrange(order_key(session_id), 0, -1)
    qids = [q.decode() for q in raw]
    if not qids:
        return []
    async with redis.pipeline(transaction=True) as pipe:
        for qid in qids:
            pipe.hgetall(question_key(session_id, qid))
        rows = await pipe.execute()
    return [Question.from_hash(row) for row in rows if row]


async def load_polls(
    redis: Redis, session_id: str, cloud: WordCloud | None = None, *, record: bool = False
) -> list[Poll]:
    """Every poll of the session, with its results: a word cloud's top entries, and (for the
    ``record``: exports, the follow-up) every stored entry, hidden ones flagged."""
    raw: Any = await redis.zrange(polls_key(session_id), 0, -1)
    pids = [p.decode() for p in raw]
    if not pids:
        return []
    async with redis.pipeline(transaction=True) as pipe:
        for pid in pids:
            pipe.hgetall(poll_key(session_id, pid))
            pipe.hgetall(poll_counts_key(session_id, pid))
        rows = await pipe.execute()
    polls: list[Poll] = []
    for i in range(0, len(rows), 2):
        if not rows[i]:
            continue
        words: tuple[tuple[str, int], ...] = ()
        entries: tuple[WordEntry, ...] = ()
        if rows[i].get(b"kind") == b"words":
            cloud = cloud or WordCloud(redis)
            pid = rows[i][b"id"].decode()
            if record:
                entries = await cloud.everything(session_id, pid)
            else:
                words = await cloud.top(session_id, pid)
        polls.append(Poll.from_hash(rows[i], rows[i + 1], words, entries))
    return polls


async def snapshot(
    redis: Redis, log: ChatLog, votes: Votes, polls: Polls, session_id: str, me: Identity
) -> dict[str, Any]:
    at = await log.last_id(session_id)
    questions = await load_questions(redis, session_id)
    all_polls = await load_polls(redis, session_id, polls.cloud)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.get(stage_key(session_id))
        pipe.hget(settings_key(session_id), "premod")
        pipe.get(poll_screen_key(session_id))
        stage, premod, screen = await pipe.execute()
    if me.moderator:
        views = [q.moderator() for q in questions]
    else:
        views = [q.mine() if q.uid == me.uid else q.public() for q in questions]
        all_polls = [p for p in all_polls if p.state != "draft"]
    visible = [q.id for q in questions if q.state in VISIBLE]
    return {
        "type": "qa.snapshot",
        "at": at.decode(),
        "questions": views,
        "stage": stage.decode() if stage else None,
        "premod": premod != b"0",
        "polls": [p.view() for p in all_polls],
        # The closed poll whose result stays on screen until a moderator clears it.
        "screen": screen.decode() if screen else None,
        "voted": sorted(await votes.voted(session_id, visible, me.uid)),
        "answers": await polls.answered(session_id, [p.id for p in all_polls], me.uid),
        "me": {"uid": me.uid, "name": me.name, "role": me.role},
    }
