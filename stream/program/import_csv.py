"""Reading a programme from a CSV file (as spreadsheets export it: comma, semicolon or tab;
UTF-8 with or without BOM, or Windows-1252). The first row names the columns, in Swedish or
English; see :data:`COLUMNS`."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from stream.common import times
from stream.common.validation import clean_block, clean_line
from stream.program.drafts import Draft, Problem

# Column name (lower case) → field. Several spellings per field.
COLUMNS = {
    "id": "id",
    "title": "title", "titel": "title", "rubrik": "title",
    "arranger": "arranger", "arrangör": "arranger", "arrangor": "arranger",
    "organiser": "arranger", "organizer": "arranger",
    "speakers": "speakers", "speaker": "speakers", "talare": "speakers",
    "medverkande": "speakers",
    "studio": "studio", "room": "studio", "rum": "studio", "lokal": "studio",
    "date": "date", "datum": "date", "dag": "date",
    "start": "start", "starttid": "start", "from": "start", "från": "start",
    "end": "end", "slut": "end", "sluttid": "end", "to": "end", "till": "end",
    "description": "description", "beskrivning": "description",
    "language": "language", "språk": "language", "sprak": "language",
    "visibility": "visibility", "synlighet": "visibility",
    "record": "record", "recording": "record", "inspelning": "record", "spela in": "record",
}  # fmt: skip
REQUIRED = ("title", "start", "end")
SPEAKER_SEPARATORS = (";", "|")
VISIBILITY_WORDS = {
    "": "", "public": "public", "offentlig": "public", "öppen": "public",
    "invite": "invite", "invite-only": "invite", "inbjudan": "invite", "inbjudna": "invite",
}  # fmt: skip
RECORD_WORDS = {
    "": None, "yes": True, "ja": True, "1": True, "true": True, "on": True, "x": True,
    "no": False, "nej": False, "0": False, "false": False, "off": False,
}  # fmt: skip


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_csv(data: bytes, max_rows: int) -> tuple[list[Draft], list[Problem]]:
    content = decode(data)
    if not content.strip():
        return [], [Problem("file", "the file is empty")]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            content[:4096], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(content), dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return [], [Problem("file", "the file has no header row")]
    columns = [COLUMNS.get(name.strip().lower(), "") for name in header]
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        return [], [Problem("file", f"the header row lacks the column(s): {', '.join(missing)}")]
    drafts: list[Draft] = []
    problems: list[Problem] = []
    try:
        for line_number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(drafts) + len(problems) >= max_rows:
                problems.append(Problem("file", f"more than {max_rows} rows: the rest is skipped"))
                break
            values = {field: cell for field, cell in zip(columns, row, strict=False) if field}
            try:
                drafts.append(_draft(f"row {line_number}", values))
            except ValueError as exc:
                problems.append(Problem(f"row {line_number}", str(exc)))
    except csv.Error as exc:
        problems.append(Problem("file", f"the CSV could not be read past this point: {exc}"))
    return drafts, problems


def _draft(where: str, values: dict[str, str]) -> Draft:
    title = clean_line(values.get("title", ""))
    if not title:
        raise ValueError("the title is empty")
    day = values.get("date", "").strip()
    start = _moment(day, values.get("start", ""), "start")
    end = _moment(day, values.get("end", ""), "end")
    visibility = VISIBILITY_WORDS.get(values.get("visibility", "").strip().lower())
    if visibility is None:
        raise ValueError("visibility is 'public' or 'invite'")
    record_word = values.get("record", "").strip().lower()
    if record_word not in RECORD_WORDS:
        raise ValueError("record is yes or no (ja or nej)")
    raw_speakers = values.get("speakers", "")
    for separator in SPEAKER_SEPARATORS:
        raw_speakers = raw_speakers.replace(separator, "\n")
    return Draft(
        where=where,
        id=values.get("id", "").strip(),
        title=title,
        start=start,
        end=end,
        arranger=clean_line(values.get("arranger", "")),
        studio=clean_line(values.get("studio", "")),
        speakers=tuple(clean_line(s) for s in raw_speakers.splitlines() if s.strip()),
        description=clean_block(values.get("description", "")),
        language=values.get("language", "").strip().lower(),
        visibility=visibility,
        record=RECORD_WORDS[record_word],
    )


def _moment(day: str, value: str, name: str) -> datetime:
    value = value.strip()
    if not value:
        raise ValueError(f"the {name} time is empty")
    if "-" not in value:  # a time of day, "10:00", on the row's date
        if not day:
            raise ValueError(f"{name}: a time without a date needs a 'date' column")
        try:
            return times.at_local(times.parse_date(day), times.parse_clock(value))
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    try:
        return times.parse_moment(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
