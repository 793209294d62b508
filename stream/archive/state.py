"""A session's recording state in Redis (``recording:{session}``), for ``/admin`` and the
replay page: ``recording``, ``done``, ``failed`` (with the reason) or ``off``; the live HLS
output's state beside it."""

from __future__ import annotations

import time
from dataclasses import dataclass

from stream.store import Redis, text

STATES = ("recording", "done", "failed", "off")


def state_key(session_id: str) -> str:
    return f"recording:{session_id}"


@dataclass(frozen=True, slots=True)
class RecordingState:
    state: str = ""  # "": never recorded
    reason: str = ""
    updated: float = 0.0
    hls: str = ""
    hls_reason: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "state": self.state or None,
            "reason": self.reason or None,
            "updated": self.updated or None,
            "hls": self.hls or None,
            "hls_reason": self.hls_reason or None,
        }


async def save_state(
    redis: Redis, session_id: str, output: str, state: str, reason: str = ""
) -> None:
    prefix = "" if output == "recording" else f"{output}_"
    field = "state" if output == "recording" else output
    await redis.hset(
        state_key(session_id),
        mapping={field: state, f"{prefix}reason": reason, "updated": f"{time.time():.3f}"},
    )


async def load_state(redis: Redis, session_id: str) -> RecordingState:
    return _state(await redis.hgetall(state_key(session_id)))


async def load_states(redis: Redis, session_ids: list[str]) -> dict[str, RecordingState]:
    """Several sessions' states in one round trip."""
    async with redis.pipeline(transaction=False) as pipe:
        for session_id in session_ids:
            pipe.hgetall(state_key(session_id))
        raws = await pipe.execute()
    return {sid: _state(raw) for sid, raw in zip(session_ids, raws, strict=True)}


def _state(raw: dict[bytes | str, bytes | str]) -> RecordingState:
    values = {text(k): text(v) for k, v in raw.items()}
    try:
        updated = float(values.get("updated") or 0)
    except ValueError:
        updated = 0.0
    return RecordingState(
        state=values.get("state", ""),
        reason=values.get("reason", ""),
        updated=updated,
        hls=values.get("hls", ""),
        hls_reason=values.get("hls_reason", ""),
    )


async def forget_state(redis: Redis, session_id: str) -> None:
    await redis.delete(state_key(session_id))
