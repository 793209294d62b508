"""A session's viewer curve in Redis: concurrent viewers every ``SAMPLE_INTERVAL`` seconds while
it is live, its peaks and its unique viewers, summed over every node that serves it.

Time is cut into buckets of ``SAMPLE_INTERVAL`` seconds (bucket = epoch seconds // interval).
Once per bucket each node writes *its own* count of a live session with one script
(:data:`_SAMPLE`) that

1. sets the node's field in ``viewers:{s}:nodes`` to ``"bucket watching pages"`` (written again
   in the same bucket, it replaces itself: a node counts once per bucket);
2. sums the fields of that bucket over all nodes (fields of buckets long gone are deleted:
   a node that died stops counting) and stores the sum as the bucket's entry in the sorted set
   ``viewers:{s}:curve`` (score = bucket, member ``"bucket watching pages"``), replacing the
   entry a node before it wrote: the last node to write a bucket leaves the full sum;
3. raises ``peak``/``peak_pages`` in ``viewers:{s}`` (a partial sum is never above the full
   one, so the peak is exact), which also remembers the first and last bucket;
4. keeps the curve at most ``MAX_SAMPLES`` entries (the newest): the summary keeps the peaks
   of what was trimmed.

Unique viewers go into the HyperLogLog ``viewers:{s}:unique`` (keyed hashes of addresses,
never the addresses). Everything is in Redis (AOF): a restart of a node or of Redis keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stream.store import Redis, text

SAMPLE_INTERVAL = 10  # seconds per bucket: one sample per node per bucket
MAX_SAMPLES = 8640  # the newest 24 hours of one session at 10 s
STALE_BUCKETS = 6  # a node silent this many buckets no longer has a field
MAX_TAGS_PER_CALL = 1000  # PFADD elements per command


def nodes_key(session_id: str) -> str:
    return f"viewers:{session_id}:nodes"


def curve_key(session_id: str) -> str:
    return f"viewers:{session_id}:curve"


def summary_key(session_id: str) -> str:
    return f"viewers:{session_id}"


def unique_key(session_id: str) -> str:
    return f"viewers:{session_id}:unique"


def all_keys(session_id: str) -> tuple[str, ...]:
    return (
        nodes_key(session_id),
        curve_key(session_id),
        summary_key(session_id),
        unique_key(session_id),
    )


# KEYS: nodes, curve, summary. ARGV: node, bucket, watching, pages, max samples, stale buckets,
# interval. Returns the bucket's sums so far {watching, pages}.
_SAMPLE = """
local node, bucket = ARGV[1], tonumber(ARGV[2])
redis.call('HSET', KEYS[1], node, ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[4])
local watching, pages = 0, 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local b, w, p = string.match(fields[i + 1], '^(%d+) (%d+) (%d+)$')
  b = tonumber(b)
  if b == bucket then
    watching = watching + tonumber(w)
    pages = pages + tonumber(p)
  elseif b == nil or b < bucket - tonumber(ARGV[6]) then
    redis.call('HDEL', KEYS[1], fields[i])
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], bucket, bucket)
redis.call('ZADD', KEYS[2], bucket, bucket .. ' ' .. watching .. ' ' .. pages)
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[5]) + 1))
local peak = redis.call('HMGET', KEYS[3], 'peak', 'peak_pages', 'first', 'last')
if watching > tonumber(peak[1] or '-1') then
  redis.call('HSET', KEYS[3], 'peak', watching, 'peak_at', bucket)
end
if pages > tonumber(peak[2] or '-1') then
  redis.call('HSET', KEYS[3], 'peak_pages', pages, 'peak_pages_at', bucket)
end
if not peak[3] or bucket < tonumber(peak[3]) then redis.call('HSET', KEYS[3], 'first', bucket) end
if not peak[4] or bucket > tonumber(peak[4]) then redis.call('HSET', KEYS[3], 'last', bucket) end
redis.call('HSET', KEYS[3], 'interval', ARGV[7])
return {watching, pages}
"""


@dataclass(frozen=True, slots=True)
class NodeSample:
    """One node's count of one live session in one bucket."""

    session_id: str
    watching: int  # WebRTC viewers of the room here + HLS players served here
    pages: int  # the session's page sockets open here (watch, phone, stage, moderation)
    tags: frozenset[str] = frozenset()  # keyed hashes of the viewers' addresses

    def __post_init__(self) -> None:
        if self.watching < 0 or self.pages < 0:
            raise ValueError("counts must not be negative")


class CurveWriter:
    """Writes one node's samples: one pipeline per tick, whatever the number of sessions."""

    def __init__(self, redis: Redis, node: str, interval: int = SAMPLE_INTERVAL) -> None:
        if interval <= 0:
            raise ValueError("the interval must be positive")
        self.redis = redis
        self.node = node
        self.interval = interval
        self._sample = redis.register_script(_SAMPLE)

    def bucket(self, now: float) -> int:
        return int(now // self.interval)

    async def write(self, samples: list[NodeSample], now: float) -> None:
        if not samples:
            return
        bucket = self.bucket(now)
        async with self.redis.pipeline(transaction=False) as pipe:
            for sample in samples:
                s = sample.session_id
                await self._sample(
                    keys=[nodes_key(s), curve_key(s), summary_key(s)],
                    args=[
                        self.node, bucket, sample.watching, sample.pages,
                        MAX_SAMPLES, STALE_BUCKETS, self.interval,
                    ],
                    client=pipe,
                )  # fmt: skip
                tags = sorted(sample.tags)
                for start in range(0, len(tags), MAX_TAGS_PER_CALL):
                    pipe.pfadd(unique_key(s), *tags[start : start + MAX_TAGS_PER_CALL])
            await pipe.execute()


@dataclass(frozen=True, slots=True)
class Point:
    at: float  # epoch seconds at the start of the bucket
    watching: int
    pages: int


@dataclass(frozen=True, slots=True)
class Curve:
    """What a session's audience was: the samples (oldest first), the peaks, unique viewers."""

    interval: int
    points: tuple[Point, ...] = ()
    peak: int = 0
    peak_at: float | None = None
    peak_pages: int = 0
    peak_pages_at: float | None = None
    unique: int = 0
    first: float | None = None
    last: float | None = None

    @property
    def empty(self) -> bool:
        return not self.points and self.first is None

    def as_json(self) -> dict[str, Any]:
        return {
            "interval_seconds": self.interval,
            "peak_watching": self.peak,
            "peak_watching_at": self.peak_at,
            "peak_pages": self.peak_pages,
            "peak_pages_at": self.peak_pages_at,
            "unique_viewers": self.unique,
            "first_sample_at": self.first,
            "last_sample_at": self.last,
            "samples": len(self.points),
        }


def _int(values: dict[str, str], name: str) -> int | None:
    try:
        return int(values[name])
    except (KeyError, ValueError):
        return None


def _point(member: bytes | str, interval: int) -> Point | None:
    parts = text(member).split(" ")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    bucket, watching, pages = (int(p) for p in parts)
    return Point(float(bucket * interval), watching, pages)


async def load_curve(redis: Redis, session_id: str) -> Curve:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zrange(curve_key(session_id), 0, -1)
        pipe.hgetall(summary_key(session_id))
        pipe.pfcount(unique_key(session_id))
        members, raw, unique = await pipe.execute()
    values = {text(k): text(v) for k, v in raw.items()}
    interval = _int(values, "interval") or SAMPLE_INTERVAL

    def at(name: str) -> float | None:
        bucket = _int(values, name)
        return None if bucket is None else float(bucket * interval)

    points = tuple(p for m in members if (p := _point(m, interval)) is not None)
    return Curve(
        interval=interval,
        points=points,
        peak=_int(values, "peak") or 0,
        peak_at=at("peak_at"),
        peak_pages=_int(values, "peak_pages") or 0,
        peak_pages_at=at("peak_pages_at"),
        unique=int(unique or 0),
        first=at("first"),
        last=at("last"),
    )


async def forget_curve(redis: Redis, session_id: str) -> None:
    await redis.delete(*all_keys(session_id))
