"""Times as pages show them, in the page's language and the event's zone (Stockholm).

One format per language: Swedish pages use the 24-hour clock (``10:00-11:30``), always.
English pages are rendered with the same clock and carry each time's instant in ``datetime``
and ``data-clock`` attributes; ``web/static/js/i18n.js`` rewrites those in the browser's own
locale (``10:00 AM``), still in the event's zone. Every time shown names its zone (``CET``,
``CEST`` in summer).
"""

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

    def zone(self, value: datetime | None = None) -> str:
        """The zone's abbreviation at ``value`` (``CET``/``CEST``; now when not given)."""
        return times.local(value or times.now()).tzname() or times.TIMEZONE_NAME

    @property
    def timezone(self) -> str:
        return times.TIMEZONE_NAME

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
