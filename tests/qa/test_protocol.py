"""The Q&A frame parsers: exact refusals, and any JSON object either parses or is refused with
a QAError (never another exception)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream.chat.protocol import Extension, parse_command
from stream.qa.limits import MAX_WORD_LENGTH, MAX_WORDS_PER_ANSWER, RATING_OPTIONS
from stream.qa.protocol import (
    FRAME_TYPES,
    QAError,
    parse_ask,
    parse_moderate,
    parse_poll_answer,
    parse_poll_create,
    parse_poll_moderate,
    parse_vote,
    word_key,
)

PARSERS = (
    parse_ask,
    parse_vote,
    parse_moderate,
    parse_poll_create,
    parse_poll_answer,
    parse_poll_moderate,
)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
KEYS = st.sampled_from(
    ["text", "anon", "source", "delay_ms", "q", "up", "action", "v", "into", "into_v", "on",
     "question", "kind", "options", "poll", "choices", "words", "word"]
)  # fmt: skip


@given(st.dictionaries(KEYS, JSON, max_size=6))
def test_parsers_refuse_with_qa_error_only(data: dict[str, Any]) -> None:
    for parse in PARSERS:
        try:
            parse(data)
        except QAError:
            pass


REFUSALS: list[tuple[Any, dict[str, Any], str]] = [
    (parse_ask, {"text": "  "}, "text is empty"),
    (parse_ask, {"text": "ab"}, "text is shorter than 3 characters"),
    (parse_ask, {"text": "Hej?", "source": "moon"}, "source must be room or remote"),
    (parse_ask, {"text": "Hej?", "delay_ms": -1}, "delay_ms must be an integer from 0 to 600000"),
    (parse_vote, {"q": "x1"}, "q is malformed"),
    (parse_moderate, {"action": "approve", "q": "q1"}, "v must be an integer from 1 to 2147483648"),
    (
        parse_moderate,
        {"action": "merge", "q": "q1", "v": 1, "into": "q1"},
        "a question cannot be merged into itself",
    ),
    (parse_poll_answer, {"poll": "p1", "choices": []}, "choices must be a list of option numbers"),
    (parse_poll_moderate, {"action": "delete", "poll": "p1", "v": 1}, "unknown poll action"),
    (
        parse_poll_create,
        {"question": "Q", "kind": "stars"},
        "kind must be single, multiple, rating or words",
    ),
    (
        parse_poll_create,
        {"question": "Q", "kind": "words", "options": ["a"]},
        "a words poll takes no options",
    ),
    (
        parse_poll_answer,
        {"poll": "p1", "words": ["a"], "choices": [0]},
        "give choices or words, not both",
    ),
    (parse_poll_answer, {"poll": "p1", "words": "kaffe"}, "words must be a list of 1 to 3 strings"),
    (parse_poll_answer, {"poll": "p1", "words": ["\u200b\u200d"]}, "a word is empty"),
    (parse_poll_moderate, {"action": "hide", "poll": "p1"}, "words must be strings"),
]


@pytest.mark.parametrize(("parse", "data", "message"), REFUSALS)
def test_exact_refusals(parse: Any, data: dict[str, Any], message: str) -> None:
    with pytest.raises(QAError) as refused:
        parse(data)
    assert str(refused.value) == message


def test_registered_types_come_back_as_extensions() -> None:
    command = parse_command('{"type":"qa.vote","cid":"c1","q":"q1"}', frozenset(FRAME_TYPES))
    assert command == Extension("qa.vote", {"type": "qa.vote", "cid": "c1", "q": "q1"}, "c1")
    with pytest.raises(ValueError, match="unknown frame type"):
        parse_command('{"type":"qa.vote"}')


def test_rating_polls_have_fixed_options() -> None:
    command = parse_poll_create({"question": "Betyg?", "kind": "rating"})
    assert (command.kind, command.options) == ("rating", RATING_OPTIONS)
    assert parse_poll_moderate({"action": "clear", "poll": "p3"}).pid == "p3"


WORDS = st.lists(st.text(max_size=60), min_size=1, max_size=MAX_WORDS_PER_ANSWER)


@given(WORDS)
def test_words_parse_bounded_and_normalised(words: list[str]) -> None:
    """Any entries either parse into at most the allowed number of distinct, bounded entries
    whose keys are stable (normalising a label again gives its key), or are refused."""
    try:
        command = parse_poll_answer({"poll": "p1", "words": words})
    except QAError as refused:
        code = refused.code
    else:
        code = ""
    if code:
        assert code in ("bad_request", "too_long")
        return
    keys = [w.key for w in command.words]
    assert 1 <= len(keys) == len(set(keys)) <= MAX_WORDS_PER_ANSWER
    for word in command.words:
        assert 1 <= len(word.label) <= MAX_WORD_LENGTH
        assert word_key(word.label) == word.key == word_key(word.key)
