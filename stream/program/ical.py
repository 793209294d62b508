"""iCalendar (RFC 5545) export of the programme and of one session.

Times are written in UTC (``...Z``), which every calendar converts to the reader's zone, so no
VTIMEZONE block is needed. Text is escaped and lines folded at 75 octets as the RFC requires.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from stream.program.sessions import Session
from stream.program.studios import Studio

PRODID = "-//stream//programme//SV"
MAX_LINE_OCTETS = 75
CONTENT_TYPE = "text/calendar"


def escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Split a content line into 75-octet pieces (continuations start with a space), never
    inside a UTF-8 character."""
    encoded = line.encode("utf-8")
    if len(encoded) <= MAX_LINE_OCTETS:
        return line
    pieces: list[str] = []
    current = ""
    limit = MAX_LINE_OCTETS
    for char in line:
        if len((current + char).encode("utf-8")) > limit:
            pieces.append(current)
            current = char
            limit = MAX_LINE_OCTETS - 1  # the leading space counts
        else:
            current += char
    pieces.append(current)
    return "\r\n ".join(pieces)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event_lines(
    session: Session, base_url: str, host: str, now: datetime, location: str
) -> list[str]:
    assert session.start is not None and session.end is not None  # noqa: PT018
    description = session.description
    if session.speakers:
        description = ", ".join(session.speakers) + ("\n\n" + description if description else "")
    url = f"{base_url}/s/{session.id}"
    description = (description + "\n\n" if description else "") + url
    lines = [
        "BEGIN:VEVENT",
        f"UID:{session.id}@{host}",
        f"DTSTAMP:{_stamp(now)}",
        f"DTSTART:{_stamp(session.start)}",
        f"DTEND:{_stamp(session.end)}",
        f"SUMMARY:{escape(session.title)}",
        f"DESCRIPTION:{escape(description)}",
        f"URL:{url}",
    ]
    if location:
        lines.append(f"LOCATION:{escape(location)}")
    if session.arranger:
        lines.append(f"CATEGORIES:{escape(session.arranger)}")
    lines.append("END:VEVENT")
    return lines


def calendar(
    sessions: Iterable[Session],
    *,
    name: str,
    base_url: str,
    host: str,
    now: datetime,
    studios: Mapping[str, Studio] | None = None,
) -> str:
    """A VCALENDAR with one VEVENT per scheduled session (unscheduled ones have no time)."""
    studios = studios or {}
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
        "X-WR-TIMEZONE:Europe/Stockholm",
    ]
    for session in sessions:
        if session.start is None or session.end is None:
            continue
        studio = studios.get(session.studio)
        location = ", ".join(p for p in (studio.name, studio.location) if p) if studio else ""
        lines += _event_lines(session, base_url, host, now, location)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
