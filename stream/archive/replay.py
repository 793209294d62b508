"""What the replay page shows beside the recording: the chat and the questions, each at its
moment on the recording's timeline, and the questions as chapters (JSON and WebVTT)."""

from __future__ import annotations

import json
from typing import Any

from stream.archive.index import RecordingIndex, position, question_position
from stream.qa.model import VISIBLE, Question

MAX_CHAPTER_TITLE = 120


def chat_items(index: RecordingIndex, events: list[bytes]) -> list[dict[str, Any]]:
    """The transcript's messages with ``at`` (seconds into the recording)."""
    items = []
    for raw in events:
        try:
            event = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(event, dict) or event.get("type") != "msg":
            continue
        ms = event.get("ts")
        if not isinstance(ms, int):
            try:
                ms = int(str(event.get("id", "")).split("-", 1)[0])
            except ValueError:
                continue
        items.append(
            {
                "id": str(event.get("id", "")),
                "name": str(event.get("name", "")),
                "text": str(event.get("text", "")),
                "at": position(index, ms / 1000),
                "ts": ms,  # when it was said (ms since the epoch): the page shows the clock
            }
        )
    return items


def question_items(index: RecordingIndex, questions: list[Question]) -> list[dict[str, Any]]:
    """The questions viewers saw (not pending, hidden or merged), in the order of their moment."""
    items = [
        {
            "id": q.id,
            "text": q.text,
            "name": "" if q.anon else q.name,
            "votes": q.votes,
            "answered": q.state == "answered",
            "at": question_position(index, q.ts, q.pos),
            "ts": q.ts,
        }
        for q in questions
        if q.state in VISIBLE
    ]
    return sorted(items, key=lambda item: (item["at"], item["id"]))


def _vtt_time(seconds: float) -> str:
    millis = round(max(seconds, 0.0) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _vtt_text(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > MAX_CHAPTER_TITLE:
        flat = flat[: MAX_CHAPTER_TITLE - 1] + "…"
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return flat.replace("-->", "--&gt;")


def chapters_vtt(questions: list[dict[str, Any]], duration: float) -> str:
    """A WebVTT chapters track: one cue per question, until the next one (or the end)."""
    lines = ["WEBVTT", ""]
    starts = [min(float(q["at"]), duration) for q in questions]
    for number, (question, start) in enumerate(zip(questions, starts, strict=True), 1):
        later = [s for s in starts[number:] if s > start]
        end = later[0] if later else max(duration, start + 0.001)
        lines += [
            str(number),
            f"{_vtt_time(start)} --> {_vtt_time(end)}",
            _vtt_text(str(question["text"])),
            "",
        ]
    return "\n".join(lines)
