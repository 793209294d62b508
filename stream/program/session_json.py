"""A session from a JSON body (the write API): types checked, every bad field named."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from stream.common import times
from stream.common.validation import (
    Errors,
    FieldError,
    Invalid,
    clean_block,
    clean_line,
    slugify,
)
from stream.program.sessions import MAX_SPEAKERS, Session

FIELDS = (
    "id", "title", "arranger", "event", "speakers", "studio", "start", "end", "description",
    "language", "visibility", "chat", "qa", "record",
)  # fmt: skip


def session_from_json(body: object, *, session_id: str | None) -> Session:
    """``session_id`` is None when creating (the body's ``id``, or one made from the title)."""
    errors = Errors()
    if not isinstance(body, Mapping):
        raise Invalid([FieldError("body", "not_an_object", "the body must be a JSON object")])
    unknown = sorted(str(k) for k in body if k not in FIELDS)
    if unknown:
        errors.add("body", "unknown_fields", f"unknown fields: {', '.join(unknown)}")

    def text(name: str, default: str = "") -> str:
        value = body.get(name, default)
        if value is None:
            return default
        if not isinstance(value, str):
            errors.add(name, "not_text", f"{name} must be a string")
            return default
        return value

    def flag(name: str) -> bool:
        value = body.get(name, True)
        if not isinstance(value, bool):
            errors.add(name, "not_boolean", f"{name} must be true or false")
            return True
        return value

    def moment(name: str) -> datetime | None:
        raw = text(name)
        if not raw:
            return None
        try:
            return times.parse_moment(raw)
        except ValueError as exc:
            errors.add(name, "bad_datetime", str(exc))
            return None

    speakers: tuple[str, ...] = ()
    raw_speakers = body.get("speakers", [])
    if not isinstance(raw_speakers, list) or not all(isinstance(s, str) for s in raw_speakers):
        errors.add("speakers", "not_text_list", "speakers must be a list of strings")
    else:
        speakers = tuple(clean_line(s) for s in raw_speakers[: MAX_SPEAKERS + 1])
    title = clean_line(text("title"))
    chosen = session_id or text("id").strip() or slugify(title, fallback="")
    if not chosen:
        errors.add("id", "required", "give an id or a title to make one from")
    arranger = text("arranger").strip()
    if not arranger:
        errors.add("arranger", "required", "arranger (an arranger's id) is required")
    start, end = moment("start"), moment("end")
    chat, qa, record = flag("chat"), flag("qa"), flag("record")
    try:
        session = Session(
            id=chosen or "x",
            title=title,
            arranger_id=arranger,
            event=text("event").strip(),
            speakers=speakers,
            studio=text("studio").strip(),
            start=start,
            end=end,
            description=clean_block(text("description")),
            language=text("language").strip(),
            visibility=text("visibility", "public").strip() or "public",
            chat=chat,
            qa=qa,
            record=record,
        )
    except Invalid as exc:
        errors.extend(exc.errors)
    if errors:
        raise api_fields(Invalid(errors.items))
    return session


def api_fields(exc: Invalid) -> Invalid:
    """The same errors, named as the API names its fields (``arranger``, not ``arranger_id``)."""
    return Invalid(
        replace(e, field="arranger") if e.field == "arranger_id" else e for e in exc.errors
    )
