"""Reading a programme from a pretalx/frab schedule JSON (``schedule.json``): conference →
days → rooms → talks, each talk with an ISO ``date``, a ``duration`` (``HH:MM``), a ``room``,
``persons`` and optionally a ``track`` (taken as the arranger)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from stream.common import times
from stream.common.jsondepth import json_depth
from stream.common.validation import clean_block, clean_line
from stream.program.drafts import Draft, Problem

# A schedule nests about eight deep (schedule → conference → days → rooms → talks → persons);
# anything much deeper is not a schedule, and would exhaust the parser's recursion.
MAX_JSON_DEPTH = 32
MAX_DURATION = timedelta(hours=24)


def looks_like_frab(data: bytes) -> bool:
    return data.lstrip()[:1] in (b"{", b"[")


def parse_frab(data: bytes, max_rows: int) -> tuple[list[Draft], list[Problem]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [Problem("file", "not valid JSON: the file is not UTF-8")]
    if json_depth(text) > MAX_JSON_DEPTH:
        return [], [Problem("file", f"not a schedule: nested deeper than {MAX_JSON_DEPTH} levels")]
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return [], [Problem("file", f"not valid JSON: {str(exc)[:200]}")]
    try:
        days = document["schedule"]["conference"]["days"]
        if not isinstance(days, list):
            raise TypeError
    except (KeyError, TypeError):
        return [], [Problem("file", "not a pretalx/frab schedule: no schedule.conference.days")]
    drafts: list[Draft] = []
    problems: list[Problem] = []
    for day in days:
        rooms = day.get("rooms") if isinstance(day, dict) else None
        if not isinstance(rooms, dict):
            problems.append(Problem("file", "a day without a 'rooms' object was skipped"))
            continue
        for room, talks in rooms.items():
            for index, talk in enumerate(talks if isinstance(talks, list) else []):
                if len(drafts) + len(problems) >= max_rows:
                    problems.append(Problem("file", f"more than {max_rows} talks: rest skipped"))
                    return drafts, problems
                where = _where(talk, room, index)
                try:
                    drafts.append(_draft(where, talk, str(room)))
                except (ValueError, TypeError, KeyError, AttributeError) as exc:
                    problems.append(Problem(where, _reason(exc)))
    return drafts, problems


def _where(talk: Any, room: str, index: int) -> str:
    if isinstance(talk, dict):
        for key in ("guid", "id", "code"):
            if talk.get(key):
                return f"talk {talk[key]}"
    return f"talk {index + 1} in {room}"


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"the talk has no {exc.args[0]!r}"
    if isinstance(exc, (TypeError, AttributeError)):
        return "the talk is not an object with the expected fields"
    return str(exc)


def _draft(where: str, talk: dict[str, Any], room: str) -> Draft:
    title = clean_line(str(talk["title"] or ""))
    if not title:
        raise ValueError("the title is empty")
    start = times.parse_moment(str(talk["date"]))
    try:
        end = start + parse_duration(str(talk["duration"]))
    except OverflowError:
        raise ValueError("the talk ends outside the calendar") from None
    persons = talk.get("persons") or []
    speakers = tuple(
        clean_line(str(p.get("public_name") or p.get("name") or ""))
        for p in persons
        if isinstance(p, dict) and (p.get("public_name") or p.get("name"))
    )
    description = "\n\n".join(
        clean_block(str(talk.get(key) or "")) for key in ("abstract", "description")
    ).strip()
    track = talk.get("track")
    if isinstance(track, dict):  # pretalx may give {"name": ...}
        track = track.get("name")
    language = str(talk.get("language") or "").strip().lower()[:3]
    do_not_record = talk.get("do_not_record")
    return Draft(
        where=where,
        id=str(talk.get("slug") or "").strip().lower(),
        title=title,
        start=start,
        end=end,
        arranger=clean_line(str(track or "")),
        studio=clean_line(str(talk.get("room") or room)),
        speakers=speakers,
        description=description,
        language=language,
        record=(not do_not_record) if isinstance(do_not_record, bool) else None,
    )


def parse_duration(text: str) -> timedelta:
    """``01:30``, ``1:30`` or ``01:30:00``."""
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError(f"duration {text!r} is not HH:MM")
    if any(len(p) > 4 for p in parts):
        raise ValueError(f"duration {text[:20]!r} is not HH:MM")
    hours, minutes = int(parts[0]), int(parts[1])
    seconds = int(parts[2]) if len(parts) == 3 else 0
    duration = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if duration > MAX_DURATION:
        raise ValueError(f"duration {text!r} is longer than {MAX_DURATION.days * 24} hours")
    return duration
