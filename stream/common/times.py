"""Time in the programme: stored as UTC epoch seconds, shown in the event's zone (Stockholm).

Swedish readers expect ``tisdag 19 januari 2021``, ``10:00-11:30`` (24-hour clock; an en dash
on the page) and ISO dates (``2021-01-19``) in numeric form; English pages use the same clock
and day-month order.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TIMEZONE_NAME = "Europe/Stockholm"
TIMEZONE = ZoneInfo(TIMEZONE_NAME)
EN_DASH = "\u2013"
# What may be scheduled: events and sessions within this many years of today (either way).
SCHEDULE_YEARS = 5
# What a stored time may be and still be shown (any zone shift stays inside the calendar);
# anything else read from storage is treated as no time at all.
STORED_EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
STORED_LATEST = datetime(9000, 1, 1, tzinfo=UTC)

WEEKDAYS = {
    "sv": ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    "sv": (
        "januari", "februari", "mars", "april", "maj", "juni",
        "juli", "augusti", "september", "oktober", "november", "december",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip


def now() -> datetime:
    return datetime.now(UTC)


def to_epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("a time without a zone cannot be stored")
    return int(moment.timestamp())


def from_epoch(seconds: int | float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def stored_moment(raw: str | bytes | None) -> datetime | None:
    """A stored epoch (``"1611046800"``) as a time, or None when it is empty, not a number or
    outside :data:`STORED_EARLIEST`..:data:`STORED_LATEST` (never an exception: stored data
    must not stop a page)."""
    try:
        seconds = int(raw or "")
    except (TypeError, ValueError):
        return None
    if not STORED_EARLIEST.timestamp() <= seconds < STORED_LATEST.timestamp():
        return None
    return from_epoch(seconds)


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def schedule_range(today: date) -> tuple[date, date]:
    """The first and last day that may be scheduled, seen from ``today``."""
    return _shift_years(today, -SCHEDULE_YEARS), _shift_years(today, SCHEDULE_YEARS)


def day_in_range(day: date, today: date) -> bool:
    first, last = schedule_range(today)
    return first <= day <= last


def moment_in_range(moment: datetime, today: date) -> bool:
    """Is ``moment`` (aware) on a day that may be scheduled (its day in UTC, give or take)?"""
    first, last = schedule_range(today)
    try:
        utc_day = moment.astimezone(UTC).date()
    except (OverflowError, ValueError):
        return False
    return first <= utc_day <= last


def local(moment: datetime) -> datetime:
    return moment.astimezone(TIMEZONE)


def local_day(moment: datetime) -> date:
    return local(moment).date()


def at_local(day: date, clock: time) -> datetime:
    """The moment ``clock`` on ``day`` in Stockholm (DST resolved by zoneinfo's fold=0)."""
    return datetime.combine(day, clock, tzinfo=TIMEZONE)


def parse_date(text: str) -> date:
    """``2021-01-19`` (what ``<input type=date>`` sends and Swedes write)."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date like 2021-01-19") from None


def parse_clock(text: str) -> time:
    """``10:00`` or ``10.00`` (both are written in Sweden)."""
    cleaned = text.strip().replace(".", ":")
    try:
        parsed = time.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"{text!r} is not a time like 10:00") from None
    return parsed.replace(second=0, microsecond=0)


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date-time; without an offset it is Stockholm time."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time like 2021-01-19T10:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=TIMEZONE)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00 in Stockholm is in year 0 in UTC
        raise ValueError(f"{text!r} is outside the calendar") from None


def iso_local(moment: datetime) -> str:
    """``2021-01-19T10:00:00+01:00``: the API's form, offset included."""
    return local(moment).isoformat(timespec="seconds")


def format_day(day: date, lang: str) -> str:
    """``tisdag 19 januari 2021`` / ``Tuesday 19 January 2021``."""
    names = WEEKDAYS.get(lang, WEEKDAYS["sv"])
    months = MONTHS.get(lang, MONTHS["sv"])
    return f"{names[day.weekday()]} {day.day} {months[day.month - 1]} {day.year}"


def format_clock(moment: datetime) -> str:
    return local(moment).strftime("%H:%M")


def format_range(start: datetime, end: datetime, lang: str) -> str:
    """``tisdag 19 januari 2021 10:00\u201311:30`` (the day repeated only if it changes)."""
    first, last = local(start), local(end)
    text = f"{format_day(first.date(), lang)} {format_clock(start)}{EN_DASH}"
    if last.date() != first.date():
        text += f"{format_day(last.date(), lang)} "
    return text + format_clock(end)


def format_duration(span: timedelta, lang: str) -> str:
    minutes = int(span.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    unit_h, unit_m = ("tim", "min") if lang == "sv" else ("h", "min")
    if hours and minutes:
        return f"{hours} {unit_h} {minutes} {unit_m}"
    return f"{hours} {unit_h}" if hours else f"{minutes} {unit_m}"
