"""The Q&A frame parsers: exact refusals, and any JSON object either parses or is refused with
a QAError (never another exception)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream.chat.protocol import Extension, parse_command
from stream.qa.protocol import (
    FRAME_TYPES,
    QAError,
    parse_ask,
    parse_moderate,
    parse_poll_answer,
    parse_poll_create,
    parse_poll_moderate,
    parse_vote,
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
     "question", "kind", "options", "poll", "choices"]
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
