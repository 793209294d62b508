"""Times as pages show them, in the page's language (Stockholm time, Swedish formats)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol

from stream.common import times

COUNTDOWN_HORIZON = timedelta(hours=24)


class Slot(Protocol):
    """Anything scheduled: a session, a studio booking."""

    @property
    def start(self) -> datetime | None: ...

    @property
    def end(self) -> datetime | None: ...


class When:
    """Time formatting for templates: ``when.day(...)``, ``when.slot(session)``, …"""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def day(self, value: date | datetime) -> str:
        if isinstance(value, datetime):
            value = times.local_day(value)
        return times.format_day(value, self.lang)

    def clock(self, value: datetime | None) -> str:
        return times.format_clock(value) if value else ""

    def slot(self, session: Slot) -> str:
        if session.start is None or session.end is None:
            return ""
        return (
            f"{times.format_clock(session.start)}{times.EN_DASH}{times.format_clock(session.end)}"
        )

    def range(self, start: datetime, end: datetime) -> str:
        return times.format_range(start, end, self.lang)

    def iso(self, value: datetime | None) -> str:
        return times.iso_local(value) if value else ""

    def countdown(self, session: Slot, now: datetime) -> str:
        """``1 tim 5 min`` until the start, when it is less than a day away; else empty."""
        if session.start is None or session.start <= now:
            return ""
        left = session.start - now
        if left > COUNTDOWN_HORIZON:
            return ""
        return times.format_duration(max(left, timedelta(minutes=1)), self.lang)
