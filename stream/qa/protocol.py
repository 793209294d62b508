"""The Q&A and poll frames on the chat socket, parsed into validated commands.

Client → server: ``qa.sync`` (the current state), ``qa.ask``, ``qa.vote``, ``qa.mod``,
``poll.create``, ``poll.answer`` (``choices``, or ``words`` for a word cloud), ``poll.mod``.
Server → client: ``qa.snapshot``, ``qa.ack`` and ``qa.error`` (with the request's ``cid``), and
the stored events ``qa`` and ``poll``.
Parsers raise :class:`QAError` with exact messages; tests assert them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from stream.chat.protocol import ProtocolError, clean_text
from stream.qa.limits import (
    MAX_ANSWER_LENGTH,
    MAX_DELAY_MS,
    MAX_OPTION_LENGTH,
    MAX_OPTIONS,
    MAX_POLL_QUESTION_LENGTH,
    MAX_QUESTION_LENGTH,
    MAX_WORD_LENGTH,
    MAX_WORDS_PER_ANSWER,
    MIN_OPTIONS,
    MIN_QUESTION_LENGTH,
    RATING_OPTIONS,
)
from stream.qa.model import POLL_KINDS, SOURCES, PollKind, Source

QUESTION_ID = re.compile(r"^q[0-9]{1,9}$")
POLL_ID = re.compile(r"^p[0-9]{1,9}$")
QUESTION_ACTIONS = frozenset(
    {"approve", "reject", "edit", "merge", "answer", "dismiss", "reopen", "stage", "reply"}
)
SESSION_ACTIONS = frozenset({"unstage", "premod"})
# open/close a poll (close puts its result on screen), clear it from screen, hide a word
# cloud's entry.
POLL_ACTIONS = frozenset({"open", "close", "clear", "hide"})
FRAME_TYPES = ("qa.sync", "qa.ask", "qa.vote", "qa.mod", "poll.create", "poll.answer", "poll.mod")
# Types of the stored events (a client starts from qa.sync, then applies these).
EVENT_TYPES = ("qa", "poll")


class QAError(ProtocolError):
    """A Q&A request the server refuses; ``code`` is what the client is told, and
    ``retry_after`` (seconds) when trying again later will do."""

    def __init__(
        self, message: str, code: str = "bad_request", *, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code)
        self.retry_after = retry_after


def check_answer_status(status: int) -> None:
    """Raise the refusal a poll-answer script's status stands for (1: counted)."""
    if status == -1:
        raise QAError("no such poll", "not_found")
    if status == -2:
        raise QAError("this poll is not open", "poll_closed")
    if status == 0:
        raise QAError("you have answered this poll already", "answered")
    if status == -3:
        raise QAError("this poll has all the answers it takes from your address", "address_full")


@dataclass(frozen=True, slots=True)
class Ask:
    text: str
    anon: bool = False
    source: Source = "remote"
    delay_ms: int = 0


@dataclass(frozen=True, slots=True)
class Vote:
    qid: str
    up: bool = True


@dataclass(frozen=True, slots=True)
class QAModerate:
    action: str
    qid: str = ""
    # The question's revision the moderator saw: a change since then refuses the action.
    v: int = 0
    text: str = ""
    into: str = ""
    into_v: int = 0
    on: bool = False


@dataclass(frozen=True, slots=True)
class PollCreate:
    question: str
    kind: PollKind
    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Word:
    """A word cloud entry: as shown (its first spelling) and as counted (``key``)."""

    label: str
    key: str


@dataclass(frozen=True, slots=True)
class PollAnswer:
    pid: str
    choices: tuple[int, ...] = ()
    words: tuple[Word, ...] = ()


@dataclass(frozen=True, slots=True)
class PollModerate:
    action: str
    pid: str
    v: int = 0
    word: Word | None = None


def _bool(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise QAError(f"{key} must be true or false")
    return value


def _int(data: dict[str, Any], key: str, low: int, high: int, default: int | None = None) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise QAError(f"{key} must be an integer from {low} to {high}")
    return value


def _id(data: dict[str, Any], key: str, pattern: re.Pattern[str]) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise QAError(f"{key} is malformed")
    return value


def _text(data: dict[str, Any], key: str, max_length: int, min_length: int = 1) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise QAError(f"{key} must be a string")
    try:
        text = clean_text(value)
    except ProtocolError:
        raise QAError(f"{key} is empty") from None
    if len(text) > max_length:
        raise QAError(f"{key} is longer than {max_length} characters", "too_long")
    if len(text) < min_length:
        raise QAError(f"{key} is shorter than {min_length} characters", "too_short")
    return text


def parse_ask(data: dict[str, Any]) -> Ask:
    text = _text(data, "text", MAX_QUESTION_LENGTH, MIN_QUESTION_LENGTH)
    source = data.get("source", "remote")
    if source not in SOURCES:
        raise QAError("source must be room or remote")
    delay = _int(data, "delay_ms", 0, MAX_DELAY_MS, default=0)
    return Ask(text, _bool(data, "anon"), source, delay)


def parse_vote(data: dict[str, Any]) -> Vote:
    return Vote(_id(data, "q", QUESTION_ID), data.get("up", True) is not False)


def parse_moderate(data: dict[str, Any]) -> QAModerate:
    action = data.get("action")
    if not isinstance(action, str) or action not in QUESTION_ACTIONS | SESSION_ACTIONS:
        raise QAError("unknown Q&A action")
    if action == "unstage":
        return QAModerate(action)
    if action == "premod":
        return QAModerate(action, on=_bool(data, "on"))
    qid = _id(data, "q", QUESTION_ID)
    v = _int(data, "v", 1, 2**31)
    if action == "edit":
        return QAModerate(action, qid, v, text=_text(data, "text", MAX_QUESTION_LENGTH))
    if action == "reply":
        return QAModerate(action, qid, v, text=_text(data, "text", MAX_ANSWER_LENGTH))
    if action == "merge":
        into = _id(data, "into", QUESTION_ID)
        if into == qid:
            raise QAError("a question cannot be merged into itself")
        return QAModerate(action, qid, v, into=into, into_v=_int(data, "into_v", 1, 2**31))
    return QAModerate(action, qid, v)


def word_key(label: str) -> str:
    """How an entry is counted: compatibility-normalised, case-folded, spaces collapsed (so
    "Kaffe", "KAFFE" and "kaffe" in full-width letters are one entry)."""
    return " ".join(unicodedata.normalize("NFKC", label).casefold().split())


def parse_word(value: Any) -> Word:
    if not isinstance(value, str):
        raise QAError("words must be strings")
    too_long = QAError(f"a word is longer than {MAX_WORD_LENGTH} characters", "too_long")
    try:
        label = clean_text(value)
    except ProtocolError as exc:
        raise (too_long if exc.code == "too_long" else QAError("a word is empty")) from None
    if len(label) > MAX_WORD_LENGTH:
        raise too_long
    key = word_key(label)
    # Only invisible characters (zero-width spaces, joiners, lone combining marks): empty.
    if not any(unicodedata.category(char)[0] in "LNPS" for char in key):
        raise QAError("a word is empty")
    return Word(label, key)


def _words(raw: Any) -> tuple[Word, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_WORDS_PER_ANSWER:
        raise QAError(f"words must be a list of 1 to {MAX_WORDS_PER_ANSWER} strings")
    words: dict[str, Word] = {}
    for value in raw:
        word = parse_word(value)
        words.setdefault(word.key, word)  # the same entry twice counts once
    return tuple(words.values())


def parse_poll_create(data: dict[str, Any]) -> PollCreate:
    question = _text(data, "question", MAX_POLL_QUESTION_LENGTH)
    kind = data.get("kind", "single")
    if kind not in POLL_KINDS:
        raise QAError("kind must be single, multiple, rating or words")
    if kind in ("rating", "words"):
        if data.get("options") not in (None, []):
            raise QAError(f"a {kind} poll takes no options")
        return PollCreate(question, kind, RATING_OPTIONS if kind == "rating" else ())
    raw = data.get("options")
    if not isinstance(raw, list) or not MIN_OPTIONS <= len(raw) <= MAX_OPTIONS:
        raise QAError(f"options must be a list of {MIN_OPTIONS} to {MAX_OPTIONS} strings")
    options = tuple(_text({"option": o}, "option", MAX_OPTION_LENGTH) for o in raw)
    if len(set(options)) != len(options):
        raise QAError("options must differ")
    return PollCreate(question, "multiple" if kind == "multiple" else "single", options)


def parse_poll_answer(data: dict[str, Any]) -> PollAnswer:
    pid = _id(data, "poll", POLL_ID)
    if "words" in data:
        if "choices" in data:
            raise QAError("give choices or words, not both")
        return PollAnswer(pid, words=_words(data["words"]))
    raw = data.get("choices")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_OPTIONS:
        raise QAError("choices must be a list of option numbers")
    choices: list[int] = []
    for choice in raw:
        if not isinstance(choice, int) or isinstance(choice, bool) or not 0 <= choice < MAX_OPTIONS:
            raise QAError("choices must be a list of option numbers")
        if choice not in choices:
            choices.append(choice)
    return PollAnswer(pid, tuple(sorted(choices)))


def parse_poll_moderate(data: dict[str, Any]) -> PollModerate:
    action = data.get("action")
    if not isinstance(action, str) or action not in POLL_ACTIONS:
        raise QAError("unknown poll action")
    pid = _id(data, "poll", POLL_ID)
    if action == "clear":
        return PollModerate(action, pid)
    if action == "hide":
        return PollModerate(action, pid, word=parse_word(data.get("word")))
    return PollModerate(action, pid, _int(data, "v", 1, 2**31))
