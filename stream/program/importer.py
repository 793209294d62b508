"""Importing a programme file (CSV or pretalx/frab JSON) with a report of what happened.

Every readable row is checked against the programme as it stands (and the rows before it):
names resolved to arrangers and studios, the studio free, the fields valid. Good rows are saved
(each atomically, so a row is either fully in or not at all); bad rows are listed with the
reason. Imported sessions get no publish key: arrangers create one in /admin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from stream.common import times
from stream.common.errors import StreamError
from stream.common.validation import Invalid, slugify
from stream.program.arrangers import Arranger, ArrangerStore
from stream.program.bookings import check_slot_range, overlaps
from stream.program.drafts import Draft, Problem
from stream.program.events import EventStore
from stream.program.import_csv import parse_csv
from stream.program.import_frab import looks_like_frab, parse_frab
from stream.program.programme import load_programme
from stream.program.sessions import Session, SessionStore
from stream.program.studios import Studio, StudioStore
from stream.store import Redis

MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 2000


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    arrangers_created: list[str] = field(default_factory=list)
    studios_created: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "created": self.created,
            "updated": self.updated,
            "arrangers_created": self.arrangers_created,
            "studios_created": self.studios_created,
            "problems": [p.as_json() for p in self.problems],
        }

    def text(self) -> str:
        """The report for a terminal."""
        done = "to be created (dry run)" if self.dry_run else "created"
        changed = "to be updated (dry run)" if self.dry_run else "updated"
        lines = [
            f"sessions {done}: {len(self.created)}",
            f"sessions {changed}: {len(self.updated)}",
        ]
        if self.arrangers_created:
            lines.append(f"arrangers {done}: {', '.join(self.arrangers_created)}")
        if self.studios_created:
            lines.append(f"studios {done}: {', '.join(self.studios_created)}")
        if self.problems:
            lines.append(f"rows that could not be imported: {len(self.problems)}")
            lines += [f"  {p.where}: {p.message}" for p in self.problems]
        else:
            lines.append("every row could be read and imported")
        return "\n".join(lines)


def read_file(data: bytes, filename: str = "") -> tuple[list[Draft], list[Problem]]:
    """The drafts in a programme file and the rows that could not be read."""
    if len(data) > MAX_IMPORT_BYTES:
        return [], [Problem("file", f"the file is larger than {MAX_IMPORT_BYTES // 1024} KiB")]
    if filename.lower().endswith(".json") or (
        not filename.lower().endswith(".csv") and looks_like_frab(data)
    ):
        return parse_frab(data, MAX_IMPORT_ROWS)
    return parse_csv(data, MAX_IMPORT_ROWS)


@dataclass(frozen=True, slots=True)
class ImportOptions:
    event: str = ""  # event id every session joins (must exist)
    arranger: str = ""  # arranger (id or name) for rows that name none
    create_missing: bool = False  # create arrangers and studios the file names
    dry_run: bool = False


async def import_drafts(
    redis: Redis,
    drafts: Iterable[Draft],
    options: ImportOptions,
    problems: Iterable[Problem] = (),
) -> ImportReport:
    report = ImportReport(problems=list(problems), dry_run=options.dry_run)
    if options.event and not await EventStore(redis).exists(options.event):
        report.problems.insert(0, Problem("file", f"no event {options.event!r}"))
        return report
    programme = await load_programme(redis)
    resolver = _Resolver(programme.arrangers.values(), programme.studios.values())
    existing = {s.id: s for s in programme.sessions}
    accepted: dict[str, Session] = {}
    sessions = SessionStore(redis)
    for draft in drafts:
        try:
            session = _session(draft, options, resolver, existing, accepted)
        except ValueError as exc:
            report.problems.append(Problem(draft.where, str(exc)))
            continue
        except Invalid as exc:
            report.problems.append(Problem(draft.where, exc.detail))
            continue
        accepted[session.id] = session
        (report.updated if session.id in existing else report.created).append(session.id)
    report.arrangers_created = [a.name for a in resolver.new_arrangers]
    report.studios_created = [s.name for s in resolver.new_studios]
    if options.dry_run:
        return report
    for arranger in resolver.new_arrangers:
        await ArrangerStore(redis).save(arranger)
    for studio in resolver.new_studios:
        await StudioStore(redis).save(studio)
    for session in accepted.values():
        try:
            await sessions.save(session)
        except StreamError as exc:  # someone booked the studio meanwhile
            report.problems.append(Problem(session.id, exc.detail))
            for names in (report.created, report.updated):
                if session.id in names:
                    names.remove(session.id)
    return report


class _Resolver:
    def __init__(self, arrangers: Iterable[Arranger], studios: Iterable[Studio]) -> None:
        self.arrangers = list(arrangers)
        self.studios = list(studios)
        self.new_arrangers: list[Arranger] = []
        self.new_studios: list[Studio] = []

    def arranger(self, reference: str, create: bool) -> Arranger:
        for arranger in self.arrangers:
            if reference == arranger.id or reference.casefold() == arranger.name.casefold():
                return arranger
        if not create:
            raise ValueError(f"unknown arranger {reference!r}")
        arranger = Arranger(id=_free_id(reference, {a.id for a in self.arrangers}), name=reference)
        self.arrangers.append(arranger)
        self.new_arrangers.append(arranger)
        return arranger

    def studio(self, reference: str, create: bool) -> Studio:
        for studio in self.studios:
            if reference == studio.id or reference.casefold() == studio.name.casefold():
                return studio
        if not create:
            raise ValueError(f"unknown studio {reference!r}")
        studio = Studio(id=_free_id(reference, {s.id for s in self.studios}), name=reference)
        self.studios.append(studio)
        self.new_studios.append(studio)
        return studio


def _free_id(name: str, taken: set[str]) -> str:
    base = slugify(name)
    candidate, number = base, 2
    while candidate in taken:
        candidate = f"{base[:60]}-{number}"
        number += 1
    return candidate


def _session(
    draft: Draft,
    options: ImportOptions,
    resolver: _Resolver,
    existing: dict[str, Session],
    accepted: dict[str, Session],
) -> Session:
    session_id = draft.id or slugify(draft.title, fallback="session")
    if session_id in accepted:
        raise ValueError(f"the id {session_id!r} appears twice in the file")
    reference = draft.arranger or options.arranger
    if not reference:
        raise ValueError("no arranger: name one in the file or choose a default")
    arranger = resolver.arranger(reference, options.create_missing)
    studio = resolver.studio(draft.studio, options.create_missing) if draft.studio else None
    previous = existing.get(session_id)
    session = Session(
        id=session_id,
        title=draft.title,
        arranger=arranger.name,
        arranger_id=arranger.id,
        description=draft.description,
        event=options.event or (previous.event if previous else ""),
        speakers=draft.speakers,
        studio=studio.id if studio else "",
        start=draft.start,
        end=draft.end,
        language=draft.language,
        # Not told (an empty cell, a schedule JSON): an invite-only session stays invite-only.
        visibility=draft.visibility or (previous.visibility if previous else "public"),
        chat=previous.chat if previous else True,
        qa=previous.qa if previous else True,
        # Not told (no column, an empty cell, no do_not_record): a session keeps its switch.
        record=draft.record
        if draft.record is not None
        else (previous.record if previous else True),
    )
    old = previous.to_hash() if previous else None
    check_slot_range(session.start, session.end, times.now().date(), old)
    if studio is not None:
        _check_free(session, [*existing.values(), *accepted.values()])
    return session


def _check_free(session: Session, others: Iterable[Session]) -> None:
    assert session.start is not None and session.end is not None  # noqa: PT018
    for other in others:
        if other.id == session.id or other.studio != session.studio:
            continue
        if other.start is None or other.end is None:
            continue
        if overlaps(session.start, session.end, other.start, other.end):
            by = f" by {other.title!r}" if other.public else ""
            raise ValueError(f"studio {session.studio!r} is already booked then{by}")
