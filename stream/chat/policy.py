"""The chat's rules, as pure functions: the session's modes and a sender's standing → a verdict.

Moderators are never refused or held. For everyone else, in order: chat off, banned, timed
out, registered-only, then blocked words and hold-for-review send the message to the review
queue; slow mode is enforced atomically by the append itself.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal

from stream.chat.identity import Identity

Outcome = Literal["accept", "hold", "refuse"]


@dataclass(frozen=True, slots=True)
class ChatState:
    """A session's chat modes, as stored in its state hash."""

    enabled: bool = True
    slow: int = 0
    hold: bool = False
    registered_only: bool = False
    words: tuple[str, ...] = ()
    # The pinned event (JSON bytes with its id), or None.
    pinned: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> ChatState:
        def flag(name: bytes, default: bool) -> bool:
            value = raw.get(name)
            return default if value is None else value == b"1"

        words: tuple[str, ...] = ()
        if raw.get(b"words"):
            words = tuple(str(word) for word in json.loads(raw[b"words"]))
        return cls(
            enabled=flag(b"enabled", True),
            slow=int(raw.get(b"slow") or 0),
            hold=flag(b"hold", False),
            registered_only=flag(b"registered_only", False),
            words=words,
            pinned=raw.get(b"pinned") or None,
        )

    def describe(self, *, moderator: bool) -> dict[str, Any]:
        """The modes a client shows (the blocked-words list only to moderators)."""
        state: dict[str, Any] = {
            "enabled": self.enabled,
            "slow": self.slow,
            "hold": self.hold,
            "registered_only": self.registered_only,
            "pinned": json.loads(self.pinned) if self.pinned else None,
        }
        if moderator:
            state["words"] = list(self.words)
        return state


@dataclass(frozen=True, slots=True)
class Standing:
    """One person in one session: banned (by identity or address), timed out for how long."""

    banned: bool = False
    timeout_left: float = 0.0


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    code: str = ""
    detail: str = ""
    retry_after: float | None = None
    # Slow mode to enforce on the append (seconds; 0: none).
    slow: int = 0


def _refuse(code: str, detail: str, retry_after: float | None = None) -> Verdict:
    return Verdict("refuse", code, detail, retry_after)


@functools.lru_cache(maxsize=64)
def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def blocked_word(text: str, words: tuple[str, ...]) -> bool:
    """Whether ``text`` contains one of ``words`` as a whole word or phrase, ignoring case."""
    if not words:
        return False
    folded = unicodedata.normalize("NFC", text).casefold()
    return _word_pattern(words).search(folded) is not None


def judge(state: ChatState, standing: Standing, sender: Identity, text: str) -> Verdict:
    if sender.moderator:
        return Verdict("accept")
    if not state.enabled:
        return _refuse("chat_off", "chat is off")
    if standing.banned:
        return _refuse("banned", "you are banned from this chat")
    if standing.timeout_left > 0:
        return _refuse("timeout", "you are timed out", standing.timeout_left)
    if state.registered_only and not sender.registered:
        return _refuse("registered_only", "only registered participants may write now")
    if blocked_word(text, state.words):
        return Verdict("hold", "held", "held for review", slow=state.slow)
    if state.hold:
        return Verdict("hold", "held", "held for review", slow=state.slow)
    return Verdict("accept", slow=state.slow)
