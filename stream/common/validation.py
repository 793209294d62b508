"""Validation shared by the programme's value types: field errors, text limits, ids (slugs).

A value type collects every problem with its fields and raises one :class:`Invalid` that names
each field, so a form can mark every bad field at once and an API can list them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from stream.common import times
from stream.common.errors import BadRequest

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_ID_LENGTH = 64
MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 5000
MAX_SHORT_TEXT_LENGTH = 200
# Ids that would clash with the admin's own paths (``/admin/sessions/new``).
RESERVED_IDS = frozenset({"new"})
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}$")
# Characters that never belong in a one-line field (control characters other than tab).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MULTILINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field. ``code`` names the message in the UI catalogues
    (``error.{code}``); ``message`` is the English text used by APIs and logs."""

    field: str
    code: str
    message: str
    params: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, object]:
        return {
            "field": self.field,
            "code": self.code,
            "message": self.message,
            "params": dict(self.params),
        }


class Invalid(BadRequest):
    """One or more fields are wrong; ``errors`` says which and why."""

    title = "Invalid input"

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))


class Errors:
    """Collects field errors while a value is checked; :meth:`raise_if_any` at the end."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field: str, code: str, message: str, **params: object) -> None:
        self.items.append(
            FieldError(field, code, message, tuple((k, str(v)) for k, v in params.items()))
        )

    def extend(self, errors: Iterable[FieldError]) -> None:
        self.items.extend(errors)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise Invalid(self.items)


def check_text(
    errors: Errors,
    field: str,
    value: str,
    *,
    limit: int = MAX_SHORT_TEXT_LENGTH,
    required: bool = False,
    multiline: bool = False,
) -> None:
    if required and not value.strip():
        errors.add(field, "required", f"{field} is required")
        return
    if len(value) > limit:
        errors.add(field, "too_long", f"{field} is longer than {limit} characters", limit=limit)
    pattern = _MULTILINE_CONTROL if multiline else _CONTROL
    if pattern.search(value):
        errors.add(field, "control_characters", f"{field} contains control characters")


def check_id(errors: Errors, field: str, value: str) -> None:
    if not ID_PATTERN.fullmatch(value):
        errors.add(
            field,
            "bad_id",
            f"{field} must be 1-{MAX_ID_LENGTH} lowercase letters, digits or '-'",
        )
    elif value in RESERVED_IDS:
        errors.add(field, "reserved_id", f"{value!r} is reserved: choose another id")


def check_reference(errors: Errors, field: str, value: str) -> None:
    """An optional id of another object: empty, or a well-formed id."""
    if value and not ID_PATTERN.fullmatch(value):
        errors.add(field, "bad_id", f"{field} is not a valid id")


def check_schedule_day(errors: Errors, field: str, value: date, today: date) -> None:
    """A day of the programme: within :data:`times.SCHEDULE_YEARS` years of ``today``."""
    if not times.day_in_range(value, today):
        _out_of_range(errors, field, today)


def check_schedule_moment(errors: Errors, field: str, value: datetime, today: date) -> None:
    """A start or end of the programme: on a day within the range of :func:`check_schedule_day`."""
    if not times.moment_in_range(value, today):
        _out_of_range(errors, field, today)


def _out_of_range(errors: Errors, field: str, today: date) -> None:
    first, last = times.schedule_range(today)
    errors.add(
        field,
        "out_of_range",
        f"{field} must be between {first.isoformat()} and {last.isoformat()}",
        first=first.isoformat(),
        last=last.isoformat(),
    )


def clean_line(value: str) -> str:
    """A one-line field as typed: surrounding space trimmed, inner runs of space collapsed."""
    return " ".join(value.split())


def clean_block(value: str) -> str:
    """A multi-line field: Windows/Mac newlines unified, trailing space trimmed."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def slugify(text: str, *, fallback: str = "item") -> str:
    """An id from a name: ``"Skellefteå kommun"`` → ``"skelleftea-kommun"``."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    slug = slug[:MAX_ID_LENGTH].rstrip("-")
    return slug or fallback
