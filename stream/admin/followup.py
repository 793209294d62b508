"""The arranger's follow-up of a session (``/admin/sessions/{id}/followup``): on one page the
recording (its link, or why there is none), the viewer curve with its peaks and unique
viewers, the questions (answered, not answered, merged, held back) with their votes, the poll
results and the beginning of the chat; everything as one ZIP beside it
(:mod:`stream.admin.followup_zip`).

The route's guard lets through who manages the session (its arranger's staff, admins).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from stream.admin.chart import build_chart
from stream.admin.exports import message_of, message_time
from stream.analytics.curve import Curve, load_curve
from stream.archive.index import read_index
from stream.archive.state import load_state
from stream.common import times
from stream.common.ids import validate_session_id
from stream.http.keys import ARCHIVE, CHAT, REDIS, SETTINGS
from stream.http.render import render
from stream.http.urls import base_url
from stream.program.sessions import Session, SessionStore
from stream.qa.model import HIDDEN, Poll, Question
from stream.qa.snapshot import load_polls, load_questions

CHAT_SHOWN = 100  # messages on the page; the rest are in the transcript download


@dataclass(frozen=True, slots=True)
class Recording:
    """What became of the session's recording: ``state`` is recording, done, failed, off or
    none (never recorded, or deleted); ``url`` the replay when there is something to play."""

    state: str
    reason: str = ""
    url: str = ""
    duration: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "reason": self.reason or None,
            "url": self.url or None,
            "duration_seconds": round(self.duration, 1) if self.duration else None,
        }


@dataclass(slots=True)
class QuestionGroups:
    answered: list[Question] = field(default_factory=list)
    unanswered: list[Question] = field(default_factory=list)  # approved or pending
    held_back: list[Question] = field(default_factory=list)  # rejected or dismissed
    merged: dict[str, list[Question]] = field(default_factory=dict)  # by the question kept
    # Merged questions whose chain leads to no kept question (a missing target, a cycle).
    merged_elsewhere: list[Question] = field(default_factory=list)

    @property
    def total(self) -> int:
        return (
            len(self.answered)
            + len(self.unanswered)
            + len(self.held_back)
            + sum(len(m) for m in self.merged.values())
            + len(self.merged_elsewhere)
        )

    def counts(self) -> dict[str, int]:
        return {
            "total": self.total,
            "answered": len(self.answered),
            "unanswered": len(self.unanswered),
            "held_back": len(self.held_back),
            "merged": sum(len(m) for m in self.merged.values()) + len(self.merged_elsewhere),
        }


def merge_root(question: Question, by_id: dict[str, Question]) -> str:
    """The kept question at the end of a merged question's chain (a merged into b merged into
    c: c), or "" when the chain ends at a missing question or goes round; bounded by the
    number of questions."""
    seen = {question.id}
    current = question
    for _ in range(len(by_id) + 1):
        target = by_id.get(current.into)
        if target is None or target.id in seen:
            return ""
        if target.state != "merged":
            return target.id
        seen.add(target.id)
        current = target
    return ""


def group_questions(questions: list[Question]) -> QuestionGroups:
    """Most votes first in each group; a merged question under the kept question its merge
    chain ends at, or among the merged elsewhere when there is none."""
    groups = QuestionGroups()
    by_id = {q.id: q for q in questions}
    for q in sorted(questions, key=lambda q: (-q.votes, q.ts)):
        if q.state == "answered":
            groups.answered.append(q)
        elif q.state == "merged":
            root = merge_root(q, by_id)
            if root:
                groups.merged.setdefault(root, []).append(q)
            else:
                groups.merged_elsewhere.append(q)
        elif q.state in HIDDEN:
            groups.held_back.append(q)
        else:
            groups.unanswered.append(q)
    return groups


async def recording_of(request: web.Request, session_id: str) -> Recording:
    state = await load_state(request.app[REDIS], session_id)
    directory = request.app[ARCHIVE].recordings / session_id
    index = await asyncio.to_thread(read_index, directory)
    playable = index is not None and index.duration > 0 and state.state != "recording"
    return Recording(
        state=state.state or ("done" if playable else "none"),
        reason=state.reason,
        url=f"{base_url(request.app[SETTINGS], request)}/s/{session_id}" if playable else "",
        duration=index.duration if index is not None else 0.0,
    )


@dataclass(frozen=True, slots=True)
class Followup:
    session: Session
    recording: Recording
    curve: Curve
    questions: list[Question]
    polls: list[Poll]


async def load_followup(request: web.Request) -> Followup:
    """Everything but the chat (read page by page where it is used)."""
    session_id = validate_session_id(request.match_info["session"])
    redis = request.app[REDIS]
    session = await SessionStore(redis).get(session_id)
    recording, curve, questions, polls = await asyncio.gather(
        recording_of(request, session_id),
        load_curve(redis, session_id),
        load_questions(redis, session_id),
        load_polls(redis, session_id, record=True),
    )
    shown = [p for p in polls if p.state != "draft"]
    return Followup(session, recording, curve, questions, shown)


def poll_rows(poll: Poll) -> list[dict[str, Any]]:
    """Each option (a word cloud: each stored entry, hidden ones flagged) with its count and
    share of the respondents, whatever the poll's kind."""
    return [
        {
            "option": r.label,
            "count": r.count,
            "hidden": r.hidden,
            "percent": round(100 * r.count / poll.voters) if poll.voters else 0,
        }
        for r in poll.results()
    ]


async def first_messages(
    request: web.Request, session_id: str
) -> tuple[list[dict[str, Any]], bool]:
    """The first ``CHAT_SHOWN`` chat messages, and whether there are more."""
    page = await request.app[CHAT].transcript(session_id)
    messages = []
    for raw in page.events:
        event = message_of(raw)
        if event is not None:
            messages.append(
                {
                    "time": message_time(event),
                    "at": _at(message_time(event)),
                    "name": str(event.get("name") or ""),
                    "role": str(event.get("role") or ""),
                    "text": str(event.get("text") or ""),
                }
            )
    more = len(messages) > CHAT_SHOWN or page.next is not None
    return messages[:CHAT_SHOWN], more


def _at(iso: str) -> datetime | None:
    """A message's time as a moment (None if it had none): the page writes it with
    ``When.time`` as every time."""
    try:
        return datetime.fromisoformat(iso) if iso else None
    except ValueError:
        return None


def _moment(epoch: float | None) -> datetime | None:
    return None if epoch is None else times.from_epoch(epoch)


async def followup_page(request: web.Request) -> web.StreamResponse:
    data = await load_followup(request)
    messages, more = await first_messages(request, data.session.id)
    groups = group_questions(data.questions)
    return await render(
        request,
        "admin/followup.html",
        {
            "session": data.session,
            "recording": data.recording,
            "curve": data.curve,
            "chart": build_chart(data.curve),
            "peak_at": _moment(data.curve.peak_at),
            "peak_pages_at": _moment(data.curve.peak_pages_at),
            "groups": groups,
            "polls": [(p, poll_rows(p)) for p in data.polls],
            "messages": messages,
            "more_messages": more,
        },
        headers={"Cache-Control": "no-store"},
    )
