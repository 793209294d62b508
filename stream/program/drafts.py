"""What an import file says about one session, before names are resolved to ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Draft:
    where: str  # "rad 4" / "row 4" in a CSV, the talk's guid or id in a schedule JSON
    title: str
    start: datetime
    end: datetime
    id: str = ""  # empty: made from the title
    arranger: str = ""  # an arranger's id or name
    studio: str = ""  # a studio's id or name
    speakers: tuple[str, ...] = ()
    description: str = ""
    language: str = ""
    visibility: str = ""  # "public" or "invite"; empty: as it is (public for a new session)
    record: bool | None = None  # None: as it is (recorded for a new session)


@dataclass(frozen=True, slots=True)
class Problem:
    where: str  # "row 4", "talk 12", or "file"
    message: str

    def as_json(self) -> dict[str, str]:
        return {"where": self.where, "message": self.message}
