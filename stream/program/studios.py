"""Studios: shared rooms sessions are booked into (``studio:{id}``, ``studios``, and
``studio:{id}:bookings``, a sorted set of session ids scored by start time).

No two sessions overlap in one studio; :mod:`stream.program.sessions` enforces that when it books.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio.client import Pipeline

from stream.common.errors import Conflict, NotFound
from stream.common.records import (
    CatalogueStore,
    begin_writes,
    fields,
    texts,
    transact,
)
from stream.common.validation import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    Errors,
    check_id,
    check_text,
)

STUDIOS_SET = "studios"


def studio_key(studio_id: str) -> str:
    return f"studio:{studio_id}"


def studio_bookings_key(studio_id: str) -> str:
    return f"studio:{studio_id}:bookings"


@dataclass(frozen=True, slots=True)
class Studio:
    id: str
    name: str
    location: str = ""  # "Campus Umeå", "Hotell Lappland, Lycksele"
    description: str = ""

    def __post_init__(self) -> None:
        errors = Errors()
        check_id(errors, "id", self.id)
        check_text(errors, "name", self.name, limit=MAX_NAME_LENGTH, required=True)
        check_text(errors, "location", self.location, limit=MAX_NAME_LENGTH)
        check_text(
            errors, "description", self.description, limit=MAX_DESCRIPTION_LENGTH, multiline=True
        )
        errors.raise_if_any()

    def to_hash(self) -> dict[str, str]:
        return {
            "id": self.id,
            "name": self.name,
            "location": self.location,
            "description": self.description,
        }

    @classmethod
    def from_hash(cls, values: dict[str, str]) -> Studio:
        return cls(
            id=values["id"],
            name=values.get("name", ""),
            location=values.get("location", ""),
            description=values.get("description", ""),
        )

    def as_json(self) -> dict[str, object]:
        return dict(self.to_hash())


class StudioStore(CatalogueStore[Studio]):
    record = Studio
    kind = "studio"
    ids_key = STUDIOS_SET
    key = staticmethod(studio_key)

    async def save(self, studio: Studio, *, create: bool = False) -> None:
        async def body(pipe: Pipeline) -> None:
            if create and await pipe.exists(studio_key(studio.id)):
                raise Conflict(f"a studio with id {studio.id!r} already exists")
            begin_writes(pipe)
            pipe.hset(studio_key(studio.id), mapping=fields(studio.to_hash()))
            pipe.sadd(STUDIOS_SET, studio.id)

        await transact(self.redis, body, studio_key(studio.id))

    async def booked_session_ids(self, studio_id: str) -> list[str]:
        """Ids of the sessions booked into the studio, by start time."""
        raw = await self.redis.zrange(studio_bookings_key(studio_id), 0, -1)
        return texts(raw)

    async def delete(self, studio_id: str) -> None:
        key = studio_key(studio_id)
        bookings = studio_bookings_key(studio_id)

        async def body(pipe: Pipeline) -> None:
            if not await pipe.exists(key):
                raise NotFound(f"no studio {studio_id!r}")
            if await pipe.zcard(bookings):
                raise Conflict("the studio still has bookings: move or delete those sessions first")
            begin_writes(pipe)
            pipe.delete(key)
            pipe.srem(STUDIOS_SET, studio_id)

        await transact(self.redis, body, key, bookings)
