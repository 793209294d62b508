"""Questions and polls as values: read from their Redis hashes, shown to viewers or moderators.

Viewers see a question's text only once it is approved (or answered); of the others they learn
only that they exist and in which state (pending, hidden, merged), so the audience can count
what the moderators held back. Anonymous askers are nameless to viewers, never to moderators.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from stream.qa.limits import MAX_WORD_LENGTH, MAX_WORDS_PER_ANSWER

State = Literal["pending", "approved", "answered", "rejected", "dismissed", "merged"]
STATES: tuple[State, ...] = ("pending", "approved", "answered", "rejected", "dismissed", "merged")
# States whose text the audience sees (and may upvote).
VISIBLE: frozenset[str] = frozenset({"approved", "answered"})
HIDDEN: frozenset[str] = frozenset({"rejected", "dismissed"})
Source = Literal["room", "remote"]
SOURCES: tuple[Source, ...] = ("room", "remote")

MARK_NONCE_BYTES = 16


@dataclass(frozen=True, slots=True)
class Marks:
    """Stand-ins the Lua scripts replace with the live values when they append an event.

    Fresh and unguessable for every payload, and handed to the script with it: text a person
    wrote (``@votes@``, say) is never taken for one, so user text is never a template.
    """

    votes: str
    stage: str
    counts: str
    voters: str
    words: str
    screen: str

    @classmethod
    def fresh(cls) -> Marks:
        nonce = secrets.token_hex(MARK_NONCE_BYTES)
        return cls(
            votes=f"@votes:{nonce}@",
            stage=f"@stage:{nonce}@",
            counts=f"@counts:{nonce}@",
            voters=f"@voters:{nonce}@",
            words=f"@words:{nonce}@",
            screen=f"@screen:{nonce}@",
        )


def _text(raw: dict[bytes, bytes], name: str, default: str = "") -> str:
    value = raw.get(name.encode())
    return value.decode("utf-8", "replace") if value is not None else default


def _int(raw: dict[bytes, bytes], name: str) -> int:
    try:
        return int(raw.get(name.encode()) or 0)
    except ValueError:
        return 0


def as_state(value: str) -> State:
    """``value`` as a question state (an unknown value reads as pending)."""
    return value if value in STATES else "pending"


@dataclass(frozen=True, slots=True)
class Asker:
    uid: str
    name: str


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    text: str
    uid: str
    name: str = ""
    anon: bool = False
    source: Source = "remote"
    state: State = "pending"
    votes: int = 0
    v: int = 1
    ts: int = 0
    pos: int | None = None
    askers: tuple[Asker, ...] = ()
    into: str = ""
    answer: str = ""
    by: str = ""
    edited: bool = False

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> Question:
        state = _text(raw, "state", "pending")
        source = _text(raw, "source", "remote")
        pos = raw.get(b"pos")
        askers = tuple(
            Asker(str(a["uid"]), str(a["name"])) for a in json.loads(raw.get(b"askers") or b"[]")
        )
        return cls(
            id=_text(raw, "id"),
            text=_text(raw, "text"),
            uid=_text(raw, "uid"),
            name=_text(raw, "name"),
            anon=raw.get(b"anon") == b"1",
            source=source if source in SOURCES else "remote",
            state=state if state in STATES else "pending",
            votes=_int(raw, "votes"),
            v=_int(raw, "v"),
            ts=_int(raw, "ts"),
            pos=int(pos) if pos else None,
            askers=askers,
            into=_text(raw, "into"),
            answer=_text(raw, "answer"),
            by=_text(raw, "by"),
            edited=raw.get(b"edited") == b"1",
        )

    def public(self, votes: int | str | None = None) -> dict[str, Any]:
        """What a viewer sees (``votes``: a live value or a :class:`Marks` stand-in)."""
        if self.state == "pending":
            return {"id": self.id, "state": "pending", "source": self.source}
        if self.state in HIDDEN:
            return {"id": self.id, "state": "hidden"}
        if self.state == "merged":
            return {"id": self.id, "state": "merged", "into": self.into}
        return {
            "id": self.id,
            "state": self.state,
            "text": self.text,
            "name": "" if self.anon else self.name,
            "anon": self.anon,
            "source": self.source,
            "votes": self.votes if votes is None else votes,
            "ts": self.ts,
            "pos": self.pos,
            "askers": len(self.askers),
            "edited": self.edited,
            # A moderator answered the asker privately (only the asker gets the text).
            "replied": bool(self.answer),
        }

    def moderator(self, votes: int | str | None = None) -> dict[str, Any]:
        """Everything, for moderators: who asked (also when anonymous), the private answer."""
        return {
            "id": self.id,
            "state": self.state,
            "text": self.text,
            "name": self.name,
            "uid": self.uid,
            "anon": self.anon,
            "source": self.source,
            "votes": self.votes if votes is None else votes,
            "v": self.v,
            "ts": self.ts,
            "pos": self.pos,
            "askers": [{"uid": a.uid, "name": a.name} for a in self.askers],
            "into": self.into,
            "answer": self.answer,
            "by": self.by,
            "edited": self.edited,
        }

    def mine(self) -> dict[str, Any]:
        """What the asker sees of their own question: its state and the private answer."""
        view = self.public()
        view.update({"id": self.id, "mine": True, "text": self.text, "answer": self.answer})
        return view


PollKind = Literal["single", "multiple", "rating", "words"]
POLL_KINDS: tuple[PollKind, ...] = ("single", "multiple", "rating", "words")
PollState = Literal["draft", "open", "closed"]
POLL_STATES: tuple[PollState, ...] = ("draft", "open", "closed")


@dataclass(frozen=True, slots=True)
class WordEntry:
    """One entry of a word cloud as stored: its label, how many gave it, whether hidden."""

    label: str
    count: int
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class Poll:
    id: str
    question: str
    kind: PollKind
    options: tuple[str, ...]
    state: PollState = "draft"
    v: int = 1
    created: int = 0
    voters: int = 0
    counts: tuple[int, ...] = field(default=())
    # A word cloud's most given entries (hidden ones left out), most given first.
    words: tuple[tuple[str, int], ...] = field(default=())
    # A word cloud's every stored entry, hidden ones flagged (read for the record only).
    entries: tuple[WordEntry, ...] = field(default=())

    @classmethod
    def from_hash(
        cls,
        raw: dict[bytes, bytes],
        counts: dict[bytes, bytes],
        words: tuple[tuple[str, int], ...] = (),
        entries: tuple[WordEntry, ...] = (),
    ) -> Poll:
        options = tuple(str(o) for o in json.loads(raw.get(b"options") or b"[]"))
        kind = _text(raw, "kind", "single")
        state = _text(raw, "state", "draft")
        return cls(
            id=_text(raw, "id"),
            question=_text(raw, "question"),
            kind=next((k for k in POLL_KINDS if k == kind), "single"),
            options=options,
            state=state if state in POLL_STATES else "draft",
            v=_int(raw, "v"),
            created=_int(raw, "created"),
            voters=_int(raw, "voters"),
            counts=tuple(int(counts.get(str(i).encode()) or 0) for i in range(len(options))),
            words=words,
            entries=entries,
        )

    def results(self) -> list[WordEntry]:
        """Every option, or every stored entry of a word cloud (hidden ones flagged; the
        poll read with ``entries``), with how many gave it, in the order shown."""
        if self.kind == "words":
            return list(self.entries)
        return [WordEntry(o, c) for o, c in zip(self.options, self.counts, strict=True)]

    def average(self) -> float | None:
        """A rating poll's mean rating, to one decimal (None: no answers, or not a rating)."""
        answers = sum(self.counts)
        if self.kind != "rating" or not answers:
            return None
        return round(sum((i + 1) * c for i, c in enumerate(self.counts)) / answers, 1)

    def view(self, marks: Marks | None = None) -> dict[str, Any]:
        """The poll with its results (or, given ``marks``, stand-ins the Lua script fills in)."""
        view: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "kind": self.kind,
            "options": list(self.options),
            "state": self.state,
            "v": self.v,
            "created": self.created,
            "voters": marks.voters if marks else self.voters,
            "counts": marks.counts if marks else list(self.counts),
        }
        if self.kind == "words":
            view["words"] = marks.words if marks else [list(w) for w in self.words]
            view["limits"] = {"words": MAX_WORDS_PER_ANSWER, "length": MAX_WORD_LENGTH}
        return view
