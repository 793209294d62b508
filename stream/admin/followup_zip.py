"""The follow-up as one download (``/admin/sessions/{id}/followup.zip``): ``README.txt`` (with
the link to the recording, never the recording itself), ``summary.json``, ``viewers.csv``,
``questions.csv``, ``polls.csv`` and ``chat.csv``.

The ZIP is streamed: everything that can fail is read before the response starts, then the
files are compressed into a small buffer that is sent as it fills; the chat (capped at
50 000 messages by the chat archive) is read and written one transcript page at a time, so
memory stays bounded by a page, not by the session.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable
from typing import IO, Any

from aiohttp import web

from stream.admin.exports import TRANSCRIPT_COLUMNS, transcript_rows
from stream.admin.followup import Followup, group_questions, load_followup
from stream.analytics.curve import Curve
from stream.chat.archive import MAX_ARCHIVE_ENTRIES
from stream.chat.chat import TRANSCRIPT_PAGE
from stream.common import times
from stream.http.keys import CHAT, TEMPLATES
from stream.http.render import page_language
from stream.qa.export import polls_csv, questions_csv

VIEWER_COLUMNS = ("time", "watching", "on_page")
FILES = ("README.txt", "summary.json", "viewers.csv", "questions.csv", "polls.csv", "chat.csv")


class _Chunks(io.RawIOBase):
    """A write-only, unseekable file: what the ZIP writes waits here until it is sent."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        return len(chunk)

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else times.iso_local(times.from_epoch(epoch))


def viewers_csv(curve: Curve) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(VIEWER_COLUMNS)
    for point in curve.points:
        writer.writerow([_iso(point.at), point.watching, point.pages])
    return out.getvalue()


def summary(data: Followup, messages: int) -> dict[str, Any]:
    session = data.session
    curve = data.curve
    return {
        "session": {
            "id": session.id,
            "title": session.title,
            "arranger": session.arranger,
            "start": _iso(session.start.timestamp()) if session.start else None,
            "end": _iso(session.end.timestamp()) if session.end else None,
        },
        "recording": data.recording.as_json(),
        "viewers": {
            **curve.as_json(),
            "peak_watching_at": _iso(curve.peak_at),
            "peak_pages_at": _iso(curve.peak_pages_at),
            "first_sample_at": _iso(curve.first),
            "last_sample_at": _iso(curve.last),
        },
        "questions": group_questions(data.questions).counts(),
        "polls": len(data.polls),
        "chat_messages": messages,
        "files": list(FILES),
    }


def readme(data: Followup, lang: str, gettext: Any) -> str:
    recording = data.recording
    if recording.url:
        link = recording.url
    else:
        link = gettext(lang, f"followup.recording.{recording.state}")
    lines = [
        data.session.title,
        "",
        gettext(lang, "followup.readme.intro"),
        "",
        f"{gettext(lang, 'followup.recording.title')}: {link}",
        "",
        *(f"{name}: {gettext(lang, 'followup.readme.' + name)}" for name in FILES[1:]),
        "",
    ]
    return "\r\n".join(lines)


def _write_rows(entry: IO[bytes], rows: Iterable[Iterable[Any]]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    entry.write(out.getvalue().encode("utf-8"))


async def followup_zip(request: web.Request) -> web.StreamResponse:
    data = await load_followup(request)
    session_id = data.session.id
    chat = request.app[CHAT]
    first = await chat.transcript(session_id)  # before the response starts: errors still answer
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/zip",
            "Content-Disposition": f'attachment; filename="{session_id}-followup.zip"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    sink = _Chunks()
    messages = 0
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("viewers.csv", viewers_csv(data.curve))
        archive.writestr("questions.csv", questions_csv(data.questions))
        archive.writestr("polls.csv", polls_csv(data.polls))
        await response.write(sink.take())
        with archive.open("chat.csv", "w") as entry:
            _write_rows(entry, [TRANSCRIPT_COLUMNS])
            page = first
            for _ in range(MAX_ARCHIVE_ENTRIES // TRANSCRIPT_PAGE + 1):
                rows = list(transcript_rows(page.events))
                messages += len(rows)
                _write_rows(entry, rows)
                await response.write(sink.take())
                if page.next is None:
                    break
                page = await chat.transcript(session_id, page.next)
        lang = page_language(request)
        gettext = request.app[TEMPLATES].catalogues.gettext
        archive.writestr("README.txt", readme(data, lang, gettext))
        body = json.dumps(summary(data, messages), ensure_ascii=False, indent=2)
        archive.writestr("summary.json", body)
    await response.write(sink.take())
    await response.write_eof()
    return response
