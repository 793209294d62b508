"""The wire protocol, identities and rules as plain functions (properties and exact messages)."""

from __future__ import annotations

import json
import struct
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.chat.chat import compact_history
from stream.chat.identity import MAX_NAME_LENGTH, Identity, TokenSigner, clean_name
from stream.chat.limits import ChatLimits
from stream.chat.log import Entry
from stream.chat.policy import ChatState, Standing, blocked_word, judge
from stream.chat.protocol import (
    MAX_FRAME_BYTES,
    MAX_JSON_DEPTH,
    MAX_TEXT_LENGTH,
    Hello,
    Moderate,
    ProtocolError,
    Send,
    SetName,
    clean_text,
    frame_depth,
    history_frame,
    parse_command,
    presence_frame,
)
from stream.chat.wire import encode_text_frame
from stream.config import ConfigError

SIGNER = TokenSigner(b"0123456789abcdef0123456789abcdef")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
frame_objects = st.fixed_dictionaries(
    {"type": st.sampled_from(["hello", "name", "send", "mod", "other"])},
    optional={
        "cid": st.text(max_size=70) | json_values,
        "text": st.text(max_size=600) | json_values,
        "action": st.sampled_from(["delete", "ban", "slow", "words", "hold", "x"]) | json_values,
        "target": st.text(max_size=30) | json_values,
        "seconds": st.integers(-5, 10**7) | json_values,
        "on": json_values,
        "words": json_values,
        "last_id": st.text(max_size=30) | json_values,
    },
)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_any_frame_parses_or_raises_protocol_error(raw: str | bytes) -> None:
    try:
        parse_command(raw)
    except ProtocolError:
        pass


@settings(max_examples=150, deadline=None)
@given(frame_objects)
def test_any_json_object_parses_or_raises_protocol_error(frame: dict[str, object]) -> None:
    try:
        command = parse_command(json.dumps(frame))
    except ProtocolError:
        return
    if isinstance(command, Send):
        assert 0 < len(command.text) <= MAX_TEXT_LENGTH


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab', max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=40,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(json_values)
def test_json_depth_matches_the_structure(value: object) -> None:
    text = json.dumps(value)
    assert (frame_depth(text) > MAX_JSON_DEPTH) == (_depth(value) > MAX_JSON_DEPTH)


@given(st.integers(min_value=MAX_JSON_DEPTH, max_value=3000), st.sampled_from(["[", '{"a":']))
def test_deep_or_huge_frames_are_refused_with_their_reason(depth: int, opener: str) -> None:
    closer, leaf = ("]", "") if opener == "[" else ("}", "1")
    raw = '{"type":"send","cid":"c","text":"x","deep":' + opener * depth + leaf + closer * depth
    raw += "}"
    expected = "too_large" if len(raw.encode()) > MAX_FRAME_BYTES else "too_deep"
    with pytest.raises(ProtocolError) as refused:
        parse_command(raw)
    assert refused.value.code == expected


@given(st.text(max_size=2000))
def test_clean_text_is_visible_bounded_and_idempotent(raw: str) -> None:
    try:
        text = clean_text(raw)
    except ProtocolError as exc:
        error = str(exc)
        assert error in ("message is empty", "message is longer than 500 characters")
        return
    assert 0 < len(text) <= MAX_TEXT_LENGTH
    assert all(unicodedata.category(c) != "Cc" for c in text)
    assert "\u202e" not in text
    assert text == text.strip()
    assert clean_text(text) == text


@given(st.text(max_size=100))
def test_clean_name_is_visible_and_bounded(raw: str) -> None:
    try:
        name = clean_name(raw)
    except ValueError as exc:
        error = str(exc)
        assert error in ("name is empty", f"name is longer than {MAX_NAME_LENGTH} characters")
        return
    assert 0 < len(name) <= MAX_NAME_LENGTH
    assert all(unicodedata.category(c) not in ("Cc", "Cf") for c in name)


def test_parse_examples() -> None:
    assert parse_command('{"type":"hello","last_id":"17-3"}') == Hello(last_id="17-3")
    assert parse_command('{"type":"send","cid":"a1","text":" hej\\n  du "}') == Send("a1", "hej du")
    assert parse_command('{"type":"mod","action":"ban","target":"1-2","address":true}') == Moderate(
        "ban", target="1-2", address=True
    )
    words = parse_command('{"type":"mod","action":"words","words":["A  b","a b",""]}')
    assert words == Moderate("words", words=("a b",))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ('{"type":"hello","last_id":"x"}', "last_id is malformed"),
        ('{"type":"name","name":5}', "name must be a string"),
        ('{"type":"mod","action":"nuke"}', "unknown moderation action"),
        ('{"type":"mod","action":"delete"}', "delete needs a target message id"),
        ('{"type":"mod","action":"ban"}', "ban needs a target message id or a user id"),
        ('{"type":"mod","action":"slow","seconds":-1}',
         "seconds must be an integer from 0 to 3600"),
        ('{"type":"mod","action":"timeout","user":"u","seconds":true}',
         "seconds must be an integer from 1 to 604800"),
        ('{"type":"mod","action":"hold","on":"yes"}', "on must be true or false"),
        ('{"type":"mod","action":"words","words":"x"}',
         "words must be a list of at most 200 strings"),
        ('{"type":"mod","action":"words","words":["' + "x" * 51 + '"]}',
         "a blocked word is longer than 50 characters"),
    ],
)  # fmt: skip
def test_parse_errors_say_exactly_what_is_wrong(frame: str, message: str) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_command(frame)
    assert str(error.value) == message


def test_errors_carry_the_client_message_id() -> None:
    with pytest.raises(ProtocolError) as error:
        parse_command('{"type":"send","cid":"c9","text":""}')
    assert error.value.cid == "c9"
    with pytest.raises(ProtocolError) as error:
        parse_command('{"type":"name","cid":"n1","name":null}')
    assert error.value.cid == "n1"


def test_name_may_carry_a_client_message_id() -> None:
    assert parse_command('{"type":"name","name":"Ada"}') == SetName("Ada")
    assert parse_command('{"type":"name","cid":"n1","name":"Ada"}') == SetName("Ada", "n1")
    with pytest.raises(ProtocolError, match=r"^cid is malformed$"):
        parse_command('{"type":"name","cid":"no spaces","name":"Ada"}')


def test_history_names_the_cursor_it_covers_up_to() -> None:
    events = [b'{"id":"5-0","type":"msg","text":"a"}', b'{"id":"7-1","type":"qa"}']
    frame = history_frame(events, reset=False, at=b"9-0")
    assert frame.startswith(b'{"type":"history"'), "the bench skips history by this prefix"
    assert json.loads(frame) == {
        "type": "history",
        "reset": False,
        "at": "9-0",
        "events": [{"id": "5-0", "type": "msg", "text": "a"}, {"id": "7-1", "type": "qa"}],
    }
    assert json.loads(history_frame([], reset=True, at=b"0-0"))["events"] == []


def test_presence_frame_says_live_and_how_many() -> None:
    assert presence_frame(live=True, viewers=3) == b'{"type":"presence","live":true,"viewers":3}'
    assert json.loads(presence_frame(live=False, viewers=0)) == {
        "type": "presence",
        "live": False,
        "viewers": 0,
    }
    with pytest.raises(ValueError, match=r"^viewers must not be negative$"):
        presence_frame(live=True, viewers=-1)


def test_token_round_trip_and_tampering() -> None:
    token = SIGNER.issue("u1", "Anna")
    assert SIGNER.verify(token) == ("u1", "Anna")
    assert TokenSigner(b"another secret, another deploy").verify(token) is None
    head, payload, mac = token.split(".")
    forged_payload = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB")
    assert SIGNER.verify(f"{head}.{forged_payload}.{mac}") is None
    assert SIGNER.verify("v1.e30." + mac) is None
    assert SIGNER.address_tag("127.0.0.1") == SIGNER.address_tag("127.0.0.1")
    assert SIGNER.address_tag("127.0.0.1") != SIGNER.address_tag("127.0.0.2")


@given(st.text(max_size=600))
def test_verify_never_raises(token: str) -> None:
    assert SIGNER.verify(token) is None or token.startswith("v1.")


VIEWER = Identity("u1", "Anna")
MODERATOR = Identity("m1", "Moa", "moderator")


def test_judge_refuses_in_order_and_exempts_moderators() -> None:
    off = ChatState(enabled=False, registered_only=True)
    assert judge(off, Standing(banned=True), VIEWER, "hej").code == "chat_off"
    assert judge(ChatState(), Standing(banned=True), VIEWER, "hej").code == "banned"
    timed_out = judge(ChatState(), Standing(timeout_left=12.5), VIEWER, "hej")
    assert (timed_out.code, timed_out.retry_after) == ("timeout", 12.5)
    only = ChatState(registered_only=True)
    assert judge(only, Standing(), VIEWER, "hej").code == "registered_only"
    assert judge(only, Standing(), Identity("r", "R", "registered"), "hej").outcome == "accept"
    assert judge(ChatState(hold=True, slow=5), Standing(), VIEWER, "hej").outcome == "hold"
    assert judge(ChatState(slow=5), Standing(), VIEWER, "hej").slow == 5
    for state in (off, ChatState(hold=True, slow=9, words=("hej",))):
        verdict = judge(state, Standing(banned=True), MODERATOR, "hej")
        assert (verdict.outcome, verdict.slow) == ("accept", 0)


def test_blocked_words_match_whole_words_ignoring_case() -> None:
    words = ("dumbom", "ass", "två ord")
    assert blocked_word("Du är en DUMBOM!", words)
    assert blocked_word("just två  ord".replace("  ", " "), words)
    assert not blocked_word("first class", words)
    assert not blocked_word("dumbomsk", words)
    assert not blocked_word("anything", ())


def _entry(entry_id: str, payload: dict[str, object], public: bool = True) -> Entry:
    data = json.dumps(payload).encode()
    return Entry(entry_id.encode(), data if public else None, data)


def test_compact_history_drops_deleted_cleared_and_held() -> None:
    entries = [
        _entry("1-0", {"type": "msg", "text": "före clear"}),
        _entry("2-0", {"type": "mod", "action": "clear"}),
        _entry("3-0", {"type": "msg", "text": "borttagen"}),
        _entry("4-0", {"type": "msg", "text": "kvar"}),
        _entry("5-0", {"type": "msg", "text": "väntar", "held": True}, public=False),
        _entry("6-0", {"type": "mod", "action": "delete", "target": "3-0"}),
        _entry("7-0", {"type": "mod", "action": "slow", "seconds": 5}),
    ]
    events = [json.loads(event) for event in compact_history(entries)]
    assert events == [{"id": "4-0", "type": "msg", "text": "kvar"}]


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_text_frame_header_follows_rfc_6455(size: int) -> None:
    payload = b"x" * size
    frame = encode_text_frame(payload)
    assert frame[0] == 0x81
    if size < 126:
        assert frame[1] == size
        assert frame[2:] == payload
    elif size < 65536:
        assert frame[1] == 126
        assert struct.unpack("!H", frame[2:4])[0] == size
        assert frame[4:] == payload
    else:
        assert frame[1] == 127
        assert struct.unpack("!Q", frame[2:10])[0] == size
        assert frame[10:] == payload


def test_limits_from_env_name_the_bad_key() -> None:
    assert ChatLimits.from_env({"STREAM_CHAT_RATE_BURST": "9"}).rate_burst == 9
    with pytest.raises(ConfigError, match="STREAM_CHAT_RATE_PER_SECOND"):
        ChatLimits.from_env({"STREAM_CHAT_RATE_PER_SECOND": "fast"})
    with pytest.raises(ConfigError, match="STREAM_CHAT_MAX_CONNECTIONS_PER_ADDRESS"):
        ChatLimits.from_env({"STREAM_CHAT_MAX_CONNECTIONS_PER_ADDRESS": "0"})
