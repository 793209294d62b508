"""Viewers per client address across every node of a deployment, not per process.

Each process admits peers against its own counts (``stream.rtc.admission``), so behind one port
(``stream serve --workers N``) or a load balancer an address could hold the per-address cap on
every node. This keeps one count per address in Redis for the whole deployment:

- ``viewers:addr:{hash}`` is a hash with one field per node (its tag): ``"<count>:<expires>"``
  (milliseconds). The address itself is not stored, only a keyed hash of it.
- Admitting a viewer is one Lua script: it sums the fields that have not expired (dropping the
  others: a node that died stops counting within ``ADDRESS_HOLD_TTL_MS``), refuses at the cap,
  otherwise adds one to this node's field.
- A viewer that leaves takes one off; every ``ADDRESS_REFRESH_INTERVAL`` seconds each node
  writes its own counts again, so a lost decrement or a Redis restart heals by itself.

If Redis cannot be asked, the process's own cap still holds: the viewer is admitted.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping

from stream.store import Redis

logger = logging.getLogger(__name__)

ADDRESS_HOLD_TTL_MS = 60_000  # a node's counts outlive it by at most this
ADDRESS_REFRESH_INTERVAL = 20.0  # seconds between a node's rewrites of its counts
ADDRESS_HASH_CHARS = 32

_ACQUIRE = """
local fields = redis.call('HGETALL', KEYS[1])
local now = tonumber(ARGV[3])
local total = 0
local mine = 0
for i = 1, #fields, 2 do
  local count, expires = string.match(fields[i + 1], '^(%d+):(%d+)$')
  if count == nil or tonumber(expires) < now then
    redis.call('HDEL', KEYS[1], fields[i])
  else
    total = total + tonumber(count)
    if fields[i] == ARGV[1] then mine = tonumber(count) end
  end
end
if total >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], (mine + 1) .. ':' .. (now + tonumber(ARGV[4])))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""

_RELEASE = """
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then return 0 end
local count = tonumber(string.match(value, '^(%d+):')) or 0
if count <= 1 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], (count - 1) .. ':' .. (tonumber(ARGV[2]) + tonumber(ARGV[3])))
return count - 1
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


class SharedAddressCap:
    """At most ``cap`` viewers per address over all nodes; ``node`` is this node's tag."""

    def __init__(self, redis: Redis, node: str, secret: bytes, cap: int) -> None:
        self.redis = redis
        self.node = node
        self.secret = secret
        self.cap = cap
        self._acquire = redis.register_script(_ACQUIRE)
        self._release = redis.register_script(_RELEASE)

    def key(self, address: str) -> str:
        digest = hmac.new(self.secret, address.encode(), hashlib.sha256).hexdigest()
        return f"viewers:addr:{digest[:ADDRESS_HASH_CHARS]}"

    async def acquire(self, address: str) -> bool:
        """One more viewer from ``address``, unless the deployment holds ``cap`` of them."""
        try:
            admitted = await self._acquire(
                keys=[self.key(address)],
                args=[self.node, self.cap, _now_ms(), ADDRESS_HOLD_TTL_MS],
            )
        except Exception as exc:  # Redis away: the process's own cap still holds
            logger.warning("shared viewer count unavailable: %s", type(exc).__name__)
            return True
        return bool(admitted)

    async def release(self, address: str) -> None:
        try:
            await self._release(
                keys=[self.key(address)], args=[self.node, _now_ms(), ADDRESS_HOLD_TTL_MS]
            )
        except Exception as exc:  # healed by the next refresh
            logger.warning("shared viewer count not lowered: %s", type(exc).__name__)

    async def refresh(self, held: Mapping[str, int]) -> None:
        """Write this node's counts again (the viewers it holds now, by address)."""
        if not held:
            return
        expires = _now_ms() + ADDRESS_HOLD_TTL_MS
        async with self.redis.pipeline(transaction=False) as pipe:
            for address, count in held.items():
                key = self.key(address)
                pipe.hset(key, self.node, f"{count}:{expires}")
                pipe.pexpire(key, ADDRESS_HOLD_TTL_MS)
            await pipe.execute()

    async def run(self, held: Callable[[], Mapping[str, int]]) -> None:
        while True:
            await asyncio.sleep(ADDRESS_REFRESH_INTERVAL)
            try:
                await self.refresh(held())
            except Exception as exc:  # Redis away for a moment: next round
                logger.warning("shared viewer counts not refreshed: %s", type(exc).__name__)
