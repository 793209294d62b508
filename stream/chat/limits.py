"""The chat's tunable limits: named defaults, overridable per process (``STREAM_CHAT_*``).

Fixed protocol limits (frame size, text length, name length) live beside their code in
``protocol``; these are the ones an operator may need to change for a venue behind one NAT
address or for a benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from stream.config import ConfigError

# Sustained messages per second per person, and how many may come at once.
RATE_PER_SECOND = 1.0
RATE_BURST = 5
# Per address (a campus or venue NAT carries many people): generous on purpose.
ADDRESS_RATE_PER_SECOND = 20.0
ADDRESS_RATE_BURST = 60
# Open chat sockets per client address in one process.
MAX_CONNECTIONS_PER_ADDRESS = 100
# A socket whose unsent output passes this is dropped (it reconnects with its last id).
MAX_BEHIND_BYTES = 1024 * 1024

ENV_PREFIX = "STREAM_CHAT_"


@dataclass(frozen=True, slots=True)
class ChatLimits:
    rate_per_second: float = RATE_PER_SECOND
    rate_burst: int = RATE_BURST
    address_rate_per_second: float = ADDRESS_RATE_PER_SECOND
    address_rate_burst: int = ADDRESS_RATE_BURST
    max_connections_per_address: int = MAX_CONNECTIONS_PER_ADDRESS
    max_behind_bytes: int = MAX_BEHIND_BYTES

    def __post_init__(self) -> None:
        for item in fields(self):
            if getattr(self, item.name) <= 0:
                raise ConfigError(f"{ENV_PREFIX}{item.name.upper()} must be positive")

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
