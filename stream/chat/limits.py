"""The chat's tunable limits: named defaults, overridable per process (``STREAM_CHAT_*``).

The rates default to the named :class:`~stream.common.limits.Rate` constants of
:mod:`stream.common.rates` and are counted by the shared Redis limiter (every node draws on
one allowance). Fixed protocol limits (frame size, text length, name length) live beside their
code in ``protocol``; these are the ones an operator may need to change for a venue behind one
NAT address or for a benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from stream.common.limits import Rate
from stream.common.rates import (
    CHAT_NEW_IDENTITY_PER_ADDRESS,
    CHAT_SEND_PER_ADDRESS,
    CHAT_SEND_PER_IDENTITY,
)
from stream.config import ConfigError

# Open chat sockets per client address in one process.
MAX_CONNECTIONS_PER_ADDRESS = 100
# A socket whose unsent output passes this is dropped (it reconnects with its last id).
MAX_BEHIND_BYTES = 1024 * 1024

# Under load a session's messages go out together once per tick (quiet: at once); 0 writes
# every read at once (the previous path, the benchmark's baseline).
FANOUT_TICK_MS = 5.0

ENV_PREFIX = "STREAM_CHAT_"
# Limits that may be 0.
_MAY_BE_ZERO = frozenset({"fanout_tick_ms"})


@dataclass(frozen=True, slots=True)
class ChatLimits:
    rate_per_second: float = CHAT_SEND_PER_IDENTITY.per_second
    rate_burst: int = CHAT_SEND_PER_IDENTITY.burst
    address_rate_per_second: float = CHAT_SEND_PER_ADDRESS.per_second
    address_rate_burst: int = CHAT_SEND_PER_ADDRESS.burst
    new_identities_per_second: float = CHAT_NEW_IDENTITY_PER_ADDRESS.per_second
    new_identities_burst: int = CHAT_NEW_IDENTITY_PER_ADDRESS.burst
    max_connections_per_address: int = MAX_CONNECTIONS_PER_ADDRESS
    max_behind_bytes: int = MAX_BEHIND_BYTES
    fanout_tick_ms: float = FANOUT_TICK_MS

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if value < 0 or (value == 0 and item.name not in _MAY_BE_ZERO):
                raise ConfigError(f"{ENV_PREFIX}{item.name.upper()} must be positive")

    @property
    def send_rate(self) -> Rate:
        return Rate(CHAT_SEND_PER_IDENTITY.name, self.rate_per_second, self.rate_burst)

    @property
    def address_rate(self) -> Rate:
        return Rate(
            CHAT_SEND_PER_ADDRESS.name, self.address_rate_per_second, self.address_rate_burst
        )

    @property
    def new_identity_rate(self) -> Rate:
        return Rate(
            CHAT_NEW_IDENTITY_PER_ADDRESS.name,
            self.new_identities_per_second,
            self.new_identities_burst,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ChatLimits:
        """Defaults, overridden by ``STREAM_CHAT_RATE_PER_SECOND`` and friends."""
        limits = cls()
        for item in fields(cls):
            key = f"{ENV_PREFIX}{item.name.upper()}"
            if key not in env:
                continue
            parse = float if isinstance(getattr(limits, item.name), float) else int
            try:
                value: Any = parse(env[key])
            except ValueError:
                raise ConfigError(f"{key}: {env[key]!r} is not a number") from None
            limits = replace(limits, **{item.name: value})
        return limits
