"""A submitted form as a page shows it again: the values as typed and the problems per field.

No HTTP here: handlers read the fields (see :func:`stream.http.render.read_form`) and pass them
as a mapping of strings to the capability that turns them into a value or an
:class:`~stream.common.validation.Invalid` naming each bad field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from stream.common.validation import FieldError, Invalid

MAX_FIELD_LENGTH = 10_000  # any single submitted field; the types have tighter limits
CHECKED = ("on", "1", "true", "yes")


@dataclass
class Form:
    """What a form shows: the values as typed and the problems with them."""

    values: dict[str, str] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)

    def value(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def checked(self, name: str) -> bool:
        return self.values.get(name, "") in CHECKED

    def error(self, name: str) -> list[FieldError]:
        return [e for e in self.errors if e.field == name]

    @classmethod
    def failed(cls, values: Mapping[str, str], exc: Invalid) -> Form:
        return cls(dict(values), list(exc.errors))


def oversized(values: Mapping[str, str]) -> Invalid | None:
    too_long = [
        FieldError(name, "too_long", f"{name} is too long", (("limit", str(MAX_FIELD_LENGTH)),))
        for name, value in values.items()
        if len(value) > MAX_FIELD_LENGTH
    ]
    return Invalid(too_long) if too_long else None
