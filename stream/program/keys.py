"""Publish keys: random tokens, shown once, stored hashed, compared in constant time, and
valid only around their session's slot in the schedule.

A scheduled session's key opens :data:`REHEARSAL_WINDOW` before its start (sound check, camera
test) and closes :data:`GRACE_PERIOD` after its end (overrun). A session without a schedule
(a test stream, a permanent channel) keeps a key that is valid at any time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

REHEARSAL_WINDOW = timedelta(hours=2)
GRACE_PERIOD = timedelta(minutes=30)


class KeyCheck(StrEnum):
    VALID = "valid"
    WRONG = "wrong"  # no key stored, or not this session's key
    TOO_EARLY = "too_early"  # the right key, before the rehearsal window opens
    EXPIRED = "expired"  # the right key, after the grace period


def key_window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime] | None:
    """When a session's key works; ``None`` means always (no schedule)."""
    if start is None or end is None:
        return None
    return start - REHEARSAL_WINDOW, end + GRACE_PERIOD


def check_window(start: datetime | None, end: datetime | None, now: datetime) -> KeyCheck:
    window = key_window(start, end)
    if window is None:
        return KeyCheck.VALID
    opens, closes = window
    if now < opens:
        return KeyCheck.TOO_EARLY
    if now > closes:
        return KeyCheck.EXPIRED
    return KeyCheck.VALID
