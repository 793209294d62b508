"""Arrangers: the organisations that put on sessions (``arranger:{id}`` and ``arrangers``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from redis.asyncio.client import Pipeline

from stream.common.errors import Conflict, NotFound
from stream.common.records import (
    CatalogueStore,
    begin_writes,
    fields,
    members,
    text,
    transact,
)
from stream.common.validation import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    Errors,
    check_id,
    check_text,
)

ARRANGERS_SET = "arrangers"
MAX_URL_LENGTH = 500
URL_PATTERN = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def arranger_key(arranger_id: str) -> str:
    return f"arranger:{arranger_id}"


def arranger_sessions_key(arranger_id: str) -> str:
    return f"arranger:{arranger_id}:sessions"


def arranger_staff_key(arranger_id: str) -> str:
    return f"arranger:{arranger_id}:staff"


@dataclass(frozen=True, slots=True)
class Arranger:
    id: str
    name: str
    description: str = ""
    website: str = ""

    def __post_init__(self) -> None:
        errors = Errors()
        check_id(errors, "id", self.id)
        check_text(errors, "name", self.name, limit=MAX_NAME_LENGTH, required=True)
        check_text(
            errors, "description", self.description, limit=MAX_DESCRIPTION_LENGTH, multiline=True
        )
        check_text(errors, "website", self.website, limit=MAX_URL_LENGTH)
        if self.website and not URL_PATTERN.fullmatch(self.website):
            errors.add("website", "bad_url", "the website must be an http(s):// address")
        errors.raise_if_any()

    def to_hash(self) -> dict[str, str]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "website": self.website,
        }

    @classmethod
    def from_hash(cls, values: dict[str, str]) -> Arranger:
        return cls(
            id=values["id"],
            name=values.get("name", ""),
            description=values.get("description", ""),
            website=values.get("website", ""),
        )

    def as_json(self) -> dict[str, object]:
        return dict(self.to_hash())


class ArrangerStore(CatalogueStore[Arranger]):
    record = Arranger
    kind = "arranger"
    ids_key = ARRANGERS_SET
    key = staticmethod(arranger_key)

    async def save(self, arranger: Arranger, *, create: bool = False) -> None:
        """Store ``arranger``; a new name is copied to its sessions in the same transaction."""
        key = arranger_key(arranger.id)
        sessions_key = arranger_sessions_key(arranger.id)

        async def body(pipe: Pipeline) -> None:
            if create and await pipe.exists(key):
                raise Conflict(f"an arranger with id {arranger.id!r} already exists")
            session_ids = [text(m) for m in await pipe.smembers(sessions_key)]
            begin_writes(pipe)
            pipe.hset(key, mapping=fields(arranger.to_hash()))
            pipe.sadd(ARRANGERS_SET, arranger.id)
            for session_id in session_ids:
                pipe.hset(f"session:{session_id}", "arranger", arranger.name)

        await transact(self.redis, body, key, sessions_key)

    async def session_ids(self, arranger_id: str) -> list[str]:
        return await members(self.redis, arranger_sessions_key(arranger_id))

    async def delete(self, arranger_id: str) -> None:
        key = arranger_key(arranger_id)
        sessions_key = arranger_sessions_key(arranger_id)
        staff_key = arranger_staff_key(arranger_id)

        async def body(pipe: Pipeline) -> None:
            if not await pipe.exists(key):
                raise NotFound(f"no arranger {arranger_id!r}")
            if await pipe.scard(sessions_key):
                raise Conflict("the arranger still has sessions: move or delete them first")
            if await pipe.scard(staff_key):
                raise Conflict("the arranger still has staff: remove them first")
            begin_writes(pipe)
            pipe.delete(key)
            pipe.srem(ARRANGERS_SET, arranger_id)

        await transact(self.redis, body, key, sessions_key, staff_key)
