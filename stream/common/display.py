"""Times as pages show them, in the page's language and the event's zone (Stockholm).

One format per language: Swedish pages use the 24-hour clock (``10:00-11:30``), always.
English pages are rendered with the same clock and carry each time's instant in ``datetime``
and ``data-clock`` attributes; ``web/static/js/i18n.js`` rewrites those in the browser's own
locale (``10:00 AM``), still in the event's zone. Every time shown names its zone (``CET``,
``CEST`` in summer).

:meth:`When.time` is the one way a page shows a time (``<time>`` and the zone); the scripts'
counterpart is ``formatTime`` in ``i18n.js``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol

from markupsafe import Markup

from stream.common import times

COUNTDOWN_HORIZON = timedelta(hours=24)


class Slot(Protocol):
    """Anything scheduled: a session, a studio booking."""

    @property
    def start(self) -> datetime | None: ...

    @property
    def end(self) -> datetime | None: ...


class When:
    """Time formatting for templates: ``when.time(start, end)``, ``when.day(...)``, …"""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def day(self, value: date | datetime) -> str:
        if isinstance(value, datetime):
            value = times.local_day(value)
        return times.format_day(value, self.lang)

    def range(self, start: datetime, end: datetime) -> str:
        return times.format_range(start, end, self.lang)

    def zone(self, value: datetime | None = None) -> str:
        """The zone's abbreviation at ``value`` (``CET``/``CEST``; now when not given)."""
        return times.local(value or times.now()).tzname() or times.TIMEZONE_NAME

    @property
    def timezone(self) -> str:
        return times.TIMEZONE_NAME

    def time(
        self,
        start: datetime | None,
        end: datetime | None = None,
        *,
        day: bool = False,
        seconds: bool = False,
    ) -> Markup:
        """``<time …>14:05</time> <abbr …>CET</abbr>`` (a range with ``end``; the day first
        with ``day``; ``14:05:30`` with ``seconds``): the clock as this language shows it, in
        the event's zone, zone named. English pages get the browser's own clock from
        ``i18n.js`` (``data-clock``)."""
        if start is None:
            return Markup("")

        def clock(moment: datetime) -> str:
            if seconds:
                return times.local(moment).strftime("%H:%M:%S")
            return times.format_clock(moment)

        if end is not None and day:
            text = self.range(start, end)
        elif end is not None:
            text = f"{clock(start)}{times.EN_DASH}{clock(end)}"
        elif day:
            text = f"{self.day(start)} {clock(start)}"
        else:
            text = clock(start)
        end_attribute = (
            Markup(' data-clock-end="{}"').format(times.iso_local(end)) if end else Markup("")
        )
        if day:
            style = Markup(' data-clock-style="day"')
        elif seconds:
            style = Markup(' data-clock-style="seconds"')
        else:
            style = Markup("")
        return Markup(
            '<time datetime="{iso}" data-clock="{iso}"{end}{style}>{text}</time> '
            '<abbr class="zone" title="{zone_id}">{zone}</abbr>'
        ).format(
            iso=times.iso_local(start),
            end=end_attribute,
            style=style,
            text=text,
            zone_id=self.timezone,
            zone=self.zone(start),
        )

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
