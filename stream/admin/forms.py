"""Admin forms: typed values from submitted fields, every problem reported per field.

No HTTP here: handlers pass the submitted fields as a mapping of strings and get back a value
(or :class:`Invalid` naming each bad field), and the values to put back in a re-shown form.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from stream.auth.users import User, normalise_username
from stream.common import times
from stream.common.grants import Identity, Role
from stream.common.validation import (
    Errors,
    FieldError,
    Invalid,
    clean_block,
    clean_line,
    slugify,
)
from stream.http.forms import CHECKED
from stream.program.arrangers import Arranger
from stream.program.events import Event
from stream.program.sessions import MAX_SPEAKERS, Session
from stream.program.studios import Studio


def session_from_form(
    values: Mapping[str, str], *, session_id: str | None, identity: Identity
) -> Session:
    """A session from the session form. ``session_id`` is None when creating (the id field,
    or one made from the title). Arranger staff always get their own arranger."""
    errors = Errors()
    title = clean_line(values.get("title", ""))
    if session_id is None:
        session_id = values.get("id", "").strip() or slugify(title, fallback="")
        if not session_id:
            errors.add("id", "required", "give an id or a title to make one from")
    arranger_id = values.get("arranger_id", "").strip()
    if identity.role is Role.ARRANGER:
        arranger_id = identity.arranger
    elif not arranger_id:
        errors.add("arranger_id", "required", "choose an arranger")
    speakers = tuple(clean_line(s) for s in values.get("speakers", "").splitlines() if s.strip())
    start, end = _slot(values, errors)
    try:
        session = Session(
            id=session_id or "x",
            title=title,
            arranger_id=arranger_id,
            event=values.get("event", "").strip(),
            speakers=speakers[: MAX_SPEAKERS + 1],
            studio=values.get("studio", "").strip(),
            start=start,
            end=end,
            description=clean_block(values.get("description", "")),
            language=values.get("language", "").strip(),
            visibility=values.get("visibility", "public").strip() or "public",
            chat=values.get("chat", "") in CHECKED,
            qa=values.get("qa", "") in CHECKED,
            record=values.get("record", "") in CHECKED,
        )
    except Invalid as exc:
        slot_reported = any(e.field in ("date", "start", "end") for e in errors.items)
        errors.extend(e for e in exc.errors if not (slot_reported and e.field in ("start", "end")))
        errors.raise_if_any()
        raise
    errors.raise_if_any()
    return session


def _slot(values: Mapping[str, str], errors: Errors) -> tuple[datetime | None, datetime | None]:
    raw = {name: values.get(name, "").strip() for name in ("date", "start", "end")}
    if not any(raw.values()):
        return None, None
    parsed_day: date | None = None
    clocks = {}
    if not raw["date"]:
        errors.add("date", "required", "give the date")
    else:
        try:
            parsed_day = times.parse_date(raw["date"])
        except ValueError:
            errors.add("date", "bad_date", "a date like 2021-01-19")
    for name in ("start", "end"):
        if not raw[name]:
            errors.add(name, "required", f"give the {name} time")
            continue
        try:
            clocks[name] = times.parse_clock(raw[name])
        except ValueError:
            errors.add(name, "bad_time", "a time like 10:00")
    if parsed_day is None or len(clocks) != 2:
        return None, None
    return times.at_local(parsed_day, clocks["start"]), times.at_local(parsed_day, clocks["end"])


def session_values(session: Session) -> dict[str, str]:
    values = {
        "id": session.id,
        "title": session.title,
        "arranger_id": session.arranger_id,
        "event": session.event,
        "speakers": "\n".join(session.speakers),
        "studio": session.studio,
        "description": session.description,
        "language": session.language,
        "visibility": session.visibility,
        "chat": "on" if session.chat else "",
        "qa": "on" if session.qa else "",
        "record": "on" if session.record else "",
    }
    if session.start and session.end:
        values["date"] = times.local_day(session.start).isoformat()
        values["start"] = times.format_clock(session.start)
        values["end"] = times.format_clock(session.end)
    return values


def event_from_form(values: Mapping[str, str], *, event_id: str | None) -> Event:
    errors = Errors()
    name = clean_line(values.get("name", ""))
    if event_id is None:
        event_id = values.get("id", "").strip() or slugify(name, fallback="")
        if not event_id:
            errors.add("id", "required", "give an id or a name to make one from")
    days: dict[str, date] = {}
    for key in ("start_date", "end_date"):
        raw = values.get(key, "").strip()
        if not raw:
            errors.add(key, "required", "give the date")
            continue
        try:
            days[key] = times.parse_date(raw)
        except ValueError:
            errors.add(key, "bad_date", "a date like 2021-01-19")
    languages = tuple(
        code.strip().lower()
        for code in values.get("languages", "sv").replace(" ", ",").split(",")
        if code.strip()
    )
    try:
        event = Event(
            id=event_id or "x",
            name=name,
            start_date=days.get("start_date", date.min),
            end_date=days.get("end_date", days.get("start_date", date.min)),
            venue=clean_line(values.get("venue", "")),
            description=clean_block(values.get("description", "")),
            languages=languages,
            record=values.get("record", "") in CHECKED,
        )
    except Invalid as exc:
        errors.extend(e for e in exc.errors if not (e.field == "end_date" and len(days) < 2))
        errors.raise_if_any()
        raise
    errors.raise_if_any()
    return event


def event_values(event: Event) -> dict[str, str]:
    return {
        "id": event.id,
        "name": event.name,
        "start_date": event.start_date.isoformat(),
        "end_date": event.end_date.isoformat(),
        "venue": event.venue,
        "description": event.description,
        "languages": ", ".join(event.languages),
        "record": "on" if event.record else "",
    }


def arranger_from_form(values: Mapping[str, str], *, arranger_id: str | None) -> Arranger:
    name = clean_line(values.get("name", ""))
    chosen = arranger_id or values.get("id", "").strip() or slugify(name, fallback="")
    try:
        return Arranger(
            id=chosen or "x",
            name=name,
            description=clean_block(values.get("description", "")),
            website=values.get("website", "").strip(),
        )
    except Invalid as exc:
        if not chosen:
            raise Invalid([*exc.errors, _id_required()]) from None
        raise


def arranger_values(arranger: Arranger) -> dict[str, str]:
    return arranger.to_hash()


def studio_from_form(values: Mapping[str, str], *, studio_id: str | None) -> Studio:
    name = clean_line(values.get("name", ""))
    chosen = studio_id or values.get("id", "").strip() or slugify(name, fallback="")
    try:
        return Studio(
            id=chosen or "x",
            name=name,
            location=clean_line(values.get("location", "")),
            description=clean_block(values.get("description", "")),
        )
    except Invalid as exc:
        if not chosen:
            raise Invalid([*exc.errors, _id_required()]) from None
        raise


def studio_values(studio: Studio) -> dict[str, str]:
    return studio.to_hash()


def _id_required() -> FieldError:
    return FieldError("id", "required", "give an id or a name to make one from")


def user_from_form(
    values: Mapping[str, str], *, username: str | None, identity: Identity, sessions: list[str]
) -> User:
    """An account from the staff form. Arranger staff can only make moderators and speakers
    of their own arranger."""
    errors = Errors()
    chosen = username or normalise_username(values.get("username", ""))
    role_text = values.get("role", "").strip()
    allowed = identity.may_grant()
    role = next((r for r in allowed if r.value == role_text), None)
    if role is None:
        errors.add("role", "bad_choice", "choose one of the roles offered")
        role = Role.SPEAKER
    arranger = values.get("arranger", "").strip()
    if not identity.is_admin:
        arranger = identity.arranger
    if role is Role.ADMIN:
        arranger = ""
    try:
        user = User(
            username=chosen,
            display_name=clean_line(values.get("display_name", "")),
            role=role,
            arranger=arranger,
            sessions=tuple(sessions) if role in (Role.MODERATOR, Role.SPEAKER) else (),
        )
    except Invalid as exc:
        errors.extend(exc.errors)
        errors.raise_if_any()
        raise
    errors.raise_if_any()
    return user


def user_values(user: User) -> dict[str, str]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "arranger": user.arranger,
    }
