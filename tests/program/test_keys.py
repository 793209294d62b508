"""Publish keys bound to the schedule: valid from the rehearsal window to the grace period."""

from __future__ import annotations

from datetime import timedelta

import pytest

from stream.common.hashing import hash_key, key_matches
from stream.program.keys import GRACE_PERIOD, REHEARSAL_WINDOW, KeyCheck, check_window
from stream.program.sessions import Session, SessionStore
from stream.store import Redis
from tests.program.conftest import at

SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (-REHEARSAL_WINDOW - SECOND, KeyCheck.TOO_EARLY),
        (-REHEARSAL_WINDOW, KeyCheck.VALID),
        (timedelta(0), KeyCheck.VALID),
        (timedelta(minutes=90) + GRACE_PERIOD, KeyCheck.VALID),
        (timedelta(minutes=90) + GRACE_PERIOD + SECOND, KeyCheck.EXPIRED),
    ],
)
def test_the_window_runs_from_rehearsal_to_grace(offset: timedelta, expected: KeyCheck) -> None:
    start, end = at("10:00"), at("11:30")
    assert check_window(start, end, start + offset) is expected


def test_without_a_schedule_a_key_is_always_valid() -> None:
    assert check_window(None, None, at("03:00")) is KeyCheck.VALID


def test_keys_are_compared_by_hash_and_bounded() -> None:
    assert key_matches("abc", hash_key("abc"))
    assert not key_matches("abd", hash_key("abc"))
    assert not key_matches("", hash_key(""))
    assert not key_matches("a" * 257, hash_key("a" * 257))


async def test_store_checks_key_and_time(catalogue: Redis) -> None:
    store = SessionStore(catalogue)
    await store.save(
        Session(id="slot", title="Slot", arranger_id="skog", start=at("10:00"), end=at("11:00"))
    )
    key = await store.rotate_key("slot")
    stored = await catalogue.hget("session:slot", "key_hash")
    assert stored == hash_key(key).encode(), "only the hash is stored"
    before = at("10:00") - REHEARSAL_WINDOW - SECOND
    after = at("11:00") + GRACE_PERIOD + SECOND
    assert await store.check_publish_key("slot", key, before) is KeyCheck.TOO_EARLY
    assert await store.check_publish_key("slot", key, at("09:30")) is KeyCheck.VALID
    assert await store.check_publish_key("slot", key, after) is KeyCheck.EXPIRED
    # A wrong key is wrong whatever the time: the schedule tells a guesser nothing.
    for moment in (before, at("10:30"), after):
        assert await store.check_publish_key("slot", "guess", moment) is KeyCheck.WRONG
    assert await store.session_for_key(key) == "slot"


async def test_rotation_stops_the_old_key_at_once(catalogue: Redis) -> None:
    store = SessionStore(catalogue)
    await store.save(Session(id="chan", title="Kanal"))
    old = await store.rotate_key("chan")
    assert await store.check_key("chan", old)
    new = await store.rotate_key("chan")
    assert new != old
    assert not await store.check_key("chan", old)
    assert await store.check_key("chan", new)
    assert await store.session_for_key(old) is None
    assert await store.session_for_key(new) == "chan"
    await store.revoke_key("chan")
    assert not await store.check_key("chan", new)
    assert not await store.has_key("chan")


async def test_a_session_without_a_key_cannot_be_published(catalogue: Redis) -> None:
    store = SessionStore(catalogue)
    await store.save(Session(id="nokey", title="Utan nyckel"))
    assert await store.check_publish_key("nokey", "anything") is KeyCheck.WRONG
    assert await store.keyed(["nokey"]) == set()
