"""One rate limiter for every node: a generic cell-rate algorithm in Redis, checked and counted
in one atomic step across every subject of a request (the identity *and* the address).

Every limit of the platform is a named :class:`Rate` in :mod:`stream.common.rates`; a caller
names the subjects (``("id", uid)``, ``("addr", address)``) and gets either 0 (allowed, counted
for all of them) or the seconds to wait (nothing counted). Because the state lives in Redis, a
visitor who spreads requests over two nodes gets the same allowance as on one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from stream.store import Redis

KEY_PREFIX = "limit:"
MAX_SUBJECTS = 4

# KEYS: one per (rate, subject). ARGV: a placeholder, cost, then per key its emission interval
# (ms) and burst tolerance (ms). Each key holds the subject's theoretical arrival time (TAT).
# Allowed only if every key allows; then every TAT moves forward. Returns 0 or the wait in ms.
# The time is Redis's own (one clock for every node, and no round trip to ask for it).
_GCRA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local cost = tonumber(ARGV[2])
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[1 + 2 * i])
  local tolerance = tonumber(ARGV[2 + 2 * i])
  local increment = interval * cost
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + increment
  local allow_at = new_tat - tolerance - interval
  if allow_at > now and allow_at - now > wait then wait = allow_at - now end
  tats[i] = new_tat
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, tats[i], 'PX', math.ceil(tats[i] - now) + 1000)
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Rate:
    """``per_second`` sustained, with up to ``burst`` at once; ``name`` keys its counters."""

    name: str
    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError(f"rate {self.name}: per_second must be positive, burst at least 1")


def counter_key(rate: Rate, kind: str, subject: str) -> str:
    """The Redis key counting ``subject`` (of ``kind``: "id", "addr", …) against ``rate``."""
    digest = hashlib.sha256(subject.encode("utf-8", "replace")).hexdigest()[:32]
    return f"{KEY_PREFIX}{rate.name}:{kind}:{digest}"


class Limiter:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._script = redis.register_script(_GCRA)

    async def hit(self, rate: Rate, *subjects: tuple[str, str], cost: int = 1) -> float:
        """Count one request against ``rate`` for every ``(kind, subject)``: 0.0 when allowed
        (counted for all), else the seconds until it would be (counted for none)."""
        return await self.hit_each(*((rate, subject) for subject in subjects), cost=cost)

    async def hit_each(self, *limits: tuple[Rate, tuple[str, str]], cost: int = 1) -> float:
        """Like :meth:`hit`, each subject with its own rate (the identity's and the address's):
        counted for all of them in one atomic step, or for none."""
        if not limits or len(limits) > MAX_SUBJECTS:
            raise ValueError(f"1..{MAX_SUBJECTS} subjects, got {len(limits)}")
        keys = [counter_key(rate, kind, subject) for rate, (kind, subject) in limits]
        args: list[float] = [0, cost]
        for rate, _ in limits:
            interval_ms = 1000.0 / rate.per_second
            args += [interval_ms, interval_ms * (rate.burst - 1)]
        wait_ms = await self._script(keys=keys, args=args)
        return float(wait_ms) / 1000.0

    async def reset(self, rate: Rate, *subjects: tuple[str, str]) -> None:
        await self.redis.delete(*(counter_key(rate, kind, subject) for kind, subject in subjects))
