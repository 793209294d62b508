"""Redis plumbing shared by the programme's stores: decoding hashes and optimistic transactions.

Every write that checks something first (does the arranger exist? is the studio free?) runs as
WATCH → read → MULTI → write → EXEC, retried a bounded number of times when another writer got
there first. Either everything is written or nothing is: no half-saved session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Generic, Protocol, Self, TypeVar

from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError
from redis.typing import EncodableT, FieldT

from stream.common.errors import Conflict, NotFound
from stream.store import Redis

MAX_TRANSACTION_ATTEMPTS = 8

T = TypeVar("T")


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def texts(raw: Iterable[Any]) -> list[str]:
    """Members of a set or sorted set as text (redis-py types them loosely)."""
    return [text(item) for item in raw if isinstance(item, bytes | str)]


def fields(values: Mapping[str, str]) -> dict[FieldT, EncodableT]:
    """A ``str → str`` mapping typed the way redis-py's ``hset(mapping=...)`` wants it."""
    return {k: v for k, v in values.items()}


def decode(raw: Mapping[Any, Any]) -> dict[str, str]:
    return {text(k): text(v) for k, v in raw.items()}


async def transact(redis: Redis, body: Callable[[Pipeline], Awaitable[T]], *watch: str) -> T:
    """Run ``body(pipe)`` with ``watch`` keys watched; it reads (immediate mode), calls
    ``pipe.multi()`` and queues its writes, which are then executed atomically. ``body`` may
    watch more keys before ``multi()``. Raises :class:`Conflict` if others keep interfering."""
    async with redis.pipeline(transaction=True) as pipe:
        for _ in range(MAX_TRANSACTION_ATTEMPTS):
            try:
                if watch:
                    await pipe.watch(*watch)
                result = await body(pipe)
                await pipe.execute()
                return result
            except WatchError:
                continue
            finally:
                await pipe.reset()  # type: ignore[no-untyped-call]
    raise Conflict("the programme changed while saving; please try again")


def begin_writes(pipe: Pipeline) -> None:
    """End the reads of a :func:`transact` body: what is queued next runs in MULTI/EXEC."""
    pipe.multi()  # type: ignore[no-untyped-call]


async def members(redis: Redis, key: str) -> list[str]:
    return sorted(text(member) for member in await redis.smembers(key))


async def load_hashes(redis: Redis, keys: list[str]) -> list[dict[str, str]]:
    """Several hashes in one round trip (missing ones come back empty)."""
    if not keys:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hgetall(key)
        raw = await pipe.execute()
    return [decode(item) for item in raw]


class HashRecord(Protocol):
    """A catalogue record stored as one Redis hash (an event, arranger or studio)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @classmethod
    def from_hash(cls, values: dict[str, str]) -> Self: ...


R = TypeVar("R", bound=HashRecord)


class CatalogueStore(Generic[R]):
    """The reads every catalogue has: one hash per record, a set of their ids.

    Subclasses name the record type, what to call it in errors, the set of ids and the key
    of one record, and keep their own writes (which differ in what they keep consistent).
    """

    record: type[R]
    kind: str  # "arranger", "studio", ... (as errors name it)
    ids_key: str
    key: Callable[[str], str]  # the Redis key of one record (a staticmethod)

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def order(self, record: R) -> Any:
        """Sort key of :meth:`all` (by name unless a catalogue says otherwise)."""
        return record.name.casefold()

    async def get(self, record_id: str) -> R:
        values = (await load_hashes(self.redis, [self.key(record_id)]))[0]
        if not values:
            raise NotFound(f"no {self.kind} {record_id!r}")
        return self.record.from_hash(values)

    async def exists(self, record_id: str) -> bool:
        return bool(await self.redis.exists(self.key(record_id)))

    async def all(self) -> list[R]:
        ids = await members(self.redis, self.ids_key)
        hashes = await load_hashes(self.redis, [self.key(i) for i in ids])
        return sorted((self.record.from_hash(v) for v in hashes if v), key=self.order)

    async def find(self, reference: str) -> R | None:
        """A record by id or by name (case-insensitive): what an import file names."""
        reference = reference.strip()
        for record in await self.all():
            if reference == record.id or reference.casefold() == record.name.casefold():
                return record
        return None
