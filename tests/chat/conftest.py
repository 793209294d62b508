"""Chat tests run with relaxed rate limits; the limit tests tighten them on purpose."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def relaxed_chat_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAM_CHAT_RATE_PER_SECOND", "1000")
    monkeypatch.setenv("STREAM_CHAT_RATE_BURST", "1000")
    monkeypatch.setenv("STREAM_CHAT_ADDRESS_RATE_PER_SECOND", "1000")
    monkeypatch.setenv("STREAM_CHAT_ADDRESS_RATE_BURST", "1000")
    monkeypatch.setenv("STREAM_CHAT_NEW_IDENTITIES_PER_SECOND", "1000")
    monkeypatch.setenv("STREAM_CHAT_NEW_IDENTITIES_BURST", "1000")
