"""Sessions of the programme, stored in Redis hashes (``session:{id}``) and a set of ids.

A session may be *scheduled* (start and end) and *booked* into a studio; no two sessions overlap
in one studio. Saving checks the references (event, arranger, studio) and the studio's bookings
and writes the session with every index in one transaction: nothing is ever half-saved.

Indexes: ``sessions`` (all ids), ``schedule`` (scheduled ids by start), ``event:{id}:sessions``,
``arranger:{id}:sessions``, ``studio:{id}:bookings`` (by start), ``publishkey:{hash}`` (the
session a publish key belongs to, for RTMP where the key is all a publisher sends).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from redis.asyncio.client import Pipeline

from stream.common import times
from stream.common.errors import Conflict, NotFound
from stream.common.hashing import MAX_KEY_LENGTH, hash_key, key_matches, new_key
from stream.common.ids import SESSION_ID_PATTERN
from stream.common.records import (
    begin_writes,
    decode,
    fields,
    load_hashes,
    members,
    text,
    texts,
    transact,
)
from stream.common.validation import (
    LANGUAGE_PATTERN,
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    RESERVED_IDS,
    Errors,
    FieldError,
    Invalid,
    check_reference,
    check_text,
)
from stream.program.arrangers import arranger_key, arranger_sessions_key
from stream.program.bookings import ScheduleConflict, check_slot_range, overlaps
from stream.program.events import event_key, event_sessions_key
from stream.program.keys import KeyCheck, check_window, key_window
from stream.program.studios import studio_bookings_key, studio_key
from stream.store import Redis

logger = logging.getLogger(__name__)

MAX_TITLE_LENGTH = 200
MAX_SPEAKERS = 20
MAX_SPEAKER_LENGTH = 120
MAX_SESSION_DURATION = timedelta(hours=12)
SESSIONS_SET = "sessions"
SCHEDULE_ZSET = "schedule"
VISIBILITIES = ("public", "invite")
# Fields the Session type owns; anything else in the hash travels in ``extra``.
_OWN_FIELDS = (
    "id", "title", "arranger", "description", "event", "arranger_id", "speakers", "studio",
    "start", "end", "visibility", "language", "chat", "qa", "record",
)  # fmt: skip
_PRIVATE_FIELDS = ("key_hash",)


def _text(value: bytes | str) -> str:
    return text(value)


def _session_key(session_id: str) -> str:
    return f"session:{session_id}"


def session_key(session_id: str) -> str:
    return _session_key(session_id)


def _publish_key_index(key_hash: str) -> str:
    return f"publishkey:{key_hash}"


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    title: str
    arranger: str = ""  # the arranger's name (copied from the Arranger when arranger_id is set)
    description: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    event: str = ""  # event id
    arranger_id: str = ""
    speakers: tuple[str, ...] = ()
    studio: str = ""  # studio id
    start: datetime | None = None  # aware; stored as UTC epoch seconds
    end: datetime | None = None
    visibility: str = "public"  # "invite": left out of the public programme and feeds
    language: str = ""
    chat: bool = True
    qa: bool = True
    record: bool = True  # recorded while live (the archive), replayed afterwards
    # Read from storage with a time that cannot be shown (written by an older version): shown
    # without a time; saving it again leaves the stored time as it was.
    schedule_unreadable: bool = False

    def __post_init__(self) -> None:
        errors = Errors()
        if not SESSION_ID_PATTERN.fullmatch(self.id):
            errors.add("id", "bad_id", "session id must be 1-64 lowercase letters, digits or '-'")
        elif self.id in RESERVED_IDS:
            errors.add("id", "reserved_id", f"{self.id!r} is reserved: choose another id")
        if not self.title.strip():
            errors.add("title", "required", "title is required")
        elif len(self.title) > MAX_TITLE_LENGTH:
            errors.add(
                "title",
                "too_long",
                f"title is longer than {MAX_TITLE_LENGTH} characters",
                limit=MAX_TITLE_LENGTH,
            )
        check_text(errors, "arranger", self.arranger, limit=MAX_NAME_LENGTH)
        check_text(
            errors, "description", self.description, limit=MAX_DESCRIPTION_LENGTH, multiline=True
        )
        for name in ("event", "arranger_id", "studio"):
            check_reference(errors, name, getattr(self, name))
        self._check_speakers(errors)
        self._check_schedule(errors)
        if self.visibility not in VISIBILITIES:
            errors.add("visibility", "bad_choice", "visibility is 'public' or 'invite'")
        if self.language and not LANGUAGE_PATTERN.fullmatch(self.language):
            errors.add("language", "bad_language", "language is a code such as sv or en")
        errors.raise_if_any()

    def _check_speakers(self, errors: Errors) -> None:
        if len(self.speakers) > MAX_SPEAKERS:
            errors.add(
                "speakers",
                "too_many",
                f"at most {MAX_SPEAKERS} speakers",
                limit=MAX_SPEAKERS,
            )
        for speaker in self.speakers:
            if not speaker.strip():
                errors.add("speakers", "required", "a speaker's name is empty")
                break
            if len(speaker) > MAX_SPEAKER_LENGTH:
                errors.add(
                    "speakers",
                    "too_long",
                    f"a speaker's name is longer than {MAX_SPEAKER_LENGTH} characters",
                    limit=MAX_SPEAKER_LENGTH,
                )
                break

    def _check_schedule(self, errors: Errors) -> None:
        if self.schedule_unreadable:
            return
        if (self.start is None) != (self.end is None):
            errors.add("end", "start_and_end", "give both a start and an end, or neither")
            return
        if self.start is None or self.end is None:
            if self.studio:
                errors.add("start", "booking_needs_time", "a studio booking needs a start and end")
            return
        if self.start.tzinfo is None or self.end.tzinfo is None:
            errors.add("start", "no_zone", "start and end need a time zone")
            return
        if self.end <= self.start:
            errors.add("end", "end_before_start", "the session ends before it starts")
        elif self.end - self.start > MAX_SESSION_DURATION:
            hours = int(MAX_SESSION_DURATION.total_seconds() // 3600)
            errors.add(
                "end", "too_long_session", f"a session lasts at most {hours} hours", limit=hours
            )

    @property
    def scheduled(self) -> bool:
        return self.start is not None and self.end is not None

    @property
    def public(self) -> bool:
        return self.visibility == "public"

    def key_window(self) -> tuple[datetime, datetime] | None:
        return key_window(self.start, self.end)

    def to_hash(self) -> dict[str, str]:
        values = {
            "id": self.id,
            "title": self.title,
            "arranger": self.arranger,
            "description": self.description,
            "event": self.event,
            "arranger_id": self.arranger_id,
            "speakers": json.dumps(list(self.speakers), ensure_ascii=False),
            "studio": self.studio,
            "start": str(times.to_epoch(self.start)) if self.start else "",
            "end": str(times.to_epoch(self.end)) if self.end else "",
            "visibility": self.visibility,
            "language": self.language,
            "chat": "1" if self.chat else "0",
            "qa": "1" if self.qa else "0",
            "record": "1" if self.record else "0",
        }
        values.update(self.extra)
        if self.schedule_unreadable:
            del values["start"], values["end"]
        return values

    @classmethod
    def from_hash(cls, raw: dict[str, str]) -> Session:
        values = dict(raw)
        for name in _PRIVATE_FIELDS:
            values.pop(name, None)
        own = {name: values.pop(name, "") for name in _OWN_FIELDS}
        try:
            speakers = tuple(str(s) for s in json.loads(own["speakers"] or "[]"))
        except (ValueError, TypeError):
            speakers = ()
        start, end = times.stored_moment(own["start"]), times.stored_moment(own["end"])
        unreadable = bool(own["start"] or own["end"]) and not _readable_slot(start, end)
        if unreadable:
            start = end = None
        return cls(
            id=own["id"],
            title=own["title"],
            arranger=own["arranger"],
            description=own["description"],
            extra=values,
            event=own["event"],
            arranger_id=own["arranger_id"],
            speakers=speakers,
            studio=own["studio"],
            start=start,
            end=end,
            visibility=own["visibility"] or "public",
            language=own["language"],
            chat=own["chat"] != "0",
            qa=own["qa"] != "0",
            record=own["record"] != "0",
            schedule_unreadable=unreadable,
        )


def _readable_slot(start: datetime | None, end: datetime | None) -> bool:
    return start is not None and end is not None and start < end <= start + MAX_SESSION_DURATION


class SessionStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def save(self, session: Session, *, create: bool = False) -> Session:
        """Store ``session`` (an update unless ``create``) with its booking and indexes.

        Raises :class:`Invalid` for an unknown event/arranger/studio, :class:`ScheduleConflict`
        when the studio is taken, :class:`Conflict` when ``create`` finds the id in use.
        Returns the session as stored (the arranger's name filled in)."""
        key = _session_key(session.id)

        async def body(pipe: Pipeline) -> Session:
            old = decode(await pipe.hgetall(key))
            if create and old:
                raise Conflict(f"a session with id {session.id!r} already exists")
            check_slot_range(session.start, session.end, times.now().date(), old)
            references = [
                k
                for k in (
                    event_key(session.event) if session.event else "",
                    arranger_key(session.arranger_id) if session.arranger_id else "",
                    studio_key(session.studio) if session.studio else "",
                    studio_bookings_key(old["studio"]) if old.get("studio") else "",
                    studio_bookings_key(session.studio) if session.studio else "",
                )
                if k
            ]
            if references:
                await pipe.watch(*references)
            stored = await self._check_references(pipe, session)
            if stored.studio and stored.start and stored.end:
                await self._check_studio_free(pipe, stored, stored.start, stored.end)
            begin_writes(pipe)
            self._queue_write(pipe, stored, old)
            return stored

        return await transact(self.redis, body, key)

    async def _check_references(self, pipe: Pipeline, session: Session) -> Session:
        problems: list[FieldError] = []
        if session.event and not await pipe.exists(event_key(session.event)):
            problems.append(FieldError("event", "unknown_event", "no such event"))
        if session.studio and not await pipe.exists(studio_key(session.studio)):
            problems.append(FieldError("studio", "unknown_studio", "no such studio"))
        if session.arranger_id:
            name = await pipe.hget(arranger_key(session.arranger_id), "name")
            if name is None:
                problems.append(FieldError("arranger_id", "unknown_arranger", "no such arranger"))
            else:
                session = replace(session, arranger=_text(name))
        if problems:
            raise Invalid(problems)
        return session

    async def _check_studio_free(
        self, pipe: Pipeline, session: Session, start: datetime, end: datetime
    ) -> None:
        bookings = studio_bookings_key(session.studio)
        # Every booking that starts before this one ends is a candidate; read their ends.
        raw = await pipe.zrangebyscore(
            bookings, "-inf", f"({times.to_epoch(end)}", withscores=False
        )
        candidates = [member for member in texts(raw) if member != session.id]
        if not candidates:
            return
        await pipe.watch(*(_session_key(c) for c in candidates))
        for candidate in candidates:
            values = decode(await pipe.hgetall(_session_key(candidate)))
            other_start = times.stored_moment(values.get("start"))
            other_end = times.stored_moment(values.get("end"))
            if other_start is None or other_end is None:
                continue  # no time that could be shown: it blocks nothing
            if overlaps(start, end, other_start, other_end):
                raise ScheduleConflict(
                    studio=session.studio,
                    other_id=candidate,
                    other_title=values.get("title", candidate),
                    other_start=other_start,
                    other_end=other_end,
                    other_public=values.get("visibility", "public") != "invite",
                    other_arranger=values.get("arranger_id", ""),
                )

    def _queue_write(self, pipe: Pipeline, session: Session, old: dict[str, str]) -> None:
        key = _session_key(session.id)
        pipe.hset(key, mapping=fields(session.to_hash()))
        pipe.sadd(SESSIONS_SET, session.id)
        if old.get("event") and old["event"] != session.event:
            pipe.srem(event_sessions_key(old["event"]), session.id)
        if old.get("arranger_id") and old["arranger_id"] != session.arranger_id:
            pipe.srem(arranger_sessions_key(old["arranger_id"]), session.id)
        if old.get("studio") and old["studio"] != session.studio:
            pipe.zrem(studio_bookings_key(old["studio"]), session.id)
        if session.event:
            pipe.sadd(event_sessions_key(session.event), session.id)
        if session.arranger_id:
            pipe.sadd(arranger_sessions_key(session.arranger_id), session.id)
        if session.start is not None:
            start = times.to_epoch(session.start)
            pipe.zadd(SCHEDULE_ZSET, {session.id: start})
            if session.studio:
                pipe.zadd(studio_bookings_key(session.studio), {session.id: start})
        else:
            pipe.zrem(SCHEDULE_ZSET, session.id)
            if session.studio:
                pipe.zrem(studio_bookings_key(session.studio), session.id)

    async def get(self, session_id: str) -> Session:
        raw = await self.redis.hgetall(_session_key(session_id))
        if not raw:
            raise NotFound(f"no session {session_id!r}")
        return Session.from_hash(decode(raw))

    async def many(self, session_ids: Iterable[str]) -> list[Session]:
        """The sessions that exist among ``session_ids``, in that order."""
        ids = list(session_ids)
        loaded = await load_hashes(self.redis, [_session_key(i) for i in ids])
        sessions = []
        for values in loaded:
            if not values.get("id"):
                continue
            try:
                sessions.append(Session.from_hash(values))
            except Invalid as exc:  # stored by an older version: left out, never a failed page
                logger.warning("[%s] stored session unreadable: %s", values["id"][:64], exc.detail)
        return sessions

    async def all(self) -> list[Session]:
        """Every session: scheduled ones by start, then unscheduled ones by id."""
        sessions = await self.many(await self.all_ids())
        return sorted(sessions, key=_programme_order)

    async def exists(self, session_id: str) -> bool:
        return bool(await self.redis.exists(_session_key(session_id)))

    async def all_ids(self) -> list[str]:
        return await members(self.redis, SESSIONS_SET)

    async def delete(self, session_id: str) -> None:
        """Remove the session, its booking, its indexes and its publish key, atomically."""
        key = _session_key(session_id)

        async def body(pipe: Pipeline) -> None:
            old = decode(await pipe.hgetall(key))
            if not old:
                raise NotFound(f"no session {session_id!r}")
            begin_writes(pipe)
            pipe.delete(key)
            pipe.srem(SESSIONS_SET, session_id)
            pipe.zrem(SCHEDULE_ZSET, session_id)
            if old.get("event"):
                pipe.srem(event_sessions_key(old["event"]), session_id)
            if old.get("arranger_id"):
                pipe.srem(arranger_sessions_key(old["arranger_id"]), session_id)
            if old.get("studio"):
                pipe.zrem(studio_bookings_key(old["studio"]), session_id)
            if old.get("key_hash"):
                pipe.delete(_publish_key_index(old["key_hash"]))

        await transact(self.redis, body, key)

    async def rotate_key(self, session_id: str, key: str | None = None) -> str:
        """Give the session a new publish key (the old one stops working at once); return it."""
        key = key or new_key()
        new_hash = hash_key(key)
        session = _session_key(session_id)

        async def body(pipe: Pipeline) -> None:
            if not await pipe.exists(session):
                raise NotFound(f"no session {session_id!r}")
            old_hash = await pipe.hget(session, "key_hash")
            begin_writes(pipe)
            if old_hash is not None:
                pipe.delete(_publish_key_index(_text(old_hash)))
            pipe.hset(session, "key_hash", new_hash)
            pipe.set(_publish_key_index(new_hash), session_id)

        await transact(self.redis, body, session)
        return key

    async def revoke_key(self, session_id: str) -> None:
        """The session has no publish key any more (nobody can publish until a new one)."""
        session = _session_key(session_id)

        async def body(pipe: Pipeline) -> None:
            old_hash = await pipe.hget(session, "key_hash")
            begin_writes(pipe)
            if old_hash is not None:
                pipe.delete(_publish_key_index(_text(old_hash)))
            pipe.hdel(session, "key_hash")

        await transact(self.redis, body, session)

    async def keyed(self, session_ids: Iterable[str]) -> set[str]:
        """Which of ``session_ids`` have a publish key."""
        ids = list(session_ids)
        if not ids:
            return set()
        async with self.redis.pipeline(transaction=False) as pipe:
            for session_id in ids:
                pipe.hexists(_session_key(session_id), "key_hash")
            found = await pipe.execute()
        return {session_id for session_id, has in zip(ids, found, strict=True) if has}

    async def has_key(self, session_id: str) -> bool:
        return bool(await self.redis.hexists(_session_key(session_id), "key_hash"))

    async def check_publish_key(
        self, session_id: str, key: str, now: datetime | None = None
    ) -> KeyCheck:
        """Is ``key`` this session's publish key, and is it valid ``now``? A wrong key is
        :attr:`KeyCheck.WRONG` whatever the time, so the schedule tells a guesser nothing."""
        stored, start, end = await self.redis.hmget(
            _session_key(session_id), ["key_hash", "start", "end"]
        )
        if stored is None or not key_matches(key, _text(stored)):
            return KeyCheck.WRONG
        return check_window(
            times.stored_moment(start), times.stored_moment(end), now or times.now()
        )

    async def check_key(self, session_id: str, key: str) -> bool:
        """True when ``key`` is the session's key and valid now."""
        return await self.check_publish_key(session_id, key) is KeyCheck.VALID

    async def session_for_key(self, key: str) -> str | None:
        """The session a publish key belongs to (RTMP sends only the key); no time check."""
        if not key or len(key) > MAX_KEY_LENGTH:
            return None
        found = await self.redis.get(_publish_key_index(hash_key(key)))
        return _text(found) if found is not None else None


def _programme_order(session: Session) -> tuple[int, float, str]:
    if session.start is None:
        return (1, 0.0, session.id)
    return (0, session.start.timestamp(), session.id)
