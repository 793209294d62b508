"""Time slots and studio bookings: when two sessions overlap, the conflict that refuses a
booking, and the range a slot given now must lie in."""

from __future__ import annotations

from datetime import date, datetime

from stream.common import times
from stream.common.errors import Conflict
from stream.common.validation import Errors, check_schedule_moment


class ScheduleConflict(Conflict):
    """The studio is booked by another session at that time. An invite-only session is named
    (id and title) only to those who may know of it: see :meth:`as_json`."""

    def __init__(
        self,
        *,
        studio: str,
        other_id: str,
        other_title: str,
        other_start: datetime,
        other_end: datetime,
        other_public: bool = True,
        other_arranger: str = "",
    ) -> None:
        booked_by = f"by {other_title!r} " if other_public else ""
        super().__init__(
            f"studio {studio!r} is booked {booked_by}"
            f"({times.format_range(other_start, other_end, 'en')})"
        )
        self.studio = studio
        self.other_id = other_id
        self.other_title = other_title
        self.other_start = other_start
        self.other_end = other_end
        self.other_public = other_public
        self.other_arranger = other_arranger

    def as_json(self, *, named: bool = False) -> dict[str, object]:
        """``named``: the asker may know of the other session even when it is invite-only."""
        shown = self.other_public or named
        return {
            "studio": self.studio,
            "session": self.other_id if shown else None,
            "title": self.other_title if shown else None,
            "start": times.iso_local(self.other_start),
            "end": times.iso_local(self.other_end),
        }


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open intervals: one session may start the minute another ends."""
    return a_start < b_end and b_start < a_end


def _same_time(value: datetime | None, stored: str) -> bool:
    return (str(times.to_epoch(value)) if value else "") == stored


def check_slot_range(
    start: datetime | None, end: datetime | None, today: date, old: dict[str, str] | None = None
) -> None:
    """A start or end given now must lie within the schedule's range (:mod:`stream.common.times`);
    one that is stored already (``old``, a session's hash) and unchanged stays as it is."""
    errors = Errors()
    old = old or {}
    for name, value in (("start", start), ("end", end)):
        if value is not None and not _same_time(value, old.get(name, "")):
            check_schedule_moment(errors, name, value, today)
    errors.raise_if_any()
