"""The chat's wire protocol: JSON objects with a ``type``, parsed into validated commands.

One socket per page carries everything live about a session: the chat, the Q&A and polls
(registered by ``stream.qa``) and the audience. Client → server: ``hello`` (first, with the
resume cursor ``last_id``), ``name``, ``send``, ``mod``, and the types other packages register
(``Extension``: ``qa.ask``, ``poll.answer``, ...). Server → client: ``welcome``, ``history``
(with ``at``, the cursor it covers up to), ``identity``, ``ack``, ``held``, ``error``,
``presence`` (is the session live, how many watch), and the stored events themselves
(``{"id": ..., "type": "msg" | "mod" | "qa" | "poll", ...}``, or several at once in a
``batch``). All stored events share one log per session, so one cursor resumes all of them.
Replies carry the request's ``cid``. Parsers raise :class:`ProtocolError` with exact
messages; tests assert them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

from stream.chat.identity import MAX_TOKEN_LENGTH
from stream.common.jsondepth import json_depth

# Frames larger than this get an error frame ("too_large"); larger than MAX_WIRE_BYTES, the
# WebSocket layer closes the socket with 1009 before reading them.
MAX_FRAME_BYTES = 4096
MAX_WIRE_BYTES = 64 * 1024
# Objects and lists nested deeper than this are refused before the frame is parsed.
MAX_JSON_DEPTH = 8
MAX_TEXT_LENGTH = 500
MAX_WORDS = 200
MAX_WORD_LENGTH = 50
MAX_SLOW_SECONDS = 3600
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600
CID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
UID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ENTRY_ID_PATTERN = re.compile(r"^[0-9]{1,20}-[0-9]{1,20}$")
ADDRESS_TAG_PATTERN = re.compile(r"^[0-9a-f]{16}$")
# Bidirectional embedding/override/isolate controls: they can make text read backwards.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

TARGET_ACTIONS = frozenset({"delete", "pin", "approve", "reject"})
SWITCH_ACTIONS = frozenset({"hold", "registered_only", "enabled"})
PERSON_ACTIONS = frozenset({"timeout", "ban", "unban"})
MOD_ACTIONS = TARGET_ACTIONS | SWITCH_ACTIONS | PERSON_ACTIONS | {"unpin", "clear", "slow", "words"}


class ProtocolError(ValueError):
    """A frame the server will not act on; ``code`` is what the client is told."""

    def __init__(self, message: str, code: str = "bad_request", cid: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        # The client message id the refused frame carried, so the client can match the error.
        self.cid = cid


@dataclass(frozen=True, slots=True)
class Hello:
    token: str | None = None
    moderator_token: str | None = None
    last_id: str | None = None


@dataclass(frozen=True, slots=True)
class SetName:
    name: str
    cid: str | None = None


@dataclass(frozen=True, slots=True)
class Send:
    cid: str
    text: str


@dataclass(frozen=True, slots=True)
class Moderate:
    action: str
    cid: str | None = None
    # A message id (delete, pin, approve, reject; timeout/ban take the person from it).
    target: str | None = None
    # A user id (timeout, ban, unban) when there is no message to point at.
    user: str | None = None
    seconds: int | None = None
    on: bool | None = None
    words: tuple[str, ...] = ()
    # Ban the address the target message came from, too.
    address: bool = False


@dataclass(frozen=True, slots=True)
class Extension:
    """A frame of a type another package registered: its JSON object, validated by its handler."""

    kind: str
    data: dict[str, Any]
    cid: str | None = None


Command = Hello | SetName | Send | Moderate | Extension


def clean_text(raw: str) -> str:
    """Message text: NFC, control and bidi-override characters removed, whitespace collapsed."""
    text = unicodedata.normalize("NFC", raw)
    text = "".join(
        " " if unicodedata.category(char) == "Cc" or char.isspace() else char
        for char in text
        if char not in _BIDI_CONTROLS
    )
    text = " ".join(text.split())
    if not text:
        raise ProtocolError("message is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise ProtocolError(f"message is longer than {MAX_TEXT_LENGTH} characters", "too_long")
    return text


def _optional_str(data: dict[str, Any], key: str, max_length: int) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise ProtocolError(f"{key} must be a string of at most {max_length} characters")
    return value


def _matching(data: dict[str, Any], key: str, pattern: re.Pattern[str]) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ProtocolError(f"{key} is malformed")
    return value


def _int(data: dict[str, Any], key: str, low: int, high: int) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ProtocolError(f"{key} must be an integer from {low} to {high}")
    return value


def _words(data: dict[str, Any]) -> tuple[str, ...]:
    value = data.get("words")
    if not isinstance(value, list) or len(value) > MAX_WORDS:
        raise ProtocolError(f"words must be a list of at most {MAX_WORDS} strings")
    words: list[str] = []
    for word in value:
        if not isinstance(word, str):
            raise ProtocolError(f"words must be a list of at most {MAX_WORDS} strings")
        folded = " ".join(unicodedata.normalize("NFC", word).casefold().split())
        if len(folded) > MAX_WORD_LENGTH:
            raise ProtocolError(f"a blocked word is longer than {MAX_WORD_LENGTH} characters")
        if folded and folded not in words:
            words.append(folded)
    return tuple(words)


def _moderate(data: dict[str, Any], cid: str | None) -> Moderate:
    action = data.get("action")
    if not isinstance(action, str) or action not in MOD_ACTIONS:
        raise ProtocolError("unknown moderation action")
    target = _matching(data, "target", ENTRY_ID_PATTERN)
    user = _matching(data, "user", UID_PATTERN)
    if action in TARGET_ACTIONS and target is None:
        raise ProtocolError(f"{action} needs a target message id")
    if action in PERSON_ACTIONS and target is None and user is None:
        raise ProtocolError(f"{action} needs a target message id or a user id")
    seconds = None
    if action == "timeout":
        seconds = _int(data, "seconds", 1, MAX_TIMEOUT_SECONDS)
    elif action == "slow":
        seconds = _int(data, "seconds", 0, MAX_SLOW_SECONDS)
    on = None
    if action in SWITCH_ACTIONS:
        on = data.get("on")
        if not isinstance(on, bool):
            raise ProtocolError("on must be true or false")
    words = _words(data) if action == "words" else ()
    address = data.get("address", False)
    if not isinstance(address, bool):
        raise ProtocolError("address must be true or false")
    return Moderate(action, cid, target, user, seconds, on, words, address)


def frame_depth(text: str) -> int:
    """How deep a frame nests (a cheap bound first: most frames have few brackets at all)."""
    brackets = text.count("[") + text.count("{")
    return brackets if brackets <= MAX_JSON_DEPTH else json_depth(text)


def parse_command(raw: str | bytes, extensions: Container[str] = frozenset()) -> Command:
    """A client frame as a command; types in ``extensions`` come back as :class:`Extension`."""
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame is larger than {MAX_FRAME_BYTES} bytes", "too_large")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise ProtocolError("frame is not JSON") from None
    if frame_depth(text) > MAX_JSON_DEPTH:
        raise ProtocolError(f"frame nests deeper than {MAX_JSON_DEPTH} levels", "too_deep")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ProtocolError("frame is not JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("frame must be a JSON object")
    kind = data.get("type")
    if kind == "hello":
        return Hello(
            _optional_str(data, "token", MAX_TOKEN_LENGTH),
            _optional_str(data, "moderator_token", MAX_TOKEN_LENGTH),
            _matching(data, "last_id", ENTRY_ID_PATTERN),
        )
    if kind == "name":
        name = data.get("name")
        cid = _matching(data, "cid", CID_PATTERN)
        if not isinstance(name, str):
            raise ProtocolError("name must be a string", cid=cid)
        return SetName(name, cid)
    if isinstance(kind, str) and kind in extensions:
        return Extension(kind, data, _matching(data, "cid", CID_PATTERN))
    if kind not in ("send", "mod"):
        raise ProtocolError("unknown frame type")
    cid = _matching(data, "cid", CID_PATTERN)
    try:
        return _send(data, cid) if kind == "send" else _moderate(data, cid)
    except ProtocolError as exc:
        exc.cid = cid
        raise


def _send(data: dict[str, Any], cid: str | None) -> Send:
    if cid is None:
        raise ProtocolError("cid is required")
    text = data.get("text")
    if not isinstance(text, str):
        raise ProtocolError("text must be a string")
    return Send(cid, clean_text(text))


def encode(frame: dict[str, Any]) -> bytes:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error_frame(
    code: str, detail: str, *, cid: str | None = None, retry_after: float | None = None
) -> bytes:
    frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
    if cid is not None:
        frame["cid"] = cid
    if retry_after is not None:
        frame["retry_after"] = round(retry_after, 2)
    return encode(frame)


def event_bytes(entry_id: bytes, payload: bytes) -> bytes:
    """A stored payload ``{"type": ...}`` as the event clients get: the id spliced in front."""
    return b'{"id":"' + entry_id + b'",' + payload[1:]


def batch_frame(events: list[bytes]) -> bytes:
    if len(events) == 1:
        return events[0]
    return b'{"type":"batch","events":[' + b",".join(events) + b"]}"


def history_frame(events: list[bytes], *, reset: bool, at: bytes) -> bytes:
    """Events a joining socket gets first; ``at`` is the log id they cover up to (the cursor
    to resume from, past entries this socket may not see), ``reset``: drop what was shown."""
    flag = b"true" if reset else b"false"
    return (
        b'{"type":"history","reset":'
        + flag
        + b',"at":"'
        + at
        + b'","events":['
        + b",".join(events)
        + b"]}"
    )


def presence_frame(*, live: bool, viewers: int) -> bytes:
    """The session's audience: whether it is live and how many watch it right now."""
    if viewers < 0:
        raise ValueError("viewers must not be negative")
    return encode({"type": "presence", "live": live, "viewers": viewers})
