"""The chat transcript as a download for staff (``/admin/sessions/{id}/chat.json|csv``).

The public transcript (``/api/chat/{id}/transcript``) is JSON for pages; staff want a file to
keep after the session: the same messages as JSON, or as a spreadsheet-safe CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from aiohttp import web

from stream.common import times
from stream.common.ids import validate_session_id
from stream.http.keys import CHAT

TRANSCRIPT_COLUMNS = ("id", "time", "name", "role", "text")
# A cell starting with one of these is a formula to a spreadsheet: it is quoted with '.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def message_time(event: dict[str, Any]) -> str:
    millis = event.get("ts")
    if not isinstance(millis, int):
        try:
            millis = int(str(event.get("id", "")).split("-", 1)[0])
        except ValueError:
            return ""
    try:
        moment = datetime.fromtimestamp(millis / 1000, times.TIMEZONE)
    except (OverflowError, OSError, ValueError):
        return ""
    return moment.isoformat(timespec="seconds")


def message_of(raw: bytes) -> dict[str, Any] | None:
    """A stored transcript event, if it is a chat message."""
    try:
        event = json.loads(raw)
    except ValueError:
        return None
    return event if isinstance(event, dict) and event.get("type") == "msg" else None


def transcript_rows(events: Iterable[bytes]) -> Iterator[list[str]]:
    """The chat messages among ``events``, one spreadsheet-safe row each."""
    for raw in events:
        event = message_of(raw)
        if event is None:
            continue
        row = (
            event.get("id"),
            message_time(event),
            event.get("name"),
            event.get("role"),
            event.get("text"),
        )
        yield [_cell(value) for value in row]


def transcript_csv(events: list[bytes]) -> str:
    """The transcript's chat messages, one row each, oldest first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(TRANSCRIPT_COLUMNS)
    writer.writerows(transcript_rows(events))
    return out.getvalue()


async def transcript_download(request: web.Request) -> web.Response:
    session_id = validate_session_id(request.match_info["session"])
    what = request.match_info["what"]
    events = await request.app[CHAT].whole_transcript(session_id)
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="{session_id}-{what}"',
    }
    if what == "chat.csv":
        return web.Response(
            text=transcript_csv(events), content_type="text/csv", charset="utf-8", headers=headers
        )
    body = b'{"session":"' + session_id.encode() + b'","events":[' + b",".join(events) + b"]}"
    return web.Response(body=body, content_type="application/json", headers=headers)
