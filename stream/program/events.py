"""Events: a digital week or a hybrid day (``event:{id}`` hashes and the ``events`` set)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from redis.asyncio.client import Pipeline

from stream.common import times
from stream.common.errors import Conflict, NotFound
from stream.common.records import (
    CatalogueStore,
    begin_writes,
    decode,
    fields,
    transact,
)
from stream.common.validation import (
    LANGUAGE_PATTERN,
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    Errors,
    check_id,
    check_schedule_day,
    check_text,
)

EVENTS_SET = "events"
MAX_EVENT_DAYS = 31
MAX_LANGUAGES = 5


def event_key(event_id: str) -> str:
    return f"event:{event_id}"


def event_sessions_key(event_id: str) -> str:
    return f"event:{event_id}:sessions"


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    name: str
    start_date: date
    end_date: date
    venue: str = ""  # empty: online only; a hybrid event names its venue
    description: str = ""
    languages: tuple[str, ...] = ("sv",)
    # Off: none of the event's sessions is recorded, whatever their own switch says.
    record: bool = True

    def __post_init__(self) -> None:
        errors = Errors()
        check_id(errors, "id", self.id)
        check_text(errors, "name", self.name, limit=MAX_NAME_LENGTH, required=True)
        check_text(errors, "venue", self.venue, limit=MAX_NAME_LENGTH)
        check_text(
            errors, "description", self.description, limit=MAX_DESCRIPTION_LENGTH, multiline=True
        )
        if self.end_date < self.start_date:
            errors.add("end_date", "end_before_start", "the event ends before it starts")
        elif (self.end_date - self.start_date).days >= MAX_EVENT_DAYS:
            errors.add(
                "end_date",
                "event_too_long",
                f"an event lasts at most {MAX_EVENT_DAYS} days",
                limit=MAX_EVENT_DAYS,
            )
        if not self.languages or len(self.languages) > MAX_LANGUAGES:
            errors.add("languages", "languages", "name one to five languages (e.g. sv, en)")
        elif not all(LANGUAGE_PATTERN.fullmatch(code) for code in self.languages):
            errors.add("languages", "languages", "languages are codes such as sv or en")
        errors.raise_if_any()

    def to_hash(self) -> dict[str, str]:
        return {
            "id": self.id,
            "name": self.name,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "venue": self.venue,
            "description": self.description,
            "languages": ",".join(self.languages),
            "record": "1" if self.record else "0",
        }

    @classmethod
    def from_hash(cls, values: dict[str, str]) -> Event:
        start = _stored_day(values.get("start_date", ""))
        end = _stored_day(values.get("end_date", ""))
        if end < start or (end - start).days >= MAX_EVENT_DAYS:
            end = start  # stored by an older version: shown as one day, never a failed page
        return cls(
            id=values["id"],
            name=values.get("name", ""),
            start_date=start,
            end_date=end,
            venue=values.get("venue", ""),
            description=values.get("description", ""),
            languages=tuple(code for code in values.get("languages", "sv").split(",") if code),
            record=values.get("record", "1") != "0",
        )

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = dict(self.to_hash())
        body["languages"] = list(self.languages)
        body["record"] = self.record
        return body


def _stored_day(raw: str) -> date:
    """A stored ISO date; one that cannot be read is shown as the calendar's first day."""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return date.min


def check_event_range(event: Event, today: date, old: dict[str, str] | None = None) -> None:
    """Days given now lie within the schedule's range; stored, unchanged days stay as they are."""
    errors = Errors()
    old = old or {}
    for name in ("start_date", "end_date"):
        day: date = getattr(event, name)
        if day.isoformat() != old.get(name):
            check_schedule_day(errors, name, day, today)
    errors.raise_if_any()


class EventStore(CatalogueStore[Event]):
    record = Event
    kind = "event"
    ids_key = EVENTS_SET
    key = staticmethod(event_key)

    def order(self, record: Event) -> Any:
        return (record.start_date, record.name)

    async def save(self, event: Event, *, create: bool = False) -> None:
        """Store ``event``; with ``create`` an existing id is a conflict, not an update."""

        async def body(pipe: Pipeline) -> None:
            old = decode(await pipe.hgetall(event_key(event.id)))
            if create and old:
                raise Conflict(f"an event with id {event.id!r} already exists")
            check_event_range(event, times.now().date(), old)
            begin_writes(pipe)
            pipe.hset(event_key(event.id), mapping=fields(event.to_hash()))
            pipe.sadd(EVENTS_SET, event.id)

        await transact(self.redis, body, event_key(event.id))

    async def delete(self, event_id: str) -> None:
        async def body(pipe: Pipeline) -> None:
            if not await pipe.exists(event_key(event_id)):
                raise NotFound(f"no event {event_id!r}")
            if await pipe.scard(event_sessions_key(event_id)):
                raise Conflict("the event still has sessions: move or delete them first")
            begin_writes(pipe)
            pipe.delete(event_key(event_id))
            pipe.srem(EVENTS_SET, event_id)

        await transact(self.redis, body, event_key(event_id), event_sessions_key(event_id))
