"""After the session: questions (votes, state, source, time, stream position) and poll results
as CSV or JSON. Moderators only; askers are named even when they asked anonymously."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from stream.qa.model import Poll, Question

QUESTION_COLUMNS = (
    "id", "state", "text", "name", "anonymous", "source", "votes", "asked_at",
    "stream_position_s", "askers", "merged_into", "private_answer", "edited",
)  # fmt: skip
POLL_COLUMNS = (
    "poll", "question", "kind", "state", "option", "count", "hidden", "respondents",
)  # fmt: skip
# A cell starting with one of these is a formula to a spreadsheet: it is quoted with '.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def question_record(q: Question) -> dict[str, Any]:
    return {
        "id": q.id,
        "state": q.state,
        "text": q.text,
        "name": q.name,
        "anonymous": q.anon,
        "source": q.source,
        "votes": q.votes,
        "asked_at": _iso(q.ts),
        "stream_position_s": None if q.pos is None else round(q.pos / 1000, 1),
        "askers": [a.name or a.uid for a in q.askers],
        "merged_into": q.into or None,
        "private_answer": q.answer or None,
        "edited": q.edited,
    }


def poll_record(p: Poll) -> dict[str, Any]:
    return {
        "id": p.id,
        "question": p.question,
        "kind": p.kind,
        "state": p.state,
        "respondents": p.voters,
        "created_at": _iso(p.created),
        "results": [{"option": r.label, "count": r.count, "hidden": r.hidden} for r in p.results()],
        "average": p.average(),
    }


def as_json(session_id: str, questions: list[Question], polls: list[Poll]) -> dict[str, Any]:
    return {
        "session": session_id,
        "questions": [question_record(q) for q in questions],
        "polls": [poll_record(p) for p in polls],
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def questions_csv(questions: list[Question]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(QUESTION_COLUMNS)
    for q in questions:
        record = question_record(q)
        writer.writerow([_cell(record[c]) for c in QUESTION_COLUMNS])
    return out.getvalue()


def polls_csv(polls: list[Poll]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(POLL_COLUMNS)
    for p in polls:
        for r in p.results():
            row = [p.id, p.question, p.kind, p.state, r.label, r.count, r.hidden, p.voters]
            writer.writerow([_cell(v) for v in row])
    return out.getvalue()
